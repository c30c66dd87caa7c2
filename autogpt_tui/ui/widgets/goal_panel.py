"""The goal panel: the goal, the agent's status, mode and policy, and its budget meters."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input, Static

from autogpt_tui.core.worktree import WorktreePlace
from autogpt_tui.ui.model_activity import FRAME_S, ModelActivity
from autogpt_tui.ui.model_activity import format_count as format_count
from autogpt_tui.ui.widgets.budget_meter import BudgetMeter, budget_fraction, format_cost
from autogpt_tui.ui.widgets.plan_checklist import PlanChecklist
from autogpt_tui.ui.widgets.project_notes_line import ProjectNotesLine
from autogpt_tui.ui.widgets.worktree_line import WorktreeLine

NO_GOAL_HINT = "No goal yet — press g to set one"
"""What the panel says before the user has stated a goal."""

STATUSES = ("idle", "thinking", "waiting", "running", "paused", "done", "error", "budget")
"""The statuses the panel has a style for; any other word is shown unstyled."""

STATUS_GLYPHS = {
    "idle": "○",
    "thinking": "●",
    "waiting": "◆",
    "running": "▶",
    "paused": "‖",
    "done": "✓",
    "error": "✗",
    "budget": "⊘",
}
"""The mark in front of each status, so it reads without colour too."""

STATUS_WORDS = {"budget": "out of budget"}
"""How a status reads where its one-word name would not say it plainly."""

NARROW_WIDTH = 120
"""Below this many columns the panel is ``-narrow``: the meters move to a row of their own.

Status, mode and policy (about 40 cells) and three meters with room for a bar (about 70)
only share one row from roughly this width on.
"""


def status_class(status: str) -> str:
    """The CSS class for ``status``: ``-status-thinking`` and so on (always a valid name)."""
    return "-status-" + (re.sub(r"[^a-z0-9_-]+", "-", status.lower()).strip("-") or "unknown")


class GoalState(Static):
    """One line: the status (a mark and a word, styled by a ``-status-*`` class; while the
    model works, a spinner, the time and the tokens so far instead), the approval mode and
    the policy arm."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"goal-state--status", "goal-state--label"}
    """
    | Class | Description |
    | :- | :- |
    | `goal-state--status` | The status mark and word; styled per `-status-*` class. |
    | `goal-state--label` | The words "mode" and "policy". |
    """

    DEFAULT_CSS = """
    GoalState {
        width: auto;
        height: 1;
        margin-right: 3;

        & > .goal-state--label {
            color: $foreground-muted;
        }

        & > .goal-state--status {
            text-style: bold;
        }

        &.-status-idle > .goal-state--status {
            color: $foreground-muted;
        }

        &.-status-thinking > .goal-state--status {
            color: $text-primary;
        }

        &.-status-waiting > .goal-state--status {
            color: $text-warning;
        }

        &.-status-running > .goal-state--status {
            color: $text-accent;
        }

        &.-status-paused > .goal-state--status {
            color: $foreground-muted;
            text-style: bold italic;
        }

        &.-status-done > .goal-state--status {
            color: $text-success;
        }

        &.-status-error > .goal-state--status {
            color: $text-error;
        }

        &.-status-budget > .goal-state--status {
            color: $text-warning;
        }
    }
    """

    def __init__(self, status: str, mode: str, policy: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes=status_class(status))
        self._status = status
        self._mode = mode
        self._policy = policy
        self._activity = ""

    def show(self, status: str, mode: str, policy: str, activity: str = "") -> None:
        """Show new values (and restyle the status); ``activity``, when given, says what
        the model is doing in place of the status's mark and word."""
        shown = (self._status, self._mode, self._policy, self._activity)
        if (status, mode, policy, activity) == shown:
            return  # the spinner's timer asks often; most of the time nothing changed
        if status != self._status:
            self.remove_class(status_class(self._status))
            self.add_class(status_class(status))
        self._status, self._mode, self._policy = status, mode, policy
        self._activity = activity
        self.refresh(layout=True)

    @property
    def plain(self) -> str:
        """The line as text: ``● thinking  mode step  policy default``."""
        return self.render().plain

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """The width of the whole line."""
        return self.render().cell_len

    def render(self) -> Text:
        """The status mark and word, then mode and policy."""
        label = self.get_component_rich_style("goal-state--label")
        glyph = STATUS_GLYPHS.get(self._status, "·")
        word = STATUS_WORDS.get(self._status, self._status)
        status = self._activity or f"{glyph} {word}"
        # Text, not markup: a policy arm's name is shown as it is.
        return Text.assemble(
            (status, self.get_component_rich_style("goal-state--status")),
            ("  mode ", label),
            self._mode,
            ("  policy ", label),
            self._policy,
            no_wrap=True,
            end="",
        )


