"""Snapshots of a team at work (``--agents``): the log's role badges and the goal panel's
plan with check marks, at 80×24 and 160×45. Reuses the workstation snapshots' fixed
world (dates, clock, HOME, sandbox probe, port); the team's session id is fixed too."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.core import team_session
from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.action_log import ActionLog
from tests.snapshots.test_workstation_snapshots import SIZES, fixed, settle
from tests.support.role_play import RolePlay, call
from tests.support.scripted_llm import ScriptedLLM

__all__ = ["fixed"]

SnapCompare = Callable[..., bool]


async def until(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
    while not condition() and time.monotonic() < deadline:
        await pilot.pause(0.02)
    assert condition()


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_team_after_plan_code_and_review(
    snap_compare: SnapCompare,
    fixed: Path,
    llm_server: ScriptedLLM,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
) -> None:
    """Planner, coder and reviewer have each taken a step: badges, and the plan 0/2."""
    monkeypatch.setattr(team_session, "new_session_id", lambda: "team")
    play = RolePlay(llm_server)
    play.script(
        "planner",
        [call("finish", summary="- [ ] Make main return 0\n- [ ] Test it")],
    )
    play.script(
        "coder",
        [
            call(
                "write_file",
                path="src/app.py",
                content='def main() -> int:\n    """Exit status."""\n    return 0\n',
            )
        ],
    )
    play.script("reviewer", [call("finish", summary="+1 main returns 0 now")])
    settings = load_settings(
        fixed,
        overrides={
            "model": {"base_url": llm_server.base_url, "api_key": "sk-snap"},
            "agent": {"mode": "auto"},
        },
    )
    app = WorkstationApp(
        fixed,
        goal="Make main return 0 and test it",
        settings=settings,
        agents=["planner", "coder", "reviewer"],
    )

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for count in (1, 2, 3):
            await pilot.press("s")
            await until(pilot, lambda n=count: app.query_one(ActionLog).step_count >= n)  # type: ignore[misc]
            await until(pilot, lambda: not app._agent_busy)
        await settle(pilot)
        await pilot.press("1")  # on a narrow screen, show the log
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
