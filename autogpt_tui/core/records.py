"""The step record and what is read back from a step commit: trailers, ratings, records.

A step's record is a git note (JSON) on its commit; its ratings are a second note, a JSON
list of events of which the latest explicit one wins. Everything here is plain data and
parsing: no git.

The pydantic models (:class:`StepRecord`, :class:`RatingEvent`, :class:`Usage`,
:class:`RejectedProposal`, :class:`RejectedHunk`) are defined in
:mod:`autogpt_tui.core.record_models` and reached through this module as before, but
imported on first use: the commands that only list steps (`log`) never pay for pydantic.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

if TYPE_CHECKING:
    from autogpt_tui.core.record_models import CallRecord as CallRecord
    from autogpt_tui.core.record_models import RatingEvent as RatingEvent
    from autogpt_tui.core.record_models import RejectedHunk as RejectedHunk
    from autogpt_tui.core.record_models import RejectedProposal as RejectedProposal
    from autogpt_tui.core.record_models import StepRecord as StepRecord
    from autogpt_tui.core.record_models import Usage as Usage

TRAILER_SESSION = "Agent-Session"
TRAILER_STEP = "Agent-Step"
TRAILER_TOOL = "Agent-Tool"
TRAILER_POLICY = "Agent-Policy"
TRAILER_ROLE = "Agent-Role"
TRAILER_UNDO = "Agent-Undo"
TRAILER_REDO = "Agent-Redo"

SUMMARY_MAX = 100
"""The longest commit subject a step gets."""


RatingSource = Literal["user", "reject", "undo", "check", "reviewer"]

_RATING_SOURCES = frozenset(("user", "reject", "undo", "check", "reviewer"))

REVIEWER: RatingSource = "reviewer"
"""The source of a reviewer agent's ratings: kept beside the user's, never in their place."""

_MODELS = frozenset(
    ("CallRecord", "RatingEvent", "RejectedHunk", "RejectedProposal", "StepRecord", "Usage")
)

if not TYPE_CHECKING:  # mypy sees the imports above; at run time they load on first use

    def __getattr__(name: str) -> Any:
        """The pydantic models, imported from ``record_models`` when first asked for."""
        if name in _MODELS:
            return getattr(importlib.import_module("autogpt_tui.core.record_models"), name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Rating:
    """A step's rating in effect: the latest explicit one, else the latest implicit one."""

    value: float
    comment: str | None
    source: RatingSource
    model: str | None = None
    """The model that gave it (a reviewer's ratings); None for the user's and implicit ones."""

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
    review: Rating | None = None
    """The reviewer agent's latest rating of the step, shown beside ``rating`` (which it
    never replaces); None when no reviewer rated it."""
    review_counts: bool = False
    """Whether ``review`` is the step's reward for learning: only when the user neither
    rated the step (a 0 that cleared it included) nor undid it."""
    role: str | None = None
    """The ``Agent-Role`` trailer: which agent of a team took the step (None alone)."""

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
            "review": review_json(self.review),
            "undone": self.undone,
            "role": self.role,
        }
        if self.record is not None:
            data["record"] = self.record.model_dump(mode="json")
        return data


def review_json(review: Rating | None) -> dict[str, Any] | None:
    """A reviewer's rating as JSON: value, comment (its one-line reason) and model."""
    if review is None:
        return None
    return {"value": review.value, "comment": review.comment, "model": review.model}


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
            role=t.get(TRAILER_ROLE) or None,
            summary=self.subject,
            timestamp=self.timestamp,
            undone=undone,
            record=self.record(),
            **ratings_of_note(self.ratings_note),
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
        from pydantic import ValidationError

        from autogpt_tui.core.record_models import StepRecord

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
    if escaped == data:
        return record
    from autogpt_tui.core.record_models import StepRecord

    return StepRecord.model_validate(escaped)


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


class _Event(Protocol):
    """What the rating rules read of an event (a :class:`RatingEvent` or a :class:`Rating`)."""

    @property
    def value(self) -> float: ...
    @property
    def comment(self) -> str | None: ...
    @property
    def source(self) -> RatingSource: ...


