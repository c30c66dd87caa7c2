"""Ratings as rewards: the policy bandit, lessons for the prompt, and fine-tuning export.

A step's reward is its rating in effect (:func:`history.effective_rating`): the user's
latest explicit rating, else the latest implicit one — an undo (-1, source ``undo``,
which :meth:`History.undo` records and :meth:`History.redo` takes back), an environment
check (±0.5, source ``check``: :func:`rate_check`). A rating of 0 clears it. Every proposal the
user rejected before a step (the ``rejected`` list of the step's record) is one more -1
observation for the policy arm that proposed it, with the user's reason as comment.

Rewards change what the agent does next in two ways:

- **Which arm works the next step.** :class:`RewardModel` keeps a Beta posterior per
  policy arm over its rated observations (reward r in [-1, 1] mapped to r' = (r + 1) / 2)
  and picks an arm by Thompson sampling, so an arm that keeps being rated down gets
  chosen less and less, and an arm nobody rated yet still gets tried.
- **What the agent is told.** Rated-down steps and rejected proposals become "avoid"
  lessons, rated-up steps short "state → action" exemplars; the ones most relevant to
  the goal and the last actions (BM25, implemented here) go into the system prompt.

Undone steps still teach: the model reads the steps taken off the branch by undo as
well as the ones on it.

The model is built once from the repository (one ``git log`` over the branch and the
undone steps, records and ratings together) and then kept current cheaply:
:meth:`RewardModel.refresh` compares HEAD and the ratings notes ref with what it saw,
reads only the new commits when HEAD moved, and only the notes that changed (an
in-process tree diff) when ratings did.

Approved and not rated-down steps export as OpenAI chat fine-tuning lines
(:func:`export_sft`); rejected proposals and rated-down steps, against what was done (or
rated up) in their place at the same point of the conversation, as preference pairs
(:func:`export_dpo`). Exports never carry a secret: every string is scrubbed of the
given secrets and of anything that looks like an API key.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from autogpt_tui.core.conversation import SYSTEM_PROMPT, step_messages, summarize_action
from autogpt_tui.core.history import RATINGS_REF, RECORDS_REF, UNDONE_REFS, History
from autogpt_tui.core.records import (
    TRAILER_POLICY,
    TRAILER_REDO,
    TRAILER_SESSION,
    TRAILER_STEP,
    TRAILER_TOOL,
    TRAILER_UNDO,
    LogEntry,
    Rating,
    RatingEvent,
    RejectedProposal,
    StepCommit,
    effective_rating,
    one_line,
)
from autogpt_tui.core.tools import tool_schemas

DEFAULT_ARM = "default"
"""The arm a step without a recorded policy counts for."""

LESSONS_HEADING = "## Lessons from the user's ratings"
"""The heading of the prompt section the lessons go under."""
AVOID_HEADING = "Avoid:"
EXEMPLAR_HEADING = "Worked before:"

CHARS_PER_TOKEN = 4
"""The token estimate of lessons: four characters a token."""

REDACTED = "[redacted]"
"""What a secret becomes in an export."""

REJECTION_REWARD = -1.0
"""The reward of one rejected proposal."""
CHECK_REWARD = 0.5
"""The size of the implicit reward an environment check gives (+ passed, - failed)."""

BM25_K1 = 1.2
BM25_B = 0.75

_GOAL_CHARS = 80
_SUMMARY_CHARS = 120
_COMMENT_CHARS = 200
_WALK_IN_PROCESS = 32
"""New commits read in-process on refresh; more than this and ``git log`` reads them."""
_PREVIOUS_HOPS = 64
"""How many non-step commits (user edits, reverts) to look through for a previous step."""

_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORD_TEXT = (
    "an and are as at be been but by do does for from has have if in into is it its not of on "
    "or so than that the then there these this those to was were will with you your we our me "
    "my he she they them"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Things that look like credentials, whatever the caller told us.
_KEY_PATTERNS = (
    r"sk-[A-Za-z0-9_-]{16,}",  # OpenAI (sk-..., sk-proj-...), Anthropic (sk-ant-...)
    r"Bearer\s+[A-Za-z0-9._~+/=-]{8,}",
    r"gh[pousr]_[A-Za-z0-9]{20,}",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{20,}",
    r"AKIA[0-9A-Z]{16}",  # AWS access key ids
    r"xox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
    r"AIza[0-9A-Za-z_-]{35}",  # Google API keys
)
_KEYS = re.compile("|".join(_KEY_PATTERNS))
_SECRET_ENV = ("OPENAI_API_KEY",)
"""Environment variables whose values are scrubbed from exports even if not passed in."""
_MIN_SECRET = 4
"""Shorter 'secrets' are ignored: redacting every 'ab' would ruin the data, not guard it."""


# ---------------------------------------------------------------- public values


@dataclass(frozen=True)
class ArmStats:
    """What the ratings say about one policy arm."""

    name: str
    steps: int
    """Steps the arm took (on the branch or undone)."""
    rated: int
    """Rated observations: rated steps plus proposals the user rejected."""
    mean_reward: float | None
    """Mean reward (-1 … 1) of the rated observations; None when there are none."""
    alpha: float
    beta: float
    posterior_mean: float
    """alpha / (alpha + beta): the expected reward on the 0 … 1 scale."""
    configured: bool = True
    """False for an arm found in the history but no longer in the configuration."""

    def to_json(self) -> dict[str, Any]:
        """The arm as the JSON object `rewards --json` prints."""
        return {
            "name": self.name,
            "steps": self.steps,
            "rated": self.rated,
            "mean_reward": self.mean_reward,
            "alpha": self.alpha,
            "beta": self.beta,
            "posterior_mean": self.posterior_mean,
            "configured": self.configured,
        }


LessonKind = Literal["avoid", "exemplar"]


@dataclass(frozen=True)
class Lesson:
    """One thing the ratings taught, as a line for the prompt."""

    kind: LessonKind
    text: str
    sha: str
    """The step it comes from (for a rejected proposal: the step approved after it)."""
    score: float
    """BM25 relevance to the query it was chosen for (0 when it only filled a slot)."""
    reward: float


# --------------------------------------------------------------- the bandit


def to_unit(reward: float) -> float:
    """A reward in [-1, 1] mapped to [0, 1] (clamped): r' = (r + 1) / 2."""
    return min(1.0, max(0.0, (reward + 1.0) / 2.0))


