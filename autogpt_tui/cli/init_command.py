"""``autogpt-tui init [WORKSPACE]``: write a starting AGENTS.md from what the repository
holds (languages, test and lint commands). It never overwrites one and never commits:
the file is the user's, to read, edit and commit."""

from __future__ import annotations

import argparse
import os

from autogpt_tui.cli.common import Command, UsageError, open_history, workspace_argument
from autogpt_tui.core.constants import EXIT_OK

AGENTS_FILE = "AGENTS.md"


def _init_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Write a starting AGENTS.md at the repository's root from what it finds there: the "
        "languages of the tracked files and the test and lint commands (pyproject.toml, "
        "package.json, Makefile, Cargo.toml, go.mod). An existing AGENTS.md is never "
        "overwritten (exit status 2), and nothing is committed."
    )
    workspace_argument(parser)


def cmd_init(options: argparse.Namespace) -> int:
    """``init [WORKSPACE]``."""
    from autogpt_tui.core.project_survey import agents_md, survey

    with open_history(options.workspace) as history:
        root = history.root
    target = root / AGENTS_FILE
    if os.path.lexists(target):
        raise UsageError(f"{target} already exists; init never overwrites it.")
    text = agents_md(survey(root))
    try:
        # O_EXCL: a file made meanwhile (an editor, another init) is never overwritten.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise UsageError(f"{target} already exists; init never overwrites it.") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    print(f"Wrote {target} (not committed: review it, then commit it yourself):\n")
    print(text, end="")
    return EXIT_OK


COMMANDS = (Command("init", _init_arguments, cmd_init),)
