"""StepHistory: selection, selection kept across refreshes, row styles, speed."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from autogpt_tui.core.records import Rating, StepCommit
from autogpt_tui.ui.widgets import step_history
from autogpt_tui.ui.widgets.step_history import DISPLAY_ORDER, UNDONE_MARK, StepHistory

SIZE = (100, 30)


def make_steps(count: int, first: int = 1) -> list[StepCommit]:
    """``count`` steps numbered from ``first``, newest first."""
    return [
        StepCommit(
            sha=f"{number:040x}",
            parent=None,
            session="s1",
            step=number,
            tool="write_file",
            policy="default",
            summary=f"Write file{number}.txt",
            timestamp=number,
        )
        for number in range(first + count - 1, first - 1, -1)
    ]


def rated(step: StepCommit, value: float) -> StepCommit:
    return dataclasses.replace(step, rating=Rating(value, None, "user"))


class Host(App[None]):
    """The step history alone, with the messages it posted."""

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[StepCommit] = []

    def compose(self) -> ComposeResult:
        yield StepHistory()

    def on_step_history_step_selected(self, message: StepHistory.StepSelected) -> None:
        self.selected.append(message.step)


def table(app: App[None]) -> DataTable[Text]:
    found: DataTable[Text] = app.query_one("#steps-table", DataTable)
    return found


def cells_at(grid: DataTable[Text], i: int) -> list[Text]:
    """Row ``i``'s cells in the logical order of COLUMNS (the table shows them reordered)."""
    shown = grid.get_row_at(i)
    return [shown[DISPLAY_ORDER.index(j)] for j in range(len(DISPLAY_ORDER))]


def rows(app: App[None]) -> list[list[str]]:
    grid = table(app)
    return [[cell.plain for cell in cells_at(grid, i)] for i in range(grid.row_count)]


async def show(pilot: Pilot[None], steps: Sequence[StepCommit]) -> None:
    pilot.app.query_one(StepHistory).show_steps(steps)
    await pilot.pause()


async def test_first_load_selects_the_newest_step() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        history = app.query_one(StepHistory)
        assert history.selected_step is None
        steps = make_steps(3)
        await show(pilot, steps)
        assert [row[1] for row in rows(app)] == ["#3", "#2", "#1"]
        assert history.selected_step == steps[0]
        assert [s.sha for s in app.selected] == [steps[0].sha]


async def test_moving_the_cursor_selects_a_step() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        steps = make_steps(3)
        await show(pilot, steps)
        table(app).focus()
        await pilot.press("down")
        await pilot.pause()
        history = app.query_one(StepHistory)
        assert history.selected_step == steps[1]
        assert [s.step for s in app.selected] == [3, 2]
        # Enter on the row announces it again: the user asked for it.
        await pilot.press("enter")
        await pilot.pause()
        assert [s.step for s in app.selected] == [3, 2, 2]


async def test_clicking_a_row_selects_its_step() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        steps = make_steps(3)
        await show(pilot, steps)
        grid = table(app)
        # Header is line 0; the third step's row is line 3.
        await pilot.click(grid, offset=(2, 3))
        await pilot.pause()
        assert app.query_one(StepHistory).selected_step == steps[2]
        assert app.selected[-1] == steps[2]


async def test_refresh_keeps_the_selection_on_its_commit() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        steps = make_steps(5)
        await show(pilot, steps)
        table(app).focus()
        await pilot.press("down", "down")
        await pilot.pause()
        history = app.query_one(StepHistory)
        chosen = steps[2]
        assert history.selected_step == chosen
        announced = len(app.selected)
        # Two new steps arrive and an older one is rated: the cursor stays on `chosen`.
        refreshed = [*make_steps(2, first=6), *steps]
        refreshed[2 + 4] = rated(refreshed[2 + 4], 1)
        await show(pilot, refreshed)
        assert history.selected_step is not None
        assert history.selected_step.sha == chosen.sha
        assert table(app).cursor_row == 4
        assert [row[1] for row in rows(app)] == [f"#{n}" for n in range(7, 0, -1)]
        assert len(app.selected) == announced  # nothing new was selected


async def test_new_steps_move_a_newest_selection_to_the_new_newest() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        steps = make_steps(3)
        await show(pilot, steps)
        history = app.query_one(StepHistory)
        assert history.selected_step == steps[0]
        newer = make_steps(1, first=4)
        await show(pilot, [*newer, *steps])
        assert history.selected_step == newer[0]
        assert table(app).cursor_row == 0
        assert app.selected[-1] == newer[0]


async def test_a_vanished_selection_falls_to_the_same_position() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        steps = make_steps(5)
        await show(pilot, steps)
        table(app).focus()
        await pilot.press("down", "down")
        await pilot.pause()
        history = app.query_one(StepHistory)
        gone = steps[2]
        await show(pilot, [step for step in steps if step is not gone])
        assert history.selected_step == steps[3]
        assert app.selected[-1] == steps[3]


async def test_rating_and_undone_rows_are_styled() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        steps = make_steps(3)
        steps[0] = dataclasses.replace(steps[0], undone=True)
        steps[1] = rated(steps[1], -1)
        steps[2] = rated(steps[2], 1)
        await show(pilot, steps)
        history = app.query_one(StepHistory)
        assert [row[3] for row in rows(app)] == ["", "-", "+"]
        assert [row[4] for row in rows(app)] == [UNDONE_MARK, "", ""]
        up = history.get_component_rich_style("step-history--rated-up", partial=True)
        down = history.get_component_rich_style("step-history--rated-down", partial=True)
        assert up.color is not None and down.color is not None and up.color != down.color
        grid = table(app)
        minus, plus = cells_at(grid, 1)[3], cells_at(grid, 2)[3]
        assert minus.get_style_at_offset(app.console, 0).color == down.color
        assert plus.get_style_at_offset(app.console, 0).color == up.color
        undone_row = grid.get_row_at(0)
        assert all(cell.style and cell.style.strike for cell in undone_row)  # type: ignore[union-attr]
        assert not any(cell.style for cell in cells_at(grid, 1)[:3])


