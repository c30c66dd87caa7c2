"""Snapshots of the session picker (S) over the workstation, at 80×24 and 160×45.

The helpers (fixed dates, HOME, clock and sandbox; the three-step workspace; ``settle``)
are the workstation snapshots'; a second, newer session is added here at a later fixed
date, and the picker's times are shown in UTC.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepRecord
from autogpt_tui.ui.screens.session_picker import SessionPicker
from tests.snapshots.test_workstation_snapshots import (
    SIZES,
    SnapCompare,
    fixed,  # noqa: F401 (a fixture)
    make_app,
    settle,
)
from tests.support.scripted_llm import ScriptedLLM

THEME = "autogpt-dark"
LATER = "2024-01-05T09:30:00+00:00"
"""When the second session's steps were committed."""


def add_second_session(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session b2c3d4e5f6: two steps toward another goal, the second rated down."""
    monkeypatch.setenv("GIT_AUTHOR_DATE", LATER)
    monkeypatch.setenv("GIT_COMMITTER_DATE", LATER)
    with History.open(workspace) as history:
        for number, name in enumerate(("docs/usage.md", "docs/faq.md"), start=1):
            (workspace / name).parent.mkdir(exist_ok=True)
            (workspace / name).write_text(f"# {name}\n")
            step = history.commit_step(
                session="b2c3d4e5f6",
                step=number,
                tool="write_file",
                policy="default",
                summary=f"Write {name}",
                record=StepRecord(
                    tool="write_file", arguments={"path": name}, goal="Document the command line"
                ),
                paths=[name],
            )
        history.rate(step.sha, -1, "too long")


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_session_picker(
    snap_compare: SnapCompare,
    fixed: Path,  # noqa: F811
    llm_server: ScriptedLLM,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
) -> None:
    """Two sessions, newest first: the one in use marked ▶ under the cursor, steps (and
    undone), last activity, rewards, goal."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    add_second_session(fixed, monkeypatch)
    app = make_app(fixed, llm_server, THEME)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("S")
        deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
        while time.monotonic() < deadline and not (
            isinstance(app.screen, SessionPicker)
            and isinstance(app.screen.focused, DataTable)
            and str(app.screen.query_one("#session-goal", Static).render()).startswith("Goal")
        ):
            await pilot.pause(0.02)
        app.clear_notifications()
        await pilot.pause(0.1)

    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        monkeypatch.undo()
        time.tzset()
