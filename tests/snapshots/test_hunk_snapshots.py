"""Snapshots of hunk-level review: a proposed edit of three hunks, the second rejected.

The helpers (fixed dates, HOME, clock and sandbox; the three-step workspace; ``settle``)
are those of the workstation's snapshots.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from tests.conftest import git
from tests.snapshots.test_workstation_snapshots import (
    SIZES,
    SnapCompare,
    make_app,
    settle,
)
from tests.snapshots.test_workstation_snapshots import fixed as fixed  # a fixture
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

THEME = "autogpt-dark"
README = "# demo\n\n" + "".join(f"- item {n}\n" for n in range(1, 29))
PROPOSED = (
    README.replace("- item 2\n", "- item two\n")
    .replace("- item 14\n", "- item fourteen\n- item fourteen and a half\n")
    .replace("- item 27\n", "")
)
"""Three changes far enough apart to be three hunks."""


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_a_proposed_edit_with_one_hunk_rejected(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """The second hunk is current and rejected (said on its header, its lines struck
    through); the footer offers the hunk keys, the border counts what is accepted."""
    (fixed / "README.md").write_text(README)
    git(fixed, "commit", "-q", "-am", "A longer README")
    llm_server.script(
        Reply(
            "Spell out the second item and split the fourteenth.",
            tool_calls=[ToolCall("write_file", {"path": "README.md", "content": PROPOSED})],
        )
    )
    app = make_app(fixed, llm_server, THEME)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("s")
        viewer = app.query_one(DiffViewer)
        deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
        while time.monotonic() < deadline and not (
            app.runner.awaiting_approval and viewer.review is not None
        ):
            await pilot.pause(0.02)
        await settle(pilot, also_ignore=frozenset({"agent"}))  # it waits for us, by design
        await pilot.press("2", "right_square_bracket", "space")
        assert viewer.review is not None and viewer.review.accepted == {0, 2}
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