class GoalPanel(Vertical):
    """Shows the goal, the agent's status, mode and policy arm, and its budgets as meters;
    edits the goal inline.

    CSS classes on the panel: ``-status-<status>`` (one at a time), ``-narrow`` when it is
    narrower than :data:`NARROW_WIDTH` columns (the meters then take a row of their own).

    Use from the UI thread only.
    """

    DEFAULT_CSS = """
    GoalPanel {
        height: auto;

        #goal-info {
            height: auto;
        }

        #goal-summary {
            width: auto;
            height: 1;
        }

        #goal-meters {
            width: 1fr;
            height: 1;
        }

        &.-narrow #goal-info {
            layout: vertical;
        }

        #goal-reason {
            height: 1;
            text-wrap: nowrap;
            text-overflow: ellipsis;
            display: none;
        }

        &.-has-reason #goal-reason {
            display: block;
        }

        &.-status-error #goal-reason {
            color: $text-error;
        }

        &.-status-budget #goal-reason {
            color: $text-warning;
        }
    }
    """

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
    """What the agent is doing now, in one word: idle, thinking, waiting, running, paused,
    done, error or budget (see :data:`STATUSES`); sets the panel's ``-status-<status>``
    class."""
    reason: reactive[str] = reactive("", init=False)
    """Why the run stopped, when it stopped on an error or a budget: shown on a line of its
    own (cut to one line) until the agent works again; empty otherwise."""
    policy: reactive[str] = reactive("default", init=False)
    """The name of the policy arm the agent follows now."""
    commands_ask: reactive[bool] = reactive(False, init=False)
    """Whether every command waits for approval whatever the mode (no sandbox can keep
    the API key from commands here); the mode then reads ``auto · commands ask``."""
    steps_used: reactive[int] = reactive(0, init=False)
    """The session's steps in force (taken and not undone)."""
    steps_max: reactive[int | None] = reactive(None, init=False)
    """The step budget, or None for no limit."""
    tokens_used: reactive[int] = reactive(0, init=False)
    """Model tokens (prompt and completion) spent on the session's steps in force."""
    tokens_cached: reactive[int] = reactive(0, init=False)
    """Of the prompt tokens, those the server read from its prompt cache (shown when any)."""
    tokens_max: reactive[int | None] = reactive(None, init=False)
    """The token budget, or None for no limit."""
    cost_used: reactive[float] = reactive(0.0, init=False)
    """Money spent on the model for the session's steps in force, in US dollars."""
    cost_max: reactive[float | None] = reactive(None, init=False)
    """The cost budget in US dollars, or None for no limit."""
    endpoint: reactive[str] = reactive("", init=False)
    """The model and its endpoint's host (``m · 127.0.0.1:8080``), shown on the border."""

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
        self.add_class(status_class(self.status))
        self.clock: Callable[[], float] = time.monotonic
        """Where the panel reads the time (tests set a clock of their own)."""
        self.activity = ModelActivity()
        """The model request the agent waits for, if any."""
        self._ticker: Timer | None = None
        self.meters_session: str | None = None
        """The session whose steps the meters count, once known."""
        self.worktree: WorktreePlace | None = None
        """The session's own worktree, when the workspace is one (set before mounting)."""

    def compose(self) -> ComposeResult:
        yield Static(self._goal_content(), id="goal-text", classes=self._goal_classes())
        with Horizontal(id="goal-info"):
            with Horizontal(id="goal-summary"):
                yield GoalState(self.status, self.mode, self.policy, id="goal-state")
            with Horizontal(id="goal-meters"):
                yield BudgetMeter("steps", id="meter-steps")
                yield BudgetMeter("tokens", id="meter-tokens")
                yield BudgetMeter("cost", id="meter-cost")
        yield Static(Content(self.reason), id="goal-reason")
        yield WorktreeLine(self.worktree, id="goal-worktree")
        yield ProjectNotesLine(id="goal-notes")
        yield PlanChecklist(id="goal-plan")

    def on_mount(self) -> None:
        self.border_title = "Goal"
        self.watch_endpoint(self.endpoint)
        self._show_meters()
        # Redraws the spinner and the times while the model works; paused otherwise.
        self._ticker = self.set_interval(FRAME_S, self._show_state, pause=True)
        self._follow_activity()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(self.outer_size.width < NARROW_WIDTH, "-narrow")

    def watch_goal(self) -> None:
        # query() rather than query_one(): the watcher may run before compose.
        for text in self.query("#goal-text").results(Static):
            text.update(self._goal_content())
            text.set_classes(self._goal_classes())

    def watch_mode(self) -> None:
        self._show_state()

    def watch_status(self, old: str, new: str) -> None:
        # One restyle of the panel, not two: a status changes several times a step.
        self.remove_class(status_class(old), update=False)
        self.add_class(status_class(new))
        if new == "thinking" and not self.activity.active:
            self.activity.start(self.clock())
        elif new != "thinking":
            self.activity.stop()
        self._follow_activity()
        self._show_state()

    def watch_endpoint(self, endpoint: str) -> None:
        # Content, not markup: a model's name is shown as it is.
        self.border_subtitle = Content(endpoint) if endpoint else None

    def show_tokens(self, tokens: int) -> None:
        """About ``tokens`` tokens of the model's answer have streamed in so far."""
        if self.activity.active:
            self.activity.streamed(tokens)
            self._show_state()

    def show_retry(self, delay_s: float, attempt: int, max_attempts: int | None) -> None:
        """A model request failed: attempt ``attempt`` (of ``max_attempts``) starts in
        ``delay_s`` seconds; the panel counts down to it."""
        self.activity.retrying(self.clock(), delay_s, attempt, max_attempts)
        self._follow_activity()
        self._show_state()

    def _follow_activity(self) -> None:
        """Run the spinner's timer only while the model works."""
        if self._ticker is None:
            return  # not mounted yet: on_mount starts it if need be
        if self.activity.active:
            self._ticker.resume()
        else:
            self._ticker.pause()

    def watch_reason(self, reason: str) -> None:
        for line in self.query("#goal-reason").results(Static):
            # Content, not markup: a server's message is shown as it came.
            line.update(Content(" ".join(reason.split())))
        self.set_class(bool(reason), "-has-reason")

    def watch_policy(self) -> None:
        self._show_state()

    def watch_commands_ask(self) -> None:
        self._show_state()

    def watch_steps_used(self) -> None:
        self._show_meters()

    def watch_steps_max(self) -> None:
        self._show_meters()

    def watch_tokens_used(self) -> None:
        self._show_meters()

    def watch_tokens_cached(self) -> None:
        self._show_meters()

    def watch_tokens_max(self) -> None:
        self._show_meters()

    def watch_cost_used(self) -> None:
        self._show_meters()

    def watch_cost_max(self) -> None:
        self._show_meters()

    def _goal_content(self) -> Content:
        # Content, not markup: a goal like "fix [x]" must show as typed.
        return Content(self.goal if self.goal is not None else NO_GOAL_HINT)

    def _goal_classes(self) -> str:
        return "-empty" if self.goal is None else ""

    def _show_state(self) -> None:
        for state in self.query("#goal-state").results(GoalState):
            mode = self.mode
            if self.commands_ask and mode != "step":
                mode += " · commands ask"
            state.show(self.status, mode, self.policy, self.activity.describe(self.clock()))

    def _show_meters(self) -> None:
        meters = {meter.id: meter for meter in self.query(BudgetMeter)}
        if not meters:
            return  # before compose; on_mount shows them
        steps = str(self.steps_used)
        if self.steps_max is not None:
            steps += f"/{self.steps_max}"
        tokens = format_count(self.tokens_used)
        if self.tokens_max is not None:
            tokens += f"/{format_count(self.tokens_max)}"
        if self.tokens_cached:
            tokens += f" ({format_count(self.tokens_cached)} cached)"
        cost = format_cost(self.cost_used)
        if self.cost_max is not None:
            cost += f"/{format_cost(self.cost_max)}"
        meters["meter-steps"].show(steps, budget_fraction(self.steps_used, self.steps_max))
        meters["meter-tokens"].show(tokens, budget_fraction(self.tokens_used, self.tokens_max))
        meters["meter-cost"].show(cost, budget_fraction(self.cost_used, self.cost_max))

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
