"""The live log of what the agent thinks and does, one entry per step."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from textual import events
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from autogpt_tui.ui.widgets.action_card import ActionCard, call_fingerprint, clean_line
from autogpt_tui.ui.widgets.agent_thought import AgentThought

SEVERITIES = ("information", "success", "warning", "error")
"""The severities a notice can have; each is also a CSS class with a dash."""
NOTICE_CHARS = 500
"""Longest notice shown; a longer one is cut with an ellipsis."""
PREVIEW_CHARS = 100
"""Longest preview of a folded thought in its step's header."""


def clock() -> str:
    """The wall-clock time shown in a step's header (a function, so tests can fix it)."""
    return time.strftime("%H:%M:%S")


@dataclass(eq=False)
class _StepEntry:
    """The widgets of one step's entry in the log."""

    step: int
    container: Vertical
    header: Static
    started: str
    thought: AgentThought | None = None
    cards: list[ActionCard] = field(default_factory=list)
    pinned: bool = False
    """The user opened the thought: it is not folded automatically."""


class ActionLog(VerticalScroll):
    """The agent's thoughts and actions as they happen, newest at the bottom.

    Each step gets an entry: a ``step n`` header, the model's thought streamed in as
    Markdown, and a card per proposed action. One-line notices (errors, retries, user edits,
    budget, finish) sit between entries. The log follows new content unless the user scrolls
    up. Textual lays out every mounted widget on each change, so the log stays small: only
    the newest `open_thoughts` steps show their thought (older ones fold to a preview in the
    header; a click on a header opens or folds it), and only the newest `max_entries` steps
    stay mounted at all (the history panel and git keep everything). Every method must be
    called on the UI thread.
    """

    DEFAULT_CSS = """
    ActionLog {
        height: 1fr;
        background: $surface;
        scrollbar-gutter: stable;
        & > .step {
            height: auto;
        }
        & .step-header {
            height: 1;
            padding: 0 1;
            color: $text-primary;
            text-style: bold;
            background: $panel;
            &:hover { background: $panel-lighten-1; }
        }
        & > .notice {
            height: auto;
            padding: 0 1;
            margin: 0 0 1 0;
            color: $foreground-muted;
            &.-success { color: $text-success; }
            &.-warning { color: $text-warning; }
            &.-error { color: $text-error; background: $error-muted; }
        }
    }
    """

    def __init__(
        self,
        *,
        max_entries: int = 200,
        open_thoughts: int = 5,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create an empty log keeping ``max_entries`` steps, ``open_thoughts`` of them open."""
        super().__init__(name=name, id=id, classes=classes)
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        """Most step entries kept mounted (notices are capped at the same number)."""
        self.open_thoughts = open_thoughts
        """How many of the newest steps keep their thought open; older ones fold."""
        self._entries: dict[int, _StepEntry] = {}
        self._order: deque[_StepEntry] = deque()
        self._notices: deque[Static] = deque()

    def on_mount(self) -> None:
        """Follow new content until the user scrolls up."""
        self.anchor()

    @property
    def step_count(self) -> int:
        """How many step entries are mounted now."""
        return len(self._order)

    def thought(self, step: int) -> AgentThought | None:
        """The thought widget of step ``step``'s latest entry, if it has one."""
        entry = self._entries.get(step)
        return entry.thought if entry is not None else None

    def cards(self, step: int) -> list[ActionCard]:
        """The action cards of step ``step``'s latest entry, oldest first."""
        entry = self._entries.get(step)
        return list(entry.cards) if entry is not None else []

    async def begin_step(self, step: int) -> None:
        """Start a new entry for step ``step``; thoughts still streaming elsewhere are closed."""
        for entry in self._order:
            if entry.thought is not None and entry.thought.streaming:
                await entry.thought.stop()
        latest = self._entries.get(step)
        if latest is not None and latest is self._last() and _is_empty(latest):
            return  # begin_step twice in a row for the same step: keep the one entry.
        await self._new_entry(step)

    async def append_thought(self, step: int, text: str) -> None:
        """Stream a fragment of model text into step ``step``'s thought (as Markdown)."""
        entry = await self._entry(step)
        thought = entry.thought
        if thought is None:
            thought = entry.thought = AgentThought()
            await entry.container.mount(thought, after=entry.header)
            self._show_header(entry)
        elif thought.folded:
            await self._open(entry)
        await thought.write(text)

    async def reset_thought(self, step: int) -> None:
        """Clear step ``step``'s thought: the stream was cut short and is being retried."""
        entry = self._entries.get(step)
        if entry is not None and entry.thought is not None:
            await entry.thought.clear()
            self._show_header(entry)

    async def show_action(
        self, step: int, tool: str, arguments: Mapping[str, Any], *, waiting: bool
    ) -> None:
        """Show a proposed call of ``tool``: waiting for approval when ``waiting``, else running.

        The step's thought is complete once the model proposes an action, so its stream is
        closed. If the step's latest card is the same call waiting for approval, that card is
        marked running (the call was approved) rather than a second card added.
        """
        entry = await self._entry(step)
        if entry.thought is not None and entry.thought.streaming:
            await entry.thought.stop()
        if entry.cards:
            latest = entry.cards[-1]
            if latest.state == "waiting" and latest.fingerprint == call_fingerprint(
                tool, arguments
            ):
                if not waiting:
                    latest.mark_running()
                return
        card = ActionCard(tool, arguments, waiting=waiting)
        entry.cards.append(card)
        await entry.container.mount(card)

    def action_approved(self, step: int) -> None:
        """Mark step ``step``'s latest card running: the user approved it."""
        if (card := self._latest_card(step)) is not None:
            card.mark_running()

    def action_rejected(self, step: int, reason: str) -> None:
        """Mark step ``step``'s latest card rejected, with the reason the agent is told."""
        if (card := self._latest_card(step)) is not None:
            card.mark_rejected(reason)

    def action_executed(self, step: int, ok: bool, output: str) -> None:
        """Mark step ``step``'s latest card done (``ok``) or failed, showing its output's head."""
        if (card := self._latest_card(step)) is not None:
            card.mark_executed(ok, output)

    def action_committed(self, step: int, short_sha: str, summary: str) -> None:
        """Show on step ``step``'s latest card that it was committed as ``short_sha``."""
        if (card := self._latest_card(step)) is not None:
            card.mark_committed(short_sha, summary)

    async def notice(self, text: str, *, severity: str = "information") -> None:
        """Add a one-line notice (an error, a retry, a user edit, the budget, the finish)."""
        if severity not in SEVERITIES:
            severity = "information"
        first, *rest = text.strip().splitlines() or [""]
        line = clean_line(first, NOTICE_CHARS) + (" …" if rest else "")
        notice = Static(Content(line), classes=f"notice -{severity}", markup=False)
        self._notices.append(notice)
        await self.mount(notice)
        await self._trim()

    async def clear_log(self) -> None:
        """Remove every entry and notice (a new session starts)."""
        for entry in self._order:
            if entry.thought is not None:
                await entry.thought.stop()
        self._entries.clear()
        self._order.clear()
        self._notices.clear()
        await self.remove_children()

    async def toggle_thought(self, step: int) -> None:
        """Open step ``step``'s thought if it is folded, else fold it."""
        entry = self._entries.get(step)
        if entry is None or entry.thought is None:
            return
        if entry.thought.folded:
            entry.pinned = True
            await self._open(entry)
        else:
            entry.pinned = False
            await self._fold(entry)

    async def on_click(self, event: events.Click) -> None:
        """Open or fold a step's thought when its header is clicked."""
        for entry in reversed(self._order):
            if event.widget is entry.header:
                event.stop()
                await self.toggle_thought(entry.step)
                return

    async def _open(self, entry: _StepEntry) -> None:
        if entry.thought is not None:
            await entry.thought.unfold()
            self._show_header(entry)

    async def _fold(self, entry: _StepEntry) -> None:
        if entry.thought is not None and not entry.thought.folded:
            await entry.thought.fold()
            self._show_header(entry)

    def _show_header(self, entry: _StepEntry) -> None:
        entry.header.update(self._header_content(entry))

    def _header_content(self, entry: _StepEntry) -> Content:
        parts: list[Content | tuple[str, str] | str] = [
            f"step {entry.step}",
            (f"  {entry.started}", "$foreground-muted"),
        ]
        thought = entry.thought
        if thought is not None and thought.folded:
            parts.append((f"  ▸ {_preview(thought.text)}", "$foreground-muted not bold"))
        elif thought is not None:
            parts.append(("  ▾", "$foreground-muted not bold"))
        return Content.assemble(*parts)

    def _last(self) -> _StepEntry | None:
        return self._order[-1] if self._order else None

    def _latest_card(self, step: int) -> ActionCard | None:
        entry = self._entries.get(step)
        return entry.cards[-1] if entry is not None and entry.cards else None

    async def _entry(self, step: int) -> _StepEntry:
        entry = self._entries.get(step)
        return entry if entry is not None else await self._new_entry(step)

    async def _new_entry(self, step: int) -> _StepEntry:
        header = Static(classes="step-header", markup=False)
        container = Vertical(header, classes="step")
        entry = _StepEntry(step, container, header, clock())
        self._show_header(entry)
        self._entries[step] = entry
        self._order.append(entry)
        await self.mount(container)
        if len(self._order) > self.open_thoughts:
            aged = self._order[-1 - self.open_thoughts]
            if not aged.pinned:
                await self._fold(aged)
        await self._trim()
        return entry

    async def _trim(self) -> None:
        """Unmount the oldest entries and notices beyond `max_entries` of each."""
        doomed: list[Widget] = []
        while len(self._order) > self.max_entries:
            entry = self._order.popleft()
            if self._entries.get(entry.step) is entry:
                del self._entries[entry.step]
            if entry.thought is not None:
                await entry.thought.stop()
            doomed.append(entry.container)
        while len(self._notices) > self.max_entries:
            doomed.append(self._notices.popleft())
        if doomed:
            await self.remove_children(doomed)


def _is_empty(entry: _StepEntry) -> bool:
    return entry.thought is None and not entry.cards


def _preview(text: str) -> str:
    """The first line of a thought, without Markdown's leading marks, for a header."""
    for line in text.splitlines():
        line = line.strip().lstrip("#>*-+ ").strip()
        if line:
            return clean_line(line, PREVIEW_CHARS)
    return ""
