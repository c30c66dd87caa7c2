"""The action log's entries as data, and the pure helpers that read them.

`ActionLog` keeps every entry as one of these (a step's thought and cards, or a one-line
notice); its widgets exist only while the entry is mounted (`LogWindow`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from autogpt_tui.ui.widgets.action_card import ActionCard, CardData, clean_line

if TYPE_CHECKING:
    from autogpt_tui.ui.widgets.agent_thought import AgentThought

PREVIEW_CHARS = 100
"""Longest preview of a folded thought in its step's header."""


@dataclass(eq=False)
class StepEntry:
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
    role: str = ""
    """The role of the team's agent that took the step; empty for the single agent."""
    container: Vertical | None = None
    header: Static | None = None
    thought: AgentThought | None = None
    card_widgets: list[ActionCard] = field(default_factory=list)

    @property
    def mounted(self) -> bool:
        """True while the entry's widgets exist."""
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
        """Characters of thought and reasoning kept as data (not in a widget)."""
        return sum(map(len, self.parts)) + len(self.reasoning)


@dataclass(eq=False)
class NoticeEntry:
    """A one-line notice between steps; a widget only while mounted."""

    text: str
    severity: str
    """One of `SEVERITIES`, or "divider" for the line above a new branch."""
    static: Static | None = None

    @property
    def mounted(self) -> bool:
        """True while the notice's widget exists."""
        return self.static is not None

    @property
    def kept_chars(self) -> int:
        """Characters the notice keeps."""
        return len(self.text)


Item = StepEntry | NoticeEntry
"""An entry of the log: a step's or a notice."""


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


def card_transcript(entry: StepEntry, card: CardData) -> CardTranscript:
    """What the log knows of ``card``, one of ``entry``'s, for its full transcript."""
    return CardTranscript(entry.step, entry.attempt, entry.sha, entry.text, card)


def said_something(entry: StepEntry) -> bool:
    """Whether the entry shows anything of the model's: a card, a thought, reasoning."""
    if entry.cards or entry.reasoning:
        return True
    if entry.thought is not None:
        return bool(entry.thought.text or entry.thought.reasoning)
    return entry.has_thought and bool(entry.text)


def is_empty(entry: StepEntry) -> bool:
    """Whether the entry has neither a thought nor a card yet."""
    return not entry.has_thought and not entry.cards


ROLE_STYLES = {
    "planner": "bold $text-accent",
    "coder": "bold $text-primary",
    "reviewer": "bold $text-warning",
}
"""Each role's colour in the log, from the theme (accent, primary, warning)."""


def role_badge(role: str) -> tuple[str, str]:
    """The badge a team's step shows after its number: `` · planner``, in its colour."""
    return (f" · {role}", ROLE_STYLES.get(role, "bold $text-secondary"))


def header_content(entry: StepEntry) -> Content:
    """What a step's header says: its number, attempt, time, undone mark and thought's
    preview (folded) or open mark."""
    parts: list[Content | tuple[str, str] | str] = [f"step {entry.step}"]
    if entry.role:
        parts.append(role_badge(entry.role))
    if entry.attempt > 1:
        parts.append(f" · attempt {entry.attempt}")
    parts.append((f"  {entry.started}", "$foreground-muted"))
    if entry.undone:
        parts.append(("  ↶ undone", "$text-warning"))
    if entry.has_thought and entry.folded:
        parts.append((f"  ▸ {preview(entry.text)}", "$foreground-muted not bold"))
    elif entry.has_thought:
        parts.append(("  ▾", "$foreground-muted not bold"))
    return Content.assemble(*parts)


_BLOCK_MARK = re.compile(r"^(?:#{1,6}\s+|>\s*|[-*+]\s+|\d{1,9}[.)]\s+)+")
"""What starts a heading, a quote or a list item: not part of the words."""


def preview(text: str) -> str:
    """The first line of a thought as its words read, for a folded step's header: no
    block marks (``#``, ``>``, bullets) and no inline ones (``**``, backticks, links'
    addresses), which showed raw there."""
    for line in text.splitlines():
        line = _BLOCK_MARK.sub("", line.strip()).strip()
        if line:
            # The thought is drawn by then, so the Markdown parser is loaded already.
            from autogpt_tui.ui.markdown_lines import plain_inline

            return clean_line(plain_inline(line) or line, PREVIEW_CHARS)
    return ""


def new_thought(text: str | None = None, *, folded: bool = False) -> AgentThought:
    """A thought widget. Its module (Textual's Markdown: markdown-it, linkify, pygments)
    is imported with the first thought, not with the app: the first frame shows none."""
    from autogpt_tui.ui.widgets.agent_thought import AgentThought

    return AgentThought(text, folded=folded)
