"""Reading the reward model's inputs from git: tips, undone refs, notes diffs, step entries.

The helpers :class:`~autogpt_tui.core.learning.reward_model.RewardModel` uses to see
what changed in the repository (:func:`observe`, :func:`tips`, :func:`changed_notes`)
and to turn a log entry into the light view of a step it keeps (:func:`step_from_entry`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autogpt_tui.core.conversation import summarize_action
from autogpt_tui.core.history import RATINGS_REF, RECORDS_REF, UNDONE_REFS, History
from autogpt_tui.core.learning.lessons import COMMENT_CHARS, NO_REASON
from autogpt_tui.core.learning.model_cache import ModelStep, Rejection, Tips
from autogpt_tui.core.learning.policy import DEFAULT_ARM
from autogpt_tui.core.learning.situations import situation_of
from autogpt_tui.core.records import (
    TRAILER_POLICY,
    TRAILER_SESSION,
    TRAILER_TOOL,
    LogEntry,
    effective_rating,
    one_line,
    parse_ratings,
    review_of,
)

if TYPE_CHECKING:
    from autogpt_tui.core.record_models import RatingEvent

_GOAL_CHARS = 80
_SUMMARY_CHARS = 120


@dataclass
class State:
    """What :meth:`RewardModel.refresh` compares: HEAD, the ratings ref, undone refs."""

    head: str | None = None
    ratings: str | None = None
    undone: tuple[int, int] | None = None


def observe(history: History) -> State:
    """What :meth:`RewardModel.refresh` compares: HEAD, the ratings ref, undone refs."""
    return State(history.head(), history.ref_value(RATINGS_REF), undone_stamp(history))


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the model is read.

    Reading makes hundreds of thousands of small objects, none of them garbage; each
    few thousand would start a collection that walks all those made before (a third of
    a 30,000-step load went to that). Reference counting still frees what is dropped.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_tips(history: History, cached: Tips | None) -> Tips:
    """HEAD, the undone steps' commits and the notes refs, as the cache is keyed."""
    stamp = undone_stamp(history)
    if stamp == (0, 0):
        undone: tuple[str, ...] = ()  # neither loose nor packed refs: none
    elif cached is not None and cached.undone_stamp == stamp:
        undone = cached.undone  # no undone ref came or went since
    else:
        listed = history.git("for-each-ref", "--format=%(objectname)", f"{UNDONE_REFS}/")
        undone = tuple(sorted(set(listed.split())))
    return Tips(
        head=history.head(),
        undone=undone,
        undone_stamp=stamp,
        ratings=history.ref_value(RATINGS_REF),
        records=history.ref_value(RECORDS_REF),
    )


def changed_notes(history: History, old: str | None, new: str | None) -> list[str]:
    """The commits whose notes differ between two commits of a notes ref.

    One ``git diff-tree`` (or ``ls-tree`` from nothing): after many steps most of the
    notes trees involved are packed, which git reads far faster than we could.
    """
    if old == new:
        return []
    if old is None or new is None:  # every note of the one there is
        out = history.git("ls-tree", "-r", "-z", "--name-only", old or new or "")
    else:
        out = history.git("diff-tree", "-r", "-z", "--name-only", "--no-renames", old, new)
    return [path.replace("/", "") for path in out.split("\0") if path]


def undone_stamp(history: History) -> tuple[int, int]:
    """A stamp that changes when refs under ``UNDONE_REFS`` are added or removed."""
    common = history.common_dir
    stamps = []
    for path in (common / UNDONE_REFS, common / "packed-refs"):
        try:
            stamps.append(os.stat(path).st_mtime_ns)
        except OSError:
            stamps.append(0)
    return (stamps[0], stamps[1])


def step_from_entry(entry: LogEntry) -> ModelStep | None:
    """The light view of a step from a log entry (its record read without pydantic)."""
    t = entry.trailers
    number = entry.step_number
    if number is None:
        return None
    record: dict[str, Any] = {}
    ratings = ""
    for line in entry.note.splitlines():
        if line.startswith("{") and not record:
            try:
                loaded = json.loads(line)
            except ValueError:
                loaded = None
            record = loaded if isinstance(loaded, dict) else {}
        elif line.startswith("[") and not ratings:
            ratings = line
    rejected: list[Rejection] = []
    for item in record.get("rejected") or []:
        if not isinstance(item, dict):
            continue
        tool = str(item.get("tool") or "")
        args = item.get("arguments")
        args = args if isinstance(args, dict) else {}
        rejected.append(
            Rejection(
                tool=tool,
                summary=one_line(summarize_action(tool, args), _SUMMARY_CHARS),
                reason=one_line(str(item.get("reason") or NO_REASON), COMMENT_CHARS),
                situation=situation_of(tool, args),
            )
        )
    goal = str(record.get("goal") or "")
    tool = t.get(TRAILER_TOOL, "") or str(record.get("tool") or "")
    arguments = record.get("arguments")
    events = parse_ratings(ratings)
    return ModelStep(
        sha=entry.sha,
        parent=entry.parents[0] if entry.parents else None,
        session=t.get(TRAILER_SESSION, "") or str(record.get("session") or ""),
        step=number,
        policy=t.get(TRAILER_POLICY, "") or str(record.get("policy") or "") or DEFAULT_ARM,
        tool=tool,
        summary=one_line(entry.subject, _SUMMARY_CHARS),
        # The recorded call's tool first: the trailer names the first of several reads.
        situation=situation_of(
            str(record.get("tool") or tool), arguments if isinstance(arguments, dict) else {}
        ),
        goal=one_line(goal, _GOAL_CHARS) if goal else "",
        timestamp=entry.timestamp,
        rejected=tuple(rejected),
        rating=effective_rating(events),
        review=counting_review(events),
    )


def counting_review(events: Sequence[RatingEvent]) -> float | None:
    """The reviewer's rating of a step while it counts for learning (the user did not
    rate, clear or undo the step), else None."""
    review, counts = review_of(events)
    return review.value if review is not None and counts else None
