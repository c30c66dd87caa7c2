"""``[rewards] reviewer_weight``: what a reviewer's rating weighs against the user's, and
who may set it (a workspace's file may only lower it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autogpt_tui.core.settings import ConfigError, load_settings
from tests.unit.test_undo_rewards import user_file

__all__ = ["user_file"]  # the fixture: no real user config, the user's file read from tmp


def test_half_a_users_rating_by_default(user_file: Path, workspace: Path) -> None:
    assert load_settings(workspace).rewards.reviewer_weight == 0.5


def test_the_user_sets_it_in_their_file_or_the_environment(
    user_file: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_file.write_text("[rewards]\nreviewer_weight = 0.8\n")
    assert load_settings(workspace).rewards.reviewer_weight == 0.8
    user_file.unlink()
    monkeypatch.setenv("AUTOGPT_TUI_REWARDS__REVIEWER_WEIGHT", "0")
    assert load_settings(workspace).rewards.reviewer_weight == 0


@pytest.mark.parametrize("value", ["1.5", "-0.1", '"half"'])
def test_a_weight_outside_0_to_1_is_one_clear_error(
    user_file: Path, workspace: Path, value: str
) -> None:
    user_file.write_text(f"[rewards]\nreviewer_weight = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(workspace)
    message = str(caught.value)
    assert "rewards.reviewer_weight" in message and "\n" not in message


def test_a_workspace_file_may_lower_it(user_file: Path, workspace: Path) -> None:
    (workspace / ".autogpt-tui.toml").write_text("[rewards]\nreviewer_weight = 0.2\n")
    settings = load_settings(workspace)
    assert settings.rewards.reviewer_weight == 0.2
    assert settings.warnings == []


def test_a_workspace_file_cannot_raise_it_above_the_users(user_file: Path, workspace: Path) -> None:
    user_file.write_text("[rewards]\nreviewer_weight = 0.3\n")
    path = workspace / ".autogpt-tui.toml"
    path.write_text("[rewards]\nreviewer_weight = 1.0\n")
    settings = load_settings(workspace)
    assert settings.rewards.reviewer_weight == 0.3
    assert settings.warnings == [
        f"Ignored rewards.reviewer_weight = 1.0 in {path}: a workspace's config file can only"
        " lower what a reviewer's ratings weigh, not raise it above yours (0.3)."
    ]
