"""``autogpt-tui permissions [WORKSPACE]``: the permission rules in force, and those ignored."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from autogpt_tui.cli.common import Command, open_history, workspace_argument
from autogpt_tui.core.constants import EXIT_OK
from autogpt_tui.core.records import escape_surrogates

if TYPE_CHECKING:
    from autogpt_tui.core.permissions import Permissions, SourcedRule


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "List the permission rules ([[permissions]] in your config, and in the workspace's "
        ".autogpt-tui.toml) that decide which actions run without asking, always ask, or "
        "are refused; and the rules ignored, with why."
    )
    workspace_argument(parser)


def cmd_permissions(options: argparse.Namespace) -> int:
    """``permissions [WORKSPACE]``."""
    from autogpt_tui.core.settings import load_settings, permissions_for

    with open_history(options.workspace) as history:
        root = history.root
    settings = load_settings(root)
    print("\n".join(permission_lines(permissions_for(settings, root), settings.agent.mode)))
    return EXIT_OK


def permission_lines(permissions: Permissions, mode: str) -> list[str]:
    """The listing ``permissions`` prints: rules in force, then the ignored ones."""
    lines: list[str] = []
    width = max((len(r.rule.pattern) for r in permissions.rules), default=0)
    if permissions.in_force:
        lines.append("Rules in force (deny wins over ask, ask over allow):")
        lines += [_line(rule, width) for rule in permissions.in_force]
    else:
        lines.append("No permission rules are in force.")
    if permissions.ignored:
        lines.append("Ignored:")
        lines += [f"{_line(rule, width)}: {rule.ignored}" for rule in permissions.ignored]
    lines.append(f"An action no rule matches waits as the {mode} mode says.")
    return lines


def _line(rule: SourcedRule, width: int) -> str:
    r = rule.rule
    return escape_surrogates(f"  {r.action:<5}  {r.tool:<11}  {r.pattern:<{width}}  {rule.origin}")


COMMANDS = (Command("permissions", _arguments, cmd_permissions),)
