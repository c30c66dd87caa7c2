"""The step history: the agent's step commits, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.theme import Theme
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, CursorType

from autogpt_tui.core.records import StepCommit

LOADING_HINT = "Reading the history…"
"""What the panel says until the history has been read."""
EMPTY_HINT = "No steps yet — the agent's actions will appear here."
"""What the panel says when the workspace has no agent step."""

COLUMNS = ("commit", "step", "tool", "±", "state", "summary")
"""The column headings, in the order of a row's values (see :func:`row_values`)."""
COLUMN_KEYS = ("commit", "step", "tool", "rating", "state", "summary")
"""The table's column keys, in the order of :data:`COLUMNS`."""
DISPLAY_ORDER = (1, 3, 5, 4, 2, 0)
"""Where each column shows, left to right: the summary right after the step and its
rating, so a narrow sidebar still shows what each step did; the commit id last."""
UNDONE_MARK = "undone"
"""What the state column says for a step that was undone."""

MAX_ROWS = 2000
"""Most steps the panel holds (the newest); older ones are in `autogpt-tui log` and git."""
REBUILD_SHARE = 0.5
"""When more than this share of the rows went away, the table is rebuilt, not patched."""

RowValues = tuple[str, str, str, str, bool, str]
"""What a row shows: short sha, label, tool, rating glyph, undone, summary."""


class Cell(Text):
    """A one-line table cell that measures itself cheaply.

    DataTable measures every cell of every new row to size its columns; rich's general
    ``Text`` measurement (word splitting for wrapping) made that most of the cost of
    showing a thousand steps. A cell never wraps, so its width is its length.
    """

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = self.cell_len
        return Measurement(width, width)


def step_label(step: StepCommit, *, session: bool = True) -> str:
    """The step's name in lists: ``<session>#<n>``; ``#<n>`` without ``session`` (the
    list holds one session only) or when the step has none."""
    return f"{step.session}#{step.step}" if session and step.session else f"#{step.step}"


def spans_sessions(steps: Sequence[StepCommit]) -> bool:
    """Whether ``steps`` belong to more than one session (labels then name theirs)."""
    first = steps[0].session if steps else ""
    return any(step.session != first for step in steps)


def _rating_glyph(step: StepCommit) -> str:
    """Your rating's mark; else the reviewer agent's, marked ``r`` as not yours (``r+``)."""
    if step.rating is not None:
        return step.rating.glyph
    return f"r{step.review.glyph}" if step.review is not None else ""


def row_values(step: StepCommit, *, session: bool = True) -> RowValues:
    """What the step's row shows (``session``: its label names the session); two steps
    with equal values need no repaint."""
    return (
        step.short_sha,
        step_label(step, session=session),
        step.tool,
        _rating_glyph(step),
        step.undone,
        step.summary,
    )


def step_row(step: StepCommit, *, session: bool = True) -> tuple[Cell, ...]:
    """The table cells for one step, unstyled (``session``: the label names it).

    Cells are ``Text`` rather than ``str`` because DataTable reads strings as markup, and
    a summary like ``Fix [x]`` must show as written.
    """
    sha, label, tool, glyph, undone, summary = row_values(step, session=session)
    return (
        Cell(sha, no_wrap=True, end=""),
        Cell(label, no_wrap=True, end=""),
        Cell(tool, no_wrap=True, end=""),
        Cell(glyph, no_wrap=True, end=""),
        Cell(UNDONE_MARK if undone else "", no_wrap=True, end=""),
        # Cut with an ellipsis where the panel ends (see StepsTable.fit_summary).
        Cell(summary, no_wrap=True, end="", overflow="ellipsis"),
    )


CACHED_ROWS = 200
"""Rows whose rendering the table keeps (more than a tall terminal shows at once)."""
SUMMARY_MIN = 12
"""The narrowest the summary column gets when it is fitted to the panel."""


