"""``autogpt-tui run``: the agent without the TUI, and what it loads ahead of time."""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from autogpt_tui.cli.common import Command, UsageError, workspace_argument
from autogpt_tui.core.constants import MODES


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the agent headless until it finishes or a budget runs out. Exit status: "
        "0 finished, 1 error, 2 usage error, 3 a budget ran out."
    )
    workspace_argument(parser)
    parser.add_argument(
        "--goal",
        help="what the agent should do (required unless --continue or --session resumes one)",
    )
    session_arguments(parser)
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
    agents_argument(parser)


def agents_argument(parser: argparse.ArgumentParser) -> None:
    """``--agents planner,coder,reviewer``: a team instead of the single agent."""
    parser.add_argument(
        "--agents",
        metavar="NAMES",
        help=(
            "work as a team of these [[agents]] (e.g. planner,coder,reviewer): the planner"
            " plans, the coder works subgoal by subgoal, the reviewer rates its steps"
        ),
    )


def agent_names(value: str | None) -> list[str] | None:
    """The names ``--agents`` gives, or None when it is not given; UsageError when empty."""
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise UsageError("--agents needs names, such as planner,coder,reviewer.")
    return names


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


def cmd_run(options: argparse.Namespace) -> int:
    """``run [WORKSPACE] --goal TEXT ...``: the agent without the TUI."""
    for flag, value in (("--max-steps", options.max_steps), ("--max-tokens", options.max_tokens)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, not {value}.")
    if options.max_cost is not None and options.max_cost <= 0:
        raise UsageError(f"--max-cost must be more than 0, not {options.max_cost:g}.")
    resuming = options.session is not None or options.resume_latest
    if options.goal is None and not resuming:
        raise UsageError("--goal is required (unless --continue or --session resumes a session).")
    if options.goal is not None and not options.goal.strip():
        raise UsageError("The goal must not be empty.")
    agents = agent_names(options.agents)
    if agents is not None and options.worktree:
        raise UsageError("--agents and --worktree do not go together yet: a team works in place.")
    if agents is not None and resuming:
        raise UsageError(
            "--agents takes up the branch's team by its goal; --session and --continue"
            " resume a single agent's session."
        )
    with _preloading_model_client():
        # Imported once openai is under way: everything `run` loads overlaps with it.
        from autogpt_tui.core.worktree import resolve_workspace
        from autogpt_tui.headless import run_headless

        return run_headless(
            # A worktree session's id names its worktree (to go on with it: --continue).
            resolve_workspace(options.workspace) or Path(options.workspace),
            goal=options.goal or "",
            session=options.session,
            resume_latest=options.resume_latest,
            mode=options.mode,
            max_steps=options.max_steps,
            max_tokens=options.max_tokens,
            max_cost=options.max_cost,
            model=options.model,
            base_url=options.base_url,
            json_output=options.json,
            agents=agents,
            worktree=options.worktree,
        )


def session_arguments(parser: argparse.ArgumentParser) -> None:
    """``--session ID``, ``--continue`` and ``--worktree``, which the TUI and `run` both take
    (one at most: a worktree session is a new one; to go on with one, open its worktree)."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--session",
        metavar="ID",
        help="resume this session (its id, or a prefix only it has; `sessions` lists them)",
    )
    which.add_argument(
        "--continue",
        dest="resume_latest",
        action="store_true",
        help="resume the most recent session (the one `sessions` marks *), with its goal",
    )
    which.add_argument(
        "--worktree",
        action="store_true",
        help=(
            "start a new session in its own git worktree, on the branch autogpt-tui/SESSION,"
            " leaving your checkout as it is (`land` and `discard` finish it)"
        ),
    )


COMMANDS = (Command("run", _run_arguments, cmd_run),)
