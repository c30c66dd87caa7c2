"""A comment on a rated-down step reaches the next request's prompt as the user said it,
tied to the situation: "When running the tests: use -x --tb=short" (scripted server)."""

from __future__ import annotations

from pathlib import Path

from autogpt_tui.core.learning import AVOID_HEADING
from autogpt_tui.core.session import open_session
from autogpt_tui.core.settings import load_settings
from tests.functional.test_cli import cli
from tests.support.prompts import prompt_text
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

LESSON = "When running the tests: use -x --tb=short"


def test_the_users_comment_on_a_test_run_reaches_the_next_prompt(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    tests = ToolCall("run_command", {"command": "python -m pytest -q"})
    llm_server.script(
        Reply("Run the tests.", tool_calls=[tests]),
        Reply("Read it.", tool_calls=[ToolCall("read_file", {"path": "README.md"})]),
    )
    settings = load_settings(
        workspace,
        overrides={
            "model": {"base_url": llm_server.base_url, "api_key": "sk-test-lesson-0001"},
            "agent": {"mode": "auto"},
        },
    )
    session = open_session(workspace, settings, goal="Fix slugify")
    try:
        session.agent.run(max_steps=1)
        # The user rates the test run down from another terminal, by the label `log` shows.
        rated = cli("rate", str(workspace), "#1", "-1", "--comment", "use -x --tb=short")
        assert rated.returncode == 0, rated.stderr
        session.agent.run(max_steps=1)
    finally:
        session.close()
    # The lessons come after the steps, out of the stable prefix (prompt caching).
    first, second = prompt_text(llm_server.requests[0]), prompt_text(llm_server.requests[1])
    assert LESSON not in first
    assert f"{AVOID_HEADING}\n- {LESSON}\n" in second
    # The action itself is not what the agent is told to avoid.
    assert "Avoid:" not in second
    assert "Run: python -m pytest -q" not in second
    # And `rewards` shows the lesson the same way.
    shown = cli("rewards", str(workspace))
    assert f"note   {LESSON}" in shown.stdout
