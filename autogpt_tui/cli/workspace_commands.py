"""The subcommands about the workspace itself rather than its steps: ``trust``."""

from __future__ import annotations

import argparse
from pathlib import Path

from autogpt_tui.cli.common import Command, UsageError, workspace_argument
from autogpt_tui.core.constants import EXIT_OK


def _trust_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Let the workspace's .autogpt-tui.toml steer the agent (its policy arms, their "
        "instructions and models, its model, and its permission rules that allow), as the "
        "file is now."
    )
    workspace_argument(parser)


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
        f"Trusted {path}: its policy arms, their instructions, its model and its "
        "permission rules now apply. "
        "If the file changes, it is ignored again until you trust it again."
    )
    return EXIT_OK


COMMANDS = (Command("trust", _trust_arguments, cmd_trust),)
