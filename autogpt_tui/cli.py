"""The ``autogpt-tui`` command line (contract: DESIGN.md, "Command line").

``autogpt-tui [WORKSPACE]`` opens the TUI; the subcommands work on a workspace's step
history without it. Every error a user can cause prints one sentence and exits non-zero;
nothing here prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from autogpt_tui import __version__
from autogpt_tui.core.constants import EXIT_ERROR, EXIT_OK, EXIT_USAGE, MODES
from autogpt_tui.core.errors import NotAnAgentStep, NotARepository, UserError
from autogpt_tui.core.records import escape_surrogates

if TYPE_CHECKING:
    from autogpt_tui.core.history import History
    from autogpt_tui.core.lock import WorkspaceLock
    from autogpt_tui.core.records import StepCommit

SUBCOMMANDS = (
    "run",
    "log",
    "show",
    "undo",
    "redo",
    "rate",
    "rewards",
    "export",
    "recover",
    "trust",
)


class UsageError(UserError):
    """The command line itself is wrong (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one sentence and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sentence = message[0].upper() + message[1:]
        self.exit(EXIT_USAGE, f"autogpt-tui: {sentence.rstrip('.')}.\n")


def _tui_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="autogpt-tui",
        description=(
            "A terminal workstation for an autonomous coding agent: every action is a git "
            "commit you can review, rate, undo and redo. Subcommands: "
            + ", ".join(SUBCOMMANDS)
            + " (autogpt-tui SUBCOMMAND --help)."
        ),
    )
    parser.add_argument(
        "workspace", nargs="?", default=".", help="the workspace folder (default: .)"
    )
    parser.add_argument("--goal", help="the goal to start with")
    parser.add_argument("--mode", choices=MODES, help="approval mode")
    parser.add_argument("--model", help="model name")
    parser.add_argument("--base-url", help="OpenAI-compatible server URL")
    parser.add_argument("--theme", help="theme name")
    parser.add_argument("--version", action="version", version=f"autogpt-tui {__version__}")
    return parser


_REV_HELP = (
    "REV is a label `log` prints: 4 or #4 (step 4 of the most recent session with a step 4"
    " on the current branch, else among the undone steps), SESSION#4 (SESSION: the"
    " session id or a prefix of it); or any git revision naming an agent step. A REV that"
    " names no step, or more than one, exits with status 2."
)


