"""Snapshots of talking to the agent (issue 12), at 80×24 and 160×45: the message box
over the workstation, and the log once the model has read the message."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.ui.screens.prompt import TextPrompt
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.snapshots.test_status_snapshots import make_app, wait_for
from tests.snapshots.test_workstation_snapshots import (
    SIZES,
    SnapCompare,
    fixed,  # noqa: F401 (a fixture, used by name)
    settle,
)
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

MESSAGE = "Keep the tests as they are"


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_the_message_box_over_the_workstation(
    snap_compare: SnapCompare,
    fixed: Path,  # noqa: F811
    llm_server: ScriptedLLM,
    size: tuple[int, int],
) -> None:
    """``i`` opens the message box at the bottom; the workstation stays in view."""
    app = make_app(fixed, llm_server)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.clear_notifications()
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press(*MESSAGE)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_the_log_shows_the_message_where_the_model_read_it(
    snap_compare: SnapCompare,
    fixed: Path,  # noqa: F811
    llm_server: ScriptedLLM,
    size: tuple[int, int],
) -> None:
    """The message sits in the log right before the step whose request carried it."""
    llm_server.script(
        Reply(
            "I'll leave the tests alone and fix the module.",
            tool_calls=[ToolCall("list_files", {"path": "src"})],
        )
    )
    app = make_app(fixed, llm_server)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press(*MESSAGE, "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, TextPrompt))
        await pilot.press("m", "m")  # auto: the read runs without asking
        await pilot.press("s")
        history = app.query_one(StepHistory)
        await wait_for(
            pilot,
            lambda: any(s.tool == "list_files" for s in history.steps) and not app._agent_busy,
        )
        log = app.query_one(ActionLog)
        await wait_for(pilot, lambda: any(MESSAGE in n.text for n in log._notices))
        await settle(pilot)
        app.clear_notifications()
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
