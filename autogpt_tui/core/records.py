"""The step record and what is read back from a step commit: trailers, ratings, records.

A step's record is a git note (JSON) on its commit; its ratings are a second note, a JSON
list of events of which the latest explicit one wins. Everything here is plain data and
parsing: no git.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

TRAILER_SESSION = "Agent-Session"
TRAILER_STEP = "Agent-Step"
TRAILER_TOOL = "Agent-Tool"
TRAILER_POLICY = "Agent-Policy"
TRAILER_UNDO = "Agent-Undo"
TRAILER_REDO = "Agent-Redo"

SUMMARY_MAX = 100
"""The longest commit subject a step gets."""


class Usage(BaseModel):
    """Token usage of one model request (or a step's sum of them)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated: bool = False
    """True when the server sent no usage and the counts are our estimate."""


class RejectedProposal(BaseModel):
    """A proposal the user rejected, kept in the record of the step approved after it."""

    model_config = ConfigDict(extra="ignore")

    tool: str = ""
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    thought: str = ""
    call_id: str | None = None
    reason: str = ""


class StepRecord(BaseModel):
    """What the agent thought, did and saw in one step; stored as a git note."""

    # Every field is declared; a field this version does not know (a newer writer's)
    # is dropped on read rather than failing the whole record.
    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    thought: str = ""
    tool: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)
    tool_call_id: str | None = None
    observation: str = ""
    usage: Usage = Field(default_factory=Usage)
    session: str = ""
    """The session the step belongs to (also in the commit's trailers)."""
    goal: str = ""
    """The goal the agent worked on when it took the step."""
    policy: str = ""
    """The policy arm that proposed the action."""
    model: str = ""
    """The model that proposed the action."""
    ok: bool = True
    """Whether the tool reported success."""
    cost_usd: float = 0.0
    """What the step's model requests cost."""
    rejected: list[RejectedProposal] = Field(default_factory=list)
    """Proposals the user rejected before approving this step's action, oldest first."""
    user_edits: list[str] = Field(default_factory=list)
    """Files the user changed since the previous step (the agent was told)."""
    notes: list[str] = Field(default_factory=list)
    """Messages the loop gave the model before the step (user edits, goal changes, nudges)."""


RatingSource = Literal["user", "reject", "undo", "check"]


class RatingEvent(BaseModel):
    """One rating given to a step; a step's events are kept, the latest one wins."""

    value: float
    comment: str | None = None
    source: RatingSource = "user"
    """Who rated: the user explicitly, or an implicit signal (reject, undo, check)."""
    at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


@dataclass(frozen=True)
class Rating:
    """A step's rating in effect: the latest explicit one, else the latest implicit one."""

    value: float
    comment: str | None
    source: RatingSource

    @property
    def glyph(self) -> str:
        """A one-character mark for lists: ``+``, ``-`` or ``·``."""
        return "+" if self.value > 0 else "-" if self.value < 0 else "·"


@dataclass(frozen=True)
class StepCommit:
    """One agent step as it stands in the repository."""

    sha: str
    parent: str | None
    session: str
    step: int
    tool: str
    policy: str
    summary: str
    timestamp: int
    rating: Rating | None = None
    undone: bool = False
    record: StepRecord | None = None

    @property
    def short_sha(self) -> str:
        """The abbreviated commit id shown in lists."""
        return self.sha[:8]

    @property
    def reward(self) -> float | None:
        """The reward in effect, or None when unrated."""
        return self.rating.value if self.rating else None

    def to_json(self) -> dict[str, Any]:
        """The step as the JSON object `log --json` and `show --json` print."""
        data: dict[str, Any] = {
            "sha": self.sha,
            "session": self.session,
            "step": self.step,
            "tool": self.tool,
            "policy": self.policy,
            "summary": self.summary,
            "timestamp": self.timestamp,
            "reward": self.reward,
            "comment": self.rating.comment if self.rating else None,
            "reward_source": self.rating.source if self.rating else None,
            "undone": self.undone,
        }
        if self.record is not None:
            data["record"] = self.record.model_dump(mode="json")
        return data


@dataclass(frozen=True)
class UserCommit:
    """The commit that recorded the user's own edits made between steps."""

    sha: str
    paths: list[str]


