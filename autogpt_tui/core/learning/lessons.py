"""Lessons from the ratings: what the agent is told to avoid and what worked before.

Rated-down steps and rejected proposals become "avoid" lessons, rated-up steps short
"state → action" exemplars. :class:`LessonIndex` keeps them in an incremental Okapi BM25
index (implemented here: lessons come and go as ratings change) and picks the ones most
relevant to the goal and the last actions, within a token budget, for the system prompt
(:meth:`LessonIndex.prompt_section`). Lesson text goes to the model, so anything that
looks like a credential is scrubbed from it.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from autogpt_tui.core.records import Rating, one_line
from autogpt_tui.core.redact import scrub_keys

LESSONS_HEADING = "## Lessons from the user's ratings"
"""The heading of the prompt section the lessons go under."""
AVOID_HEADING = "Avoid:"
"""The heading of the "avoid" lessons within the section."""
EXEMPLAR_HEADING = "Worked before:"
"""The heading of the exemplars within the section."""
_INTRO = "Earlier steps the user rated, most relevant first; learn from them."

CHARS_PER_TOKEN = 4
"""The token estimate of lessons: four characters a token."""

COMMENT_CHARS = 200
"""A comment or a rejection reason is quoted in a lesson up to this many characters."""

BM25_K1 = 1.2
"""BM25's term-frequency saturation."""
BM25_B = 0.75
"""BM25's document-length normalisation."""

_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORD_TEXT = (
    "an and are as at be been but by do does for from has have if in into is it its not of on "
    "or so than that the then there these this those to was were will with you your we our me "
    "my he she they them"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

LessonKind = Literal["avoid", "exemplar"]
"""An "avoid" lesson (rated down, rejected) or an exemplar (rated up)."""


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


class LessonIndex:
    """Every lesson in effect, searchable by relevance to a goal and recent actions.

    Lessons are added and retired as ratings come and go; a retired lesson is never
    chosen again. Choosing is cached until the index changes, so asking again for the
    same query costs nothing.
    """

    def __init__(self) -> None:
        self._bm25 = _BM25()
        self._docs = _Docs()
        self._version = 0
        self._cache: tuple[Any, list[Lesson]] | None = None
        self._recent_avoid: tuple[int, list[int]] | None = None

    def add(
        self,
        kind: LessonKind,
        text: str,
        index_text: str,
        *,
        sha: str,
        reward: float,
        recency: tuple[int, int, int],
        key: str,
    ) -> int:
        """Add a lesson; returns its id, for :meth:`retire`.

        ``text`` is what the prompt shows; ``index_text`` what it is found by.
        ``recency`` is (commit time, step number, order within the step): larger is
        newer. Lessons with the same ``key`` say the same thing: only the best is shown.
        """
        doc = self._bm25.add(index_text)
        self._docs.append(_Doc(kind, text, sha, reward, recency, key))
        self._changed()
        return doc

    def retire(self, doc: int) -> None:
        """Take the lesson ``doc`` out: it is never chosen again."""
        self._bm25.retire(doc)
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self._cache = None

    def select(
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
            cost = tokens("- " + doc.text + "\n")
            if used + cost > token_budget:
                return False
            seen.add(doc.key)
            used += cost
            chosen.append(Lesson(doc.kind, doc.text, doc.sha, round(score, 4), doc.reward))
            return len(chosen) >= k

        # Duplicates and long lines can use up candidates: take a few times k first.
        scores = self._bm25.scores(query)
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
            alive = self._bm25.alive
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
        overhead = tokens(
            "\n".join([LESSONS_HEADING, _INTRO, AVOID_HEADING, EXEMPLAR_HEADING]) + "\n"
        )
        lessons = self.select(goal, recent, k=k, token_budget=token_budget - overhead)
        if not lessons:
            return ""
        lines = [LESSONS_HEADING, _INTRO]
        for kind, heading in (("avoid", AVOID_HEADING), ("exemplar", EXEMPLAR_HEADING)):
            group = [lesson for lesson in lessons if lesson.kind == kind]
            if group:
                lines.append(heading)
                lines += [f"- {lesson.text}" for lesson in group]
        return "\n".join(lines) + "\n"


# ------------------------------------------------------------ lesson text


def tokens(text: str) -> int:
    """The token estimate of ``text`` (:data:`CHARS_PER_TOKEN` characters a token)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def comment_of(rating: Rating) -> str:
    """The rating's comment as a lesson quotes it: one line, shortened ("" when none)."""
    return one_line(rating.comment, COMMENT_CHARS) if rating.comment else ""


def _goal_part(goal: str) -> str:
    return f' (goal: "{goal}")' if goal else ""


def avoid_text(summary: str, goal: str, rating: Rating) -> str:
    """The "avoid" lesson of a step rated down: what it did, and why it was bad."""
    why = {
        "user": "rated down",
        "undo": "undone by the user",
        "check": "the check failed",
        "reject": "rejected",
    }.get(rating.source, "rated down")
    comment = comment_of(rating)
    # History's own implicit events say what we say already ("undone by the user").
    comment = f': "{comment}"' if comment and comment.lower() != why else ""
    return scrub_keys(f"{summary}{_goal_part(goal)} — {why}{comment}")


def exemplar_text(summary: str, goal: str, previous: str | None, rating: Rating) -> str:
    """The exemplar of a step rated up: the state it was taken in → what it did."""
    state = f'goal "{goal}", ' if goal else ""
    state += f"after {previous}" if previous else "at the start"
    note = ""
    if rating.comment:
        note = f' ("{comment_of(rating)}")'
    elif rating.source == "check":
        note = " (the check passed)"
    return scrub_keys(f"{state} → {summary}{note}")


def rejection_text(summary: str, goal: str, reason: str) -> str:
    """The "avoid" lesson of a proposal the user rejected, with the user's reason."""
    return scrub_keys(f'{summary}{_goal_part(goal)} — rejected: "{reason}"')