def _sub_parser(name: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=f"autogpt-tui {name}")
    if name == "run":
        parser.description = (
            "Run the agent headless until it finishes or a budget runs out. Exit status: "
            "0 finished, 1 error, 2 usage error, 3 a budget ran out."
        )
        parser.add_argument("workspace", nargs="?", default=".")
        parser.add_argument("--goal", required=True, help="what the agent should do")
        parser.add_argument(
            "--mode",
            choices=MODES,
            help=(
                "approvals (default: the config's [agent] mode, else auto; a tool the mode"
                " would ask about is refused)"
            ),
        )
        parser.add_argument(
            "--max-steps",
            type=int,
            help="stop once the session has N steps (undone ones not counted)",
        )
        parser.add_argument("--max-tokens", type=int, help="stop once the session used N tokens")
        parser.add_argument("--max-cost", type=float, metavar="USD", help="stop at this cost")
        parser.add_argument("--model", help="model name")
        parser.add_argument("--base-url", help="OpenAI-compatible server URL")
        parser.add_argument("--json", action="store_true", help="print JSON event lines")
    elif name == "rewards":
        parser.description = "What the ratings taught: per policy arm, and the top lessons."
        parser.add_argument("workspace", nargs="?", default=".")
        parser.add_argument("--json", action="store_true", help="print a JSON object")
    elif name == "export":
        parser.description = (
            "Export the rated history as OpenAI fine-tuning JSONL. Exit status 0, also when"
            " there is nothing to export: that is said on stderr, stdout stays empty and"
            " FILE is left as it was."
        )
        parser.add_argument("workspace", nargs="?", default=".")
        parser.add_argument("--format", required=True, choices=["sft", "dpo"])
        parser.add_argument("-o", "--output", metavar="FILE", help="write here, not stdout")
    elif name == "log":
        parser.description = "List the agent's steps, newest first."
        parser.add_argument("workspace", nargs="?", default=".")
        parser.add_argument("--json", action="store_true", help="print a JSON array")
        parser.add_argument("-n", type=int, default=None, metavar="N", help="at most N steps")
    elif name == "show":
        parser.description = "Show one step: its record and its diff. " + _REV_HELP
        parser.add_argument("args", nargs="*", metavar="[WORKSPACE] REV")
        parser.add_argument("--json", action="store_true", help="print a JSON object")
    elif name in ("undo", "redo"):
        parser.description = f"{name.capitalize()} the last N steps (default 1)."
        parser.add_argument("args", nargs="*", metavar="[WORKSPACE] [N]")
    elif name == "recover":
        parser.description = (
            "Bring back the user's uncommitted work from a snapshot taken before a step "
            "(without SNAPSHOT, list them)."
        )
        parser.add_argument("args", nargs="*", metavar="[WORKSPACE] [SNAPSHOT]")
        parser.add_argument("--list", action="store_true", help="list the snapshots")
        parser.add_argument("--json", action="store_true", help="list them as a JSON array")
    elif name == "trust":
        parser.description = (
            "Let the workspace's .autogpt-tui.toml steer the agent (its policy arms, their "
            "instructions and models, and its model), as the file is now."
        )
        parser.add_argument("workspace", nargs="?", default=".")
    elif name == "rate":
        parser.description = "Rate a step +1, -1, or 0 to clear its rating. " + _REV_HELP
        parser.add_argument("args", nargs="*", metavar="[WORKSPACE] REV {+1,-1,0}")
        parser.add_argument("--comment", help="why you rated it so")
    return parser


