"""Snapshots of a reply of several tool calls (issue 13, item 4): the log with a step of
three reads (one card each, committed as one step) and the reply's write proposed next,
waiting; and the transcript of the reads step, every call with its output.

The workspace of the workstation snapshots (session "demo": #1, #2, and #3 undone) is
resumed, in step mode: each read waits for approval, then the write does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.snapshots.test_log_history_snapshots import open_latest_transcript, wait_for
from tests.snapshots.test_workstation_snapshots import (
    SIZES,
    SnapCompare,
    fixed,
    make_app,
    settle,
)
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

__all__ = ["fixed"]  # the fixture, shared with the workstation snapshots

REPLY = Reply(
    "Before I touch anything I'll look at the **app**, the tests and where `main` is used.",
    tool_calls=[
        ToolCall("read_file", {"path": "src/app.py"}),
        ToolCall("list_files", {"path": "."}),
        ToolCall("search", {"pattern": "main", "context": 1}),
        ToolCall("write_file", {"path": "CHANGES.md", "content": "- main returns 0\n"}),
    ],
)


async def approve_reads(pilot: Pilot[None], app: WorkstationApp) -> None:
    """Press s, approve each of the three reads as it waits; wait for the step commit."""
    log = app.query_one(ActionLog)
    await pilot.press("s")
    for n in range(1, 4):

        def waits(cards: int = n) -> bool:
            return app.runner.awaiting_approval and len(log.card_data(4)) == cards

        await wait_for(pilot, waits)
        await pilot.press("a")
    history = app.query_one(StepHistory)
    await wait_for(pilot, lambda: len(history.steps) == 4 and not app._agent_busy)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_reads_step_then_the_write_waiting(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """Three read cards in step 4, committed; step 5 is the reply's write, waiting."""
    llm_server.script(REPLY)
    app = make_app(fixed, llm_server, "autogpt-dark")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await approve_reads(pilot, app)
        log = app.query_one(ActionLog)
        await pilot.press("s")  # the write: no new request, proposed at once
        await wait_for(pilot, lambda: app.runner.awaiting_approval and bool(log.card_data(5)))
        await pilot.press("1")  # on a narrow screen, show the log
        await settle(pilot, also_ignore=frozenset({"agent"}))  # it waits for us, by design
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    assert len(llm_server.requests) == 1


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_transcript_of_a_reads_step(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """Enter on the reads step: its thought, then each call and its output."""
    llm_server.script(REPLY)
    app = make_app(fixed, llm_server, "autogpt-dark")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await approve_reads(pilot, app)
        await open_latest_transcript(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
