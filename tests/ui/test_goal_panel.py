"""GoalPanel: status classes, mode and policy, budget meters, narrow layout, goal editing."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Input

from autogpt_tui.ui.widgets.budget_meter import BudgetMeter, format_cost
from autogpt_tui.ui.widgets.goal_panel import NARROW_WIDTH, GoalPanel, GoalState, format_count


class Host(App[None]):
    """The panel alone, bordered as the workstation draws it."""

    CSS = "GoalPanel { border: round $panel-lighten-2; padding: 0 1; }"

    def __init__(self, goal: str | None = "Add a test suite") -> None:
        super().__init__()
        self._goal = goal

    def compose(self) -> ComposeResult:
        yield GoalPanel(self._goal, id="goal")


def meter(panel: GoalPanel, name: str) -> BudgetMeter:
    return panel.query_one(f"#meter-{name}", BudgetMeter)


def shown(widget: BudgetMeter | GoalState) -> str:
    """What the widget draws, as text."""
    return widget.render().plain


def test_counts_and_costs_are_compact() -> None:
    assert [format_count(n) for n in (0, 999, 1000, 12_345, 99_960, 123_456)] == [
        "0",
        "999",
        "1.0k",
        "12.3k",
        "100k",
        "123k",
    ]
    assert format_count(4_500_000) == "4.5M"
    assert [format_cost(c) for c in (0, 0.004, 0.04, 1, 125.4)] == [
        "$0.00",
        "$0.004",
        "$0.04",
        "$1.00",
        "$125",
    ]


async def test_meters_show_used_of_limit_with_a_bar() -> None:
    app = Host()
    async with app.run_test(size=(140, 10)) as pilot:
        panel = app.query_one(GoalPanel)
        panel.steps_used, panel.steps_max = 3, 50
        panel.tokens_used, panel.tokens_max = 12_345, 100_000
        panel.cost_used, panel.cost_max = 0.04, 1.0
        await pilot.pause()
        steps, tokens, cost = (meter(panel, n) for n in ("steps", "tokens", "cost"))
        assert steps.text == "steps 3/50"
        assert tokens.text == "tokens 12.3k/100k"
        assert cost.text == "cost $0.04/$1.00"
        for each in (steps, tokens, cost):
            drawn = shown(each)
            assert drawn.startswith(each.text) and "━" in drawn
            assert not each.has_class("-unlimited", "-high", "-exhausted")

        panel.steps_used = 45
        panel.cost_used = 1.25
        await pilot.pause()
        assert steps.has_class("-high") and not steps.has_class("-exhausted")
        assert cost.has_class("-exhausted") and cost.text == "cost $1.25/$1.00"


async def test_unlimited_budget_shows_the_count_without_a_bar() -> None:
    app = Host()
    async with app.run_test(size=(140, 10)) as pilot:
        panel = app.query_one(GoalPanel)
        panel.tokens_used = 12_345
        panel.cost_used = 0.5
        await pilot.pause()
        tokens, cost = meter(panel, "tokens"), meter(panel, "cost")
        assert tokens.has_class("-unlimited") and cost.has_class("-unlimited")
        assert shown(tokens) == "tokens 12.3k"
        assert shown(cost) == "cost $0.50"
        # Setting a limit brings the bar back.
        panel.tokens_max = 50_000
        await pilot.pause()
        assert not tokens.has_class("-unlimited")
        assert "━" in shown(tokens)


@pytest.mark.parametrize("status", ["idle", "thinking", "waiting", "running", "paused", "done"])
async def test_each_status_has_its_class(status: str) -> None:
    app = Host()
    async with app.run_test(size=(140, 10)) as pilot:
        panel = app.query_one(GoalPanel)
        panel.status = status
        await pilot.pause()
        state = panel.query_one("#goal-state", GoalState)
        classes = {c for c in panel.classes if c.startswith("-status-")}
        assert classes == {f"-status-{status}"}
        assert state.has_class(f"-status-{status}")
        assert status in shown(state)


async def test_status_styles_differ() -> None:
    app = Host()
    async with app.run_test(size=(140, 10)) as pilot:
        panel = app.query_one(GoalPanel)
        state = panel.query_one("#goal-state", GoalState)
        styles = {}
        for status in ("idle", "thinking", "waiting", "done"):
            panel.status = status
            await pilot.pause()
            styles[status] = state.get_component_rich_style("goal-state--status")
        assert len(set(styles.values())) == len(styles)


async def test_mode_and_policy_show_in_the_state_line() -> None:
    app = Host()
    async with app.run_test(size=(140, 10)) as pilot:
        panel = app.query_one(GoalPanel)
        state = panel.query_one("#goal-state", GoalState)
        assert shown(state) == "○ idle  mode step  policy default"
        panel.mode = "auto"
        panel.policy = "careful[v2]"
        panel.status = "running"
        await pilot.pause()
        assert shown(state) == "▶ running  mode auto  policy careful[v2]"


async def test_meters_share_the_state_row_when_wide() -> None:
    app = Host()
    async with app.run_test(size=(140, 10)) as pilot:
        panel = app.query_one(GoalPanel)
        await pilot.pause()
        assert not panel.has_class("-narrow")
        state = panel.query_one("#goal-state")
        assert meter(panel, "steps").region.y == state.region.y


async def test_narrow_panel_fits_80_columns() -> None:
    app = Host("A goal long enough to need most of the width of the panel, or so")
    async with app.run_test(size=(80, 12)) as pilot:
        panel = app.query_one(GoalPanel)
        panel.status = "thinking"
        panel.mode = "edits"
        panel.steps_used, panel.steps_max = 12, 50
        panel.tokens_used, panel.tokens_max = 123_456, 1_000_000
        panel.cost_used, panel.cost_max = 0.42, 10.0
        await pilot.pause()
        assert panel.outer_size.width < NARROW_WIDTH
        assert panel.has_class("-narrow")
        state = panel.query_one("#goal-state")
        inner = panel.content_region
        meters = [meter(panel, n) for n in ("steps", "tokens", "cost")]
        for each in meters:
            # Below the state line, inside the panel, every word shown.
            assert each.region.y == state.region.y + 1
            assert inner.contains_region(each.region)
            assert shown(each).startswith(each.text)
        assert inner.contains_region(state.region)
        # The narrow layout leaves room for bars at 80 columns.
        assert all("━" in shown(each) for each in meters)


async def test_panel_stops_being_narrow_when_widened() -> None:
    app = Host()
    async with app.run_test(size=(80, 10)) as pilot:
        panel = app.query_one(GoalPanel)
        assert panel.has_class("-narrow")
        await pilot.resize_terminal(140, 10)
        await pilot.pause()
        assert not panel.has_class("-narrow")


async def test_goal_is_still_edited_inline() -> None:
    seen: list[Message] = []
    app = Host(None)
    async with app.run_test(size=(80, 12), message_hook=seen.append) as pilot:
        panel = app.query_one(GoalPanel)
        await panel.start_editing()
        await pilot.pause()
        assert isinstance(app.focused, Input)
        await pilot.press(*"ship it", "enter")
        await pilot.pause()
        assert panel.goal == "ship it"
        assert not panel.editing
        changes = {id(m): m.goal for m in seen if isinstance(m, GoalPanel.GoalChanged)}
        assert list(changes.values()) == ["ship it"]
