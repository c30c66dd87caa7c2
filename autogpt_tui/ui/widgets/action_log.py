"""The live log of what the agent thinks and does, one entry per step, virtualised."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from autogpt_tui.ui.log_branches import BranchTracker
from autogpt_tui.ui.widgets.action_card import (
    OUTPUT_CHROME,
    ActionCard,
    CardData,
    call_fingerprint,
    clean_line,
)

if TYPE_CHECKING:
    from autogpt_tui.core.records import StepCommit
    from autogpt_tui.ui.widgets.agent_thought import AgentThought

SEVERITIES = ("information", "success", "warning", "error", "user")
"""The severities a notice can have; each is also a CSS class with a dash."""
NOTICE_CHARS = 500
"""Longest notice shown; a longer one is cut with an ellipsis."""
PREVIEW_CHARS = 100
"""Longest preview of a folded thought in its step's header."""
KEPT_THOUGHT_CHARS = 64_000
"""Most characters of one thought the log keeps once its entry is not mounted (the end
of a longer one: git's step record keeps all of it)."""
KEPT_CHARS = 4_000_000
"""Most characters of thoughts kept for entries that are not mounted, in all; the oldest
entries are dropped beyond it (or beyond `ActionLog.max_entries`)."""
WINDOW = 12
"""Entries (steps and notices) mounted as widgets while the log follows its end."""
READING_WINDOW = 48
"""Most entries mounted while the user reads back (the log pages them in and out)."""
PAGE = 8
"""Entries mounted at a time when the user scrolls past either end of what is mounted."""
NEW_BELOW = "↓ new output (end)"
"""The marker at the bottom of the log while the user reads back and output comes in."""


def clock() -> str:
    """The wall-clock time shown in a step's header (a function, so tests can fix it)."""
    return time.strftime("%H:%M:%S")


@dataclass(eq=False)
class _StepEntry:
    """One step's entry: its data always, its widgets only while mounted."""

    step: int
    started: str
    attempt: int = 1
    """1 for a step's first reply; 2, 3, … for the replies after a rejection (or a reply
    without a usable call): each gets an entry of its own, so no thought runs into
    another."""
    parts: list[str] = field(default_factory=list)
    """The thought's text while the entry is not mounted (joined on demand)."""
    reasoning: str = ""
    has_thought: bool = False
    folded: bool = False
    pinned: bool = False
    """The user opened the thought: it is not folded automatically."""
    cards: list[CardData] = field(default_factory=list)
    closed: bool = False
    """The model's reply is complete: text that comes next is another reply's."""
    sha: str | None = None
    """The step's commit, once made (set on every entry of the step)."""
    undone: bool = False
    """The step was undone (and not redone since)."""
    container: Vertical | None = None
    header: Static | None = None
    thought: AgentThought | None = None
    card_widgets: list[ActionCard] = field(default_factory=list)

    @property
    def mounted(self) -> bool:
        return self.container is not None

    @property
    def text(self) -> str:
        """The thought's text, from its widget while mounted."""
        if self.thought is not None:
            return self.thought.text
        if len(self.parts) > 1:
            self.parts[:] = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""

    @property
    def kept_chars(self) -> int:
        return sum(map(len, self.parts)) + len(self.reasoning)


@dataclass(eq=False)
class _NoticeEntry:
    """A one-line notice between steps; a widget only while mounted."""

    text: str
    severity: str
    """One of `SEVERITIES`, or "divider" for the line above a new branch."""
    static: Static | None = None

    @property
    def mounted(self) -> bool:
        return self.static is not None

    @property
    def kept_chars(self) -> int:
        return len(self.text)


_Item = _StepEntry | _NoticeEntry


@dataclass(frozen=True)
class CardTranscript:
    """What the log knows of one card, for its full transcript: the step's commit (whose
    record holds everything) once made, else what the card itself shows."""

    step: int
    attempt: int
    sha: str | None
    """The step's commit, or None before it is committed."""
    thought: str
    """The thought of the reply the card belongs to."""
    card: CardData


