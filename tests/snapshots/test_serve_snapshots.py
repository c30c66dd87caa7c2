"""What a browser tab of ``serve`` shows when its TUI cannot start: the lock's sentence."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from autogpt_tui.core.lock import LockHolder, locked_sentence
from autogpt_tui.ui.serve_notice import ServeNotice
from tests.snapshots.test_workstation_snapshots import SIZES, SnapCompare

# Fixed: a real holder's pid and start time change from run to run.
HOLDER = LockHolder(pid=4242, host="devbox", started=0.0, command="tui")


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_a_second_tab_is_told_the_workspace_is_in_use(
    snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    sentence = locked_sentence(HOLDER).replace(HOLDER.describe(), "pid 4242 on devbox")
    app = ServeNotice(sentence)

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_q_closes_the_notice() -> None:
    app = ServeNotice("Another autogpt-tui is working in this workspace.")
    async with app.run_test() as pilot:
        assert "is working in this workspace" in str(app.query_one("#notice").render())
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0
        assert not app.is_running