async def test_a_changed_rating_updates_only_its_row(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        steps = make_steps(50)
        await show(pilot, steps)
        cleared: list[bool] = []
        updated: list[tuple[object, object]] = []
        grid = table(app)
        real_update = grid.update_cell

        def spy_update(row_key: str, column_key: str, value: Text, **kw: bool) -> None:
            updated.append((row_key, column_key))
            real_update(row_key, column_key, value, **kw)

        monkeypatch.setattr(grid, "clear", lambda *a, **k: cleared.append(True))
        monkeypatch.setattr(grid, "update_cell", spy_update)
        changed = list(steps)
        changed[10] = rated(changed[10], 1)
        await show(pilot, changed)
        assert not cleared
        assert updated == [(steps[10].sha, "rating")]
        assert rows(app)[10][3] == "+"
        # Undoing a step restyles its whole row, still without a rebuild.
        changed[10] = dataclasses.replace(changed[10], undone=True)
        await show(pilot, changed)
        assert not cleared
        assert {column for _, column in updated[1:]} == {
            "commit",
            "step",
            "tool",
            "rating",
            "state",
            "summary",
        }
        assert rows(app)[10][4] == UNDONE_MARK


async def test_a_thousand_steps_show_and_a_new_step_patches_in() -> None:
    """How fast is benchmarks/bench_tui.py's business; here, that the rows are right."""
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        history = app.query_one(StepHistory)
        steps = make_steps(1000)
        history.show_steps(steps)
        await pilot.pause()
        assert table(app).row_count == 1000
        # A new step and a rating on top of a thousand rows.
        more = [*make_steps(1, first=1001), *steps]
        more[500] = rated(more[500], -1)
        history.show_steps(more)
        await pilot.pause()
        assert table(app).row_count == 1001
        assert rows(app)[0][1] == "#1001" and rows(app)[500][3] == "-"


async def test_a_committed_step_is_added_on_top_without_a_reload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(step_history, "MAX_ROWS", 50)
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        history = app.query_one(StepHistory)
        await show(pilot, make_steps(50))
        (newest,) = make_steps(1, first=51)
        history.add_step(newest)
        await pilot.pause()
        # On top, selected (the newest was), and the panel keeps its 50 newest rows.
        assert rows(app)[0][1] == "#51" and rows(app)[-1][1] == "#2"
        assert table(app).row_count == 50
        assert history.selected_step == newest and app.selected[-1] == newest
        # The reload that follows (or an add of the same step) changes nothing.
        history.add_step(newest)
        await show(pilot, make_steps(51))
        assert table(app).row_count == 50 and rows(app)[0][1] == "#51"


async def test_empty_history_shows_the_hint() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        history = app.query_one(StepHistory)
        await show(pilot, [])
        assert history.has_class("-empty")
        await show(pilot, make_steps(2))
        assert not history.has_class("-empty")
        await show(pilot, [])
        assert history.has_class("-empty")
        assert history.selected_step is None


async def test_rows_take_the_new_theme_colours() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        steps = make_steps(2)
        steps[1] = rated(steps[1], 1)
        await show(pilot, steps)
        history = app.query_one(StepHistory)
        dark = history.get_component_rich_style("step-history--rated-up", partial=True)
        app.theme = "textual-light"
        await pilot.pause()
        light = history.get_component_rich_style("step-history--rated-up", partial=True)
        assert light.color != dark.color
        plus = cells_at(table(app), 1)[3]
        assert plus.get_style_at_offset(app.console, 0).color == light.color
        assert history.selected_step == steps[0]


async def test_a_long_session_keeps_only_a_screenful_or_two_of_renderings() -> None:
    """Each new step moves every row shown; the table's render caches stay bounded."""
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        history = app.query_one(StepHistory)
        await show(pilot, [])
        for number, step in enumerate(reversed(make_steps(300)), 1):
            history.add_step(step)
            if number % 5 == 0:
                await pilot.pause()  # a frame now and then, as in a session
        await pilot.pause()
        grid = table(app)
        assert grid.row_count == 300
        assert rows(app)[0][1] == "#300"
        rows_most = step_history.CACHED_ROWS
        assert 0 < len(grid._cell_render_cache) <= rows_most * 6
        assert 0 < len(grid._row_render_cache) <= rows_most
        assert 0 < len(grid._line_cache) <= rows_most


async def test_labels_name_the_session_only_when_the_history_spans_several() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        one = make_steps(2)
        await show(pilot, one)
        assert [row[1] for row in rows(app)] == ["#2", "#1"]
        step_width = table(app).columns[ColumnKey("step")].content_width
        # A step of another session: every label names its session now...
        other = dataclasses.replace(make_steps(1)[0], sha="f" * 40, session="s2")
        await show(pilot, [other, *one])
        assert [row[1] for row in rows(app)] == ["s2#1", "s1#2", "s1#1"]
        # ...and once it is gone again, the labels and the column are short again.
        await show(pilot, one)
        assert [row[1] for row in rows(app)] == ["#2", "#1"]
        assert table(app).columns[ColumnKey("step")].content_width == step_width
