"""Ratings of steps: the user's explicit ones and the implicit ones undo and redo give.

A step's ratings are a git note (a JSON list of events, oldest first) in
``RATINGS_REF``; the latest explicit rating wins over any implicit one
(:func:`autogpt_tui.core.records.effective_rating`), and a user's rating is never
overridden by an implicit one. A reviewer agent's ratings (source ``reviewer``, with
the model's name) are kept in the same note beside the user's, and are never the
rating in effect (:func:`autogpt_tui.core.records.review_of`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from autogpt_tui.core.errors import InvalidRating
from autogpt_tui.core.git import Notes
from autogpt_tui.core.journal import crash_point
from autogpt_tui.core.records import (
    REVIEWER,
    RatingSource,
    StepCommit,
    effective_rating,
    parse_ratings,
    review_of,
)
from autogpt_tui.core.steps import RATINGS_REF, StepLog

if TYPE_CHECKING:  # pydantic: loaded when a rating is given, not to list steps
    from autogpt_tui.core.record_models import RatingEvent


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
        model: str | None = None,
    ) -> StepCommit:
        """Rate a step: -1, 0 (clears) or +1, with an optional comment; the latest wins.

        A reviewer agent rates with ``source="reviewer"`` and its ``model``'s name: -1,
        0 (neutral, not a clearing) or +1 with a one-line reason as ``comment``. Its
        rating is kept beside the user's and never replaces it.
        """
        if source in ("user", REVIEWER) and value not in (-1, 0, 1):
            raise InvalidRating(f"A rating must be -1, 0 or +1, not {value:g}.")
        if source == REVIEWER and not (model or "").strip():
            raise InvalidRating("A reviewer's rating needs the name of the model that gave it.")
        from autogpt_tui.core.record_models import RatingEvent

        step = self._steps.resolve(rev)
        events = self.of(step.sha)
        events.append(
            RatingEvent(
                value=value,
                comment=comment or None,
                source=source,
                model=model.strip() if model and source == REVIEWER else None,
            )
        )
        self._write(step.sha, events)
        review, counts = review_of(events)
        return StepCommit(
            **{
                **step.__dict__,
                "rating": effective_rating(events),
                "review": review,
                "review_counts": counts,
            }
        )

    def stage_implicit(
        self, rewards: Sequence[tuple[str, float, str]]
    ) -> tuple[str | None, set[str]]:
        """Prepare undo's or redo's implicit rewards (step, value, comment), skipping the
        steps the user rated; returns the `update-ref --stdin` command that records them
        all (for the caller's own transaction), or None when there is nothing to record,
        and the steps that get one."""
        from autogpt_tui.core.record_models import RatingEvent

        notes: dict[str, str] = {}
        for sha, value, comment in rewards:
            events = self.of(sha)
            if any(e.source == "user" for e in events):
                continue
            events.append(RatingEvent(value=value, comment=comment, source="undo"))
            notes[sha] = _dump(events)
        return (self._notes.stage_many(RATINGS_REF, notes) if notes else None), set(notes)

    def of(self, sha: str) -> list[RatingEvent]:
        """Every rating event given to a step, oldest first."""
        return parse_ratings(self._notes.read(RATINGS_REF, sha) or "")

    def _write(self, sha: str, events: list[RatingEvent]) -> None:
        # One ref update, atomic by itself: a crash before it leaves only unreferenced
        # objects, after it the rating is there. No journal is needed.
        update = self._notes.stage(RATINGS_REF, sha, _dump(events))
        crash_point("rate:objects")
        self._notes.apply([update], f"note on {sha[:12]}")


def _dump(events: list[RatingEvent]) -> str:
    return json.dumps([e.model_dump(mode="json") for e in events])