class StepsTable(DataTable[Text]):
    """The history's table: a DataTable whose render caches hold a screenful or two.

    DataTable keeps the renderings of 10,000 cells and 1,000 rows and lines. A new step
    at the top moves every row shown, so in a long session those caches filled to the
    brim with renderings never shown again: 17 MB at 1,000 steps, most of what a long
    auto-mode session's memory grew by.
    """

    def __init__(
        self, *, id: str | None = None, cursor_type: CursorType = "row", zebra_stripes: bool = False
    ) -> None:
        super().__init__(id=id, cursor_type=cursor_type, zebra_stripes=zebra_stripes)
        for cache, size in (
            (self._row_render_cache, CACHED_ROWS),
            (self._cell_render_cache, CACHED_ROWS * len(COLUMNS)),
            (self._row_renderable_cache, CACHED_ROWS),
            (self._line_cache, CACHED_ROWS),
        ):
            cache.maxsize = size

    async def _on_idle(self, event: events.Idle) -> None:
        # DataTable measures its columns when idle: the summary is fitted after that.
        await super()._on_idle(event)
        self.fit_summary()

    def fit_summary(self) -> None:
        """Give the summary column the room the other columns leave in the panel.

        The summary is as wide as its longest value otherwise, which pushed the state
        column (the ``undone`` mark) out of sight. Fitted, the table fills the panel when
        every column fits; when not, the summary keeps what the step, rating and state
        columns leave (at least `SUMMARY_MIN`), and the tool and commit, shown in the
        diff panel's title too, are what the panel cuts off.
        """
        summary = self.columns.get(ColumnKey("summary"))
        width = self.scrollable_content_region.width
        if summary is None or width <= 0:
            return
        before: dict[str, int] = {}
        for key, column in self.columns.items():
            before[str(key.value)] = column.get_render_width(self)
        pad = 2 * self.cell_padding
        every = width - sum(w for key, w in before.items() if key != "summary") - pad
        core = width - sum(before.get(key, 0) for key in ("step", "rating", "state")) - pad
        if summary.content_width <= every:
            room = every  # everything fits: the summary takes the slack
        else:
            room = max(SUMMARY_MIN, min(summary.content_width, core))
        if summary.auto_width or summary.width != room:
            summary.auto_width = False
            summary.width = room
            # DataTable has no public call for a column's new width: these two are what
            # its own width changes do (cached renderings go, the size is measured again).
            self._require_update_dimensions = True
            self._clear_caches()


