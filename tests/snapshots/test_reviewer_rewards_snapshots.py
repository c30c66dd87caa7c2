"""The rewards view (``R``) when a reviewer agent rated steps too: per arm the steps only
the reviewer rated, and whether it agrees with the user, at 80×24 and 160×45."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from autogpt_tui.core.history import History
from autogpt_tui.ui.screens.rewards import RewardsScreen
from tests.snapshots.test_workstation_snapshots import (
    SIZES,
    SnapCompare,
    fixed,
    make_app,
    settle,
)
from tests.support.scripted_llm import ScriptedLLM

__all__ = ["fixed"]  # the fixture, imported for pytest to find

MODEL = "review-7b"


def add_reviews(workspace: Path) -> None:
    """Step 1 (the user's +1) rated -1 by the reviewer; step 2 (unrated) rated +1."""
    with History.open(workspace) as history:
        history.rate("demo#1", -1, "changes the exit status", source="reviewer", model=MODEL)
        history.rate("demo#2", 1, "tests the fix", source="reviewer", model=MODEL)


async def open_rewards(pilot: Pilot[None]) -> RewardsScreen:
    await settle(pilot)
    pilot.app.clear_notifications()
    await pilot.press("R")
    deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
    while time.monotonic() < deadline and not isinstance(pilot.app.screen, RewardsScreen):
        await pilot.pause(0.02)
    screen = pilot.app.screen
    assert isinstance(screen, RewardsScreen)
    await pilot.pause(0.1)
    return screen


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_the_rewards_view_with_a_reviewer(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """The arm's reviewer count and mean; agreement 0 of 1; the disagreement, its reason."""
    add_reviews(fixed)
    app = make_app(fixed, llm_server, "autogpt-dark")

    async def run_before(pilot: Pilot[None]) -> None:
        await open_rewards(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_the_view_says_whether_the_reviewer_agrees(
    fixed: Path, llm_server: ScriptedLLM
) -> None:
    add_reviews(fixed)
    app = make_app(fixed, llm_server, "autogpt-dark")
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_rewards(pilot)
        [arm] = screen.arms
        # Step 2: only the reviewer rated it, at half a user's rating (step 3's undo -1
        # and step 1's +1 are the user's).
        assert (arm.rated, arm.reviewer_rated, arm.reviewer_mean) == (2, 1, 1.0)
        assert (arm.alpha, arm.beta) == pytest.approx((2.5, 2.0))
        assert (screen.agreement.both, screen.agreement.agreed) == (1, 0)
        texts = [str(s.render()) for s in screen.query(Static)]
        assert "The reviewer agreed with you on 0 of the 1 step you both rated (0%)." in texts
        [line] = [t for t in texts if t.startswith("demo#1")]
        assert line == f"demo#1  you +1, reviewer -1 ({MODEL}): changes the exit status"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, RewardsScreen)


async def test_without_a_reviewer_the_view_is_as_before(
    fixed: Path, llm_server: ScriptedLLM
) -> None:
    app = make_app(fixed, llm_server, "autogpt-dark")
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_rewards(pilot)
        texts = [str(s.render()) for s in screen.query(Static)]
        assert "Reviewer" not in texts
        assert not any("reviewer" in t for t in texts)
