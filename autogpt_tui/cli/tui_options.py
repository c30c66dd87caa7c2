"""The TUI's own flags (goal, session, mode, model, base URL, theme, agents), declared once:
the TUI's parser takes them, and so does ``serve``, which hands them to the TUI each
browser connection starts."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from autogpt_tui.cli import run_command
from autogpt_tui.cli.common import UsageError
from autogpt_tui.core.constants import MODES

if TYPE_CHECKING:
    from autogpt_tui.core.settings import Settings


def tui_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the TUI's flags (everything but WORKSPACE and --version) on ``parser``."""
    parser.add_argument("--goal", help="the goal to start with")
    run_command.session_arguments(parser)
    model_arguments(parser)
    parser.add_argument("--theme", help="theme name")
    run_command.agents_argument(parser)


def model_arguments(parser: argparse.ArgumentParser, *, mode_help: str = "approval mode") -> None:
    """Declare ``--mode``, ``--model`` and ``--base-url``, which override the config's
    (the TUI, ``serve`` and ``acp`` all take them, with the same meaning)."""
    parser.add_argument("--mode", choices=MODES, help=mode_help)
    parser.add_argument("--model", help="model name")
    parser.add_argument("--base-url", help="OpenAI-compatible server URL")


def tui_flags(options: argparse.Namespace) -> list[str]:
    """The flags of :func:`tui_arguments` that ``options`` set, as a command line again."""
    declared = argparse.ArgumentParser(add_help=False)
    tui_arguments(declared)
    flags: list[str] = []
    for action in declared._actions:  # argparse lists what was declared only here
        value = getattr(options, action.dest, None)
        if value is None or value is False:
            continue
        flag = action.option_strings[-1]
        # --goal=-x, not --goal -x: a value that starts with a dash stays a value.
        flags.append(flag if value is True else f"{flag}={value}")
    return flags


def team_names(options: argparse.Namespace, settings: Settings) -> list[str] | None:
    """``--agents``, checked against the config before the screen takes over (one
    sentence on the terminal for a name no ``[[agents]]`` has); None without it."""
    names = run_command.agent_names(options.agents)
    if names is None:
        return None
    if options.session is not None or options.resume_latest:
        raise UsageError(
            "--agents takes up the branch's team by its goal; --session and --continue"
            " resume a single agent's session."
        )
    from autogpt_tui.core.team_session import choose_team

    choose_team(settings, names)
    return names
