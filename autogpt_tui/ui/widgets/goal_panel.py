"""The goal panel: what the agent is asked to do, its approval mode and its status."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static

NO_GOAL_HINT = "No goal yet — press g to set one"
"""What the panel says before the user has stated a goal."""


class GoalPanel(Vertical):
    """Shows the goal, the approval mode and the agent's status; edits the goal inline."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_edit", "Cancel", show=False),
    ]

    class GoalChanged(Message):
        """Posted when the user sets a new goal in the panel."""

        def __init__(self, goal: str) -> None:
            super().__init__()
            self.goal = goal
            """The goal as the user typed it, on one line."""

    goal: reactive[str | None] = reactive(None, init=False)
    """The goal the agent works towards, or None before the user has set one."""
    mode: reactive[str] = reactive("step", init=False)
    """The approval mode: step, edits or auto."""
    status: reactive[str] = reactive("idle", init=False)
    """What the agent is doing now, in one word (idle, thinking, waiting, …)."""

    def __init__(
        self,
        goal: str | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(GoalPanel.goal, _clean(goal))

    def compose(self) -> ComposeResult:
        yield Static(self._goal_content(), id="goal-text", classes=self._goal_classes())
        yield Static(self._state_content(), id="goal-state")

    def on_mount(self) -> None:
        self.border_title = "Goal"

    def watch_goal(self) -> None:
        # query() rather than query_one(): the watcher may run before compose.
        for text in self.query("#goal-text").results(Static):
            text.update(self._goal_content())
            text.set_classes(self._goal_classes())

    def watch_mode(self) -> None:
        self._show_state()

    def watch_status(self) -> None:
        self._show_state()

    def _goal_content(self) -> Content:
        # Content, not markup: a goal like "fix [x]" must show as typed.
        return Content(self.goal if self.goal is not None else NO_GOAL_HINT)

    def _goal_classes(self) -> str:
        return "-empty" if self.goal is None else ""

    def _state_content(self) -> Content:
        return Content.assemble(
            ("mode ", "$foreground-muted"),
            self.mode,
            ("  ·  status ", "$foreground-muted"),
            self.status,
        )

    def _show_state(self) -> None:
        for state in self.query("#goal-state").results(Static):
            state.update(self._state_content())

    @property
    def editing(self) -> bool:
        """True while the goal input is open."""
        return bool(self.query("#goal-input"))

    async def start_editing(self) -> None:
        """Open an input holding the current goal and focus it."""
        if self.editing:
            self.query_one("#goal-input", Input).focus()
            return
        # Mounted only while editing, so a hidden input never takes focus or keys.
        field = Input(
            value=self.goal or "", placeholder="What should the agent do?", id="goal-input"
        )
        await self.mount(field)
        field.focus()

    async def action_cancel_edit(self) -> None:
        """Close the input without changing the goal."""
        await self._stop_editing()

    async def _stop_editing(self) -> None:
        await self.query("#goal-input").remove()
        # Hand focus to the screen's first widget rather than leave it nowhere.
        if self.screen.focused is None:
            self.screen.focus_next()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        goal = _clean(event.value)
        await self._stop_editing()
        if goal is not None and goal != self.goal:
            self.goal = goal
            self.post_message(self.GoalChanged(goal))


def _clean(goal: str | None) -> str | None:
    """The goal on one line, or None when it is blank."""
    if goal is None:
        return None
    line = " ".join(goal.split())
    return line or None
