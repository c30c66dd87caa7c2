"""Lessons from the ratings: what the agent is told to avoid and what worked before.

Rated-down steps and rejected proposals become "avoid" lessons, rated-up steps short
"state → action" exemplars. :class:`LessonIndex` keeps them in an incremental Okapi BM25
index (implemented here: lessons come and go as ratings change) and picks the ones most
relevant to the goal and the last actions, within a token budget, for the system prompt
(:meth:`LessonIndex.prompt_section`). Lesson text goes to the model, so anything that
looks like a credential is scrubbed from it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from autogpt_tui.core.learning.bm25 import Recency, TermIndex
from autogpt_tui.core.records import Rating, one_line
from autogpt_tui.core.redact import scrub_keys

LESSONS_HEADING = "## Lessons from the user's ratings"
"""The heading of the prompt section the lessons go under."""
AVOID_HEADING = "Corrections (the user's words, by situation; follow them):"
"""The heading of the "avoid" lessons within the section: steps rated down and proposals
rejected, phrased from what the user said ("When running the tests: use -x"). Not
"Avoid:", which made such a line read as "do not run the tests"."""
EXEMPLAR_HEADING = "Worked before:"
"""The heading of the exemplars within the section."""
_INTRO = "Earlier steps the user rated, most relevant first; learn from them."

CHARS_PER_TOKEN = 4
"""The token estimate of lessons: four characters a token."""

COMMENT_CHARS = 200
"""A comment or a rejection reason is quoted in a lesson up to this many characters."""

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


class LessonText(NamedTuple):
    """What a lesson says and how it is found, built when first needed."""

    text: str
    """The line the prompt shows."""
    key: str
    """Lessons with the same key say the same thing; only the best one is shown."""
    search: str
    """What it is found by (the index's text)."""


Describe = Callable[[str, int], LessonText]
"""Builds the text of the lesson of step ``sha`` with order ``order`` within the step."""


class _Docs:
    """The lessons in the index, kept column by column.

    Plain lists of strings and numbers: the garbage collector does not have to visit
    tens of thousands of objects on every full collection. A lesson's text is built only
    when it is about to be shown (``described``), as most never are.
    """

    def __init__(self) -> None:
        self.kind: list[LessonKind] = []
        self.sha: list[str] = []
        self.reward: list[float] = []
        self.described: dict[int, LessonText] = {}


class LessonIndex:
    """Every lesson in effect, searchable by relevance to a goal and recent actions.

    Lessons are added and retired as ratings come and go; a retired lesson is never
    chosen again. ``describe(sha, order)`` gives a lesson's text, key and index text when
    they are needed (a lesson is identified by its step and its order within the step).
    Choosing is cached until the index changes, so asking again for the same query
    costs nothing. Search: :class:`~autogpt_tui.core.learning.bm25.TermIndex`.
    """

    def __init__(self, describe: Describe) -> None:
        self._describe = describe
        self._bm25 = TermIndex()
        self._docs = _Docs()
        self._version = 0
        self._cache: tuple[Any, list[Lesson]] | None = None
        self._recent_avoid: tuple[int, list[int]] | None = None
        self._tokens: dict[str, tuple[str, ...]] = {}

    def __len__(self) -> int:
        """How many lessons were ever added (retired ones included)."""
        return len(self._docs.sha)

    @property
    def recency(self) -> tuple[list[int], list[int], list[int], list[str]]:
        """The lessons' commit times, step numbers, orders within the step and step ids."""
        bm25 = self._bm25
        return (bm25.times, bm25.steps, bm25.orders, bm25.shas)

    def add(
        self,
        kind: LessonKind,
        index_parts: Sequence[str],
        *,
        sha: str,
        reward: float,
        recency: tuple[int, int, int],
    ) -> int:
        """Add a lesson; returns its id, for :meth:`retire`.

        ``index_parts`` are what it is found by (joined by spaces). ``recency`` is
        (commit time, step number, order within the step): larger is newer.
        """
        counts: Counter[str] = Counter()
        for part in index_parts:
            counts.update(self._tokenize(part))
        doc = self._bm25.add(counts, (*recency, sha))
        self._docs.kind.append(kind)
        self._docs.sha.append(sha)
        self._docs.reward.append(reward)
        self._changed()
        return doc

    def _tokenize(self, part: str) -> tuple[str, ...]:
        # Goals, summaries and comments repeat across steps: tokenize each once.
        found = self._tokens.get(part)
        if found is None:
            if len(self._tokens) > 65_536:
                self._tokens.clear()
            found = self._tokens[part] = tuple(tokenize(part))
        return found

    def retire(self, doc: int) -> None:
        """Take the lesson ``doc`` out: it is never chosen again."""
        if not self._bm25.alive[doc]:
            return
        terms = set(tokenize(self._text(doc).search))
        self._bm25.retire(doc, terms)
        self._changed()

    def _text(self, doc: int) -> LessonText:
        found = self._docs.described.get(doc)
        if found is None:
            bm25 = self._bm25
            found = self._docs.described[doc] = self._describe(bm25.shas[doc], bm25.orders[doc])
        return found

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
        docs, rank_of = self._docs, self._bm25.rank

        def rank(item: tuple[int, float]) -> tuple[float, Recency]:
            return (item[1], rank_of(item[0]))

        def ranked(items: list[tuple[int, float]]) -> list[tuple[int, float]]:
            return sorted(items, key=rank, reverse=True)

        chosen: list[Lesson] = []
        used = 0
        seen: set[str] = set()

        def take(doc_id: int, score: float) -> bool:
            nonlocal used
            text = self._text(doc_id)
            if text.key in seen:
                return False
            cost = tokens("- " + text.text + "\n")
            if used + cost > token_budget:
                return False
            seen.add(text.key)
            used += cost
            chosen.append(
                Lesson(
                    docs.kind[doc_id],
                    text.text,
                    docs.sha[doc_id],
                    round(score, 4),
                    docs.reward[doc_id],
                )
            )
            return len(chosen) >= k

        # Duplicates and long lines can use up candidates: take a few times k first.
        scores = self._bm25.scores(query)
        wanted = k * 4 + 16
        ordered = sorted(scores.values(), reverse=True) if len(scores) > wanted else []
        cutoff = ordered[wanted - 1] if ordered else 0.0
        first = ranked([(d, s) for d, s in scores.items() if s > 0 and s >= cutoff])
        done = any(take(doc_id, score) for doc_id, score in first)
        if not done and cutoff > 0:
            rest = ranked([(d, s) for d, s in scores.items() if 0 < s < cutoff])
            done = any(take(doc_id, score) for doc_id, score in rest)
        if not done:
            for doc_id in self._avoid_newest_first():
                if not self._bm25.holds_any(doc_id, query) and take(doc_id, 0.0):
                    break
        self._cache = (key, chosen)
        return list(chosen)

    def _avoid_newest_first(self) -> list[int]:
        if self._recent_avoid is None or self._recent_avoid[0] != self._version:
            alive, kinds, rank = self._bm25.alive, self._docs.kind, self._bm25.rank
            ids = [i for i, kind in enumerate(kinds) if alive[i] and kind == "avoid"]
            ids.sort(key=rank, reverse=True)
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

    # ------------------------------------------------------------ the cache

    def to_json(self) -> dict[str, Any]:
        """The index as plain data, for :meth:`from_json` (texts are not kept)."""
        return {
            "kind": "".join("a" if kind == "avoid" else "e" for kind in self._docs.kind),
            "reward": self._docs.reward,
            "bm25": self._bm25.to_json(),
        }

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        recency: tuple[list[int], list[int], list[int], list[str]],
        describe: Describe,
    ) -> LessonIndex:
        """The index :meth:`to_json` wrote; ``recency`` is as :attr:`recency` gives it.

        Raises ValueError, KeyError or TypeError on data it did not write.
        """
        index = cls(describe)
        kinds, rewards = data["kind"], data["reward"]
        if not (isinstance(kinds, str) and isinstance(rewards, list)):
            raise ValueError("not a lesson index")
        if not len(kinds) == len(rewards) == len(recency[3]):
            raise ValueError("the lesson columns differ in length")
        index._bm25 = TermIndex.from_json(data["bm25"], recency)
        index._docs.kind = ["avoid" if c == "a" else "exemplar" for c in kinds]
        index._docs.sha = list(recency[3])  # its own list: add() appends to both
        index._docs.reward = [float(r) for r in rewards]
        return index