def thompson_choice(stats: Sequence[ArmStats], rng: random.Random) -> str:
    """The arm whose draw from its Beta(alpha, beta) posterior is highest.

    Raises ValueError when ``stats`` is empty.
    """
    if not stats:
        raise ValueError("no arm to choose from")
    if len(stats) == 1:
        return stats[0].name
    best, best_draw = stats[0].name, -1.0
    for arm in stats:
        draw = rng.betavariate(arm.alpha, arm.beta)
        if draw > best_draw:
            best, best_draw = arm.name, draw
    return best


@dataclass
class _Arm:
    steps: int = 0
    rated: int = 0
    reward_sum: float = 0.0
    unit_sum: float = 0.0

    def observe(self, reward: float, sign: int = 1) -> None:
        """Add (sign 1) or take back (sign -1) one rated observation."""
        self.rated += sign
        self.reward_sum += sign * reward
        self.unit_sum += sign * to_unit(reward)

    def stats(self, name: str, configured: bool) -> ArmStats:
        rated = max(0, self.rated)
        unit = min(max(0.0, self.unit_sum), float(rated))
        alpha, beta = 1.0 + unit, 1.0 + (rated - unit)
        return ArmStats(
            name=name,
            steps=self.steps,
            rated=rated,
            mean_reward=self.reward_sum / rated if rated else None,
            alpha=alpha,
            beta=beta,
            posterior_mean=alpha / (alpha + beta),
            configured=configured,
        )


# ------------------------------------------------------------------ BM25


def tokenize(text: str) -> list[str]:
    """Lower-case words and numbers of ``text`` without stop words (for BM25)."""
    return [t for t in _TOKEN.findall(text.lower()) if len(t) > 1 and t not in _STOPWORDS]


class _BM25:
    """An incremental Okapi BM25 index: documents can be added and retired.

    Scoring walks the postings of the query's terms, so it costs what the query
    matches. Most terms occur once in a lesson; for those the per-document factor
    (k1 + 1) / (1 + k1 (1 - b + b dl / avgdl)) is computed once per corpus state for
    every document, which keeps the inner loop to a multiply and an add.
    """

    def __init__(self) -> None:
        self.alive: list[bool] = []
        self.lengths: list[int] = []
        self.terms: list[tuple[str, ...]] = []
        """Each document's distinct terms (tuples of strings: the garbage collector skips
        them, which matters with tens of thousands of documents)."""
        self.once: dict[str, list[int]] = {}
        """Per term, the documents it occurs in once."""
        self.more: dict[str, tuple[list[int], list[int]]] = {}
        """Per term, the documents it occurs in more than once, and how often."""
        self.df: Counter[str] = Counter()
        self.live = 0
        self.total_length = 0
        self._unit: tuple[tuple[int, int, int], list[float]] | None = None

    def add(self, text: str) -> int:
        counts = Counter(tokenize(text))
        doc = len(self.alive)
        self.alive.append(True)
        self.lengths.append(sum(counts.values()))
        self.terms.append(tuple(counts))
        for term, tf in counts.items():
            if tf == 1:
                self.once.setdefault(term, []).append(doc)
            else:
                ids, tfs = self.more.setdefault(term, ([], []))
                ids.append(doc)
                tfs.append(tf)
            self.df[term] += 1
        self.live += 1
        self.total_length += self.lengths[doc]
        return doc

    def retire(self, doc: int) -> None:
        if not self.alive[doc]:
            return
        self.alive[doc] = False
        self.live -= 1
        self.total_length -= self.lengths[doc]
        for term in self.terms[doc]:
            self.df[term] -= 1
        self.terms[doc] = ()  # its postings are skipped from now on

    def _unit_weights(self, c1: float, c2: float) -> list[float]:
        """Each document's weight for a term it holds once (0 for retired ones)."""
        key = (len(self.alive), self.live, self.total_length)
        if self._unit is None or self._unit[0] != key:
            k1p1 = BM25_K1 + 1
            weights = [
                k1p1 / (1 + c1 + c2 * length) if alive else 0.0
                for length, alive in zip(self.lengths, self.alive, strict=True)
            ]
            self._unit = (key, weights)
        return self._unit[1]

    def scores(self, query: Iterable[str]) -> list[float]:
        """The BM25 score of every document (by id) for ``query`` (a list of terms).

        Terms are added rarest first, so equal inputs give bit-equal scores.
        """
        n = self.live
        acc = [0.0] * len(self.alive)
        if n == 0:
            return acc
        avgdl = self.total_length / n or 1.0
        c1, c2 = BM25_K1 * (1 - BM25_B), BM25_K1 * BM25_B / avgdl
        k1p1 = BM25_K1 + 1
        terms = sorted(
            (math.log(1 + (n - df + 0.5) / (df + 0.5)), term)
            for term in set(query)
            if (df := self.df.get(term, 0)) > 0
        )
        unit = self._unit_weights(c1, c2)
        alive, lengths = self.alive, self.lengths
        for idf, term in reversed(terms):
            for doc in self.once.get(term, ()):
                acc[doc] += idf * unit[doc]
            ids, tfs = self.more.get(term, ((), ()))
            for doc, tf in zip(ids, tfs, strict=True):
                if alive[doc]:
                    acc[doc] += idf * tf * k1p1 / (tf + c1 + c2 * lengths[doc])
        return acc


