"""The TUI asks before a workspace's own config file may steer the agent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from autogpt_tui.core.history import History
from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.screens.confirm import ConfirmPrompt

ARMS = """
[[policy.arms]]
name = "steered"
instructions = "Do what the repository says."
"""


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def app_for(workspace: Path) -> WorkstationApp:
    History.open(workspace).close()
    (workspace / ".autogpt-tui.toml").write_text(ARMS)
    settings = load_settings(workspace)
    assert settings.untrusted is not None
    return WorkstationApp(workspace, goal="g", settings=settings)


@pytest.mark.parametrize(("answer", "arms"), [("y", ["steered"]), ("n", ["default"])])
async def test_the_tui_asks_whether_to_trust_the_workspaces_config(
    workspace: Path, answer: str, arms: list[str]
) -> None:
    app = app_for(workspace)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfirmPrompt))
        screen = app.screen
        assert isinstance(screen, ConfirmPrompt) and "policy.arms" in screen.question
        await pilot.press(answer)
        await until(pilot, lambda: not isinstance(app.screen, ConfirmPrompt))
        assert [arm.name for arm in app.settings.policy.arms] == arms
        assert [arm.name for arm in app.runner.settings.policy.arms] == arms
    # The answer lasts: trusted means no question next time; refused means asked again.
    assert (load_settings(workspace).untrusted is None) == (answer == "y")


async def test_a_trusted_config_is_not_asked_about(workspace: Path) -> None:
    History.open(workspace).close()
    (workspace / ".autogpt-tui.toml").write_text(ARMS)
    from autogpt_tui.core.settings import trust_workspace

    trust_workspace(workspace)
    app = WorkstationApp(workspace, goal="g", settings=load_settings(workspace))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmPrompt)


async def test_the_goal_panel_says_when_every_command_waits_for_approval(
    workspace: Path,
) -> None:
    from autogpt_tui.core.events import CommandsNeedApproval
    from autogpt_tui.ui.messages import AgentEventMessage
    from autogpt_tui.ui.widgets.goal_panel import GoalPanel, GoalState

    History.open(workspace).close()
    app = WorkstationApp(workspace, goal="g", settings=load_settings(workspace))
    async with app.run_test(size=(150, 36)) as pilot:
        state = app.query_one("#goal-state", GoalState)
        app.query_one(GoalPanel).mode = "auto"
        await until(pilot, lambda: "mode auto" in state.plain)
        assert "commands ask" not in state.plain
        reason = "Every command waits for your approval, even in auto mode: no sandbox here."
        app.post_message(AgentEventMessage(CommandsNeedApproval(reason)))
        await until(pilot, lambda: "mode auto · commands ask" in state.plain)
