"""The step history: the agent's step commits, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from autogpt_tui.core.history import StepCommit

LOADING_HINT = "Reading the history…"
"""What the panel says until the history has been read."""
EMPTY_HINT = "No steps yet — the agent's actions will appear here."
"""What the panel says when the workspace has no agent step."""

COLUMNS = ("commit", "step", "tool", "±", "state", "summary")
"""The table's column headings, in order."""


def step_label(step: StepCommit) -> str:
    """The step's name in lists: ``<session>#<n>``, or just the number without a session."""
    return f"{step.session}#{step.step}" if step.session else str(step.step)


def step_row(step: StepCommit) -> tuple[Text, ...]:
    """The table cells for one step.

    Cells are ``Text`` rather than ``str`` because DataTable reads strings as markup, and
    a summary like ``Fix [x]`` must show as written.
    """
    return (
        Text(step.short_sha),
        Text(step_label(step)),
        Text(step.tool),
        Text(step.rating.glyph if step.rating else ""),
        Text("undone" if step.undone else ""),
        Text(step.summary),
    )


class StepHistory(Vertical):
    """The agent's steps newest first: commit, step, tool, rating, undone mark, summary."""

    steps: reactive[tuple[StepCommit, ...]] = reactive((), init=False)
    """The steps shown, newest first."""
    loaded: reactive[bool] = reactive(False, init=False)
    """True once the history has been read (so an empty list means "no steps")."""

    def compose(self) -> ComposeResult:
        table: DataTable[Text] = DataTable(id="steps-table", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static(LOADING_HINT, id="steps-hint")

    def on_mount(self) -> None:
        self.border_title = "Step history"
        table = self.query_one("#steps-table", DataTable)
        table.add_columns(*COLUMNS)
        self._show_hint()

    def show_steps(self, steps: Sequence[StepCommit]) -> None:
        """Replace the list with ``steps`` (newest first)."""
        self.steps = tuple(steps)
        self.loaded = True

    def watch_steps(self, steps: tuple[StepCommit, ...]) -> None:
        table: DataTable[Text] = self.query_one("#steps-table", DataTable)
        table.clear()
        for step in steps:
            table.add_row(*step_row(step), key=step.sha)
        self._show_hint()

    def watch_loaded(self) -> None:
        self._show_hint()

    def _show_hint(self) -> None:
        hint = self.query_one("#steps-hint", Static)
        hint.update(EMPTY_HINT if self.loaded else LOADING_HINT)
        hint.display = not self.steps
        self.set_class(not self.steps, "-empty")