@dataclass
class LogEntry:
    """One commit as read from `git log`: its trailers and its notes, not yet parsed."""

    sha: str
    parents: list[str]
    timestamp: int
    subject: str
    trailers: dict[str, str]
    note: str
    tree: str = ""

    @property
    def step_number(self) -> int | None:
        """The ``Agent-Step`` trailer's number (0 when garbled), or None for no step."""
        if TRAILER_STEP not in self.trailers:
            return None
        try:
            return int(self.trailers[TRAILER_STEP])
        except ValueError:
            return 0

    def as_step(self, undone: bool) -> StepCommit | None:
        """The agent step this commit is, or None for a commit without step trailers."""
        t = self.trailers
        number = self.step_number
        if number is None:
            return None
        return StepCommit(
            sha=self.sha,
            parent=self.parents[0] if self.parents else None,
            session=t.get(TRAILER_SESSION, ""),
            step=number,
            tool=t.get(TRAILER_TOOL, ""),
            policy=t.get(TRAILER_POLICY, ""),
            summary=self.subject,
            timestamp=self.timestamp,
            rating=effective_rating(parse_ratings(self.ratings_note)),
            undone=undone,
            record=self.record(),
        )

    @property
    def ratings_note(self) -> str:
        """The ratings note's JSON line, or an empty string."""
        return next((line for line in self.note.splitlines() if line.startswith("[")), "")

    def record(self) -> StepRecord | None:
        """The step's record, or None when the note is missing or unreadable."""
        line = next((line for line in self.note.splitlines() if line.startswith("{")), None)
        if line is None:
            return None
        try:
            return StepRecord.model_validate_json(line)
        except ValidationError:
            return None


def escaped_record(record: StepRecord) -> StepRecord:
    """``record`` with :func:`escape_surrogates` applied to every string in it.

    A step's record is stored, printed and sent back to the model; a file name that is
    not UTF-8 in an observation, or a lone surrogate in the model's arguments, must not
    make any of those impossible. ``record`` itself is returned when nothing needs it.
    """
    data = record.model_dump(mode="json")
    escaped = escape_surrogates_in(data)
    return record if escaped == data else StepRecord.model_validate(escaped)


def escape_surrogates(text: str) -> str:
    """``text`` with every lone surrogate made visible, so that it can be written as UTF-8.

    A lone surrogate cannot be encoded, so printing, storing or sending it would crash.
    Python reads a file name that is not UTF-8 with each bad byte as a surrogate escape
    (U+DC80–U+DCFF): that shows as the byte, ``\\xe9``. Any other lone surrogate (one
    that came in through JSON, say) shows as ``\\ud800``. Valid text is returned as it is.
    Only what is shown or recorded is escaped; the names and bytes on disk stay exact.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(_escape_char(char) for char in text)
    return text


def _escape_char(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:
        return f"\\u{code:04x}"
    return char


def escape_surrogates_in(value: Any) -> Any:
    """A copy of a JSON-like ``value`` with :func:`escape_surrogates` applied to every
    string in it, keys included (what goes into a record or a printed JSON line)."""
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, dict):
        return {escape_surrogates_in(k): escape_surrogates_in(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape_surrogates_in(item) for item in value]
    return value


def one_line(text: str, limit: int = SUMMARY_MAX) -> str:
    """Collapse text to a single line of at most ``limit`` characters (for subjects)."""
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return line or "(no summary)"


def effective_rating(events: Sequence[RatingEvent]) -> Rating | None:
    """The rating in effect: the latest explicit one overrides implicit ones; 0 clears."""
    explicit = [e for e in events if e.source == "user"]
    chosen = explicit[-1] if explicit else (events[-1] if events else None)
    if chosen is None or chosen.value == 0:
        return None
    return Rating(value=chosen.value, comment=chosen.comment, source=chosen.source)


def parse_ratings(note: str) -> list[RatingEvent]:
    """The rating events of a ratings note; an unreadable note reads as none."""
    note = note.strip()
    if not note:
        return []
    try:
        raw = json.loads(note)
        return [RatingEvent.model_validate(item) for item in raw]
    except (ValueError, TypeError, ValidationError):
        # A hand-edited or foreign note must not break the history view.
        return []


def parse_trailers(block: str) -> dict[str, str]:
    """The ``Agent-*`` trailers of a commit message's last paragraph."""
    trailers: dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.startswith("Agent-"):
            trailers[key.strip()] = value.strip()
    return trailers
