"""What every subcommand shares: the parser whose errors are one sentence, the usage
error, opening a workspace's history, and the argument shapes (``[WORKSPACE] REV``,
``[WORKSPACE] [N]``) several commands take."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from autogpt_tui.core.constants import EXIT_USAGE
from autogpt_tui.core.errors import UserError
from autogpt_tui.core.records import escape_surrogates

if TYPE_CHECKING:
    from autogpt_tui.core.history import History
    from autogpt_tui.core.records import StepCommit


class UsageError(UserError):
    """The command line itself is wrong (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one sentence and exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print the usage and the error as one sentence, and exit with status 2."""
        self.print_usage(sys.stderr)
        sentence = message[0].upper() + message[1:]
        self.exit(EXIT_USAGE, f"autogpt-tui: {sentence.rstrip('.')}.\n")


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, how its arguments are declared, and what it does."""

    name: str
    arguments: Callable[[argparse.ArgumentParser], None]
    """Sets the parser's description and declares the arguments."""
    run: Callable[[argparse.Namespace], int]
    """Does the work; returns the exit status."""


REV_HELP = (
    "REV is a label `log` prints: 4 or #4 (step 4 of the most recent session with a step 4"
    " on the current branch, else among the undone steps), SESSION#4 (SESSION: the"
    " session id or a prefix of it); or any git revision naming an agent step. A REV that"
    " names no step, or more than one, exits with status 2."
)


def workspace_argument(parser: argparse.ArgumentParser) -> None:
    """The optional leading WORKSPACE most commands take."""
    parser.add_argument("workspace", nargs="?", default=".")


def open_history(workspace: str) -> History:
    """Open an existing workspace's history (never making one), saying any recovery."""
    from autogpt_tui.core.history import History

    # Reading or editing a history never makes one: a plain folder is refused (exit 2)
    # before anything is written in it.
    from autogpt_tui.core.worktree import resolve_workspace

    # A worktree session's id (or a prefix of it) names its worktree (core/worktree.py).
    history = History.open(resolve_workspace(workspace) or Path(workspace), create=False)
    if history.recovered_notice:
        print(f"autogpt-tui: {history.recovered_notice}", file=sys.stderr)
    return history


def split_workspace(values: list[str], rest: int, name: str) -> tuple[str, list[str]]:
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


def count_argument(values: list[str], name: str) -> tuple[str, int]:
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


def step_label(step: StepCommit) -> str:
    """``step 4 (abc1234)``: how the commands that change steps name one."""
    return f"step {step.step} ({step.short_sha})"


@contextlib.contextmanager
def holding(history: History, doing: str) -> Iterator[None]:
    """Hold the workspace lock while moving HEAD: never under a working agent's feet
    (WorkspaceLocked names it), and no agent starts meanwhile."""
    from autogpt_tui.core.lock import WorkspaceLock

    with WorkspaceLock.acquire(history.common_dir, command=doing, doing=f"`{doing}`"):
        yield


def names(paths: list[str]) -> str:
    """Up to eight paths, printable, and how many more."""
    shown = ", ".join(escape_surrogates(p) for p in paths[:8])
    return shown + (f" and {len(paths) - 8} more" if len(paths) > 8 else "")
