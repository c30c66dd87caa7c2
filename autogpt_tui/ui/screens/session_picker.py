"""The session picker: the workspace's sessions, as `autogpt-tui sessions` lists them;
enter resumes the one under the cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from autogpt_tui.core.sessions import SessionSummary

IN_USE = "▶"
"""The mark of the session the workstation works in."""


class SessionPicker(ModalScreen[SessionSummary | None]):
    """Pick a session to resume; dismissed with it, or with None (escape)."""

    DEFAULT_CSS = """
    SessionPicker {
        align: center middle;
    }
    SessionPicker > Vertical {
        width: 90%;
        max-width: 140;
        height: auto;
        max-height: 80%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    SessionPicker DataTable {
        height: auto;
        max-height: 20;
    }
    SessionPicker #session-goal {
        margin: 1 0 0 0;
    }
    SessionPicker .muted {
        color: $foreground-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,S", "dismiss", "Close"),
    ]

    def __init__(self, sessions: Sequence[SessionSummary], in_use: str | None) -> None:
        super().__init__()
        self.sessions = list(sessions)
        """The sessions, newest activity first."""
        self.in_use = in_use
        """The session the workstation works in (marked, and under the cursor first)."""
        self._table: DataTable[str | Text] = DataTable()

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Sessions"
            box.border_subtitle = "enter resume · escape close"
            table: DataTable[str | Text] = DataTable(cursor_type="row", id="sessions-table")
            self._table = table
            table.add_columns(" ", "Session", "Steps", "Last activity", "Rewards", "Goal")
            for s in self.sessions:
                mark = IN_USE if s.id == self.in_use else ""
                goal = Text(s.goal or "(no goal recorded)", no_wrap=True, overflow="ellipsis")
                table.add_row(mark, s.id, s.steps_text, s.when, s.rewards_text, goal, key=s.id)
            yield table
            # The whole goal of the session under the cursor: the column is cut short
            # on a narrow terminal.
            yield Static("", id="session-goal")
            yield Static(
                f"{IN_USE} the session in use. Resuming one rebuilds the agent's conversation "
                "from its steps; a new goal (g) starts a new session.",
                classes="muted",
            )

    def on_mount(self) -> None:
        table = self._table
        ids = [s.id for s in self.sessions]
        if self.in_use in ids:
            table.move_cursor(row=ids.index(self.in_use))
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        chosen = next((s for s in self.sessions if s.id == event.row_key.value), None)
        if chosen is not None:
            goal = Text("Goal: ", style="bold")
            goal.append(chosen.goal or "(no goal recorded)")
            self.query_one("#session-goal", Static).update(goal)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        chosen = next((s for s in self.sessions if s.id == event.row_key.value), None)
        self.dismiss(chosen)

    async def action_dismiss(self, result: SessionSummary | None = None) -> None:
        """Close without choosing."""
        self.dismiss(result)