# ----------------------------------------------------------- the model


@dataclass(frozen=True)
class _Rejection:
    tool: str
    summary: str
    reason: str


@dataclass(slots=True)
class _Step:
    """What the reward model keeps of one step (not its observation or thought)."""

    sha: str
    parent: str | None
    session: str
    step: int
    policy: str
    tool: str
    summary: str
    goal: str
    timestamp: int
    rejected: tuple[_Rejection, ...]
    rating: Rating | None = None
    previous: str | None = None
    """The summary of the step before it in its session; None at the session's start."""
    doc: int | None = None
    """Its lesson's document in the index, while it has one."""

    @property
    def reward(self) -> float | None:
        return self.rating.value if self.rating else None


class _Doc(NamedTuple):
    """A lesson in the index."""

    kind: LessonKind
    text: str
    sha: str
    reward: float
    recency: tuple[int, int, int]
    """(commit time, step number, order within the step): larger is newer."""
    key: str
    """Lessons with the same key say the same thing; only the best one is shown."""


class _Docs:
    """The lessons in the index, kept column by column.

    Plain lists of strings, numbers and tuples of numbers: the garbage collector does
    not have to visit tens of thousands of objects on every full collection.
    """

    def __init__(self) -> None:
        self.kind: list[LessonKind] = []
        self.text: list[str] = []
        self.sha: list[str] = []
        self.reward: list[float] = []
        self.recency: list[tuple[int, int, int]] = []
        self.key: list[str] = []

    def append(self, doc: _Doc) -> None:
        self.kind.append(doc.kind)
        self.text.append(doc.text)
        self.sha.append(doc.sha)
        self.reward.append(doc.reward)
        self.recency.append(doc.recency)
        self.key.append(doc.key)

    def __getitem__(self, i: int) -> _Doc:
        return _Doc(
            self.kind[i], self.text[i], self.sha[i], self.reward[i], self.recency[i], self.key[i]
        )

    def __len__(self) -> int:
        return len(self.sha)


@dataclass
class _State:
    head: str | None = None
    ratings: str | None = None
    undone: tuple[int, int] | None = None