class StepHistory(Vertical):
    """The agent's steps newest first: commit, step, tool, rating, undone mark, summary.

    The highlighted row is the *selected step* (the newest by default); moving the
    cursor, clicking a row or pressing enter on it posts :class:`StepSelected`. The
    selection stays on its commit when the list is refreshed, and follows the newest step
    when that was selected. Refreshes patch the rows that changed instead of rebuilding
    the table, so a history of thousands of steps stays quick.

    CSS class: ``-empty`` while there is no step to show.

    Use from the UI thread only.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "step-history--rated-up",
        "step-history--rated-down",
        "step-history--rated-zero",
        "step-history--undone",
    }
    """
    | Class | Description |
    | :- | :- |
    | `step-history--rated-up` | The ``+`` of a step rated up. |
    | `step-history--rated-down` | The ``-`` of a step rated down. |
    | `step-history--rated-zero` | The ``·`` of a step rated neutral. |
    | `step-history--undone` | Every cell of a step that was undone. |
    """

    DEFAULT_CSS = """
    StepHistory {
        /* The summary is fitted to the panel (StepsTable.fit_summary); what a narrow
           panel still cuts off (tool, commit: the diff's title names both) is not worth
           a scrollbar, whose thumb sat under the last row like a stray glyph. */
        & > StepsTable {
            overflow-x: hidden;
        }

        & > .step-history--rated-up {
            color: $text-success;
            text-style: bold;
        }

        & > .step-history--rated-down {
            color: $text-error;
            text-style: bold;
        }

        & > .step-history--rated-zero {
            text-style: dim;
        }

        & > .step-history--undone {
            text-style: dim strike;
        }
    }
    """

    class StepSelected(Message):
        """Posted when a step becomes the selected one (cursor moved onto it), or when
        the user clicks or presses enter on a row."""

        def __init__(self, step: StepCommit) -> None:
            super().__init__()
            self.step = step
            """The step now selected."""

    steps: reactive[tuple[StepCommit, ...]] = reactive((), init=False)
    """The steps shown, newest first."""
    loaded: reactive[bool] = reactive(False, init=False)
    """True once the history has been read (so an empty list means "no steps")."""

    def __init__(
        self,
        *children: Widget,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
        markup: bool = True,
    ) -> None:
        super().__init__(
            *children, name=name, id=id, classes=classes, disabled=disabled, markup=markup
        )
        # What each row shows now, by sha, in table order (newest first).
        self._shown: dict[str, RowValues] = {}
        # The commit cell of each row: sorting identifies rows by these objects.
        self._commit_cells: dict[str, Text] = {}
        self._by_sha: dict[str, StepCommit] = {}
        # The sha last announced with StepSelected, so a refresh does not repeat it.
        self._announced: str | None = None
        self._columns_ready = False
        # Labels name the session only while the list spans several (the step column
        # spent 14 of a sidebar's 42 columns on one session id repeated on every row).
        self._sessions = False

    def compose(self) -> ComposeResult:
        table = StepsTable(id="steps-table", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static(LOADING_HINT, id="steps-hint")

    def on_mount(self) -> None:
        self.border_title = "Step history"
        table = self._table
        for index in DISPLAY_ORDER:
            # The state column only ever says "" or UNDONE_MARK: sized for the mark from
            # the start, it never depends on a width update landing (one was seen lost
            # under load, leaving "undon").
            width = len(UNDONE_MARK) if COLUMN_KEYS[index] == "state" else None
            table.add_column(COLUMNS[index], key=COLUMN_KEYS[index], width=width)
        self._columns_ready = True
        self.app.theme_changed_signal.subscribe(self, self._restyle)
        if self.steps:
            self._sessions = spans_sessions(self.steps)
            self._rebuild(self.steps, select=self.steps[0].sha)
        self._show_hint()

    @property
    def _table(self) -> DataTable[Text]:
        table: DataTable[Text] = self.query_one("#steps-table", DataTable)
        return table

    # -- public API ---------------------------------------------------------------------

    def show_steps(self, steps: Sequence[StepCommit]) -> None:
        """Show ``steps`` (newest first, the first `MAX_ROWS`), patching only the rows that
        changed."""
        self.steps = tuple(steps[:MAX_ROWS])
        self.loaded = True

    def add_step(self, step: StepCommit) -> None:
        """Show ``step`` as the newest (the agent just committed it), without reading git."""
        if any(shown.sha == step.sha for shown in self.steps[:8]):
            return  # a reload got there first
        self.show_steps((step, *self.steps))

    @property
    def selected_step(self) -> StepCommit | None:
        """The highlighted row's step; the newest step when no row is highlighted; None
        when there is no step."""
        sha = self._sha_at_cursor()
        if sha is not None and sha in self._by_sha:
            return self._by_sha[sha]
        return self.steps[0] if self.steps else None

    # -- updating the table -------------------------------------------------------------

    def watch_steps(self, old: tuple[StepCommit, ...], new: tuple[StepCommit, ...]) -> None:
        if not self._columns_ready:
            return  # on_mount shows them
        self._by_sha = {step.sha: step for step in new}
        if not new:
            self._announced = None
        target = self._selection_after(old, new)
        table = self._table
        vanished = [sha for sha in self._shown if sha not in self._by_sha]
        sessions = spans_sessions(new)
        relabel = sessions != self._sessions
        self._sessions = sessions
        if relabel or not self._shown or len(vanished) > REBUILD_SHARE * len(self._shown):
            self._rebuild(new, select=target)
        else:
            self._patch(new, vanished)
            if target is not None:
                table.move_cursor(row=table.get_row_index(target), animate=False)
        # A new step can take the cursor's row without the cursor moving (no highlight
        # event then): whatever now sits under it is the selection.
        self._announce_cursor()
        self._show_hint()

    def _selection_after(
        self, old: tuple[StepCommit, ...], new: tuple[StepCommit, ...]
    ) -> str | None:
        """The sha to select once ``new`` replaces ``old``.

        The same commit if it is still listed; the newest step if the newest was selected
        (so the selection follows new steps); else the row now at the old position.
        """
        if not new:
            return None
        current = self._sha_at_cursor()
        if current is None or not old or current == old[0].sha:
            return new[0].sha
        if current in self._by_sha:
            return current
        position = next((i for i, step in enumerate(old) if step.sha == current), 0)
        return new[min(position, len(new) - 1)].sha

    def _rebuild(self, steps: Sequence[StepCommit], *, select: str | None) -> None:
        """Clear the table and add every row (first load, or most rows went away)."""
        table = self._table
        table.clear()
        for column in table.columns.values():
            # Measured again from the rows added below: a clear keeps the old widths
            # (labels that lost their session would leave the step column as wide).
            column.content_width = column.label.cell_len
        self._shown.clear()
        self._commit_cells.clear()
        self._by_sha = {step.sha: step for step in steps}
        for step in steps:
            self._add(step)
        if select is not None:
            table.move_cursor(row=table.get_row_index(select), animate=False)

    def _patch(self, steps: Sequence[StepCommit], vanished: Sequence[str]) -> None:
        """Bring the table in line with ``steps`` by removing, updating and adding rows."""
        table = self._table
        for sha in vanished:
            table.remove_row(sha)
            del self._shown[sha]
            del self._commit_cells[sha]
        added = False
        for step in steps:
            shown = self._shown.get(step.sha)
            if shown is None:
                self._add(step)
                added = True
            elif shown != row_values(step, session=self._sessions):
                self._update(step, shown)
        order = [step.sha for step in steps]
        if added or list(self._shown) != order:
            # DataTable only appends; sorting puts new rows (and moved ones) in place.
            rank = {id(self._commit_cells[sha]): index for index, sha in enumerate(order)}
            table.sort("commit", key=lambda cell: rank[id(cell)])
            self._shown = {sha: self._shown[sha] for sha in order}

    def _add(self, step: StepCommit) -> None:
        cells = self._styled_row(step)
        self._table.add_row(*(cells[i] for i in DISPLAY_ORDER), key=step.sha)
        self._shown[step.sha] = row_values(step, session=self._sessions)
        self._commit_cells[step.sha] = cells[0]

    def _update(self, step: StepCommit, shown: RowValues) -> None:
        """Repaint the cells of ``step``'s row whose value changed (all when its undone
        state changed, since that restyles the whole row)."""
        values = row_values(step, session=self._sessions)
        cells = self._styled_row(step)
        restyle = values[4] != shown[4]
        table = self._table
        for index, key in enumerate(COLUMN_KEYS):
            if index == 0:
                # The commit cell is the row's identity for sorting: restyle it in place.
                commit = self._commit_cells[step.sha]
                if restyle:
                    commit.style = cells[0].style
                    table.update_cell(step.sha, key, commit)
                continue
            if restyle or values[index] != shown[index]:
                table.update_cell(step.sha, key, cells[index], update_width=True)
        self._shown[step.sha] = values

    def _styled_row(self, step: StepCommit) -> tuple[Cell, ...]:
        cells = step_row(step, session=self._sessions)
        glyph = cells[3]
        if (shown := step.rating or step.review) is not None:
            kind = "up" if shown.value > 0 else "down" if shown.value < 0 else "zero"
            glyph.stylize(self._style(f"step-history--rated-{kind}"))
        if step.undone:
            # The base style, under the rating's colour: the whole row reads as undone.
            undone = self._style("step-history--undone")
            for cell in cells:
                cell.style = undone
        return cells

    def _style(self, component: str) -> Style:
        # Partial: only what the component sets, so the cursor's background shows through.
        return self.get_component_rich_style(component, partial=True)

    def _restyle(self, theme: Theme) -> None:
        """Repaint every row in the new theme's colours."""
        if self.steps:
            self._rebuild(self.steps, select=self._sha_at_cursor() or self.steps[0].sha)

    # -- selection ----------------------------------------------------------------------

    def select(self, sha: str) -> None:
        """Put the cursor on step ``sha`` (if listed): the keys that act on the selected
        step then act on it, and its diff is shown."""
        if sha in self._shown:
            self._table.move_cursor(row=self._table.get_row_index(sha), animate=False)

    def _sha_at_cursor(self) -> str | None:
        table = self._table
        if not table.row_count or not table.is_valid_row_index(table.cursor_row):
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return key.value

    def _announce_cursor(self) -> None:
        """Post StepSelected if the step under the cursor is not the one last announced."""
        sha = self._sha_at_cursor()
        if sha is None or sha == self._announced or sha not in self._by_sha:
            return
        self._announced = sha
        self.post_message(self.StepSelected(self._by_sha[sha]))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        # The cursor, not the event's row: by now a refresh may have moved it on, and
        # only where it rests is news.
        self._announce_cursor()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        step = self.selected_step
        if step is not None:
            self._announced = step.sha
            self.post_message(self.StepSelected(step))

    # -- hint ---------------------------------------------------------------------------

    def watch_loaded(self) -> None:
        self._show_hint()

    def _show_hint(self) -> None:
        for hint in self.query("#steps-hint").results(Static):
            hint.update(EMPTY_HINT if self.loaded else LOADING_HINT)
            hint.display = not self.steps
        self.set_class(not self.steps, "-empty")
