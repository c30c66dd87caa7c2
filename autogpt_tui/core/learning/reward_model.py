"""The reward model: every step's reward, the arms' posteriors and the lessons, kept current.

A step's reward is its rating in effect (:func:`~autogpt_tui.core.records.effective_rating`):
the user's latest explicit rating, else the latest implicit one — an undo (-1, source
``undo``, which :meth:`History.undo` records and :meth:`History.redo` takes back), an
environment check (±0.5, source ``check``: :func:`~autogpt_tui.core.learning.policy.rate_check`).
A rating of 0 clears it. A reviewer agent's rating (source ``reviewer``) is never the
step's reward; while the user has not rated, cleared or undone the step it counts for
the step's arm with weight ``reviewer_weight`` (:mod:`.bandit`), and gives no lesson.
Every proposal the user rejected before a step (the ``rejected``
list of the step's record) is one more -1 observation for the policy arm that proposed
it, with the user's reason as comment.

Undone steps still teach: the model reads the steps taken off the branch by undo as well
as the ones on it.

The model is built once from the repository and then kept current cheaply. Built: from
the cache file the last load left (:mod:`.model_cache`) plus what changed in git since,
or, without a usable cache, from one ``git log`` over the branch and the undone steps,
records and ratings together. Kept current: :meth:`RewardModel.refresh` compares HEAD
and the ratings notes ref with what it saw, reads only the new commits when HEAD moved,
and only the notes that changed (an in-process tree diff) when ratings did, reading the
objects a step just wrote straight from the object folder (:mod:`.git_reader`).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from autogpt_tui.core.errors import GitFailure
from autogpt_tui.core.history import RATINGS_REF, RECORDS_REF, UNDONE_REFS, History
from autogpt_tui.core.learning import model_cache
from autogpt_tui.core.learning.bandit import ArmStats, ArmTally
from autogpt_tui.core.learning.git_reader import NotLoose, StepReader
from autogpt_tui.core.learning.lessons import (
    Lesson,
    LessonIndex,
    LessonKind,
    LessonText,
    avoid_text,
    comment_of,
    exemplar_text,
    rejection_text,
)
from autogpt_tui.core.learning.model_cache import (
    ModelStep,
    Snapshot,
    StepRows,
    Tips,
)
from autogpt_tui.core.learning.policy import (
    DEFAULT_ARM,
    REJECTION_REWARD,
    REVIEWER_WEIGHT,
    choose_arm,
    configured_arms,
    policy_rng,
)
from autogpt_tui.core.learning.reading import (
    State,
    changed_notes,
    collector_paused,
    counting_review,
    observe,
    read_tips,
    step_from_entry,
)
from autogpt_tui.core.records import (
    TRAILER_STEP,
    TRAILER_UNDO,
    LogEntry,
    Rating,
    effective_rating,
    parse_ratings,
)

_GOAL_CHARS = 80
_SUMMARY_CHARS = 120
_WALK_IN_PROCESS = 32
"""New commits read in-process on refresh; more than this and ``git log`` reads them."""
_PREVIOUS_HOPS = 64
"""How many non-step commits (user edits, reverts) to look through for a previous step."""
REWRITE_CACHE_AFTER = 256
"""A load that had to read more than this many new commits or changed notes past the
cache writes it again; fewer are cheaper to read each time than to write the cache."""


class RewardModel:
    """Rewards of every step, per-arm posteriors and a lesson index, kept current.

    Build it with :meth:`load`; call :meth:`refresh` before each use (it costs almost
    nothing when the repository did not change). Not thread-safe: one per thread, like
    :class:`History`.
    """

    def __init__(
        self,
        arm_names: Sequence[str] = (DEFAULT_ARM,),
        *,
        rng: random.Random | None = None,
        reviewer_weight: float = REVIEWER_WEIGHT,
    ) -> None:
        self._arm_names = configured_arms(arm_names)
        self.reviewer_weight = reviewer_weight
        """What a reviewer's rating weighs against the user's in the posteriors."""
        self._rng = rng if rng is not None else policy_rng()
        self._step_reader: StepReader | None = None
        self._reset()

    def _reset(self) -> None:
        self._steps: dict[str, ModelStep] = {}
        self._rows = StepRows()  # steps read from the cache, made objects when asked for
        self._parents: dict[str, str | None] = {}
        self._undo_of: dict[str, str] = {}  # revert commit -> the step it took back
        self._arms: dict[str, ArmTally] = {}
        self._lessons = LessonIndex(self._describe)
        self._state = State()

    # --------------------------------------------------------------- loading

    @classmethod
    def load(
        cls,
        history: History,
        arm_names: Sequence[str],
        *,
        rng: random.Random | None = None,
        cache: bool = True,
        reviewer_weight: float = REVIEWER_WEIGHT,
    ) -> RewardModel:
        """Read every agent step, on the branch and undone, with records and ratings.

        With ``cache`` (the default) it starts from the cache file the last load left
        (:mod:`.model_cache`) and reads only what changed in git since: new commits, and
        the notes that differ (an in-process tree diff). When the cache is missing,
        damaged, of another version, or git no longer holds what it was built from (a
        rewritten history, a record changed behind it), it reads everything, as without
        ``cache``: one ``git log`` over HEAD and the undone steps' refs reads commits,
        records and ratings together; then the cache is written (atomically). ``rng`` is
        where :meth:`choose_arm` draws from by default (else
        :func:`~autogpt_tui.core.learning.policy.policy_rng`). ``reviewer_weight`` is
        what a reviewer's rating weighs against the user's (``[rewards] reviewer_weight``).
        """
        model = cls(arm_names, rng=rng, reviewer_weight=reviewer_weight)
        with collector_paused():
            if cache:
                model._load_cached(history)
            else:
                model._load(history)
        return model

    def _load(self, history: History) -> None:
        self._reset()
        state = observe(history)
        self._ingest(history.log_entries("HEAD", f"--glob={UNDONE_REFS}/*", records=True))
        self._state = state

    def _load_cached(self, history: History) -> None:
        path = model_cache.path_in(history.common_dir)
        snapshot = model_cache.read(path)
        tips = read_tips(history, snapshot.tips if snapshot else None)
        read: int | None = None
        if snapshot is not None:
            try:
                read = self._restore(history, snapshot, tips)
            except (GitFailure, ValueError, KeyError, IndexError, TypeError, OSError):
                read = None  # the cache names what git no longer has: start over
        if read is None:
            self._load(history)
        if read is None or read > REWRITE_CACHE_AFTER:
            self._save(path, tips)

    def _restore(self, history: History, snapshot: Snapshot, tips: Tips) -> int | None:
        """Take the cache's state and read what changed since; None to start over.

        Returns how many commits and notes had to be read past the cache.
        """
        was = snapshot.tips
        if was.records != tips.records:
            # A step's record changed (not a new step's added): start over.
            changed = changed_notes(history, was.records, tips.records)
            if any(sha in snapshot.rows.index for sha in changed):
                return None
        self._reset()
        self._parents = snapshot.parents
        self._undo_of = snapshot.undo_of
        self._rows = snapshot.rows
        for name, sums in snapshot.arms.items():
            self._arms[name] = ArmTally.from_list(sums)
        columns, shas = snapshot.rows.columns, snapshot.step_shas
        times, numbers = columns["timestamp"], columns["step"]
        rows = snapshot.lesson_steps
        recency = (
            list(map(times.__getitem__, rows)),
            list(map(numbers.__getitem__, rows)),
            snapshot.lesson_orders,
            list(map(shas.__getitem__, rows)),
        )
        self._lessons = LessonIndex.from_json(snapshot.lessons, recency, self._describe)
        read = 0
        if (tips.head, tips.undone) != (was.head, was.undone):
            new = self._new_since(history, was, tips)
            if new is None:
                return None
            self._ingest(new)
            read += len(new)
        if was.ratings != tips.ratings:
            notes = set(changed_notes(history, was.ratings, tips.ratings))
            self._apply_ratings(history, notes, tips.ratings)
            read += len(notes)
        self._state = State(tips.head, tips.ratings, tips.undone_stamp)
        return read

    def _new_since(self, history: History, was: Tips, tips: Tips) -> list[LogEntry] | None:
        """The commits reachable now that were not then; None when some that were are
        no longer (a rewritten history, undone steps dropped)."""
        if tips.undone == was.undone and tips.head is not None:
            # The usual case: a few steps on top of the cached HEAD, read in-process.
            new = self._new_commits(history, tips.head)
            if new and new[-1].parents[:1] == [was.head]:
                return new
        old = [sha for sha in (was.head, *was.undone) if sha]
        now = [sha for sha in (tips.head, *tips.undone) if sha]
        if old and history.git("rev-list", "--max-count=1", *old, "--not", *now, "--"):
            return None
        return list(history.log_entries(*now, "--not", *old, records=True))

    def _save(self, path: Path, tips: Tips) -> None:
        """Write the cache; a repository we cannot write to just goes without."""
        recency = self._lessons.recency
        arms = {name: arm.to_list() for name, arm in self._arms.items()}
        with contextlib.suppress(OSError):
            model_cache.write(
                path,
                tips,
                self._parents,
                self._undo_of,
                arms,
                self._all_steps(),
                self._lessons.to_json(),
                recency[3],
                recency[2],
            )

    @property
    def arm_names(self) -> list[str]:
        """The configured arms, in configuration order."""
        return list(self._arm_names)

    def refresh(self, history: History) -> bool:
        """Catch up with the repository; True if anything changed.

        Costs two ref reads and two stats when nothing changed. When HEAD moved, only the
        commits not seen before are read (in-process for the usual one or few, else one
        ``git log``); when undone refs came or went, one ``git log`` over them; when the
        ratings notes ref moved, only the notes that changed are read, in-process.
        """
        state = observe(history)
        old = self._state
        if state == old:
            return False
        if old.head is None:
            self._load(history)
            return True
        changed = False
        if state.undone != old.undone:
            revs = ["HEAD", f"--glob={UNDONE_REFS}/*", "--not", old.head]
            changed |= self._ingest(history.log_entries(*revs, records=True))
        elif state.head != old.head and state.head is not None:
            new = self._new_commits(history, state.head)
            if new is None:  # too many, or a merge: let git walk them
                new = list(history.log_entries("HEAD", "--not", old.head, records=True))
            changed |= self._ingest(new)
        if state.head != old.head and state.head not in self._parents:
            # The old HEAD is gone (a rewritten history): start over.
            self._load(history)
            return True
        if state.ratings != old.ratings:
            changed |= self._update_ratings(history, old.ratings, state.ratings)
        self._state = state
        return changed

    def _ingest(self, entries: Iterable[LogEntry]) -> bool:
        """Take in commits not seen before; True if any was a step."""
        new: list[ModelStep] = []
        for entry in entries:
            if entry.sha in self._parents:
                continue
            self._parents[entry.sha] = entry.parents[0] if entry.parents else None
            if undo := entry.trailers.get(TRAILER_UNDO):
                self._undo_of[entry.sha] = undo
            step = step_from_entry(entry)
            if step is not None:
                self._steps[step.sha] = step
                new.append(step)
        for step in new:
            step.previous = self._previous_summary(step)
        # Oldest first (git log reads newest first): the lesson index's word lists then
        # grow in recency order and need no sorting.
        for step in reversed(new):
            arm = self._arm(step.policy)
            arm.steps += 1
            for n, rejection in enumerate(step.rejected):
                arm.observe(REJECTION_REWARD)
                parts = (step.goal, rejection.summary, rejection.reason, rejection.situation)
                self._add_lesson("avoid", parts, step, REJECTION_REWARD, order=n)
            rating, step.rating = step.rating, None
            self._set_rating(step, rating)
            review, step.review = step.review, None
            self._set_review(step, review)
        return bool(new)

    def _step(self, sha: str) -> ModelStep | None:
        step = self._steps.get(sha)
        if step is None and self._rows.index:
            step = self._rows.take(sha)
            if step is not None:
                self._steps[sha] = step
        return step

    def _all_steps(self) -> Iterator[ModelStep]:
        yield from self._steps.values()
        yield from self._rows.remaining()

    def _new_commits(self, history: History, head: str) -> list[LogEntry] | None:
        """The commits from ``head`` back to one already known, read in-process.

        The common case after a step is one new commit; reading it (and its two notes)
        through the repository's open object reader saves starting ``git log``. None
        when there are more than a few, or a merge, or the walk leaves the history.
        """
        entries: list[LogEntry] = []
        sha: str | None = head
        reader = self._reader(history)
        tips: dict[str, str | None] = {}
        while sha is not None and sha not in self._parents:
            if len(entries) >= _WALK_IN_PROCESS:
                return None
            try:
                entry = reader.commit(sha)
            except (ValueError, KeyError, OSError):
                return None
            if len(entry.parents) > 1:
                return None
            if TRAILER_STEP in entry.trailers:
                if not tips:
                    tips = {ref: history.ref_value(ref) for ref in (RECORDS_REF, RATINGS_REF)}
                notes = (self._note(history, ref, tip, sha) for ref, tip in tips.items())
                entry.note = "\n".join(n.strip() for n in notes if n)
            entries.append(entry)
            sha = entry.parents[0] if entry.parents else None
        return entries

    def _update_ratings(self, history: History, old: str | None, new: str | None) -> bool:
        """Apply the notes that differ between two commits of the ratings notes ref."""
        return self._apply_ratings(history, self._changed_notes(history, old, new), new)

    def _reader(self, history: History) -> StepReader:
        if self._step_reader is None or not self._step_reader.reads(history):
            self._step_reader = StepReader(history)
        return self._step_reader

    def _note(self, history: History, ref: str, tip: str | None, sha: str) -> str | None:
        """The note on ``sha`` in notes commit ``tip`` of ``ref``."""
        try:
            return self._reader(history).note(tip, sha)
        except NotLoose:
            return history.read_note(ref, sha)

    def _changed_notes(self, history: History, old: str | None, new: str | None) -> list[str]:
        """The commits whose notes differ between two commits of a notes ref."""
        try:
            return self._reader(history).changed_notes(old, new)
        except NotLoose:
            return changed_notes(history, old, new)

    def _apply_ratings(self, history: History, shas: Iterable[str], new: str | None) -> bool:
        """Read again the ratings of steps ``shas`` (their notes in ``new`` changed)."""
        unknown: list[str] = []
        changed = False
        for sha in sorted(shas):
            step = self._step(sha)
            if step is None:
                if len(sha) == 40 and sha not in self._parents:
                    unknown.append(sha)
                continue
            note = self._note(history, RATINGS_REF, new, sha) if new else None
            events = parse_ratings(note or "")
            rating = effective_rating(events)
            if rating != step.rating:
                self._set_rating(step, rating)
                changed = True
            review = counting_review(events)
            if review != step.review:
                self._set_review(step, review)
                changed = True
        if unknown:
            # Steps another process rated that we never saw (made and undone meanwhile).
            changed |= self._ingest(history.log_entries("--no-walk", *unknown, records=True))
        return changed

    def _previous_summary(self, step: ModelStep) -> str | None:
        skip: set[str] = set()
        sha = step.parent
        for _ in range(_PREVIOUS_HOPS):
            if sha is None or sha not in self._parents:
                return None
            if undone := self._undo_of.get(sha):
                skip.add(undone)
            found = self._step(sha)
            if found is not None and sha not in skip:
                return found.summary if found.session == step.session else None
            sha = self._parents[sha]
        return None

    def _arm(self, name: str) -> ArmTally:
        arm = self._arms.get(name)
        if arm is None:
            arm = self._arms[name] = ArmTally()
        return arm

    def _set_rating(self, step: ModelStep, rating: Rating | None) -> None:
        """Put ``rating`` in effect for ``step``: the arm's sums and the step's lesson."""
        arm = self._arm(step.policy)
        if step.rating is not None:
            arm.observe(step.rating.value, sign=-1)
        if step.doc is not None:
            self._lessons.retire(step.doc)
            step.doc = None
        step.rating = rating
        if rating is None or rating.value == 0:
            return
        arm.observe(rating.value)
        comment = comment_of(rating)
        if rating.value < 0:
            parts: tuple[str, ...] = (step.goal, step.summary, comment, step.situation)
            step.doc = self._add_lesson("avoid", parts, step, rating.value)
        else:
            parts = (step.goal, step.previous or "", step.summary, comment)
            step.doc = self._add_lesson("exemplar", parts, step, rating.value)

    def _set_review(self, step: ModelStep, review: float | None) -> None:
        """Put a reviewer's rating that counts (or None) in effect for ``step``'s arm.

        It gives no lesson: what goes into the prompt stays the user's own judgement."""
        arm = self._arm(step.policy)
        if step.review is not None:
            arm.observe_review(step.review, sign=-1)
        step.review = review
        if review is not None:
            arm.observe_review(review)

    def _add_lesson(
        self,
        kind: LessonKind,
        parts: tuple[str, ...],
        step: ModelStep,
        reward: float,
        *,
        order: int | None = None,
    ) -> int:
        """Index a lesson of ``step``: a rejection (``order`` < its rejections), else its
        rating's (order: the number of rejections). Its text is made when it is shown."""
        if order is None:
            order = len(step.rejected)
        return self._lessons.add(
            kind, parts, sha=step.sha, reward=reward, recency=(step.timestamp, step.step, order)
        )

    def _describe(self, sha: str, order: int) -> LessonText:
        """The text, key and index text of the lesson ``order`` of step ``sha``."""
        step = self._step(sha)
        assert step is not None, "a lesson of a step the model does not know"
        if order < len(step.rejected):
            r = step.rejected[order]
            text = rejection_text(r.summary, step.goal, r.reason, r.situation)
            # The same words in the same situation are one lesson, whichever step.
            return LessonText(
                text, f"avoid\0{text}", " ".join((step.goal, r.summary, r.reason, r.situation))
            )
        rating = step.rating
        assert rating is not None, "a rating lesson of a step without a rating"
        comment = comment_of(rating)
        if rating.value < 0:
            text = avoid_text(step.summary, step.goal, rating, step.situation)
            return LessonText(
                text,
                f"avoid\0{text}",
                " ".join((step.goal, step.summary, comment, step.situation)),
            )
        return LessonText(
            exemplar_text(step.summary, step.goal, step.previous, rating),
            f"exemplar\0{step.summary}\0{comment}",
            " ".join((step.goal, step.previous or "", step.summary, comment)),
        )

    # ---------------------------------------------------------------- reading

    def __len__(self) -> int:
        """How many agent steps the model knows."""
        return len(self._steps) + len(self._rows.index)

    def reward(self, sha: str) -> float | None:
        """The reward in effect for step ``sha`` (None when unrated or unknown)."""
        step = self._step(sha)
        return step.reward if step else None

    def arm_stats(self) -> list[ArmStats]:
        """Every configured arm (in order), then arms only the history knows (by name)."""
        w = self.reviewer_weight
        out = [self._arms.get(name, ArmTally()).stats(name, True, w) for name in self._arm_names]
        configured = set(self._arm_names)
        out += [
            self._arms[name].stats(name, False, w)
            for name in sorted(self._arms)
            if name not in configured
        ]
        return out

    def choose_arm(self, rng: random.Random | None = None) -> str:
        """Thompson sampling over the configured arms (unrated arms draw from Beta(1, 1)).

        Draws from ``rng`` when given, else from the model's own generator.
        """
        return choose_arm(self.arm_stats(), rng or self._rng)

    def lessons(
        self, goal: str, recent: Sequence[str], *, k: int = 6, token_budget: int = 600
    ) -> list[Lesson]:
        """The lessons most relevant to ``goal`` and the ``recent`` action summaries.

        See :meth:`LessonIndex.select <autogpt_tui.core.learning.lessons.LessonIndex.select>`.
        """
        return self._lessons.select(goal, recent, k=k, token_budget=token_budget)

    def prompt_section(
        self, goal: str, recent: Sequence[str], *, k: int = 6, token_budget: int = 600
    ) -> str:
        """The lessons as a system-prompt section ("" when there are none).

        ``token_budget`` covers the whole section, headings included.
        """
        return self._lessons.prompt_section(goal, recent, k=k, token_budget=token_budget)