class RewardModel:
    """Rewards of every step, per-arm posteriors and a lesson index, kept current.

    Build it with :meth:`load`; call :meth:`refresh` before each use (it costs almost
    nothing when the repository did not change). Not thread-safe: one per thread, like
    :class:`History`.
    """

    def __init__(self, arm_names: Sequence[str] = (DEFAULT_ARM,)) -> None:
        self._arm_names: list[str] = list(dict.fromkeys(arm_names)) or [DEFAULT_ARM]
        self._rng = random.Random()
        self._reset()

    def _reset(self) -> None:
        self._steps: dict[str, _Step] = {}
        self._parents: dict[str, str | None] = {}
        self._undo_of: dict[str, str] = {}  # revert commit -> the step it took back
        self._arms: dict[str, _Arm] = {}
        self._index = _BM25()
        self._docs = _Docs()
        self._state = _State()
        self._version = 0
        self._cache: tuple[Any, list[Lesson]] | None = None
        self._recent_avoid: tuple[int, list[int]] | None = None

    # --------------------------------------------------------------- loading

    @classmethod
    def load(cls, history: History, arm_names: Sequence[str]) -> RewardModel:
        """Read every agent step, on the branch and undone, with records and ratings.

        One ``git log`` over HEAD and the undone steps' refs reads commits, records and
        ratings together.
        """
        model = cls(arm_names)
        model._load(history)
        return model

    def _load(self, history: History) -> None:
        self._reset()
        state = _observe(history)
        self._ingest(history.log_entries("HEAD", f"--glob={UNDONE_REFS}/*", records=True))
        self._state = state

    @property
    def arm_names(self) -> list[str]:
        """The configured arms, in configuration order."""
        return list(self._arm_names)

    def set_arms(self, arm_names: Sequence[str]) -> None:
        """Change the configured arms (after the configuration was reloaded)."""
        self._arm_names = list(dict.fromkeys(arm_names)) or [DEFAULT_ARM]

    def refresh(self, history: History) -> bool:
        """Catch up with the repository; True if anything changed.

        Costs two ref reads and two stats when nothing changed. When HEAD moved, only the
        commits not seen before are read (in-process for the usual one or few, else one
        ``git log``); when undone refs came or went, one ``git log`` over them; when the
        ratings notes ref moved, only the notes that changed are read, in-process.
        """
        state = _observe(history)
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
        new: list[_Step] = []
        for entry in entries:
            if entry.sha in self._parents:
                continue
            self._parents[entry.sha] = entry.parents[0] if entry.parents else None
            if undo := entry.trailers.get(TRAILER_UNDO):
                self._undo_of[entry.sha] = undo
            step = _step_from_entry(entry)
            if step is not None:
                self._steps[step.sha] = step
                new.append(step)
        for step in new:
            step.previous = self._previous_summary(step)
        for step in new:
            arm = self._arm(step.policy)
            arm.steps += 1
            for n, rejection in enumerate(step.rejected):
                arm.observe(REJECTION_REWARD)
                self._add_doc(
                    "avoid",
                    _rejection_text(step, rejection),
                    " ".join((step.goal, rejection.summary, rejection.reason)),
                    step,
                    REJECTION_REWARD,
                    order=n,
                    key=f"avoid\0{rejection.summary}\0{rejection.reason}",
                )
            rating, step.rating = step.rating, None
            self._set_rating(step, rating)
        if new:
            self._changed()
        return bool(new)

    def _new_commits(self, history: History, head: str) -> list[LogEntry] | None:
        """The commits from ``head`` back to one already known, read in-process.

        The common case after a step is one new commit; reading it (and its two notes)
        through the repository's open object reader saves starting ``git log``. None
        when there are more than a few, or a merge, or the walk leaves the history.
        """
        entries: list[LogEntry] = []
        sha: str | None = head
        while sha is not None and sha not in self._parents:
            if len(entries) >= _WALK_IN_PROCESS:
                return None
            try:
                entry = history.read_commit(sha)
            except (ValueError, KeyError, OSError):
                return None
            if len(entry.parents) > 1:
                return None
            if TRAILER_STEP in entry.trailers:
                notes = (history.read_note(ref, sha) for ref in (RECORDS_REF, RATINGS_REF))
                entry.note = "\n".join(n.strip() for n in notes if n)
            entries.append(entry)
            sha = entry.parents[0] if entry.parents else None
        return entries

    def _update_ratings(self, history: History, old: str | None, new: str | None) -> bool:
        """Apply the notes that differ between two commits of the ratings notes ref."""
        old_tree = history.tree_of(old) if old else None
        new_tree = history.tree_of(new) if new else None
        shas = {p.replace("/", "") for p in history.diff_trees(old_tree, new_tree)}
        unknown: list[str] = []
        changed = False
        for sha in sorted(shas):
            step = self._steps.get(sha)
            if step is None:
                if len(sha) == 40 and sha not in self._parents:
                    unknown.append(sha)
                continue
            note = history.read_note(RATINGS_REF, sha) if new else None
            rating = effective_rating(_parse_events(note or ""))
            if rating != step.rating:
                self._set_rating(step, rating)
                changed = True
        if unknown:
            # Steps another process rated that we never saw (made and undone meanwhile).
            changed |= self._ingest(history.log_entries("--no-walk", *unknown, records=True))
        if changed:
            self._changed()
        return changed

    def _previous_summary(self, step: _Step) -> str | None:
        skip: set[str] = set()
        sha = step.parent
        for _ in range(_PREVIOUS_HOPS):
            if sha is None or sha not in self._parents:
                return None
            if undone := self._undo_of.get(sha):
                skip.add(undone)
            found = self._steps.get(sha)
            if found is not None and sha not in skip:
                return found.summary if found.session == step.session else None
            sha = self._parents[sha]
        return None

    def _arm(self, name: str) -> _Arm:
        arm = self._arms.get(name)
        if arm is None:
            arm = self._arms[name] = _Arm()
        return arm

    def _set_rating(self, step: _Step, rating: Rating | None) -> None:
        """Put ``rating`` in effect for ``step``: the arm's sums and the step's lesson."""
        arm = self._arm(step.policy)
        if step.rating is not None:
            arm.observe(step.rating.value, sign=-1)
        if step.doc is not None:
            self._index.retire(step.doc)
            step.doc = None
        step.rating = rating
        if rating is None or rating.value == 0:
            return
        arm.observe(rating.value)
        kind: LessonKind = "avoid" if rating.value < 0 else "exemplar"
        comment = one_line(rating.comment, _COMMENT_CHARS) if rating.comment else ""
        if kind == "avoid":
            text = _avoid_text(step, rating)
            index = " ".join((step.goal, step.summary, comment))
        else:
            text = _exemplar_text(step, rating)
            index = " ".join((step.goal, step.previous or "", step.summary, comment))
        step.doc = self._add_doc(
            kind,
            text,
            index,
            step,
            rating.value,
            order=len(step.rejected),
            key=f"{kind}\0{step.summary}\0{comment}",
        )

    def _add_doc(
        self,
        kind: LessonKind,
        text: str,
        index: str,
        step: _Step,
        reward: float,
        *,
        order: int,
        key: str,
    ) -> int:
        doc = self._index.add(index)
        self._docs.append(
            _Doc(kind, text, step.sha, reward, (step.timestamp, step.step, order), key)
        )
        return doc

    def _changed(self) -> None:
        self._version += 1
        self._cache = None

    # ---------------------------------------------------------------- reading

    def __len__(self) -> int:
        """How many agent steps the model knows."""
        return len(self._steps)

    def reward(self, sha: str) -> float | None:
        """The reward in effect for step ``sha`` (None when unrated or unknown)."""
        step = self._steps.get(sha)
        return step.reward if step else None

    def arm_stats(self) -> list[ArmStats]:
        """Every configured arm (in order), then arms only the history knows (by name)."""
        out = [self._arms.get(name, _Arm()).stats(name, True) for name in self._arm_names]
        configured = set(self._arm_names)
        out += [
            self._arms[name].stats(name, False)
            for name in sorted(self._arms)
            if name not in configured
        ]
        return out

    def choose_arm(self, rng: random.Random | None = None) -> str:
        """Thompson sampling over the configured arms (unrated arms draw from Beta(1, 1))."""
        stats = [s for s in self.arm_stats() if s.configured]
        return thompson_choice(stats, rng or self._rng)

    def lessons(
        self, goal: str, recent: Sequence[str], *, k: int = 6, token_budget: int = 600
    ) -> list[Lesson]:
        """The lessons most relevant to ``goal`` and the ``recent`` action summaries.

        Ranked by BM25 relevance of each lesson to the query, newer first among equals;
        at most ``k`` of them, whose lines ("- " + text) fit ``token_budget`` tokens at
        four characters a token. An exemplar must share a word with the query; "avoid"
        lessons also fill the slots left over, newest first, as the user's general
        dislikes are worth repeating.
        """
        if k <= 0 or token_budget <= 0:
            return []
        query = tokenize(" ".join([goal, *recent]))
        key = (self._version, frozenset(query), k, token_budget)
        if self._cache is not None and self._cache[0] == key:
            return list(self._cache[1])
        docs = self._docs

        recency, shas = docs.recency, docs.sha

        def rank(item: tuple[int, float]) -> tuple[float, tuple[int, int, int], str]:
            return (item[1], recency[item[0]], shas[item[0]])

        def ranked(items: list[tuple[int, float]]) -> list[tuple[int, float]]:
            return sorted(items, key=rank, reverse=True)

        chosen: list[Lesson] = []
        used = 0
        seen: set[str] = set()

        def take(doc_id: int, score: float) -> bool:
            nonlocal used
            doc = docs[doc_id]
            if doc.key in seen:
                return False
            cost = _tokens("- " + doc.text + "\n")
            if used + cost > token_budget:
                return False
            seen.add(doc.key)
            used += cost
            chosen.append(Lesson(doc.kind, doc.text, doc.sha, round(score, 4), doc.reward))
            return len(chosen) >= k

        # Duplicates and long lines can use up candidates: take a few times k first.
        scores = self._index.scores(query)
        wanted = k * 4 + 16
        cutoff = heapq.nlargest(wanted, scores)[-1] if len(scores) > wanted else 0.0
        first = ranked([(d, s) for d, s in enumerate(scores) if s > 0 and s >= cutoff])
        done = any(take(doc_id, score) for doc_id, score in first)
        if not done and cutoff > 0:
            rest = ranked([(d, s) for d, s in enumerate(scores) if 0 < s < cutoff])
            done = any(take(doc_id, score) for doc_id, score in rest)
        if not done:
            for doc_id in self._avoid_newest_first():
                if scores[doc_id] == 0 and take(doc_id, 0.0):
                    break
        self._cache = (key, chosen)
        return list(chosen)

    def _avoid_newest_first(self) -> list[int]:
        if self._recent_avoid is None or self._recent_avoid[0] != self._version:
            alive = self._index.alive
            docs = self._docs
            ids = [i for i, kind in enumerate(docs.kind) if alive[i] and kind == "avoid"]
            ids.sort(key=lambda i: (docs.recency[i], docs.sha[i]), reverse=True)
            self._recent_avoid = (self._version, ids)
        return self._recent_avoid[1]

    def prompt_section(
        self, goal: str, recent: Sequence[str], *, k: int = 6, token_budget: int = 600
    ) -> str:
        """The lessons as a system-prompt section ("" when there are none).

        ``token_budget`` covers the whole section, headings included.
        """
        intro = "Earlier steps the user rated, most relevant first; learn from them."
        overhead = _tokens(
            "\n".join([LESSONS_HEADING, intro, AVOID_HEADING, EXEMPLAR_HEADING]) + "\n"
        )
        lessons = self.lessons(goal, recent, k=k, token_budget=token_budget - overhead)
        if not lessons:
            return ""
        lines = [LESSONS_HEADING, intro]
        for kind, heading in (("avoid", AVOID_HEADING), ("exemplar", EXEMPLAR_HEADING)):
            group = [lesson for lesson in lessons if lesson.kind == kind]
            if group:
                lines.append(heading)
                lines += [f"- {lesson.text}" for lesson in group]
        return "\n".join(lines) + "\n"


