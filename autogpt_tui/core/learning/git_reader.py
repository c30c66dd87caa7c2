"""What the reward model reads from git each step, read without a process where it can.

After a step, :meth:`RewardModel.refresh
<autogpt_tui.core.learning.reward_model.RewardModel.refresh>` reads the new commit,
its record and ratings notes, and the ratings notes that changed: about fifteen object
reads, all of them of objects the step just wrote, so loose. :class:`StepReader` reads
those straight from the object folder (:func:`~autogpt_tui.core.git.loose.read_loose`)
and keeps the notes trees it parsed (trees are named by their content, so they never go
stale). Anything it cannot read that way raises :class:`NotLoose`, and the caller reads
it through :class:`History` as before.
"""

from __future__ import annotations

import re
from itertools import compress
from operator import itemgetter
from typing import NamedTuple

from autogpt_tui.core.git.loose import read_loose
from autogpt_tui.core.git.objects import parse_commit
from autogpt_tui.core.history import History
from autogpt_tui.core.records import LogEntry

_TREES_KEPT = 64
"""Parsed trees kept (a step makes two or three new notes trees)."""


# Two passes over the same entries, each matching every entry in turn (so they stay
# aligned): names with ids, then modes. Both build their results in C; a notes fan-out
# tree has 256 entries and a step parses several.
_NAMES = re.compile(rb"[0-7]+ ([^\0]*)\0(.{20})", re.DOTALL)
_MODES = re.compile(rb"([0-7]+) [^\0]*\0.{20}", re.DOTALL)
_TREE_MODE = b"40000"


class Tree(NamedTuple):
    """A tree's entries: name -> 20-byte id, and which names are subtrees."""

    ids: dict[bytes, bytes]
    subtrees: frozenset[bytes]


def parse_entries(data: bytes) -> Tree:
    """A raw tree's entries (names and ids as bytes: made text only when needed)."""
    pairs = _NAMES.findall(data)
    modes = _MODES.findall(data)
    if len(modes) != len(pairs):
        raise ValueError("a malformed tree")
    subtrees = frozenset(compress(map(itemgetter(0), pairs), map(_TREE_MODE.__eq__, modes)))
    return Tree(dict(pairs), subtrees)


class NotLoose(Exception):
    """The object is not a loose object of the repository (packed, or missing)."""


class StepReader:
    """Commits, notes and notes-tree differences of one repository, read in-process."""

    def __init__(self, history: History) -> None:
        self._history = history
        self._objects = str(history.common_dir / "objects")
        self._trees: dict[str, Tree] = {}
        self._commit_trees: dict[str, str] = {}

    def reads(self, history: History) -> bool:
        """Whether this reader reads ``history``'s repository."""
        return history is self._history

    def _raw(self, sha: str, kind: str) -> bytes:
        found = read_loose(self._objects, sha)
        if found is None or found[0] != kind:
            raise NotLoose(sha)
        return found[1]

    def commit(self, sha: str) -> LogEntry:
        """Commit ``sha`` without notes (through :class:`History` when it is packed)."""
        try:
            raw = self._raw(sha, "commit")
        except NotLoose:
            return self._history.read_commit(sha)
        return parse_commit(sha, raw)

    def tree_of(self, commit: str) -> str:
        """The tree of commit ``commit`` (kept: a commit never changes)."""
        tree = self._commit_trees.get(commit)
        if tree is None:
            tree = self.commit(commit).tree
            if len(self._commit_trees) >= _TREES_KEPT:
                del self._commit_trees[next(iter(self._commit_trees))]  # the oldest
            self._commit_trees[commit] = tree
        return tree

    def tree(self, sha: str | None) -> Tree:
        """The entries of tree ``sha`` (empty for None); NotLoose when it is packed."""
        if sha is None:
            return _EMPTY
        entries = self._trees.get(sha)
        if entries is None:
            try:
                entries = parse_entries(self._raw(sha, "tree"))
            except ValueError as err:
                raise NotLoose(sha) from err
            if len(self._trees) >= _TREES_KEPT:
                del self._trees[next(iter(self._trees))]  # the oldest
            self._trees[sha] = entries
        return entries

    def note(self, tip: str | None, sha: str) -> str | None:
        """The note on ``sha`` in the notes commit ``tip`` (either fan-out level)."""
        if tip is None:
            return None
        root = self.tree(self.tree_of(tip))
        name = sha.encode("ascii", "replace")
        found = root.ids.get(name)
        if found is not None and name in root.subtrees:
            return None
        if found is None:
            fan = root.ids.get(name[:2])
            if fan is None or name[:2] not in root.subtrees:
                return None
            sub = self.tree(fan.hex())
            found = sub.ids.get(name[2:])
            if found is None or name[2:] in sub.subtrees:
                return None
        return self._raw(found.hex(), "blob").decode("utf-8", "replace")

    def changed_notes(self, old: str | None, new: str | None) -> list[str]:
        """The commits whose notes differ between notes commits ``old`` and ``new``."""
        a = self.tree_of(old) if old else None
        b = self.tree_of(new) if new else None
        return [path.replace("/", "") for path in self._diff(a, b, "")]

    def _diff(self, a: str | None, b: str | None, prefix: str) -> list[str]:
        if a == b:
            return []
        try:
            left, right = self.tree(a), self.tree(b)
        except NotLoose:
            # A packed tree (one no note changed in since git last packed): History
            # reads it, through its own cache of trees.
            return self._history.diff_trees(a, b, prefix)
        out: list[str] = []
        # Only the names whose id or kind differ (set operations in C, not a walk of
        # every entry of a 256-entry fan-out in Python).
        changed = {name for name, _ in left.ids.items() ^ right.ids.items()}
        changed |= left.subtrees ^ right.subtrees
        for name in sorted(changed):
            x, y = left.ids.get(name), right.ids.get(name)
            x_tree = x.hex() if x is not None and name in left.subtrees else None
            y_tree = y.hex() if y is not None and name in right.subtrees else None
            path = prefix + name.decode("utf-8", "surrogateescape")
            if (x is not None and x_tree is None) or (y is not None and y_tree is None):
                out.append(path)
            if x_tree or y_tree:
                out.extend(self._diff(x_tree, y_tree, path + "/"))
        return out


_EMPTY = Tree({}, frozenset())