def _in_effect(events: Sequence[_Event]) -> _Event | None:
    """The latest user event, else the latest implicit one; reviewers' are left out."""
    own = [e for e in events if e.source != REVIEWER]
    explicit = [e for e in own if e.source == "user"]
    chosen = explicit[-1] if explicit else (own[-1] if own else None)
    if chosen is None or chosen.value == 0:
        return None
    return chosen


def _review(events: Sequence[_Event]) -> tuple[_Event | None, bool]:
    """The latest reviewer event, and whether it counts as the step's reward: only when
    the user has not had their say on the step (rated it, cleared it with 0, undid it)."""
    reviews = [e for e in events if e.source == REVIEWER]
    if not reviews:
        return None, False
    if any(e.source == "user" for e in events):
        return reviews[-1], False
    chosen = _in_effect(events)
    return reviews[-1], chosen is None or chosen.source not in ("undo", "reject")


def _as_rating(event: _Event) -> Rating:
    if isinstance(event, Rating):
        return event
    model = getattr(event, "model", None)
    return Rating(value=event.value, comment=event.comment, source=event.source, model=model)


def effective_rating(events: Sequence[RatingEvent]) -> Rating | None:
    """The rating in effect: the latest explicit one overrides implicit ones; 0 clears.

    A reviewer's rating is never the rating in effect: it is kept beside it
    (:func:`review_of`), and the user's own rating always stands over it.
    """
    chosen = _in_effect(events)
    return None if chosen is None else _as_rating(chosen)


def review_of(events: Sequence[RatingEvent]) -> tuple[Rating | None, bool]:
    """The reviewer's latest rating of a step, and whether it counts as its reward
    (only when the user did not rate, clear or undo the step)."""
    event, counts = _review(events)
    return (None if event is None else _as_rating(event)), counts


def effective_rating_of_note(note: str) -> Rating | None:
    """The rating in effect for a ratings note: ``effective_rating(parse_ratings(note))``."""
    rating = ratings_of_note(note)["rating"]
    assert rating is None or isinstance(rating, Rating)
    return rating


def ratings_of_note(note: str) -> dict[str, Any]:
    """``rating``, ``review`` and ``review_counts`` of a ratings note (StepCommit's fields).

    Listing steps needs only this, once per step; a note of well-formed events is read
    here with plain JSON, and anything unusual (a hand-edited note, a value as a string)
    goes through the pydantic model as before, so both give the same answer.
    """
    none: dict[str, Any] = {"rating": None, "review": None, "review_counts": False}
    note = note.strip()
    if not note:
        return none
    try:
        raw = json.loads(note)
    except ValueError:
        return none
    plain = _plain_events(raw)
    events: Sequence[_Event] = parse_ratings(note) if plain is None else plain
    chosen = _in_effect(events)
    review, counts = _review(events)
    return {
        "rating": None if chosen is None else _as_rating(chosen),
        "review": None if review is None else _as_rating(review),
        "review_counts": counts,
    }


def _plain_events(raw: object) -> list[Rating] | None:
    """Each event of a ratings note as a :class:`Rating`, or None unless every event has
    exactly the types :class:`RatingEvent` declares (then the model decides)."""
    if not isinstance(raw, list):
        return None
    events: list[Rating] = []
    for item in raw:
        if not isinstance(item, dict):
            return None
        value = item.get("value")
        comment = item.get("comment")
        source = item.get("source", "user")
        at = item.get("at", "")
        model = item.get("model")
        # bool is an int, and pydantic's float takes more than numbers: the model decides.
        if type(value) not in (int, float) or not math.isfinite(cast(float, value)):
            return None
        if not (comment is None or isinstance(comment, str)) or not isinstance(at, str):
            return None
        if not (model is None or isinstance(model, str)):
            return None
        if not isinstance(source, str) or source not in _RATING_SOURCES:
            return None
        rating_source = cast("RatingSource", source)
        events.append(Rating(float(cast(float, value)), comment, rating_source, model))
    return events


def parse_ratings(note: str) -> list[RatingEvent]:
    """The rating events of a ratings note; an unreadable note reads as none."""
    note = note.strip()
    if not note:
        return []
    from pydantic import ValidationError

    from autogpt_tui.core.record_models import RatingEvent

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