def _observe(history: History) -> _State:
    """What :meth:`RewardModel.refresh` compares: HEAD, the ratings ref, undone refs."""
    return _State(history.head(), history.ref_value(RATINGS_REF), _undone_stamp(history))


def _undone_stamp(history: History) -> tuple[int, int]:
    """A stamp that changes when refs under ``UNDONE_REFS`` are added or removed."""
    common = Path(history._repo.common_dir)
    stamps = []
    for path in (common / UNDONE_REFS, common / "packed-refs"):
        try:
            stamps.append(os.stat(path).st_mtime_ns)
        except OSError:
            stamps.append(0)
    return (stamps[0], stamps[1])


def _step_from_entry(entry: LogEntry) -> _Step | None:
    """The light view of a step from a log entry (its notes parsed without pydantic)."""
    t = entry.trailers
    if TRAILER_STEP not in t:
        return None
    try:
        number = int(t[TRAILER_STEP])
    except ValueError:
        number = 0
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
    rejected: list[_Rejection] = []
    for item in record.get("rejected") or []:
        if not isinstance(item, dict):
            continue
        tool = str(item.get("tool") or "")
        args = item.get("arguments")
        rejected.append(
            _Rejection(
                tool=tool,
                summary=one_line(
                    summarize_action(tool, args if isinstance(args, dict) else {}),
                    _SUMMARY_CHARS,
                ),
                reason=one_line(str(item.get("reason") or "no reason given"), _COMMENT_CHARS),
            )
        )
    goal = str(record.get("goal") or "")
    return _Step(
        sha=entry.sha,
        parent=entry.parents[0] if entry.parents else None,
        session=t.get(TRAILER_SESSION, "") or str(record.get("session") or ""),
        step=number,
        policy=t.get(TRAILER_POLICY, "") or str(record.get("policy") or "") or DEFAULT_ARM,
        tool=t.get(TRAILER_TOOL, "") or str(record.get("tool") or ""),
        summary=one_line(entry.subject, _SUMMARY_CHARS),
        goal=one_line(goal, _GOAL_CHARS) if goal else "",
        timestamp=entry.timestamp,
        rejected=tuple(rejected),
        rating=effective_rating(_parse_events(ratings)),
    )


