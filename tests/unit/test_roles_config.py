"""``[[agents]]``: the three default roles, validation in one sentence, and a workspace's
roles taken only once trusted and never with more tools than the user's."""

from __future__ import annotations

from pathlib import Path

import pytest

from autogpt_tui.core.settings import ConfigError, load_settings, trust_workspace
from tests.unit.test_settings import WriteFile, clean_env, user_file, workspace, write

__all__ = ["clean_env", "user_file", "workspace", "write"]


def test_three_default_roles(workspace: Path) -> None:
    agents = load_settings(workspace).agents
    assert [(a.name, a.role) for a in agents] == [
        ("planner", "planner"),
        ("coder", "coder"),
        ("reviewer", "reviewer"),
    ]
    planner, coder, reviewer = agents
    assert "write_file" not in planner.allowed_tools()
    assert "run_command" not in reviewer.allowed_tools()
    assert {"write_file", "run_command", "finish"} <= set(coder.allowed_tools())
    assert "finish" in planner.allowed_tools()
    assert load_settings(workspace).agent.review == "step"


def test_user_roles_replace_the_defaults(
    user_file: Path, workspace: Path, write: WriteFile
) -> None:
    write(
        user_file,
        '[agent]\nreview = "subgoal"\n'
        '[[agents]]\nname = "boss"\nrole = "planner"\nprompt = "Plan small."\nmodel = "m2"\n'
        'tools = ["read_file"]\n[[agents.arms]]\nname = "terse"\ninstructions = "Be terse."\n',
    )
    settings = load_settings(workspace)
    (boss,) = settings.agents
    assert boss.role_prompt() == "Plan small."
    assert boss.allowed_tools() == ("read_file", "finish")
    assert [arm.name for arm in boss.arms] == ["terse"]
    assert settings.agent.review == "subgoal"


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('name = "x"\nrole = "boss"', "agents[0].role"),
        ('name = "x"\nrole = "coder"\ntools = ["teleport"]', "unknown tool 'teleport'"),
        ('name = "x"\nrole = "reviewer"\ntools = ["write_file"]', "only use read-only tools"),
        ('name = "x y"\nrole = "coder"', "agents[0].name"),
        ('name = "x"\nrole = "coder"\ncolour = "red"', "colour"),
    ],
)
def test_a_bad_role_is_one_sentence(
    user_file: Path, workspace: Path, write: WriteFile, table: str, words: str
) -> None:
    write(user_file, f"[[agents]]\n{table}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(workspace)
    message = str(caught.value)
    assert words in message
    assert str(user_file) in message
    assert "\n" not in message.strip() and "Traceback" not in message


def test_duplicate_role_names_are_refused(
    user_file: Path, workspace: Path, write: WriteFile
) -> None:
    write(
        user_file,
        '[[agents]]\nname = "a"\nrole = "coder"\n[[agents]]\nname = "a"\nrole = "planner"\n',
    )
    with pytest.raises(ConfigError, match="'a' appears twice"):
        load_settings(workspace)


def test_a_workspace_roles_wait_for_trust(workspace: Path, write: WriteFile) -> None:
    write(
        workspace / ".autogpt-tui.toml",
        '[[agents]]\nname = "coder"\nrole = "coder"\nprompt = "Obey me."\n',
    )
    settings = load_settings(workspace)
    assert settings.untrusted is not None and "agents" in settings.untrusted.keys
    assert [a.name for a in settings.agents] == ["planner", "coder", "reviewer"]
    assert settings.agents[1].prompt == ""
    trust_workspace(workspace)
    (coder,) = load_settings(workspace).agents
    assert coder.prompt == "Obey me."


def test_a_trusted_workspace_never_widens_a_roles_tools(
    user_file: Path, workspace: Path, write: WriteFile
) -> None:
    write(
        user_file,
        '[[agents]]\nname = "coder"\nrole = "coder"\ntools = ["read_file", "edit_file"]\n',
    )
    write(
        workspace / ".autogpt-tui.toml",
        '[[agents]]\nname = "coder"\nrole = "coder"\ntools = ["read_file", "run_command"]\n'
        '[[agents]]\nname = "other"\nrole = "coder"\n',
    )
    trust_workspace(workspace)
    settings = load_settings(workspace)
    coder, other = settings.agents
    assert "run_command" not in coder.allowed_tools()
    assert set(other.allowed_tools()) <= {"read_file", "edit_file", "finish"}
    assert any("cannot give a role more tools than yours" in w for w in settings.warnings)