def entry() -> int:
    """The ``autogpt-tui`` program: run the command line, then get out of the way.

    The process ends right after: the interpreter's last garbage collection over every
    object the imports made (openai's types, mostly) takes about 0.15 s and frees
    nothing anyone needs, so those objects are frozen out of it. Everything of ours
    (git processes, the lock, the HTTP pool) was closed by the command itself.
    """
    code = main()
    gc.freeze()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            name = args[0]
            options = _sub_parser(name).parse_args(args[1:])
            return COMMANDS[name](options)
        return _run_tui(_tui_parser().parse_args(args))
    except (UsageError, NotARepository, NotAnAgentStep) as err:
        # A REV that names no agent step is a usage error too (the contract's status 2).
        print(f"autogpt-tui: {err}", file=sys.stderr)
        return EXIT_USAGE
    except UserError as err:
        print(f"autogpt-tui: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `autogpt-tui log | head` closed the pipe early; that's not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


_PRELOADED = ("openai", "openai.resources.chat.chat", "httpcore2")
"""What the first request imports, in that order: ``openai`` itself, then what its client
loads only when first used (the chat resource, ~0.1 s, and the HTTP transport's
connection pool, ~0.1 s). A name some other openai release does not use fails to import
in a millisecond and is skipped."""


@contextlib.contextmanager
def _preloading_model_client() -> Iterator[None]:
    """Import ``openai`` (half a second of imports) on a side thread while the body runs.

    `run` needs it only for its first request; meanwhile the main thread reads the
    configuration and the repository, much of which waits on git processes, so the
    two overlap instead of adding up. The thread is started only once the command line
    is known to be good, and joined before leaving: a thread still importing extension
    modules while the interpreter shuts down can crash it (a usage error once ended
    in SIGSEGV right after printing its message).
    """
    import importlib

    def load() -> None:
        for name in _PRELOADED:
            with contextlib.suppress(Exception):  # the main thread reports a broken install
                importlib.import_module(name)

    thread = threading.Thread(target=load, name="preload-openai", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()


def _run_tui(options: argparse.Namespace) -> int:
    from autogpt_tui.core.history import History
    from autogpt_tui.core.lock import WorkspaceLock

    # Open (and if need be initialise) the workspace and read the configuration before
    # the screen takes over, so a bad path or a broken config file is one sentence on
    # the terminal rather than an error inside the app.
    with History.open(Path(options.workspace), create=True) as history:
        workspace = history.root
        notices = [n for n in (history.recovered_notice, history.kept_out_notice) if n]
        # The TUI is an agent's workstation: it holds the workspace for as long as it runs
        # (its own undo and redo included), and a second one is refused here, in one
        # sentence, before the screen takes over.
        lock = WorkspaceLock.acquire(history.common_dir, command="tui")
    try:
        return _open_tui(options, workspace, notices, lock)
    finally:
        lock.release()


def _open_tui(
    options: argparse.Namespace, workspace: Path, notices: list[str], lock: WorkspaceLock
) -> int:
    from autogpt_tui.core.settings import load_settings

    overrides = {
        "model": {"model": options.model, "base_url": options.base_url},
        "agent": {"mode": options.mode},
        "ui": {"theme": options.theme},
    }
    settings = load_settings(workspace, overrides=overrides)
    for warning in settings.warnings:
        print(f"autogpt-tui: {warning}", file=sys.stderr)
    # 30 frames a second, not Textual's 60: every frame renders what changed, and in a
    # long auto-mode session the UI thread spent most of its time painting (the
    # agent's thread waits on the same interpreter lock). A user's TEXTUAL_FPS wins.
    os.environ.setdefault("TEXTUAL_FPS", "30")
    from autogpt_tui.ui.app import run_app

    return run_app(
        workspace,
        goal=options.goal,
        theme_name=settings.ui.theme,
        settings=settings,
        notices=notices,
        lock=lock,
        # Read again, with the same flags, once the user trusts the workspace's file.
        reload_settings=lambda: load_settings(workspace, overrides=overrides),
    )


def _open(workspace: str) -> History:
    from autogpt_tui.core.history import History

    # Reading or editing a history never makes one: a plain folder is refused (exit 2)
    # before anything is written in it.
    history = History.open(Path(workspace), create=False)
    if history.recovered_notice:
        print(f"autogpt-tui: {history.recovered_notice}", file=sys.stderr)
    return history


def _split_workspace(values: list[str], rest: int, name: str) -> tuple[str, list[str]]:
    """Separate the optional leading WORKSPACE from ``rest`` trailing arguments."""
    if len(values) == rest + 1:
        return values[0], values[1:]
    wanted_text = {"show": "[WORKSPACE] REV", "rate": "[WORKSPACE] REV {+1,-1,0}"}[name]
    if len(values) == rest:
        # `show ./ws` reads as a workspace whose REV was left out, not as a revision.
        if os.sep in values[0] and Path(values[0]).is_dir():
            raise UsageError(f"Usage: autogpt-tui {name} {wanted_text} (REV is missing).")
        return ".", values
    raise UsageError(f"Usage: autogpt-tui {name} {wanted_text}.")


def _count(values: list[str], name: str) -> tuple[str, int]:
    """Parse ``[WORKSPACE] [N]`` for undo and redo."""
    if len(values) > 2:
        raise UsageError(f"{name} takes at most a workspace and a number of steps.")
    workspace, count = ".", "1"
    if len(values) == 2:
        workspace, count = values
    elif len(values) == 1:
        # A lone number is a count; anything else names the workspace.
        if values[0].lstrip("+-").isdigit():
            count = values[0]
        else:
            workspace = values[0]
    try:
        number = int(count)
    except ValueError:
        raise UsageError(
            f"The number of steps to {name} must be a whole number, not {count!r}."
        ) from None
    if number < 1:
        raise UsageError(f"The number of steps to {name} must be at least 1, not {number}.")
    return workspace, number


def _label(step: StepCommit) -> str:
    return f"step {step.step} ({step.short_sha})"


def cmd_log(options: argparse.Namespace) -> int:
    """``log [WORKSPACE] [--json] [-n N]``."""
    if options.n is not None and options.n < 0:
        raise UsageError(f"-n must be 0 or more, not {options.n}.")
    with _open(options.workspace) as history:
        steps = history.steps(limit=options.n)
    if options.json:
        print(json.dumps([s.to_json() for s in steps], indent=2))
        return EXIT_OK
    if not steps:
        print("No agent steps yet.")
        return EXIT_OK
    for s in steps:
        glyph = s.rating.glyph if s.rating else " "
        undone = "  (undone)" if s.undone else ""
        print(f"{s.short_sha}  {s.session}#{s.step:<4} {s.tool:<12} {glyph}  {s.summary}{undone}")
    return EXIT_OK


def cmd_show(options: argparse.Namespace) -> int:
    """``show [WORKSPACE] REV [--json]``."""
    workspace, (rev,) = _split_workspace(options.args, 1, "show")
    with _open(workspace) as history:
        step = history.resolve(rev)
        diff = history.diff(step.sha)
    if options.json:
        data = step.to_json()
        data["diff"] = diff
        print(json.dumps(data, indent=2))
        return EXIT_OK
    lines = [
        f"commit   {step.sha}",
        f"step     {step.session}#{step.step}  tool {step.tool}  policy {step.policy}",
        f"summary  {step.summary}",
    ]
    if step.rating:
        comment = f"  {step.rating.comment}" if step.rating.comment else ""
        lines.append(f"rating   {step.rating.value:+g} ({step.rating.source}){comment}")
    if step.undone:
        lines.append("state    undone")
    record = step.record
    if record is not None:
        if record.thought:
            lines += ["", "thought", _indent(record.thought)]
        lines += ["", "action", _indent(f"{record.tool} {json.dumps(record.arguments)}")]
        if record.observation:
            lines += ["", "observation", _indent(record.observation)]
        usage = record.usage
        lines += ["", f"usage    {usage.prompt_tokens} in, {usage.completion_tokens} out"]
    print("\n".join(lines))
    print()
    print(diff.rstrip("\n") or "(no file changes)")
    return EXIT_OK


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


@contextlib.contextmanager
def _holding(history: History, doing: str) -> Iterator[None]:
    """Hold the workspace lock while moving HEAD: never under a working agent's feet
    (WorkspaceLocked names it), and no agent starts meanwhile."""
    from autogpt_tui.core.lock import WorkspaceLock

    with WorkspaceLock.acquire(history.common_dir, command=doing, doing=f"`{doing}`"):
        yield


def cmd_undo(options: argparse.Namespace) -> int:
    """``undo [WORKSPACE] [N]``."""
    from autogpt_tui.core.settings import load_settings

    workspace, count = _count(options.args, "undo")
    with _open(workspace) as history, _holding(history, "undo"):
        negative = load_settings(history.root).rewards.undo_is_negative
        undone = history.undo(count, negative=negative)
    for step in undone:
        print(f"Undid {_label(step)}: {step.summary}")
    counted = [s for s in undone if s.rating is not None and s.rating.source == "undo"]
    if counted:
        # An undo trains the agent: say so, and how to take it back.
        names = ", ".join(f"{s.session}#{s.step}" for s in counted)
        print(
            f"Counted as -1 ([rewards] undo_is_negative): {names}; "
            "`autogpt-tui rate REV 0` clears a rating."
        )
    return EXIT_OK


def cmd_redo(options: argparse.Namespace) -> int:
    """``redo [WORKSPACE] [N]``."""
    workspace, count = _count(options.args, "redo")
    with _open(workspace) as history, _holding(history, "redo"):
        for step in history.redo(count):
            print(f"Redid {_label(step)}: {step.summary}")
    return EXIT_OK


_RATINGS = {"+1": 1, "1": 1, "-1": -1, "0": 0, "+0": 0, "-0": 0}


def cmd_rate(options: argparse.Namespace) -> int:
    """``rate [WORKSPACE] REV {+1,-1,0} [--comment TEXT]``."""
    workspace, (rev, raw) = _split_workspace(options.args, 2, "rate")
    if raw not in _RATINGS:
        raise UsageError(f"A rating must be +1, -1 or 0, not {raw!r}.")
    with _open(workspace) as history:
        step = history.rate(rev, _RATINGS[raw], options.comment)
    if step.rating is None:
        print(f"Cleared the rating of {_label(step)}.")
    else:
        comment = f": {step.rating.comment}" if step.rating.comment else ""
        print(f"Rated {_label(step)} {step.rating.value:+g}{comment}")
    return EXIT_OK


def cmd_recover(options: argparse.Namespace) -> int:
    """``recover [WORKSPACE] [SNAPSHOT] [--list] [--json]``."""
    values: list[str] = options.args
    if len(values) > 2:
        raise UsageError("recover takes at most a workspace and a snapshot number.")
    workspace, name = ".", None
    if len(values) == 2:
        workspace, name = values
    elif len(values) == 1:
        # A lone number names a snapshot; anything else the workspace.
        if values[0].isdigit() or not Path(values[0]).is_dir():
            name = values[0]
        else:
            workspace = values[0]
    with _open(workspace) as history:
        if name is None or options.list or options.json:
            return _list_snapshots(history, as_json=options.json)
        snapshot = history.find_snapshot(name)
        with _holding(history, "recover"):
            done = history.recover(snapshot)
    if not done.restored:
        print(f"Snapshot {snapshot.number} holds no files; nothing changed.")
        return EXIT_OK
    saved = f" Their versions before are in snapshot {done.saved.number}." if done.saved else ""
    print(f"Recovered {_names(done.restored)} from snapshot {snapshot.number}.{saved}")
    return EXIT_OK


def _list_snapshots(history: History, *, as_json: bool) -> int:
    snapshots = history.snapshots()
    rows = [(s, history.snapshot_files(s)) for s in snapshots]
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "number": s.number,
                        "sha": s.sha,
                        "head": s.head,
                        "timestamp": s.timestamp,
                        "reason": s.reason,
                        "files": [escape_surrogates(f) for f in files],
                    }
                    for s, files in rows
                ],
                indent=2,
            )
        )
        return EXIT_OK
    if not rows:
        print(
            "No snapshots of your work yet (one is taken before each step when you have "
            "uncommitted changes)."
        )
        return EXIT_OK
    for s, files in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.timestamp))
        print(f"{s.number:>4}  {when}  {s.reason}: {_names(files)}")
    return EXIT_OK


