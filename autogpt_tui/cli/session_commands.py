"""``autogpt-tui sessions``: the sessions of a workspace's step history, newest first."""

from __future__ import annotations

import argparse
import json

from autogpt_tui.cli.common import Command, open_history, workspace_argument
from autogpt_tui.core.constants import EXIT_OK
from autogpt_tui.core.records import escape_surrogates


def _sessions_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "List the sessions of the step history, newest activity first: id, steps in force "
        "(and undone), last activity, rewards and goal. * marks the session --continue "
        "resumes; --session ID (or a unique prefix of it) picks any of them. Sessions run with"
        " --worktree follow, with their branch and worktree (--json: `branch`, `worktree`)."
    )
    workspace_argument(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON array")


def cmd_sessions(options: argparse.Namespace) -> int:
    """``sessions [WORKSPACE] [--json]``."""
    from autogpt_tui.cli.worktree_commands import print_worktree_sessions, worktree_json
    from autogpt_tui.core.sessions import list_sessions
    from autogpt_tui.core.worktree import worktree_sessions

    with open_history(options.workspace) as history:
        sessions = list_sessions(history)
        worktrees = worktree_sessions(history)
    if options.json:
        listed = [s.to_json() | {"worktree": None, "branch": None} for s in sessions]
        listed += worktree_json(worktrees)
        print(json.dumps(listed, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not sessions:
        if not worktrees:
            print("No sessions yet: the agent has taken no step in this workspace.")
        print_worktree_sessions(worktrees)
        return EXIT_OK
    rows = [
        ("*" if s.current else " ", s.id, s.steps_text, s.when, s.rewards_text, s.goal)
        for s in sessions
    ]
    header = (" ", "SESSION", "STEPS", "LAST ACTIVITY", "REWARDS", "GOAL")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print(escape_surrogates("  ".join([*cells, row[5] or "(no goal recorded)"]).rstrip()))
    print("* the session --continue resumes")
    print_worktree_sessions(worktrees)
    return EXIT_OK


COMMANDS = (Command("sessions", _sessions_arguments, cmd_sessions),)