# ------------------------------------------------------------ lesson text


def tokens(text: str) -> int:
    """The token estimate of ``text`` (:data:`CHARS_PER_TOKEN` characters a token)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def comment_of(rating: Rating) -> str:
    """The rating's comment as a lesson quotes it: one line, shortened ("" when none)."""
    return one_line(rating.comment, COMMENT_CHARS) if rating.comment else ""


def _goal_part(goal: str) -> str:
    return f' (goal: "{goal}")' if goal else ""


def _advice(situation: str, words: str) -> str:
    """The user's own words tied to the situation: "When running the tests: use -x"."""
    return f"When {situation}: {words}"


_WHY = {
    "user": "rated down",
    "undo": "undone by the user",
    "check": "the check failed",
    "reject": "rejected",
    "reviewer": "rated down by the reviewer agent",
}


def avoid_text(summary: str, goal: str, rating: Rating, situation: str = "") -> str:
    """The lesson of a step rated down, phrased from the user's comment when there is one
    ("When running the tests: use -x --tb=short"), else what happened to the step in
    that situation ("When editing `a.py`: the step "Edit a.py" was rated down.").

    Without a situation (older callers) the step's summary leads, as it always did.
    """
    why = _WHY.get(rating.source, "rated down")
    comment = comment_of(rating)
    # History's own implicit events say what we say already ("undone by the user").
    if comment and comment.lower() == why:
        comment = ""
    if situation:
        if comment:
            return scrub_keys(_advice(situation, comment))
        return scrub_keys(_advice(situation, f'the step "{summary}" was {why}{_goal_part(goal)}.'))
    comment = f': "{comment}"' if comment else ""
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


NO_REASON = "no reason given"
"""The reason recorded for a rejection the user gave none for."""


def rejection_text(summary: str, goal: str, reason: str, situation: str = "") -> str:
    """The lesson of a proposal the user rejected: their reason tied to the situation
    ("When editing `tests/test_a.py`: change cli.py instead"), or, without a reason,
    what was rejected there."""
    if situation:
        if reason and reason != NO_REASON:
            return scrub_keys(_advice(situation, reason))
        return scrub_keys(
            _advice(situation, f'the proposal "{summary}" was rejected{_goal_part(goal)}.')
        )
    return scrub_keys(f'{summary}{_goal_part(goal)} — rejected: "{reason}"')