def _names(paths: list[str]) -> str:
    shown = ", ".join(escape_surrogates(p) for p in paths[:8])
    return shown + (f" and {len(paths) - 8} more" if len(paths) > 8 else "")


def cmd_trust(options: argparse.Namespace) -> int:
    """``trust [WORKSPACE]``."""
    from autogpt_tui.core.settings import WORKSPACE_CONFIG_NAME, trust_workspace

    folder = Path(options.workspace).expanduser()
    if not folder.is_dir():
        raise UsageError(f"{str(folder)!r} is not a folder.")
    path = trust_workspace(folder.resolve())
    if path is None:
        print(f"{folder} has no {WORKSPACE_CONFIG_NAME}; there is nothing to trust.")
        return EXIT_OK
    print(
        f"Trusted {path}: its policy arms, their instructions and its model now apply. "
        "If the file changes, it is ignored again until you trust it again."
    )
    return EXIT_OK


def cmd_run(options: argparse.Namespace) -> int:
    """``run [WORKSPACE] --goal TEXT ...``: the agent without the TUI."""
    for flag, value in (("--max-steps", options.max_steps), ("--max-tokens", options.max_tokens)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, not {value}.")
    if options.max_cost is not None and options.max_cost <= 0:
        raise UsageError(f"--max-cost must be more than 0, not {options.max_cost:g}.")
    if not options.goal.strip():
        raise UsageError("The goal must not be empty.")
    with _preloading_model_client():
        # Imported once openai is under way: everything `run` loads overlaps with it.
        from autogpt_tui.headless import run_headless

        return run_headless(
            Path(options.workspace),
            goal=options.goal,
            mode=options.mode,
            max_steps=options.max_steps,
            max_tokens=options.max_tokens,
            max_cost=options.max_cost,
            model=options.model,
            base_url=options.base_url,
            json_output=options.json,
        )


def cmd_rewards(options: argparse.Namespace) -> int:
    """``rewards [WORKSPACE] [--json]``."""
    from autogpt_tui.core.learning import RewardModel
    from autogpt_tui.core.settings import load_settings

    with _open(options.workspace) as history:
        settings = load_settings(history.root)
        model = RewardModel.load(history, [arm.name for arm in settings.policy.arms])
        goal = _last_goal(history)
        lessons = model.lessons(goal, [], k=10, token_budget=2_000)
    stats = model.arm_stats()
    if options.json:
        data = {
            "arms": [s.to_json() for s in stats],
            "lessons": [
                {"kind": x.kind, "text": x.text, "sha": x.sha, "reward": x.reward} for x in lessons
            ],
        }
        print(json.dumps(data, indent=2))
        return EXIT_OK
    print("arm            steps  rated   mean   posterior")
    for s in stats:
        mean = f"{s.mean_reward:+.2f}" if s.mean_reward is not None else "  -  "
        bar = "█" * round(s.posterior_mean * 20)
        print(f"{s.name:<14} {s.steps:>5} {s.rated:>6}  {mean:>5}   {s.posterior_mean:.2f} {bar}")
    if lessons:
        print("\nlessons" + (f" (for the goal: {goal})" if goal else ""))
        for lesson in lessons:
            mark = "note" if lesson.kind == "avoid" else "worked"
            print(f"  {mark:<6} {lesson.text}")
    else:
        print("\nNo lessons yet: rate steps with + and - (or autogpt-tui rate).")
    return EXIT_OK


def _last_goal(history: History) -> str:
    latest = next(iter(history.steps_on_branch(records=True, expect=1)), None)
    if latest is None or latest.record is None:
        return ""
    return latest.record.goal


_NOTHING_TO_EXPORT = {
    "sft": (
        "Nothing to export as sft: no step qualifies (steps rated down, and undone steps not"
        " rated up, are left out)."
    ),
    "dpo": (
        "Nothing to export as dpo: no pair to prefer (a pair needs a rejected proposal, or a"
        " step rated down and one rated up at the same point of a session)."
    ),
}


def cmd_export(options: argparse.Namespace) -> int:
    """``export [WORKSPACE] --format {sft,dpo} [-o FILE]``.

    Nothing to export is not an error: one sentence on stderr, nothing on stdout, FILE
    left as it was (an earlier export in it is not emptied), and exit status 0.
    """
    from autogpt_tui.core.learning import export_dpo, export_sft
    from autogpt_tui.core.settings import load_settings

    export = export_sft if options.format == "sft" else export_dpo
    with _open(options.workspace) as history:
        key = load_settings(history.root).api_key_value()
        secrets = [key] if key else []
        if options.output:
            # Written whole once it is known there is something to write.
            buffer = io.StringIO()
            count = export(history, buffer, secrets=secrets)
            if count:
                target = Path(options.output)
                try:
                    target.write_text(buffer.getvalue(), encoding="utf-8")
                except OSError as err:
                    raise UserError(f"Cannot write {target}: {err.strerror or err}.") from None
                plural = "s" if count != 1 else ""
                print(f"Wrote {count} {options.format} example{plural} to {target}.")
        else:
            count = export(history, sys.stdout, secrets=secrets)
        if not count:
            reason = _NOTHING_TO_EXPORT[options.format]
            if not history.steps(limit=1):
                reason = "Nothing to export: there are no agent steps yet."
            print(f"autogpt-tui: {reason}", file=sys.stderr)
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "rewards": cmd_rewards,
    "export": cmd_export,
    "run": cmd_run,
    "log": cmd_log,
    "show": cmd_show,
    "undo": cmd_undo,
    "redo": cmd_redo,
    "rate": cmd_rate,
    "recover": cmd_recover,
    "trust": cmd_trust,
}