class ActionLog(VerticalScroll):
    """The agent's thoughts and actions as they happen, newest at the bottom.

    Each step gets an entry: a ``step n`` header, the model's thought streamed in as
    Markdown, and a card per proposed action. One-line notices (errors, retries, user edits,
    budget, finish) sit between entries. The log follows new content unless the user scrolls
    up.

    The log is virtualised: every entry is kept as data (the thought's text, each card's
    `CardData`), but only a window of them are widgets (Textual lays out every mounted
    widget on each change, so a long session must not add up). While the log follows its
    end the newest `WINDOW` entries are mounted; scrolling to the top of what is mounted
    mounts `PAGE` earlier entries (and scrolling to the bottom the later ones), building
    their widgets again from the data. Only the newest `open_thoughts` steps show their
    thought (older ones fold to a preview in the header; a click on a header opens or folds
    it). At most `max_entries` steps and as many notices are kept at all (the history panel
    and git keep everything). Every method must be called on the UI thread.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_transcript", "Full output"),
        Binding("end", "follow", "Follow", show=False),
    ]

    class WidthChanged(Message):
        """The width a card shows a command's output at changed (commands are told)."""

        def __init__(self, columns: int) -> None:
            super().__init__()
            self.columns = columns
            """Columns of output a card line holds."""

    class TranscriptWanted(Message):
        """The user asked for a card's full transcript (enter on the log, or a click)."""

        def __init__(self, transcript: CardTranscript) -> None:
            super().__init__()
            self.transcript = transcript
            """The card, its step and its commit."""

    DEFAULT_CSS = """
    ActionLog {
        height: 1fr;
        background: $surface;
        scrollbar-gutter: stable;
        & > .step {
            height: auto;
        }
        & > .step.-undone {
            & > .step-header { color: $foreground-muted; text-style: none; }
            & > AgentThought { color: $foreground-muted; text-opacity: 70%; }
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
            /* The user's own words to the agent: set apart like a chat message. */
            &.-user { color: $foreground; border-left: outer $accent; }
            &.-divider { color: $text-accent; text-style: bold; text-align: center; }
        }
        & > .log-new-below {
            dock: bottom;
            height: 1;
            width: 1fr;
            text-align: center;
            color: $text-warning;
            background: $warning-muted;
            text-style: bold;
            &:hover { background: $warning 40%; }
        }
        & > .log-more {
            height: 1;
            padding: 0 1;
            color: $foreground-muted;
            text-style: italic;
            &:hover { background: $panel-lighten-1; }
        }
    }
    """

    def __init__(
        self,
        *,
        max_entries: int = 2000,
        open_thoughts: int = 5,
        window: int = WINDOW,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create an empty log keeping ``max_entries`` steps, ``open_thoughts`` of them open,
        and ``window`` entries mounted while it follows its end."""
        super().__init__(name=name, id=id, classes=classes)
        if max_entries < 1 or window < 1:
            raise ValueError("max_entries and window must be at least 1")
        self.max_entries = max_entries
        """Most step entries kept (notices are capped at the same number)."""
        self.open_thoughts = open_thoughts
        """How many of the newest steps keep their thought open; older ones fold."""
        self.window = window
        """Entries mounted while the log follows its end."""
        self._entries: dict[int, _StepEntry] = {}
        self._steps: deque[_StepEntry] = deque()
        self._notices: deque[_NoticeEntry] = deque()
        self._items: list[_Item] = []
        # The mounted entries are _items[_lo:_hi]; the log follows its end while _hi is
        # len(_items).
        self._lo = 0
        self._hi = 0
        self._kept_chars = 0
        self._paging = False
        self._branches = BranchTracker()
        self._columns = 0
        self._earlier = Static("", classes="log-more", id="log-earlier", markup=False)
        self._later = Static("", classes="log-more", id="log-later", markup=False)
        self._earlier.display = False
        self._later.display = False
        self._new_below = Static(
            NEW_BELOW, classes="log-new-below", id="log-new-below", markup=False
        )
        self._new_below.display = False

    def compose(self) -> ComposeResult:
        """The notes at either end of what is mounted (hidden while there is nothing more),
        and the marker of new output below (docked at the bottom, hidden while following)."""
        yield self._earlier
        yield self._later
        yield self._new_below

    def on_mount(self) -> None:
        """Follow new content until the user scrolls up."""
        self.anchor()

    # -- reading --------------------------------------------------------------------------

    @property
    def step_count(self) -> int:
        """How many step entries the log keeps (mounted or not)."""
        return len(self._steps)

    @property
    def mounted_count(self) -> int:
        """How many entries (steps and notices) are widgets now."""
        return self._hi - self._lo

    @property
    def new_output_below(self) -> bool:
        """True while the user reads back and output came below what they read."""
        return bool(self._new_below.display)

    @property
    def following(self) -> bool:
        """True while the newest entry is mounted (new entries are mounted as they come)."""
        return self._hi == len(self._items)

    def thought(self, step: int) -> AgentThought | None:
        """The thought widget of step ``step``'s latest entry, if it is mounted and has one."""
        entry = self._entries.get(step)
        return entry.thought if entry is not None else None

    def thought_text(self, step: int) -> str | None:
        """The thought of step ``step``'s latest entry, mounted or not; None without one."""
        entry = self._entries.get(step)
        return entry.text if entry is not None and entry.has_thought else None

    def cards(self, step: int) -> list[ActionCard]:
        """The action cards of step ``step``'s latest entry, oldest first (if mounted)."""
        entry = self._entries.get(step)
        return list(entry.card_widgets) if entry is not None else []

    def card_data(self, step: int) -> list[CardData]:
        """What the cards of step ``step``'s latest entry show, mounted or not."""
        entry = self._entries.get(step)
        return list(entry.cards) if entry is not None else []

    def entry_mounted(self, step: int) -> bool:
        """True when step ``step``'s latest entry is a widget now."""
        entry = self._entries.get(step)
        return entry is not None and entry.mounted

    def undone(self, step: int) -> bool:
        """True when step ``step``'s latest entry is marked undone."""
        entry = self._entries.get(step)
        return entry is not None and entry.undone

    def entry_count(self, step: int) -> int:
        """How many entries step ``step`` has (one per reply of the model's), kept or not."""
        return sum(1 for entry in self._steps if entry.step == step)

    # -- the agent's events ---------------------------------------------------------------

    async def begin_step(self, step: int) -> None:
        """Start a new entry for step ``step``; thoughts still streaming elsewhere are closed."""
        for item in self._items[self._lo : self._hi]:
            thought = item.thought if isinstance(item, _StepEntry) else None
            if thought is not None and thought.streaming:
                await thought.stop()
        latest = self._entries.get(step)
        if latest is not None and latest is self._steps[-1] and _is_empty(latest):
            return  # begin_step twice in a row for the same step: keep the one entry.
        await self._new_entry(step)

    async def append_thought(self, step: int, text: str) -> None:
        """Stream a fragment of model text into step ``step``'s thought (as Markdown).

        A fragment after the step's last reply was complete (`end_thought`, or a card
        shown) starts the next reply's own entry: thoughts are never run together.
        """
        entry = await self._entry(step)
        if entry.closed:
            if _said_something(entry):
                entry = await self._new_entry(step, attempt=entry.attempt + 1)
            else:
                entry.closed = False  # the last reply said nothing: this one goes here
        if not entry.mounted:
            entry.has_thought = True
            entry.folded = False
            if text:
                entry.parts.append(text)
            return
        thought = entry.thought
        if thought is None:
            entry.has_thought = True
            entry.folded = False
            thought = entry.thought = _new_thought()
            assert entry.container is not None and entry.header is not None
            await entry.container.mount(thought, after=entry.header)
            self._show_header(entry)
        elif thought.folded:
            await self._open(entry)
        await thought.write(text)
        if text:
            self._note_new_output()

    async def append_reasoning(self, step: int, text: str) -> None:
        """Stream a fragment of the model's reasoning into step ``step``'s thought."""
        await self.append_thought(step, "")  # opens the step's thought, writes nothing
        entry = self._entries[step]
        if entry.thought is not None:
            await entry.thought.write_reasoning(text)
        else:
            entry.reasoning = (entry.reasoning + text)[-KEPT_THOUGHT_CHARS:]

    async def reset_thought(self, step: int) -> None:
        """Clear step ``step``'s thought: the stream was cut short and is being retried."""
        entry = self._entries.get(step)
        if entry is None or entry.closed:
            return  # a reply that was complete is not the one being retried
        entry.parts.clear()
        entry.reasoning = ""
        if entry.thought is not None:
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
        entry.closed = True
        if entry.cards:
            latest = entry.cards[-1]
            if latest.state == "waiting" and latest.fingerprint == call_fingerprint(
                tool, arguments
            ):
                if not waiting:
                    self._mark_running(entry)
                return
        data = CardData.of_call(tool, arguments, waiting=waiting)
        entry.cards.append(data)
        if entry.container is not None:
            card = ActionCard(data)
            entry.card_widgets.append(card)
            await entry.container.mount(card)
        self._note_new_output()

    def action_approved(self, step: int) -> None:
        """Mark step ``step``'s latest card approved and running: the user approved it."""
        if (entry := self._entries.get(step)) is not None and entry.cards:
            self._mark_running(entry, approved=True)

    def action_rejected(self, step: int, reason: str) -> None:
        """Mark step ``step``'s latest card rejected, with the reason the agent is told."""
        if (entry := self._entries.get(step)) is not None and entry.cards:
            if entry.card_widgets:
                entry.card_widgets[-1].mark_rejected(reason)
            else:
                entry.cards[-1].reject(reason)

    def action_executed(self, step: int, ok: bool, output: str) -> None:
        """Mark step ``step``'s latest card done (``ok``) or failed, showing its output's head."""
        if (entry := self._entries.get(step)) is not None and entry.cards:
            if entry.card_widgets:
                entry.card_widgets[-1].mark_executed(ok, output)
            else:
                entry.cards[-1].execute(ok, output)
            self._note_new_output()

    def action_committed(self, step: int, sha: str, summary: str) -> None:
        """Show on step ``step``'s latest card that it was committed as ``sha``.

        The step's entries remember the commit, so the history's undone marks find them
        (`sync_history`); a later step numbered the same (another session) gets new ones.
        """
        if (entry := self._entries.get(step)) is None:
            return
        entry.sha = sha
        # The step's earlier replies (rejected proposals) sit right before it.
        earlier = len(self._steps) - 1  # the entry is the newest but for a burst of others
        while earlier >= 0 and self._steps[earlier] is not entry:
            earlier -= 1
        earlier -= 1
        while earlier >= 0 and self._steps[earlier].step == step:
            if self._steps[earlier].sha is not None:
                break
            self._steps[earlier].sha = sha
            earlier -= 1
        if entry.cards:
            if entry.card_widgets:
                entry.card_widgets[-1].mark_committed(sha[:8], summary)
            else:
                entry.cards[-1].commit_as(sha[:8], summary)

    async def end_thought(self, step: int) -> None:
        """The model's reply for step ``step`` is complete: close its thought's stream,
        so the next reply's text starts an entry of its own."""
        entry = self._entries.get(step)
        if entry is None:
            return
        entry.closed = True
        if entry.thought is not None and entry.thought.streaming:
            await entry.thought.stop()

    async def end_thoughts(self) -> None:
        """The run stopped: every reply is over (a step abandoned by a pause and taken
        again later starts afresh)."""
        for entry in self._entries.values():
            if not entry.closed:
                await self.end_thought(entry.step)

    def sync_history(self, steps: Sequence[StepCommit]) -> None:
        """Mark the steps the history (newest first) says are undone, unmark the redone.

        Steps undone since the last new step are also noted: the next new step starts
        with a divider naming them (the conversation branches off there).
        """
        marks = self._branches.sync(steps)
        for entry in self._steps:
            if entry.sha is None:
                continue
            undone = marks.get(entry.sha)
            if undone is not None and undone != entry.undone:
                self._mark_undone(entry, undone)

    def _mark_undone(self, entry: _StepEntry, undone: bool) -> None:
        entry.undone = undone
        for data in entry.cards:
            data.undone = undone
        for card in entry.card_widgets:
            card.mark_undone(undone)
        if entry.container is not None:
            entry.container.set_class(undone, "-undone")
        self._show_header(entry)

    async def notice(self, text: str, *, severity: str = "information") -> None:
        """Add a one-line notice (an error, a retry, a user edit, the budget, the finish)."""
        if severity not in SEVERITIES:
            severity = "information"
        first, *rest = text.strip().splitlines() or [""]
        line = clean_line(first, NOTICE_CHARS) + (" …" if rest else "")
        await self._add_notice(_NoticeEntry(line, severity))

    async def _add_notice(self, item: _NoticeEntry) -> None:
        self._notices.append(item)
        await self._append(item)

    async def clear_log(self) -> None:
        """Remove every entry and notice (a new session starts)."""
        await self._unmount_range(self._lo, self._hi)
        self._entries.clear()
        self._steps.clear()
        self._notices.clear()
        self._items.clear()
        self._lo = self._hi = 0
        self._kept_chars = 0
        self._show_more()

    # -- folding --------------------------------------------------------------------------

    async def toggle_thought(self, step: int) -> None:
        """Open step ``step``'s thought if it is folded, else fold it."""
        entry = self._entries.get(step)
        if entry is None or not entry.has_thought:
            return
        if entry.folded:
            entry.pinned = True
            await self._open(entry)
        else:
            entry.pinned = False
            await self._fold(entry)

    async def on_click(self, event: events.Click) -> None:
        """Open or fold a step's thought when its header is clicked; page in more entries
        when a note at either end is clicked."""
        if event.widget is self._earlier:
            event.stop()
            await self.show_earlier()
            return
        if event.widget is self._later:
            event.stop()
            await self.show_later()
            return
        if event.widget is self._new_below:
            event.stop()
            await self.show_latest()
            return
        for item in self._items[self._lo : self._hi]:
            if isinstance(item, _StepEntry) and event.widget is item.header:
                event.stop()
                await self.toggle_thought(item.step)
                return
            if isinstance(item, _StepEntry) and event.widget in item.card_widgets:
                event.stop()
                card = next(c for c in item.card_widgets if c is event.widget)
                self.post_message(self.TranscriptWanted(_transcript(item, card.data)))
                return

    # -- transcripts and width ------------------------------------------------------------

    def action_open_transcript(self) -> None:
        """Open the full transcript of the lowest card in view (the newest one when the
        log follows its end)."""
        transcript = self.transcript_in_view()
        if transcript is None:
            self.notify("No action to show yet.", markup=False)
            return
        self.post_message(self.TranscriptWanted(transcript))

    def transcript_in_view(self) -> CardTranscript | None:
        """The lowest card in view, or the newest card kept when none is in view."""
        view = self.content_region
        for item in reversed(self._items[self._lo : self._hi]):
            if isinstance(item, _StepEntry):
                for card in reversed(item.card_widgets):
                    if card.region.overlaps(view):
                        return _transcript(item, card.data)
        for entry in reversed(self._steps):
            if entry.cards:
                return _transcript(entry, entry.cards[-1])
        return None

    def on_resize(self, event: events.Resize) -> None:
        """Tell the app the width a card shows output at, for commands' COLUMNS."""
        width = self.scrollable_content_region.width
        if width <= OUTPUT_CHROME:
            return  # hidden (another panel in front): the width it had still holds
        columns = max(20, width - OUTPUT_CHROME)
        if columns != self._columns:
            self._columns = columns
            self.post_message(self.WidthChanged(columns))

    async def _open(self, entry: _StepEntry) -> None:
        entry.folded = False
        if entry.thought is not None:
            await entry.thought.unfold()
        if entry.header is not None:
            self._show_header(entry)

    async def _fold(self, entry: _StepEntry) -> None:
        entry.folded = True
        if entry.thought is not None and not entry.thought.folded:
            await entry.thought.fold()
        if entry.header is not None:
            self._show_header(entry)

    def _show_header(self, entry: _StepEntry) -> None:
        if entry.header is not None:
            entry.header.update(self._header_content(entry))

    def _header_content(self, entry: _StepEntry) -> Content:
        parts: list[Content | tuple[str, str] | str] = [f"step {entry.step}"]
        if entry.attempt > 1:
            parts.append(f" · attempt {entry.attempt}")
        parts.append((f"  {entry.started}", "$foreground-muted"))
        if entry.undone:
            parts.append(("  ↶ undone", "$text-warning"))
        if entry.has_thought and entry.folded:
            parts.append((f"  ▸ {_preview(entry.text)}", "$foreground-muted not bold"))
        elif entry.has_thought:
            parts.append(("  ▾", "$foreground-muted not bold"))
        return Content.assemble(*parts)

    def _mark_running(self, entry: _StepEntry, *, approved: bool = False) -> None:
        if entry.card_widgets:
            entry.card_widgets[-1].mark_running(approved=approved)
        elif entry.cards:
            entry.cards[-1].state = "running"
            entry.cards[-1].approved = entry.cards[-1].approved or approved

    # -- entries --------------------------------------------------------------------------

    async def _entry(self, step: int) -> _StepEntry:
        """Step ``step``'s latest entry, or a new one when it has none or was committed
        (the same number in another session)."""
        entry = self._entries.get(step)
        if entry is None or entry.sha is not None:
            return await self._new_entry(step)
        return entry

    async def _new_entry(self, step: int, *, attempt: int = 1) -> _StepEntry:
        if attempt == 1 and (divider := self._branches.take()) is not None:
            # The first step after an undo: the conversation goes on from an earlier point.
            await self._add_notice(_NoticeEntry(divider, "divider"))
        entry = _StepEntry(step, clock(), attempt=attempt)
        self._entries[step] = entry
        self._steps.append(entry)
        if len(self._steps) > self.open_thoughts:
            aged = self._steps[-1 - self.open_thoughts]
            if not aged.pinned and aged.has_thought and not aged.folded:
                await self._fold(aged)
        await self._append(entry)
        return entry

    async def _append(self, item: _Item) -> None:
        """Add ``item`` at the end; mount it if the log follows its end."""
        following = self.following
        self._items.append(item)
        if following:
            await self.mount(self._build(item), before=self._later)
            await self._after_mount(item)
            self._hi = len(self._items)
            # While the user reads back (the anchor released), the window may grow a
            # while, so what they read does not move; past that it is trimmed anyway.
            limit = READING_WINDOW if self._reading_back else self.window
            if self._hi - self._lo > limit:
                await self._unmount_range(self._lo, self._hi - self.window, keep_view=True)
                self._lo = self._hi - self.window
        await self._drop_old()
        self._show_more()
        self._note_new_output()

    def _note_new_output(self) -> None:
        """Mark that there is new output below, if the user is reading further up."""
        if not self._new_below.display and (self._reading_back or not self.following):
            self._new_below.display = True

    @property
    def _reading_back(self) -> bool:
        return self._anchored and self._anchor_released

    def _build(self, item: _Item) -> Widget:
        """The widget of ``item``, made from its data."""
        if isinstance(item, _NoticeEntry):
            item.static = Static(
                Content(item.text), classes=f"notice -{item.severity}", markup=False
            )
            return item.static
        header = Static(classes="step-header", markup=False)
        item.header = header
        children: list[Widget] = [header]
        if item.has_thought:
            self._kept_chars -= item.kept_chars
            item.thought = _new_thought(item.text, folded=item.folded)
            children.append(item.thought)
            item.parts.clear()
        item.card_widgets = [ActionCard(data) for data in item.cards]
        children += item.card_widgets
        item.container = Vertical(*children, classes="step -undone" if item.undone else "step")
        self._show_header(item)
        return item.container

    async def _after_mount(self, item: _Item) -> None:
        if isinstance(item, _StepEntry) and item.thought is not None:
            if not item.folded:
                await item.thought.cap_blocks()
            if item.reasoning:
                await item.thought.write_reasoning(item.reasoning)
                item.reasoning = ""

    async def _release(self, item: _Item) -> Widget | None:
        """Forget ``item``'s widgets, keeping what they showed as data; the widget to remove."""
        if isinstance(item, _NoticeEntry):
            widget, item.static = item.static, None
            return widget
        thought = item.thought
        if thought is not None:
            if thought.streaming:
                await thought.stop()
            text = thought.text
            if len(text) > KEPT_THOUGHT_CHARS:
                cut = len(text) - KEPT_THOUGHT_CHARS
                text = f"*(… {cut:,} earlier characters not kept)*\n\n" + text[cut:]
            item.parts = [text] if text else []
            item.reasoning = thought.reasoning[-KEPT_THOUGHT_CHARS:]
            self._kept_chars += item.kept_chars
        container = item.container
        item.container = item.header = item.thought = None
        item.card_widgets = []
        return container

    async def _unmount_range(self, lo: int, hi: int, *, keep_view: bool = False) -> None:
        """Unmount the entries ``_items[lo:hi]`` (all mounted), keeping their data."""
        doomed: list[Widget] = []
        height = 0
        for item in self._items[lo:hi]:
            widget = await self._release(item)
            if widget is not None:
                height += widget.outer_size.height
                doomed.append(widget)
        if doomed:
            await self.remove_children(doomed)
        if keep_view and height and lo == self._lo and self._reading_back:
            # Entries above the view went: scroll up by as much, so the view stays put.
            self.scroll_to(y=max(0, self.scroll_y - height), animate=False, immediate=True)

    async def _drop_old(self) -> None:
        """Forget the oldest entries beyond `max_entries` steps (or notices) or `KEPT_CHARS`."""
        doomed: set[int] = set()
        while len(self._steps) > self.max_entries or (
            self._kept_chars > KEPT_CHARS and len(self._steps) > 1
        ):
            entry = self._steps.popleft()
            if self._entries.get(entry.step) is entry:
                del self._entries[entry.step]
            self._kept_chars -= entry.kept_chars if not entry.mounted else 0
            doomed.add(id(entry))
        while len(self._notices) > self.max_entries:
            notice = self._notices.popleft()
            self._kept_chars -= notice.kept_chars if not notice.mounted else 0
            doomed.add(id(notice))
        if not doomed:
            return
        keep: list[_Item] = []
        lo, hi = self._lo, self._hi
        gone: list[_Item] = []
        for index, item in enumerate(self._items):
            if id(item) in doomed:
                gone.append(item)
                if index < self._lo:
                    lo -= 1
                if index < self._hi:
                    hi -= 1
            else:
                keep.append(item)
        widgets: list[Widget] = []
        for item in gone:
            if item.mounted:
                widget = await self._release(item)
                self._kept_chars -= item.kept_chars  # what _release just counted
                if widget is not None:
                    widgets.append(widget)
        if widgets:
            await self.remove_children(widgets)
        self._items = keep
        self._lo, self._hi = max(lo, 0), max(hi, 0)

    # -- paging ---------------------------------------------------------------------------

    async def show_earlier(self, count: int = PAGE) -> bool:
        """Mount up to ``count`` entries before the first mounted one; False if none."""
        if self._lo == 0 or self._paging:
            return False
        self._paging = True
        try:
            lo = max(0, self._lo - count)
            widgets = [self._build(item) for item in self._items[lo : self._lo]]
            await self.mount_all(widgets, after=self._earlier)
            for item in self._items[lo : self._lo]:
                await self._after_mount(item)
            self._lo = lo
            if self._hi - self._lo > READING_WINDOW:
                # Leave the end: later entries are kept as data until scrolled to.
                await self._unmount_range(self._lo + READING_WINDOW, self._hi)
                self._hi = self._lo + READING_WINDOW
            self._show_more()
            return True
        finally:
            self._paging = False

    async def show_later(self, count: int = PAGE) -> bool:
        """Mount up to ``count`` entries after the last mounted one; False if none."""
        if self.following or self._paging:
            return False
        self._paging = True
        try:
            hi = min(len(self._items), self._hi + count)
            widgets = [self._build(item) for item in self._items[self._hi : hi]]
            await self.mount_all(widgets, before=self._later)
            for item in self._items[self._hi : hi]:
                await self._after_mount(item)
            self._hi = hi
            if self._hi - self._lo > READING_WINDOW:
                drop = self._hi - READING_WINDOW
                await self._unmount_range(self._lo, drop, keep_view=True)
                self._lo = drop
            self._show_more()
            return True
        finally:
            self._paging = False

    async def show_latest(self) -> None:
        """Mount the newest entries again and follow the end (after reading back)."""
        if not self.following:
            await self._unmount_range(self._lo, self._hi)
            self._lo = self._hi = max(0, len(self._items) - self.window)
            await self.show_later(self.window)
        self._show_more()
        self.anchor()
        self._new_below.display = False

    async def action_follow(self) -> None:
        """Go to the end and follow new output again (the End key)."""
        await self.show_latest()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Page entries in when the user scrolls to either end of what is mounted."""
        super().watch_scroll_y(old_value, new_value)
        if self._new_below.display and self.following and not self._anchor_released:
            # Scrolled back to the end: Textual anchored the log again; it follows.
            self._new_below.display = False
        if self._paging or not self.is_mounted:
            return
        if new_value <= 0 < old_value and self._lo > 0:
            self.call_later(self._page_up)
        elif new_value >= self.max_scroll_y > old_value and not self.following:
            self.call_later(self.show_later)

    async def _page_up(self) -> None:
        before = self.virtual_size.height
        if await self.show_earlier():
            # Keep the entry the user was reading in view: what came above pushes it down.
            def keep() -> None:
                added = self.virtual_size.height - before
                if added > 0:
                    self.scroll_to(y=added, animate=False, immediate=True)

            self.call_after_refresh(keep)

    def _show_more(self) -> None:
        """Say at either end how many entries are not mounted."""
        earlier = self._lo
        later = len(self._items) - self._hi
        self._earlier.display = earlier > 0
        self._later.display = later > 0
        if earlier:
            self._earlier.update(
                Content(f"⋯ {earlier:,} earlier entr{'y' if earlier == 1 else 'ies'} · scroll up")
            )
        if later:
            self._later.update(
                Content(f"⋯ {later:,} later entr{'y' if later == 1 else 'ies'} · scroll down")
            )


def _transcript(entry: _StepEntry, card: CardData) -> CardTranscript:
    return CardTranscript(entry.step, entry.attempt, entry.sha, entry.text, card)


def _said_something(entry: _StepEntry) -> bool:
    """Whether the entry shows anything of the model's: a card, a thought, reasoning."""
    if entry.cards or entry.reasoning:
        return True
    if entry.thought is not None:
        return bool(entry.thought.text or entry.thought.reasoning)
    return entry.has_thought and bool(entry.text)


def _is_empty(entry: _StepEntry) -> bool:
    return not entry.has_thought and not entry.cards


def _preview(text: str) -> str:
    """The first line of a thought, without Markdown's leading marks, for a header."""
    for line in text.splitlines():
        line = line.strip().lstrip("#>*-+ ").strip()
        if line:
            return clean_line(line, PREVIEW_CHARS)
    return ""


def _new_thought(text: str | None = None, *, folded: bool = False) -> AgentThought:
    """A thought widget. Its module (Textual's Markdown: markdown-it, linkify, pygments)
    is imported with the first thought, not with the app: the first frame shows none."""
    from autogpt_tui.ui.widgets.agent_thought import AgentThought

    return AgentThought(text, folded=folded)
