"""The delegation's settings: ``[agent] delegate_max_steps`` and ``delegate_model``, and
what a workspace's own config file may do with them (lower the cap; the model only once
trusted)."""

from __future__ import annotations

from pathlib import Path

from autogpt_tui.core.settings import load_settings, trust_workspace, workspace_config_path
from tests.unit.test_settings import WriteFile, clean_env, user_file, workspace, write

__all__ = ["clean_env", "user_file", "workspace", "write"]  # the fixtures, shared


def test_the_defaults(workspace: Path) -> None:
    settings = load_settings(workspace)
    assert settings.agent.delegate_max_steps == 8
    assert settings.agent.delegate_model is None


def test_a_workspace_may_lower_the_cap_but_not_raise_it(
    workspace: Path, write: WriteFile, user_file: Path
) -> None:
    write(user_file, "[agent]\ndelegate_max_steps = 6\n")
    write(workspace_config_path(workspace), "[agent]\ndelegate_max_steps = 40\n")
    raised = load_settings(workspace)
    assert raised.agent.delegate_max_steps == 6
    (warning,) = raised.warnings
    assert "delegate_max_steps" in warning and "only lower" in warning
    write(workspace_config_path(workspace), "[agent]\ndelegate_max_steps = 2\n")
    assert load_settings(workspace).agent.delegate_max_steps == 2


def test_a_workspace_sets_the_delegate_model_only_once_trusted(
    workspace: Path, write: WriteFile
) -> None:
    write(workspace_config_path(workspace), '[agent]\ndelegate_model = "their-model"\n')
    untrusted = load_settings(workspace)
    assert untrusted.agent.delegate_model is None
    assert untrusted.untrusted is not None
    assert untrusted.untrusted.keys == ("agent.delegate_model",)
    trust_workspace(workspace)
    assert load_settings(workspace).agent.delegate_model == "their-model"