def _parse_events(note: str) -> list[RatingEvent]:
    note = note.strip()
    if not note:
        return []
    try:
        raw = json.loads(note)
        return [RatingEvent.model_validate(item) for item in raw]
    except (ValueError, TypeError, ValidationError):
        return []  # a foreign or hand-edited note teaches nothing


def _tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _goal_part(goal: str) -> str:
    return f' (goal: "{goal}")' if goal else ""


def _avoid_text(step: _Step, rating: Rating) -> str:
    why = {
        "user": "rated down",
        "undo": "undone by the user",
        "check": "the check failed",
        "reject": "rejected",
    }.get(rating.source, "rated down")
    comment = one_line(rating.comment, _COMMENT_CHARS) if rating.comment else ""
    # History's own implicit events say what we say already ("undone by the user").
    comment = f': "{comment}"' if comment and comment.lower() != why else ""
    return _scrub_prompt(f"{step.summary}{_goal_part(step.goal)} — {why}{comment}")


def _exemplar_text(step: _Step, rating: Rating) -> str:
    state = f'goal "{step.goal}", ' if step.goal else ""
    state += f"after {step.previous}" if step.previous else "at the start"
    note = ""
    if rating.comment:
        note = f' ("{one_line(rating.comment, _COMMENT_CHARS)}")'
    elif rating.source == "check":
        note = " (the check passed)"
    return _scrub_prompt(f"{state} → {step.summary}{note}")


def _rejection_text(step: _Step, rejection: _Rejection) -> str:
    return _scrub_prompt(
        f'{rejection.summary}{_goal_part(step.goal)} — rejected: "{rejection.reason}"'
    )


def _scrub_prompt(text: str) -> str:
    """Lesson text without anything that looks like a credential (it goes to the model)."""
    return _KEYS.sub(REDACTED, text)


# --------------------------------------------------------- implicit ratings


def rate_check(history: History, rev: str, passed: bool, detail: str | None = None) -> StepCommit:
    """Record an environment check's implicit reward: +0.5 passed, -0.5 failed."""
    value = CHECK_REWARD if passed else -CHECK_REWARD
    return history.rate(rev, value, comment=detail, source="check")


# ------------------------------------------------------------ export formats


class FunctionCall(BaseModel):
    """The function a tool call names, with its arguments as a JSON string."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    arguments: str

    @model_validator(mode="after")
    def _arguments_are_json(self) -> FunctionCall:
        try:
            json.loads(self.arguments)
        except ValueError as err:
            raise ValueError(f"arguments of {self.name} are not JSON: {err}") from None
        return self


class ToolCall(BaseModel):
    """One tool call of an assistant turn."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    type: Literal["function"]
    function: FunctionCall


class ChatMessage(BaseModel):
    """One chat message of a fine-tuning example (Chat Completions shape)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    weight: Literal[0, 1] | None = None
    """Assistant turns only: 0 keeps the turn out of training (it is context)."""

    @model_validator(mode="after")
    def _fields_fit_role(self) -> ChatMessage:
        if self.role in ("system", "user") and (
            self.content is None or self.tool_calls or self.tool_call_id
        ):
            raise ValueError(f"a {self.role} message has text content only")
        if self.role == "tool" and (self.content is None or not self.tool_call_id):
            raise ValueError("a tool message needs content and tool_call_id")
        if self.role == "assistant":
            if self.content is None and not self.tool_calls:
                raise ValueError("an assistant message needs content or tool_calls")
            if self.tool_call_id:
                raise ValueError("an assistant message has no tool_call_id")
        elif self.weight is not None:
            raise ValueError("only assistant messages have a weight")
        return self


class FunctionSpec(BaseModel):
    """A function the model may call."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any]
    strict: bool | None = None


class ToolSpec(BaseModel):
    """A tool entry of the ``tools`` list."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["function"]
    function: FunctionSpec


def _check_conversation(messages: Sequence[ChatMessage]) -> None:
    """The conversation starts with system or user, and every tool reply answers a call."""
    if not messages or messages[0].role not in ("system", "user"):
        raise ValueError("the conversation starts with a system or user message")
    open_calls: set[str] = set()
    for message in messages:
        if message.role == "assistant":
            open_calls |= {call.id for call in message.tool_calls or []}
        elif message.role == "tool":
            if message.tool_call_id not in open_calls:
                raise ValueError(f"tool message answers unknown call {message.tool_call_id!r}")
            open_calls.discard(message.tool_call_id)


class SFTLine(BaseModel):
    """One line of OpenAI chat fine-tuning JSONL: a conversation ending in the target."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=2)
    tools: list[ToolSpec] | None = None
    parallel_tool_calls: bool | None = None

    @model_validator(mode="after")
    def _ends_with_the_target(self) -> SFTLine:
        _check_conversation(self.messages)
        last = self.messages[-1]
        if last.role != "assistant" or last.weight == 0:
            raise ValueError("the last message is the assistant turn trained on")
        return self


