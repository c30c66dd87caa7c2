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

from autogpt_tui.core.git.loose import read_loose
from autogpt_tui.core.history import History
from autogpt_tui.core.records import LogEntry, parse_trailers

_TREES_KEPT = 64
"""Parsed trees kept (a step makes two or three new notes trees)."""


_ENTRY = re.compile(rb"([0-7]+) ([^\0]*)\0(.{20})", re.DOTALL)
"""One tree entry: mode, name, NUL, the 20-byte id (entries follow each other)."""
_TREE_MODE = b"40000"

Entry = tuple[bytes, bytes]
"""A tree entry as (mode, 20-byte id): compared as is, made hex only when followed."""


def parse_entries(data: bytes) -> dict[str, Entry]:
    """A raw tree's entries by name (the matching runs in C: a notes fan-out tree has
    256 entries, parsed each step)."""
    return {
        name.decode("utf-8", "surrogateescape"): (mode, sha)
        for mode, name, sha in _ENTRY.findall(data)
    }


class NotLoose(Exception):
    """The object is not a loose object of the repository (packed, or missing)."""


class StepReader:
    """Commits, notes and notes-tree differences of one repository, read in-process."""

    def __init__(self, history: History) -> None:
        self._history = history
        self._objects = str(history.common_dir / "objects")
        self._trees: dict[str, dict[str, Entry]] = {}
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
        header, _, message = raw.decode("utf-8", "replace").partition("\n\n")
        tree, parents, timestamp = "", [], 0
        for line in header.split("\n"):
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key == "committer":
                timestamp = int(value.rsplit(" ", 2)[1])
        paragraphs = message.strip("\n").split("\n\n")
        subject = paragraphs[0].split("\n")[0] if paragraphs else ""
        trailers = parse_trailers(paragraphs[-1]) if len(paragraphs) > 1 else {}
        return LogEntry(sha, parents, timestamp, subject, trailers, "", tree=tree)

    def tree_of(self, commit: str) -> str:
        """The tree of commit ``commit`` (kept: a commit never changes)."""
        tree = self._commit_trees.get(commit)
        if tree is None:
            tree = self.commit(commit).tree
            if len(self._commit_trees) >= _TREES_KEPT:
                self._commit_trees.clear()
            self._commit_trees[commit] = tree
        return tree

    def tree(self, sha: str | None) -> dict[str, Entry]:
        """The entries of tree ``sha`` (``{}`` for None); NotLoose when it is packed."""
        if sha is None:
            return {}
        entries = self._trees.get(sha)
        if entries is None:
            entries = parse_entries(self._raw(sha, "tree"))
            if len(self._trees) >= _TREES_KEPT:
                self._trees.clear()
            self._trees[sha] = entries
        return entries

    def note(self, tip: str | None, sha: str) -> str | None:
        """The note on ``sha`` in the notes commit ``tip`` (either fan-out level)."""
        if tip is None:
            return None
        root = self.tree(self.tree_of(tip))
        entry = root.get(sha)
        if entry is None:
            fan = root.get(sha[:2])
            if fan is not None and fan[0] == _TREE_MODE:
                entry = self.tree(fan[1].hex()).get(sha[2:])
        if entry is None or entry[0] == _TREE_MODE:
            return None
        return self._raw(entry[1].hex(), "blob").decode("utf-8", "replace")

    def changed_notes(self, old: str | None, new: str | None) -> list[str]:
        """The commits whose notes differ between notes commits ``old`` and ``new``."""
        a = self.tree_of(old) if old else None
        b = self.tree_of(new) if new else None
        return [path.replace("/", "") for path in self._diff(a, b, "")]

    def _diff(self, a: str | None, b: str | None, prefix: str) -> list[str]:
        if a == b:
            return []
        left, right = self.tree(a), self.tree(b)
        out: list[str] = []
        for name in sorted(left.keys() | right.keys()):
            x, y = left.get(name), right.get(name)
            if x == y:
                continue
            x_tree = x[1].hex() if x is not None and x[0] == _TREE_MODE else None
            y_tree = y[1].hex() if y is not None and y[0] == _TREE_MODE else None
            if (x is not None and x_tree is None) or (y is not None and y_tree is None):
                out.append(prefix + name)
            if x_tree or y_tree:
                out.extend(self._diff(x_tree, y_tree, prefix + name + "/"))
        return out
