"""``autogpt-tui permissions``: the rules in force with their source, and the ignored ones."""

from __future__ import annotations

import os
from pathlib import Path

from autogpt_tui.core.history import History
from autogpt_tui.core.permissions import tilde
from autogpt_tui.core.settings import trust_workspace
from tests.functional.test_cli import assert_one_sentence, cli


def rule(tool: str, pattern: str, action: str) -> str:
    return f'[[permissions]]\ntool = "{tool}"\npattern = "{pattern}"\naction = "{action}"\n'


def test_permissions_lists_the_rules_in_force_and_the_ignored_ones(workspace: Path) -> None:
    History.open(workspace).close()
    user = Path(os.environ["AUTOGPT_TUI_CONFIG"])
    user.write_text("# mine\n" + rule("run_command", "pytest *", "allow"))
    ws_config = workspace / ".autogpt-tui.toml"
    ws_config.write_text(rule("*", "*", "allow") + rule("run_command", "git push*", "deny"))
    result = cli("permissions", str(workspace))
    assert result.returncode == 0, result.stderr
    assert tilde(user).startswith("~/")  # the test's HOME holds the user's config
    assert result.stdout.splitlines() == [
        "Rules in force (deny wins over ask, ask over allow):",
        f"  allow  run_command  pytest *   your config ({tilde(user)})",
        f"  deny   run_command  git push*  the workspace's config ({ws_config})",
        "Ignored:",
        f"  allow  *            *          the workspace's config ({ws_config}): a workspace's "
        "config cannot allow anything by itself until you trust it (`autogpt-tui trust`)",
        "An action no rule matches waits as the step mode says.",
    ]
    trust_workspace(workspace)
    trusted = cli("permissions", cwd=workspace)
    assert "Ignored:" not in trusted.stdout
    assert f"  allow  *            *          the workspace's config ({ws_config})" in (
        trusted.stdout.splitlines()
    )


def test_permissions_with_no_rules_says_the_mode_decides(workspace: Path) -> None:
    History.open(workspace).close()
    result = cli("permissions", str(workspace))
    assert result.stdout.splitlines() == [
        "No permission rules are in force.",
        "An action no rule matches waits as the step mode says.",
    ]


def test_a_bad_rule_is_one_sentence(workspace: Path) -> None:
    History.open(workspace).close()
    user = Path(os.environ["AUTOGPT_TUI_CONFIG"])
    user.write_text(rule("run_command", "x", "sometimes"))
    assert_one_sentence(
        cli("permissions", str(workspace)),
        1,
        f"Error in {user}: permissions[0].action must be 'allow', 'ask' or 'deny' "
        "(got 'sometimes').",
    )


def test_a_plain_folder_is_refused(tmp_path: Path) -> None:
    assert_one_sentence(cli("permissions", str(tmp_path)), 2, "is not a git repository")
