"""The subcommands that read and move a workspace's step history: ``log``, ``show``,
``undo``, ``redo``, ``rate`` and ``recover``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from autogpt_tui.cli.common import (
    REV_HELP,
    Command,
    UsageError,
    count_argument,
    holding,
    names,
    open_history,
    split_workspace,
    step_label,
    workspace_argument,
)
from autogpt_tui.core.constants import EXIT_OK
from autogpt_tui.core.mcp.catalogue import NOT_UNDOABLE
from autogpt_tui.core.records import StepCommit, escape_surrogates

if TYPE_CHECKING:
    from autogpt_tui.core.history import History


def _log_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "List the agent's steps, newest first."
    workspace_argument(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    parser.add_argument("-n", type=int, default=None, metavar="N", help="at most N steps")


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Show one step: its record and its diff. " + REV_HELP
    parser.add_argument("args", nargs="*", metavar="[WORKSPACE] REV")
    parser.add_argument("--json", action="store_true", help="print a JSON object")


def _undo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Undo the last N steps (default 1)."
    parser.add_argument("args", nargs="*", metavar="[WORKSPACE] [N]")


def _redo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Redo the last N steps (default 1)."
    parser.add_argument("args", nargs="*", metavar="[WORKSPACE] [N]")


def _rate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Rate a step +1, -1, or 0 to clear its rating. " + REV_HELP
    parser.add_argument("args", nargs="*", metavar="[WORKSPACE] REV {+1,-1,0}")
    parser.add_argument("--comment", help="why you rated it so")


def _recover_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Bring back the user's uncommitted work from a snapshot taken before a step "
        "(without SNAPSHOT, list them)."
    )
    parser.add_argument("args", nargs="*", metavar="[WORKSPACE] [SNAPSHOT]")
    parser.add_argument("--list", action="store_true", help="list the snapshots")
    parser.add_argument("--json", action="store_true", help="list them as a JSON array")


def cmd_log(options: argparse.Namespace) -> int:
    """``log [WORKSPACE] [--json] [-n N]``."""
    if options.n is not None and options.n < 0:
        raise UsageError(f"-n must be 0 or more, not {options.n}.")
    with open_history(options.workspace) as history:
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
    workspace, (rev,) = split_workspace(options.args, 1, "show")
    with open_history(workspace) as history:
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
    if step.review:
        lines.append(_review_line(step))
    if step.undone:
        lines.append("state    undone")
    record = step.record
    if record is not None:
        if record.thought:
            lines += ["", "thought", _indent(record.thought)]
        if record.calls:
            # A reply of several calls: each with what the model was told of it.
            for n, call in enumerate(record.calls, start=1):
                how = "" if call.outcome == "ran" else f" ({call.outcome.replace('_', ' ')})"
                lines += [
                    "",
                    f"call {n}{how}",
                    _indent(f"{call.tool} {json.dumps(call.arguments)}"),
                ]
                if call.observation:
                    lines += ["", f"observation {n}", _indent(call.observation)]
        else:
            lines += ["", "action", _indent(f"{record.tool} {json.dumps(record.arguments)}")]
            if record.observation:
                lines += ["", "observation", _indent(record.observation)]
        if record.not_undoable:
            lines += ["", NOT_UNDOABLE]
        usage = record.usage
        cached = f" ({usage.cached_tokens} cached)" if usage.cached_tokens else ""
        lines += [
            "",
            f"usage    {usage.prompt_tokens} in{cached}, {usage.completion_tokens} out"
            f"  cost ${record.cost_usd:.4f}",
        ]
    print("\n".join(lines))
    print()
    print(diff.rstrip("\n") or "(no file changes)")
    return EXIT_OK


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def cmd_undo(options: argparse.Namespace) -> int:
    """``undo [WORKSPACE] [N]``."""
    from autogpt_tui.core.settings import load_settings

    workspace, count = count_argument(options.args, "undo")
    with open_history(workspace) as history, holding(history, "undo"):
        negative = load_settings(history.root).rewards.undo_is_negative
        undone = history.undo(count, negative=negative)
    for step in undone:
        print(f"Undid {step_label(step)}: {step.summary}")
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
    workspace, count = count_argument(options.args, "redo")
    with open_history(workspace) as history, holding(history, "redo"):
        for step in history.redo(count):
            print(f"Redid {step_label(step)}: {step.summary}")
    return EXIT_OK


def _review_line(step: StepCommit) -> str:
    """The reviewer's rating, and whether it counts or the user's own stands over it."""
    review = step.review
    assert review is not None
    by = f" by {review.model}" if review.model else ""
    reason = f"  {review.comment}" if review.comment else ""
    counts = "counts while you have not rated it" if step.review_counts else "yours stands"
    return f"review   {review.value:+g} (reviewer{by}; {counts}){reason}"


_RATINGS = {"+1": 1, "1": 1, "-1": -1, "0": 0, "+0": 0, "-0": 0}


def cmd_rate(options: argparse.Namespace) -> int:
    """``rate [WORKSPACE] REV {+1,-1,0} [--comment TEXT]``."""
    workspace, (rev, raw) = split_workspace(options.args, 2, "rate")
    if raw not in _RATINGS:
        raise UsageError(f"A rating must be +1, -1 or 0, not {raw!r}.")
    with open_history(workspace) as history:
        step = history.rate(rev, _RATINGS[raw], options.comment)
    if step.rating is None:
        print(f"Cleared the rating of {step_label(step)}.")
    else:
        comment = f": {step.rating.comment}" if step.rating.comment else ""
        print(f"Rated {step_label(step)} {step.rating.value:+g}{comment}")
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
    with open_history(workspace) as history:
        if name is None or options.list or options.json:
            return _list_snapshots(history, as_json=options.json)
        snapshot = history.find_snapshot(name)
        with holding(history, "recover"):
            done = history.recover(snapshot)
    if not done.restored:
        print(f"Snapshot {snapshot.number} holds no files; nothing changed.")
        return EXIT_OK
    saved = f" Their versions before are in snapshot {done.saved.number}." if done.saved else ""
    print(f"Recovered {names(done.restored)} from snapshot {snapshot.number}.{saved}")
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
        print(f"{s.number:>4}  {when}  {s.reason}: {names(files)}")
    return EXIT_OK


COMMANDS = (
    Command("log", _log_arguments, cmd_log),
    Command("show", _show_arguments, cmd_show),
    Command("undo", _undo_arguments, cmd_undo),
    Command("redo", _redo_arguments, cmd_redo),
    Command("rate", _rate_arguments, cmd_rate),
    Command("recover", _recover_arguments, cmd_recover),
)
