"""The lessons' search index: Okapi BM25 over documents that come and go, at bounded cost.

Lessons are added and retired as ratings change, so the index is incremental: per term
its postings (the documents holding it), how often it occurs where that is more than
once, and its document frequency; per document its length and whether it is alive.

Scoring a query must not cost what the whole history costs: with 30,000 ratings a
common word ("src", "fix") occurs in thousands of lessons, and summing every posting of
every query word, every step, grows with the ratings. So the **candidates** are bounded:
per query word, the :data:`CANDIDATES_PER_TERM` newest lessons holding it (all of them
for a rarer word). Each candidate then gets its exact BM25 score over the whole query,
with the whole corpus's statistics (document frequencies, average length). A lesson
that shares a rare word with the query is always a candidate; one that shares only
common words competes only while it is among their newest. The choice depends only on
the lessons in effect, never on the order they were read in, so a model kept current
and one read afresh choose alike.

Postings are kept in recency order (commit time, step number, order within the step,
step id), sorted lazily the first time a word is queried after an out-of-order add.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from itertools import compress, islice
from typing import Any

from autogpt_tui.core.learning.packing import pack_ints, unpack_ints

BM25_K1 = 1.2
"""BM25's term-frequency saturation."""
BM25_B = 0.75
"""BM25's document-length normalisation."""

CANDIDATES_PER_TERM = 64
"""How many of the newest lessons holding a query word are scored for it."""

Recency = tuple[int, int, int, str]
"""(commit time, step number, order within the step, step id): larger is newer."""


