"""Snapshots of a delegation (issue 14, item 4): the delegate call waiting for approval
(its card says it runs up to N read-only steps), the delegation folded into its card
once done ("N steps · enter to expand"), and its transcript with every sub-step.

The workspace of the workstation snapshots (session "demo": #1, #2, and #3 undone) is
resumed in step mode; the scripted server plays the parent, then the sub-agent.
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

__all__ = ["SCRIPT", "delegate_and_approve", "fixed"]  # the fixture, shared

TASK = "Find every caller of main and what it expects main to return."
SCRIPT = [
    Reply(
        "Before changing `main` I'll have a helper find its **callers**.",
        tool_calls=[ToolCall("delegate", {"task": TASK})],
    ),
    Reply(
        "Searching for main.",
        tool_calls=[
            ToolCall("search", {"pattern": "main"}),
            ToolCall("list_files", {"path": "."}),
        ],
    ),
    Reply("Reading the test.", tool_calls=[ToolCall("read_file", {"path": "tests.py"})]),
    Reply(
        "Done.",
        tool_calls=[
            ToolCall(
                "finish",
                {"summary": "tests.py imports main and asserts main() == 0 (line 3)."},
            )
        ],
    ),
]


async def propose(pilot: Pilot[None], app: WorkstationApp) -> None:
    """Press s: the delegate call waits for approval."""
    log = app.query_one(ActionLog)
    await pilot.press("s")
    await wait_for(pilot, lambda: app.runner.awaiting_approval and bool(log.card_data(4)))


async def delegate_and_approve(pilot: Pilot[None], app: WorkstationApp) -> None:
    """Propose the delegation, approve it once, wait for its one commit."""
    await settle(pilot)
    await propose(pilot, app)
    await pilot.press("a")
    history = app.query_one(StepHistory)
    await wait_for(pilot, lambda: len(history.steps) == 4 and not app._agent_busy)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_delegation_waiting_for_approval(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """The delegate card waits, saying it runs up to 8 read-only steps without asking."""
    llm_server.script(SCRIPT[0])
    app = make_app(fixed, llm_server, "autogpt-dark")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await propose(pilot, app)
        await pilot.press("1")  # on a narrow screen, show the log
        await settle(pilot, also_ignore=frozenset({"agent"}))  # it waits for us, by design
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_delegation_folded_in_its_card(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """Step 4 is one card: delegate, the summary as its output, "3 steps · enter to expand"."""
    llm_server.script(*SCRIPT)
    app = make_app(fixed, llm_server, "autogpt-dark")

    async def run_before(pilot: Pilot[None]) -> None:
        await delegate_and_approve(pilot, app)
        await pilot.press("1")
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_delegation_transcript(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM
) -> None:
    """Enter on the folded card: the step's transcript with each sub-step in full."""
    llm_server.script(*SCRIPT)
    app = make_app(fixed, llm_server, "autogpt-dark")

    async def run_before(pilot: Pilot[None]) -> None:
        await delegate_and_approve(pilot, app)
        await open_latest_transcript(pilot, app)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
