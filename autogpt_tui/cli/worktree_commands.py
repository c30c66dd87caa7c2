"""``autogpt-tui land`` and ``discard``: what becomes of a ``--worktree`` session's steps.

Both take ``[WORKSPACE] [SESSION]``: WORKSPACE is the user's checkout (default: the
current directory), SESSION a worktree session's id or a prefix only it has (default:
the one with the newest step). A single argument that is a folder is the workspace;
anything else is the session. Both hold the workspace lock: never under a working
agent's feet.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autogpt_tui.cli.common import Command, UsageError, holding, open_history
from autogpt_tui.core.constants import EXIT_OK
from autogpt_tui.core.records import escape_surrogates

if TYPE_CHECKING:
    from autogpt_tui.core.sessions import SessionSummary
    from autogpt_tui.core.worktree import SessionWorktree

WorktreeSessions = list[tuple["SessionWorktree", "SessionSummary | None"]]


def print_worktree_sessions(worktrees: WorktreeSessions) -> None:
    """The worktree sessions under `sessions`' table: id, steps, branch, folder, goal."""
    if not worktrees:
        return
    print("Worktree sessions (`autogpt-tui land` or `discard` them):")
    for worktree, summary in worktrees:
        count = summary.steps if summary is not None else 0
        steps = f"{count} step{'s' if count != 1 else ''}" + (
            f" +{summary.undone} undone" if summary is not None and summary.undone else ""
        )
        goal = (summary.goal if summary is not None else "") or "(no goal recorded)"
        print(
            escape_surrogates(
                f"  {worktree.session}  {steps}  branch {worktree.branch}  {worktree.path}  {goal}"
            )
        )


def worktree_json(worktrees: WorktreeSessions) -> list[dict[str, Any]]:
    """The worktree sessions as `sessions --json` lists them (the fields of the others,
    with ``branch`` and ``worktree`` set)."""
    listed = []
    for worktree, summary in worktrees:
        base: dict[str, Any] = (
            summary.to_json()
            if summary is not None
            else {
                "id": worktree.session,
                "goal": "",
                "steps": 0,
                "undone": 0,
                "last_step": 0,
                "last_activity": worktree.timestamp,
                "reward": 0.0,
                "rated_up": 0,
                "rated_down": 0,
                "finished": False,
            }
        )
        listed.append(
            base | {"current": False, "worktree": str(worktree.path), "branch": worktree.branch}
        )
    return listed


def _workspace_and_session(values: list[str], name: str) -> tuple[str, str | None]:
    """Separate ``[WORKSPACE] [SESSION]``."""
    if len(values) > 2:
        raise UsageError(f"Usage: autogpt-tui {name} [WORKSPACE] [SESSION].")
    if len(values) == 2:
        return values[0], values[1]
    if len(values) == 1:
        if Path(values[0]).is_dir() or os.sep in values[0]:
            return values[0], None
        return ".", values[0]
    return ".", None


def _land_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Bring a --worktree session's steps onto your current branch: as they are (a"
        " fast-forward when it can, else replayed on top), or with --squash as one commit"
        " whose trailers list the steps. Your uncommitted and untracked files stay; when"
        " landing would overwrite them, or conflicts, nothing is changed. The worktree stays"
        " (a later land brings only newer steps) until `autogpt-tui discard`. SESSION"
        " defaults to the latest worktree session."
    )
    parser.add_argument("where", nargs="*", metavar="[WORKSPACE] [SESSION]")
    parser.add_argument("--squash", action="store_true", help="land the steps as one commit")


def cmd_land(options: argparse.Namespace) -> int:
    """``land [WORKSPACE] [SESSION] [--squash]``."""
    from autogpt_tui.core.worktree import find_worktree
    from autogpt_tui.core.worktree_finish import land

    workspace, session = _workspace_and_session(options.where, "land")
    with open_history(workspace) as history, holding(history, "land"):
        worktree = find_worktree(history, session)
        landed = land(history, worktree, squash=options.squash)
        branch = history.git("rev-parse", "--abbrev-ref", "HEAD").strip()
    steps = f"{landed.steps} step{'s' if landed.steps != 1 else ''}"
    print(
        f"Landed {steps} of session {landed.session} on {branch} ({landed.how},"
        f" now at {landed.commits[-1][:8]}); its worktree stays until `autogpt-tui discard`."
    )
    return EXIT_OK


def _discard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Remove a --worktree session's worktree and branch. Its steps that are not on your"
        " current branch stay reachable under the undone refs (`log` lists them as undone)."
        " A worktree with changes made by hand is refused. SESSION defaults to the latest"
        " worktree session."
    )
    parser.add_argument("where", nargs="*", metavar="[WORKSPACE] [SESSION]")


def cmd_discard(options: argparse.Namespace) -> int:
    """``discard [WORKSPACE] [SESSION]``."""
    from autogpt_tui.core.worktree import find_worktree
    from autogpt_tui.core.worktree_finish import discard

    workspace, session = _workspace_and_session(options.where, "discard")
    with open_history(workspace) as history, holding(history, "discard"):
        worktree = find_worktree(history, session)
        done = discard(history, worktree)
    kept = f"{done.kept} step{'s' if done.kept != 1 else ''}"
    print(
        f"Discarded the worktree of session {done.session} and its branch; {kept} kept"
        " under the undone refs."
    )
    return EXIT_OK


COMMANDS = (
    Command("land", _land_arguments, cmd_land),
    Command("discard", _discard_arguments, cmd_discard),
)