class TermIndex:
    """An incremental BM25 index whose queries score a bounded set of candidates."""

    def __init__(self) -> None:
        self.alive: list[bool] = []
        self.lengths: list[int] = []
        # Each document's recency, column by column: tens of thousands of tuples would
        # each be an object for the garbage collector to walk.
        self.times: list[int] = []
        self.steps: list[int] = []
        self.orders: list[int] = []
        self.shas: list[str] = []
        self.postings: dict[str, list[int]] = {}
        """Per term, the documents holding it (alive or not), oldest first once sorted."""
        self.repeats: dict[str, dict[int, int]] = {}
        """Per term, the documents holding it more than once, and how often."""
        self.df: dict[str, int] = {}
        """Per term, how many alive documents hold it."""
        self.live = 0
        self.total_length = 0
        self._unsorted: set[str] = set()
        self._members: dict[str, set[int]] = {}
        self._repeated: dict[str, set[int]] = {}
        """Per queried term, the documents holding it more than once, as a set."""
        """Per queried term, its postings as a set (kept while terms are added)."""

    # ------------------------------------------------------------- changing

    def rank(self, doc: int) -> Recency:
        """Document ``doc``'s recency: larger is newer."""
        return (self.times[doc], self.steps[doc], self.orders[doc], self.shas[doc])

    def add(self, counts: Mapping[str, int], rank: Recency) -> int:
        """Add a document (its terms with their counts); returns its id."""
        doc = len(self.alive)
        self.alive.append(True)
        length = sum(counts.values())
        self.lengths.append(length)
        self.times.append(rank[0])
        self.steps.append(rank[1])
        self.orders.append(rank[2])
        self.shas.append(rank[3])
        postings, members, df = self.postings, self._members, self.df
        for term, tf in counts.items():
            ids = postings.get(term)
            if ids is None:
                ids = postings[term] = []
            elif rank < self.rank(ids[-1]):
                self._unsorted.add(term)
            ids.append(doc)
            if tf > 1:
                self.repeats.setdefault(term, {})[doc] = tf
                if (known := self._repeated.get(term)) is not None:
                    known.add(doc)
            df[term] = df.get(term, 0) + 1
            if (known := members.get(term)) is not None:
                known.add(doc)
        self.live += 1
        self.total_length += length
        return doc

    def retire(self, doc: int, terms: Iterable[str]) -> None:
        """Take document ``doc`` (whose distinct terms are ``terms``) out of every result."""
        if not self.alive[doc]:
            return
        self.alive[doc] = False
        self.live -= 1
        self.total_length -= self.lengths[doc]
        for term in terms:
            self.df[term] -= 1

    # -------------------------------------------------------------- reading

    def _sorted(self, term: str) -> list[int]:
        ids = self.postings.get(term, [])
        if term in self._unsorted:
            ids.sort(key=self.rank)
            self._unsorted.discard(term)
        return ids

    def members(self, term: str) -> set[int]:
        """Every document (alive or not) holding ``term``."""
        known = self._members.get(term)
        if known is None:
            known = self._members[term] = set(self.postings.get(term, ()))
        return known

    def newest(self, term: str, limit: int = CANDIDATES_PER_TERM) -> list[int]:
        """The ``limit`` newest alive documents holding ``term``, newest first."""
        return list(islice(filter(self.alive.__getitem__, reversed(self._sorted(term))), limit))

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        """The candidates for ``query`` (a list of terms) with their exact BM25 scores.

        Terms are summed rarest first, so equal inputs give bit-equal scores.
        """
        n = self.live
        if n == 0:
            return {}
        avgdl = self.total_length / n or 1.0
        c1, c2 = BM25_K1 * (1 - BM25_B), BM25_K1 * BM25_B / avgdl
        k1p1 = BM25_K1 + 1
        weighted = sorted(
            (
                (math.log(1 + (n - df + 0.5) / (df + 0.5)), term)
                for term in set(query)
                if (df := self.df.get(term, 0)) > 0
            ),
            reverse=True,
        )
        candidates: set[int] = set()
        for _, term in weighted:
            candidates.update(self.newest(term))
        lengths = self.lengths
        # A term held once weighs idf * unit: the per-document part, computed once.
        unit = {doc: k1p1 / (1 + c1 + c2 * lengths[doc]) for doc in candidates}
        out = dict.fromkeys(candidates, 0.0)
        for idf, term in weighted:  # rarest first: equal inputs give bit-equal sums
            held = candidates.intersection(self.members(term))
            repeats = self.repeats.get(term)
            if repeats:
                repeated = self._repeated.get(term)
                if repeated is None:
                    repeated = self._repeated[term] = set(repeats)
                more = held.intersection(repeated)
                held.difference_update(more)
                for doc in more:
                    tf = repeats[doc]
                    out[doc] += idf * tf * k1p1 / (tf + c1 + c2 * lengths[doc])
            for doc in held:
                out[doc] += idf * unit[doc]
        return out

    def holds_any(self, doc: int, query: Iterable[str]) -> bool:
        """Whether document ``doc`` holds any term of ``query``."""
        return any(doc in self.members(term) for term in set(query) if term in self.postings)

    # ------------------------------------------------------------ the cache

    def to_json(self) -> dict[str, Any]:
        """The index as plain data (postings sorted), for :meth:`from_json`."""
        for term in list(self._unsorted):
            self._sorted(term)
        terms: dict[str, list[Any]] = {}
        for term, ids in self.postings.items():
            row: list[Any] = [self.df[term], pack_ints(ids)]
            if repeats := self.repeats.get(term):
                row += [pack_ints(list(repeats)), pack_ints(list(repeats.values()))]
            terms[term] = row
        return {
            "alive": "".join("1" if a else "0" for a in self.alive),
            "lengths": pack_ints(self.lengths),
            "terms": terms,
        }

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        recency: tuple[list[int], list[int], list[int], list[str]],
    ) -> TermIndex:
        """The index :meth:`to_json` wrote; ``recency`` the documents' (commit times,
        step numbers, orders within the step, step ids).

        Raises ValueError, KeyError or TypeError on data it did not write.
        """
        index = cls()
        alive = data["alive"]
        lengths = unpack_ints(data["lengths"])
        if not isinstance(alive, str):
            raise ValueError("not an index")
        if any(len(column) != len(alive) for column in (lengths, *recency)):
            raise ValueError("the index's columns differ in length")
        index.alive = list(map("1".__eq__, alive))
        index.lengths = lengths
        index.times, index.steps, index.orders, index.shas = recency
        for term, row in data["terms"].items():
            ids = unpack_ints(row[1])
            index.df[str(term)] = int(row[0])
            index.postings[str(term)] = ids
            if len(row) > 2:
                repeats = zip(unpack_ints(row[2]), unpack_ints(row[3]), strict=True)
                index.repeats[str(term)] = dict(repeats)
        index.live = alive.count("1")
        index.total_length = sum(compress(lengths, index.alive))
        return index
