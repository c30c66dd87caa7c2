"""Ratings of steps: the user's explicit ones and the implicit ones undo and redo give.

A step's ratings are a git note (a JSON list of events, oldest first) in
``RATINGS_REF``; the latest explicit rating wins over any implicit one
(:func:`autogpt_tui.core.records.effective_rating`), and a user's rating is never
overridden by an implicit one.
"""

from __future__ import annotations

import json

from autogpt_tui.core.errors import InvalidRating
from autogpt_tui.core.git import Notes
from autogpt_tui.core.records import (
    RatingEvent,
    RatingSource,
    StepCommit,
    effective_rating,
    parse_ratings,
)
from autogpt_tui.core.steps import RATINGS_REF, StepLog


class Ratings:
    """Reads and adds rating events on step commits."""

    def __init__(self, notes: Notes, steps: StepLog) -> None:
        self._notes = notes
        self._steps = steps

    def rate(
        self,
        rev: str,
        value: float,
        comment: str | None = None,
        source: RatingSource = "user",
    ) -> StepCommit:
        """Rate a step: -1, 0 (clears) or +1, with an optional comment; the latest wins."""
        if source == "user" and value not in (-1, 0, 1):
            raise InvalidRating(f"A rating must be -1, 0 or +1, not {value:g}.")
        step = self._steps.resolve(rev)
        events = self.of(step.sha)
        events.append(RatingEvent(value=value, comment=comment or None, source=source))
        self._write(step.sha, events)
        return StepCommit(**{**step.__dict__, "rating": effective_rating(events)})

    def add_implicit(self, sha: str, value: float, comment: str) -> None:
        """Record an undo's or redo's implicit reward, unless the user rated the step."""
        events = self.of(sha)
        if any(e.source == "user" for e in events):
            return
        events.append(RatingEvent(value=value, comment=comment, source="undo"))
        self._write(sha, events)

    def of(self, sha: str) -> list[RatingEvent]:
        """Every rating event given to a step, oldest first."""
        return parse_ratings(self._notes.read(RATINGS_REF, sha) or "")

    def _write(self, sha: str, events: list[RatingEvent]) -> None:
        self._notes.write(RATINGS_REF, sha, json.dumps([e.model_dump(mode="json") for e in events]))
