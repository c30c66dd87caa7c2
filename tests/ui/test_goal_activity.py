"""GoalPanel while the model works: spinner, elapsed time, tokens and retry countdown,
redrawn by the panel's own timer from a clock the test moves (never a sleep), and the
model's endpoint on the border."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from autogpt_tui.core.events import ThoughtDelta, TokensStreamed
from autogpt_tui.ui.messages import AgentEventMessage
from autogpt_tui.ui.model_activity import FRAME_S, SPINNER
from autogpt_tui.ui.widgets.goal_panel import GoalPanel, GoalState
from tests.ui.test_goal_panel import Host

DEADLINE_FRAMES = 400
"""Frames a test waits at most for the timer to redraw (a bound, not a timing)."""


class FakeClock:
    """A clock that moves only when the test moves it."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def state_of(panel: GoalPanel) -> str:
    return panel.query_one("#goal-state", GoalState).plain


async def until_drawn(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Let the app run (its timer redraws the panel) until ``condition`` holds."""
    for _ in range(DEADLINE_FRAMES):
        if condition():
            return
        await pilot.pause(FRAME_S)
    raise AssertionError("the panel was not redrawn in time")


async def test_the_spinner_and_elapsed_time_follow_the_clock_while_thinking() -> None:
    app = Host()
    clock = FakeClock()
    async with app.run_test(size=(140, 10)) as pilot:
        panel = app.query_one(GoalPanel)
        panel.clock = clock
        panel.status = "thinking"
        await pilot.pause()
        assert state_of(panel).startswith(f"{SPINNER[0]} thinking 0s  mode step")
        clock.now += 12  # nothing but the panel's timer redraws it
        await until_drawn(pilot, lambda: "thinking 12s" in state_of(panel))
        frame = SPINNER[round(12 / FRAME_S) % len(SPINNER)]  # the frame follows the time
        assert frame != SPINNER[0]
        assert state_of(panel).startswith(f"{frame} thinking 12s")
        panel.show_tokens(340)
        await pilot.pause()
        assert state_of(panel).startswith(f"{frame} thinking 12s · 340 tokens  mode")
        # The model answered: the status is a word again, and stays put.
        panel.status = "waiting"
        await pilot.pause()
        clock.now += 5
        await pilot.pause(FRAME_S * 3)
        assert state_of(panel) == "◆ waiting  mode step  policy default"
        # A new request starts its own count.
        panel.status = "thinking"
        await pilot.pause()
        assert state_of(panel).startswith(f"{SPINNER[0]} thinking 0s  mode")


async def test_a_retry_counts_down_on_the_panel() -> None:
    app = Host()
    clock = FakeClock()
    async with app.run_test(size=(140, 10)) as pilot:
        panel = app.query_one(GoalPanel)
        panel.clock = clock
        panel.status = "thinking"
        panel.show_retry(3.0, 2, 5)
        await pilot.pause()
        assert " retrying in 3s (attempt 2/5)  mode step" in state_of(panel)
        clock.now += 1.5
        await until_drawn(pilot, lambda: "retrying in 2s" in state_of(panel))
        clock.now += 1.5
        await until_drawn(pilot, lambda: "thinking 3s (attempt 2/5)" in state_of(panel))
        panel.show_tokens(8)
        await pilot.pause()
        assert "thinking 3s (attempt 2/5) · 8 tokens" in state_of(panel)


async def test_the_endpoint_shows_on_the_border() -> None:
    app = Host()
    async with app.run_test(size=(140, 10)) as pilot:
        panel = app.query_one(GoalPanel)
        assert panel.border_subtitle is None
        panel.endpoint = "llama[3] · 127.0.0.1:8080"  # shown as it is, not as markup
        await pilot.pause()
        assert panel.border_subtitle is not None
        assert panel._border_subtitle is not None
        assert panel._border_subtitle.plain == "llama[3] · 127.0.0.1:8080"


def test_a_burst_of_token_counts_is_shown_once_at_its_latest() -> None:
    """Counts queued behind each other stand for one another: only the latest is drawn."""
    earlier = AgentEventMessage(TokensStreamed(step=1, tokens=5))
    later = AgentEventMessage(TokensStreamed(step=1, tokens=9))
    assert earlier.can_replace(later)
    assert not earlier.can_replace(AgentEventMessage(ThoughtDelta(1, "text")))
