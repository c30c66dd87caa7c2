"""The live log of what the agent thinks and does, one entry per step, virtualised."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message

from autogpt_tui.ui.log_branches import BranchTracker
from autogpt_tui.ui.widgets.action_card import (
    OUTPUT_CHROME,
    ActionCard,
    CardData,
    DelegationData,
    call_fingerprint,
    clean_line,
)
from autogpt_tui.ui.widgets.log_entries import (
    PREVIEW_CHARS,
    CardTranscript,
    NoticeEntry,
    StepEntry,
    card_transcript,
    is_empty,
    new_thought,
    said_something,
)
from autogpt_tui.ui.widgets.log_window import (
    KEPT_CHARS,
    KEPT_THOUGHT_CHARS,
    NEW_BELOW,
    PAGE,
    READING_WINDOW,
    WINDOW,
    LogWindow,
)

if TYPE_CHECKING:
    from autogpt_tui.core.records import StepCommit
    from autogpt_tui.ui.widgets.agent_thought import AgentThought

__all__ = [
    "KEPT_CHARS",
    "KEPT_THOUGHT_CHARS",
    "NEW_BELOW",
    "NOTICE_CHARS",
    "PAGE",
    "PREVIEW_CHARS",
    "READING_WINDOW",
    "SEVERITIES",
    "WINDOW",
    "ActionLog",
    "CardTranscript",
    "clock",
]

SEVERITIES = ("information", "success", "warning", "error", "user")
"""The severities a notice can have; each is also a CSS class with a dash."""
NOTICE_CHARS = 500
"""Longest notice shown; a longer one is cut with an ellipsis."""


def clock() -> str:
    """The wall-clock time shown in a step's header (a function, so tests can fix it: it
    is looked up here, in this module, each time `ActionLog` starts an entry)."""
    return time.strftime("%H:%M:%S")


class ActionLog(LogWindow):
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
        super().__init__(max_entries=max_entries, window=window, name=name, id=id, classes=classes)
        self.open_thoughts = open_thoughts
        """How many of the newest steps keep their thought open; older ones fold."""
        self._branches = BranchTracker()
        self._columns = 0
        self.speaker = ""
        """The role of the team's agent whose events come now (empty: a single agent);
        a new step's entry takes it as its badge."""

    def on_mount(self) -> None:
        """Follow new content until the user scrolls up."""
        self.anchor()

    # -- reading --------------------------------------------------------------------------

    @property
    def step_count(self) -> int:
        """How many step entries the log keeps (mounted or not)."""
        return len(self._steps)

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
            thought = item.thought if isinstance(item, StepEntry) else None
            if thought is not None and thought.streaming:
                await thought.stop()
        latest = self._entries.get(step)
        if latest is not None and latest is self._steps[-1] and is_empty(latest):
            return  # begin_step twice in a row for the same step: keep the one entry.
        await self._new_entry(step)

    async def append_thought(self, step: int, text: str) -> None:
        """Stream a fragment of model text into step ``step``'s thought (as Markdown).

        A fragment after the step's last reply was complete (`end_thought`, or a card
        shown) starts the next reply's own entry: thoughts are never run together.
        """
        entry = await self._entry(step)
        if entry.closed:
            if said_something(entry):
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
            thought = entry.thought = new_thought()
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
        self,
        step: int,
        tool: str,
        arguments: Mapping[str, Any],
        *,
        waiting: bool,
        rule: str = "",
        note: str = "",
    ) -> None:
        """Show a proposed call of ``tool``: waiting for approval when ``waiting``, else running.
        ``rule`` names the permission rule that decided so, if one did.

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
        data.rule = rule
        data.note = note
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

    def delegation_update(
        self,
        step: int,
        *,
        call: tuple[int, str, Mapping[str, Any], bool] | None = None,
        sub_steps: int | None = None,
        ended: str = "",
    ) -> None:
        """Fold news of step ``step``'s sub-agent into its delegate card: a ``call``
        (sub-step, tool, arguments, ok) it made, or how it ``ended``."""
        found = self.delegation_card(step)
        if found is None:
            return
        data, widget = found
        if data.delegation is None:
            data.delegation = DelegationData()
        if call is not None:
            data.delegation.add_call(*call)
        if sub_steps is not None:
            data.delegation.sub_steps = sub_steps
        if ended:
            data.delegation.ended = ended
        if widget is not None:
            widget.refresh(layout=True)

    def delegation_card(self, step: int) -> tuple[CardData, ActionCard | None] | None:
        """Step ``step``'s latest delegate card (its data, and its widget if mounted)."""
        entry = self._entries.get(step)
        if entry is None:
            return None
        for at in range(len(entry.cards) - 1, -1, -1):
            if entry.cards[at].tool == "delegate":
                widget = entry.card_widgets[at] if at < len(entry.card_widgets) else None
                return entry.cards[at], widget
        return None

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
            # The card of the last call that ran: in a step of several reads, a read
            # rejected after the others is not what was committed.
            at = next(
                (
                    i
                    for i in range(len(entry.cards) - 1, -1, -1)
                    if entry.cards[i].state != "rejected"
                ),
                len(entry.cards) - 1,
            )
            if at < len(entry.card_widgets):
                entry.card_widgets[at].mark_committed(sha[:8], summary)
            else:
                entry.cards[at].commit_as(sha[:8], summary)

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

    def _mark_undone(self, entry: StepEntry, undone: bool) -> None:
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
        await self._add_notice(NoticeEntry(line, severity))

    async def _add_notice(self, item: NoticeEntry) -> None:
        self._notices.append(item)
        await self._append(item)

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
            if isinstance(item, StepEntry) and event.widget is item.header:
                event.stop()
                await self.toggle_thought(item.step)
                return
            if isinstance(item, StepEntry) and event.widget in item.card_widgets:
                event.stop()
                card = next(c for c in item.card_widgets if c is event.widget)
                self.post_message(self.TranscriptWanted(card_transcript(item, card.data)))
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
            if isinstance(item, StepEntry):
                for card in reversed(item.card_widgets):
                    if card.region.overlaps(view):
                        return card_transcript(item, card.data)
        for entry in reversed(self._steps):
            if entry.cards:
                return card_transcript(entry, entry.cards[-1])
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

    async def _open(self, entry: StepEntry) -> None:
        entry.folded = False
        if entry.thought is not None:
            await entry.thought.unfold()
        if entry.header is not None:
            self._show_header(entry)

    async def _fold(self, entry: StepEntry) -> None:
        entry.folded = True
        if entry.thought is not None and not entry.thought.folded:
            await entry.thought.fold()
        if entry.header is not None:
            self._show_header(entry)

    def _mark_running(self, entry: StepEntry, *, approved: bool = False) -> None:
        if entry.card_widgets:
            entry.card_widgets[-1].mark_running(approved=approved)
        elif entry.cards:
            entry.cards[-1].state = "running"
            entry.cards[-1].approved = entry.cards[-1].approved or approved

    # -- entries --------------------------------------------------------------------------

    async def _entry(self, step: int) -> StepEntry:
        """Step ``step``'s latest entry, or a new one when it has none or was committed
        (the same number in another session)."""
        entry = self._entries.get(step)
        if entry is None or entry.sha is not None:
            return await self._new_entry(step)
        return entry

    async def _new_entry(self, step: int, *, attempt: int = 1) -> StepEntry:
        if attempt == 1 and (divider := self._branches.take()) is not None:
            # The first step after an undo: the conversation goes on from an earlier point.
            await self._add_notice(NoticeEntry(divider, "divider"))
        entry = StepEntry(step, clock(), attempt=attempt, role=self.speaker)
        self._entries[step] = entry
        self._steps.append(entry)
        if len(self._steps) > self.open_thoughts:
            aged = self._steps[-1 - self.open_thoughts]
            if not aged.pinned and aged.has_thought and not aged.folded:
                await self._fold(aged)
        await self._append(entry)
        return entry
