"""Snapshots of the log and the history after an undo and a new step (issue 12, item 4),
of a step's full transcript, and of the marker of new output below while reading back.

The workspace of the workstation snapshots (session "demo": #1, #2, and #3 undone) is
resumed; the agent takes step 4, the user undoes it, and the agent takes step 5: the log
shows step 4's card undone, dimmed, then the divider of the new branch, then step 5.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.screens.transcript import TranscriptScreen
from autogpt_tui.ui.widgets import action_log
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.snapshots.test_workstation_snapshots import (
    SIZES,
    THEMES,
    SnapCompare,
    fixed,
    make_app,
    settle,
)
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall
from tests.ui.test_action_log import LogApp

__all__ = ["fixed"]  # the fixture, shared with the workstation snapshots


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Let the app run until ``condition`` holds (a condition wait, 30 s at most)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        await pilot.pause(0.02)


async def approve_a_step(pilot: Pilot[None], app: WorkstationApp, count: int) -> None:
    """Press s, then a once the proposal waits; wait until the history lists ``count``."""
    await pilot.press("s")
    await wait_for(pilot, lambda: app.runner.awaiting_approval)
    await pilot.press("a")
    history = app.query_one(StepHistory)
    await wait_for(pilot, lambda: len(history.steps) == count and not app._agent_busy)


async def open_latest_transcript(pilot: Pilot[None], app: WorkstationApp) -> None:
    """Enter on the log: the latest step's transcript, drawn and settled."""
    await pilot.press("1")  # on a narrow screen, show the log
    log = app.query_one(ActionLog)
    log.focus()
    await wait_for(pilot, lambda: app.focused is log)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, TranscriptScreen) and app.screen.ready)
    await settle(pilot)
    app.clear_notifications()
    await pilot.pause(0.1)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_log_after_undo_and_a_new_step(
    snap_compare: SnapCompare,
    fixed: Path,
    llm_server: ScriptedLLM,
    theme: str,
    size: tuple[int, int],
) -> None:
    """Step 4 undone (dimmed, "↶ undone"), the new branch's divider, step 5 done."""
    llm_server.script(
        Reply(
            "I'll note the change in **CHANGES.md**.",
            tool_calls=[ToolCall("write_file", {"path": "CHANGES.md", "content": "- main\n"})],
        ),
        Reply(
            "Better: say it in the README.",
            tool_calls=[ToolCall("write_file", {"path": "README.md", "content": "# demo\n0\n"})],
        ),
    )
    app = make_app(fixed, llm_server, theme)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await approve_a_step(pilot, app, 4)
        await pilot.press("u")
        log = app.query_one(ActionLog)
        await wait_for(pilot, lambda: log.undone(4))
        await approve_a_step(pilot, app, 5)
        await pilot.press("1")  # on a narrow screen, show the log
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_transcript_of_a_step(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """Enter on the log: the step's thought, call and every line of its output."""
    (fixed / "CHANGES.md").write_text("".join(f"- change {n}\n" for n in range(1, 31)))
    llm_server.script(
        Reply(
            "I'll read **CHANGES.md** before I add to it.",
            tool_calls=[ToolCall("read_file", {"path": "CHANGES.md"})],
        )
    )
    app = make_app(fixed, llm_server, "autogpt-dark")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await approve_a_step(pilot, app, 4)
        await open_latest_transcript(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_new_output_below_while_reading_back(
    snap_compare: SnapCompare, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    """The user scrolled up; a step came in below: the marker says so, at the bottom."""
    monkeypatch.setattr(action_log, "clock", lambda: "12:00:00")
    app = LogApp()

    async def run_before(pilot: Pilot[None]) -> None:
        log = app.query_one(ActionLog)
        for step in range(1, 13):
            await log.append_thought(step, f"Step {step}: I read **f{step}.py** next.")
            await log.end_thought(step)
            await log.show_action(step, "read_file", {"path": f"f{step}.py"}, waiting=False)
            log.action_executed(step, True, f"def f{step}():\n    return {step}\n")
            log.action_committed(step, f"{step:02x}" * 20, f"Read f{step}.py")
        await pilot.pause()
        log.scroll_to(y=2, animate=False, immediate=True)
        await pilot.pause()
        await log.append_thought(13, "Step 13, while the user reads step 1.")
        await wait_for(pilot, lambda: log.new_output_below)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
