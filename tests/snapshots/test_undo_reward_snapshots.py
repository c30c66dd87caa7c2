"""Snapshots of an undo that counted as a −1 rating: the toast says so and how to clear it,
and the step undone is selected (its −1 and its diff on screen), at 80×24 and 160×45."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.snapshots.test_workstation_snapshots import (
    SIZES,
    SnapCompare,
    fixed,
    make_app,
    settle,
)
from tests.support.scripted_llm import ScriptedLLM

__all__ = ["fixed"]  # the fixture, imported for pytest to find

COUNTED = "counted as −1; press 0 to clear"


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_an_undo_counted_as_minus_one(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """Step 2 undone from the keyboard: its toast, its row (undone, −1), its diff."""
    app = make_app(fixed, llm_server, "autogpt-dark")

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("3")  # on a narrow screen, show the history panel
        app.clear_notifications()  # only the undo's toast: the others time out
        await pilot.press("u")
        history = app.query_one(StepHistory)
        deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
        while time.monotonic() < deadline and not (
            any(COUNTED in n.message for n in app._notifications)
            and any(s.step == 2 and s.undone for s in history.steps)
            and (selected := history.selected_step) is not None
            and selected.step == 2
        ):
            await pilot.pause(0.02)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