class DPOInput(BaseModel):
    """The prompt of a preference pair."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[ToolSpec] | None = None
    parallel_tool_calls: bool | None = None

    @model_validator(mode="after")
    def _is_a_conversation(self) -> DPOInput:
        _check_conversation(self.messages)
        if self.messages[-1].role == "assistant":
            raise ValueError("the input ends where the assistant is to answer")
        if any(m.weight is not None for m in self.messages):
            raise ValueError("preference inputs carry no weights")
        return self


def _one_assistant_turn(messages: list[ChatMessage]) -> list[ChatMessage]:
    if len(messages) != 1 or messages[0].role != "assistant" or messages[0].weight is not None:
        raise ValueError("an output is exactly one assistant message, without weight")
    return messages


class DPOLine(BaseModel):
    """One line of OpenAI preference (DPO) fine-tuning JSONL."""

    model_config = ConfigDict(extra="forbid")

    input: DPOInput
    preferred_output: list[ChatMessage]
    non_preferred_output: list[ChatMessage]

    @model_validator(mode="after")
    def _outputs_are_assistant_turns(self) -> DPOLine:
        _one_assistant_turn(self.preferred_output)
        _one_assistant_turn(self.non_preferred_output)
        if self.preferred_output == self.non_preferred_output:
            raise ValueError("the two outputs are the same")
        return self


# ------------------------------------------------------------------ export


class _Scrubber:
    """Replaces secrets and key-looking tokens in every string of a JSON value."""

    def __init__(self, secrets: Sequence[str]) -> None:
        found = [s for s in secrets if s and len(s) >= _MIN_SECRET]
        found += [v for name in _SECRET_ENV if len(v := os.environ.get(name, "")) >= _MIN_SECRET]
        variants: set[str] = set()
        for secret in found:
            variants.add(secret)
            # As it appears inside a JSON string (tool call arguments are JSON text).
            variants.add(json.dumps(secret)[1:-1])
            variants.add(json.dumps(secret, ensure_ascii=False)[1:-1])
        literal = [re.escape(v) for v in sorted(variants, key=len, reverse=True)]
        self._pattern = re.compile("|".join([*literal, *_KEY_PATTERNS]))

    def text(self, value: str) -> str:
        return self._pattern.sub(REDACTED, value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


class _Link:
    """A cell of an immutable list of step shas, newest first (shared between commits)."""

    __slots__ = ("next", "sha")

    def __init__(self, sha: str, next: _Link | None) -> None:
        self.sha = sha
        self.next = next


@dataclass
class _Point:
    """The conversation state at a commit: its steps (newest first) less undone ones."""

    chain: _Link | None = None
    removed: frozenset[str] = frozenset()


@dataclass
class _Timeline:
    """Every step with its record, and the conversation each was taken in."""

    steps: dict[str, StepCommit] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    """Step shas, oldest first (parents before children)."""
    position: dict[str, int] = field(default_factory=dict)
    points: dict[str, _Point] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    session_start: dict[str, int] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)
    """Steps in effect at HEAD (on the branch and not undone)."""

    @classmethod
    def read(cls, history: History) -> _Timeline:
        """One ``git log`` over the branch and the undone steps, records included."""
        line = cls()
        entries = list(
            history.log_entries("--topo-order", "HEAD", f"--glob={UNDONE_REFS}/*", records=True)
        )
        entries.reverse()  # parents first
        for pos, entry in enumerate(entries):
            parent = entry.parents[0] if entry.parents else None
            line.parents[entry.sha] = parent
            line.position[entry.sha] = pos
            base = line.points.get(parent, _Point()) if parent else _Point()
            point = base
            step = entry.as_step(undone=False)
            if step is not None:
                line.steps[step.sha] = step
                line.order.append(step.sha)
                line.session_start.setdefault(step.session, pos)
                point = _Point(_Link(step.sha, base.chain), base.removed)
            elif undo := entry.trailers.get(TRAILER_UNDO):
                point = _Point(base.chain, base.removed | {undo})
            elif redo := entry.trailers.get(TRAILER_REDO):
                point = _Point(base.chain, base.removed - {redo})
            line.points[entry.sha] = point
        head = line.points.get(history.head(), _Point())
        line.live = {sha for sha in _walk(head.chain) if sha not in head.removed}
        return line

    def undone(self, sha: str) -> bool:
        return sha not in self.live

    def prefix(self, step: StepCommit) -> list[StepCommit]:
        """The earlier steps of ``step``'s session in its conversation, oldest first.

        As the agent rebuilds its conversation: the nearest run of the session's steps
        before it, without the ones undone by then.
        """
        point = self.points.get(step.parent or "", _Point())
        start = self.session_start.get(step.session, 0)
        found: list[StepCommit] = []
        for sha in _walk(point.chain):
            if self.position[sha] < start:
                break
            other = self.steps[sha]
            if other.session != step.session:
                if found:
                    break
                continue
            if sha not in point.removed:
                found.append(other)
        found.reverse()
        return found


def _walk(chain: _Link | None) -> Iterator[str]:
    while chain is not None:
        yield chain.sha
        chain = chain.next


def _clean(message: dict[str, Any]) -> dict[str, Any]:
    """A chat message without null fields (the export formats omit them)."""
    return {k: v for k, v in message.items() if v is not None}


def _goal_of(step: StepCommit) -> str:
    return step.record.goal if step.record is not None else ""


def _opening(goal: str) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Goal: {goal}"},
    ]


def _history_messages(steps: Sequence[StepCommit]) -> list[dict[str, Any]]:
    # A step without a record (a foreign commit with our trailers) said nothing.
    return [_clean(m) for s in steps if s.record is not None for m in step_messages(s)]


def _note_count(step: StepCommit) -> int:
    return len(step.record.notes) if step.record is not None else 0


def _rejected(step: StepCommit) -> list[RejectedProposal]:
    return list(step.record.rejected) if step.record is not None else []


def _approved_for_training(step: StepCommit, line: _Timeline) -> bool:
    """A step to learn from: not rated down; if undone, rated up."""
    reward = step.reward
    if reward is not None and reward < 0:
        return False
    return not line.undone(step.sha) or (reward is not None and reward > 0)


def _write(out: TextIO, data: dict[str, Any]) -> None:
    out.write(json.dumps(data, ensure_ascii=False) + "\n")


def export_sft(history: History, out: TextIO, *, secrets: Sequence[str] = ()) -> int:
    """Write OpenAI chat fine-tuning JSONL: one line per approved step not rated down.

    Every committed step was approved. Steps rated down are left out, and so are
    undone steps unless rated up (an undo with no rating counts as the user's no).
    Each line is the conversation up to the step — the system prompt, the goal, the
    session's earlier steps (``agent.step_messages``) and the notes and rejected
    proposals before it — ending in the step's own assistant tool call, the only turn
    trained on (earlier assistant turns carry ``weight: 0``). Oldest step first.
    Every string is scrubbed of ``secrets``, of ``$OPENAI_API_KEY`` and of anything that
    looks like an API key (each becomes ``[redacted]``). Returns the number of lines.
    """
    scrub = _Scrubber(secrets)
    tools = tool_schemas()
    line = _Timeline.read(history)
    count = 0
    for sha in line.order:
        step = line.steps[sha]
        if step.record is None or not _approved_for_training(step, line):
            continue
        messages = _opening(_goal_of(step)) + _history_messages(line.prefix(step))
        messages += [_clean(m) for m in step_messages(step)[:-1]]  # not its tool result
        for message in messages:
            if message["role"] == "assistant":
                message["weight"] = 0
        messages[-1]["weight"] = 1
        data = scrub.value({"messages": messages, "tools": tools})
        SFTLine.model_validate(data)
        _write(out, data)
        count += 1
    return count


def export_dpo(history: History, out: TextIO, *, secrets: Sequence[str] = ()) -> int:
    """Write OpenAI preference fine-tuning JSONL; returns the number of pairs.

    Pairs come from two places:

    - each proposal the user rejected, against the action approved in its place (if that
      step is not rated down, nor undone without being rated up); the input is the
      conversation up to the rejected proposal;
    - steps rated down against steps rated up at the same point: the same session and
      the same conversation before them (a step undone with -1 and the one taken in its
      place rated +1); the input is that conversation (with the steps' notes when both
      had the same).

    Pairs whose two outputs make the same tool call are skipped. Secrets are scrubbed as
    in :func:`export_sft`.
    """
    scrub = _Scrubber(secrets)
    tools = tool_schemas()
    line = _Timeline.read(history)
    count = 0

    def emit(
        messages: list[dict[str, Any]], preferred: dict[str, Any], other: dict[str, Any]
    ) -> None:
        nonlocal count
        if _same_action(preferred, other):
            return  # nothing to prefer
        data = scrub.value(
            {
                "input": {"messages": messages, "tools": tools},
                "preferred_output": [preferred],
                "non_preferred_output": [other],
            }
        )
        DPOLine.model_validate(data)
        _write(out, data)
        count += 1

    groups: dict[tuple[str, str], list[StepCommit]] = {}
    for sha in line.order:
        step = line.steps[sha]
        rejected = _rejected(step)
        if step.record is None or (step.reward is None and not rejected):
            continue
        prefix = line.prefix(step)
        base = _opening(_goal_of(step)) + _history_messages(prefix)
        own = [_clean(m) for m in step_messages(step)]
        if rejected and _approved_for_training(step, line):
            notes = _note_count(step)
            for n in range(len(rejected)):
                at = notes + 2 * n
                emit(base + own[:at], own[-2], own[at])
        if step.reward is not None:
            # The same point: the same session, and the same steps in its conversation.
            point = hashlib.sha1("".join(p.sha for p in prefix).encode()).hexdigest()
            key = (step.session, point)
            groups.setdefault(key, []).append(step)

    for members in groups.values():
        good = [s for s in members if s.reward is not None and s.reward > 0]
        bad = [s for s in members if s.reward is not None and s.reward < 0]
        for preferred in good:
            base = _opening(_goal_of(preferred)) + _history_messages(line.prefix(preferred))
            ours = [_clean(m) for m in step_messages(preferred)]
            for other in bad:
                theirs = [_clean(m) for m in step_messages(other)]
                messages = list(base)
                notes = _note_count(preferred)
                if notes and ours[:notes] == theirs[: _note_count(other)]:
                    messages += ours[:notes]
                emit(messages, ours[-2], theirs[-2])
    return count


def _same_action(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when two assistant turns call the same tool with the same arguments."""

    def action(message: dict[str, Any]) -> tuple[Any, ...]:
        calls = message.get("tool_calls") or []
        fn = calls[0]["function"] if calls else {}
        try:
            args = json.loads(fn.get("arguments", "null"))
        except ValueError:
            args = fn.get("arguments")
        return (fn.get("name"), json.dumps(args, sort_keys=True))

    return action(a) == action(b)
