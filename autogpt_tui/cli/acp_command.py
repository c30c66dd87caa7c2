"""``autogpt-tui acp``: serve the Agent Client Protocol on stdio for an editor (Zed, Toad)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from autogpt_tui.cli.common import Command
from autogpt_tui.cli.tui_options import model_arguments

if TYPE_CHECKING:
    from autogpt_tui.core.settings import Settings


def _acp_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Speak the Agent Client Protocol on stdin and stdout, so an editor (Zed, Toad) can "
        "drive the agent. The editor starts this command; each session works in the "
        "git repository the editor opens (its cwd). Logs go to stderr."
    )
    # The TUI's own flags, with the same meaning: they override the config's.
    model_arguments(parser, mode_help="approval mode a new session starts in")


def cmd_acp(options: argparse.Namespace) -> int:
    """``acp [--mode M] [--model M] [--base-url URL]``: serve until the editor hangs up."""
    from autogpt_tui.acp.server import serve_stdio
    from autogpt_tui.core.settings import load_settings

    overrides = {
        "model": {"model": options.model, "base_url": options.base_url},
        "agent": {"mode": options.mode},
    }

    def settings_for(workspace: Path) -> Settings:
        return load_settings(workspace, overrides=overrides)

    return serve_stdio(settings_for)


COMMANDS = (Command("acp", _acp_arguments, cmd_acp),)
