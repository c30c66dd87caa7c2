"""Snapshots of the layout after a resize, the footer and the help screen (issue 12).

The helpers (fixed dates, HOME, clock and sandbox; the three-step workspace; ``settle``)
are those of the workstation's snapshots.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.snapshots.test_workstation_snapshots import (
    SIZES,
    SnapCompare,
    make_app,
    settle,
)
from tests.snapshots.test_workstation_snapshots import fixed as fixed  # a fixture
from tests.support.scripted_llm import ScriptedLLM

THEME = "autogpt-dark"


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_resized_from_the_other_size(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """Started at the other size and resized: laid out as if started at this one."""
    app = make_app(fixed, llm_server, THEME)
    other = SIZES[1] if size == SIZES[0] else SIZES[0]

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.resize_terminal(*size)
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=other, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_help_lists_every_key(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """The help screen over the workstation, the panel keys 1–4 among the others."""
    app = make_app(fixed, llm_server, THEME)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.clear_notifications()
        await pilot.press("question_mark")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
