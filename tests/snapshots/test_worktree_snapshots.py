"""A ``--worktree`` session in the workstation: the goal panel's line names the session's
branch and its worktree under ``.git``, at 80×24 and 160×45."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.core.history import History
from autogpt_tui.core.settings import load_settings
from autogpt_tui.core.worktree import start_worktree
from autogpt_tui.ui.app import WorkstationApp
from tests.snapshots.test_workstation_snapshots import GOAL, SIZES, SnapCompare, fixed, settle
from tests.support.scripted_llm import ScriptedLLM

__all__ = ["fixed"]  # the fixture, imported for the tests below

SESSION = "3f2a9c1b2d"


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_goal_panel_names_the_worktree_and_its_branch(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """A new session in its own worktree (as --worktree opens it): the branch and the
    folder under the goal, the branch's earlier steps in the history."""
    with History.open(fixed, create=False) as history:
        worktree = start_worktree(history, SESSION)
    settings = load_settings(
        worktree.path,
        overrides={
            "model": {"base_url": llm_server.base_url, "api_key": "sk-snap"},
            "agent": {"mode": "step"},
        },
    )
    app = WorkstationApp(
        worktree.path, goal=GOAL, session=SESSION, theme_name="autogpt-dark", settings=settings
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
