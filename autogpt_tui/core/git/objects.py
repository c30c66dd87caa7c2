"""Blobs, trees and commits, read and written in-process.

Speed follows what changed, not the size of the tree: a new tree is made by rewriting
only the trees on the paths that changed (:meth:`ObjectStore.rewrite_tree`), and two
trees are compared by opening only the subtrees whose ids differ
(:meth:`ObjectStore.diff_trees`). Trees are named by their content and never change,
so parsed trees are cached.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autogpt_tui.core.errors import GitFailure
from autogpt_tui.core.git.runner import Git
from autogpt_tui.core.records import LogEntry, parse_trailers

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""The id of the tree with no entries (git knows it without storing it)."""
ZERO_SHA = "0" * 40
"""The id `git update-ref` takes for "this ref must not exist yet"."""

TREE_CACHE_BYTES = 24 * 2**20
"""What the parsed trees an :class:`ObjectStore` keeps may weigh at most (estimated).

Every step makes new trees (the folders it touched, the notes fan-out), so a cache
bounded by a count of trees or entries grows with the size of the folders a session
writes into; a bound in bytes keeps a long headless run flat. 24 MiB holds some 100,000
entries: the paths from the root to the files of a step, on a 20,000-file tree, many
times over."""
ENTRY_BYTES = 200
"""The memory of one parsed entry besides its name (measured with tracemalloc on
CPython 3.11: the object id as hex text 89, the entry 48, the name's string header 49,
the dict slot the rest); the estimate of a tree adds its raw size, names included."""
_DICT_BYTES = 240
"""The memory of an empty dict and its first table."""
_OBJECT_ID = re.compile("[0-9a-f]{40}")
COMMIT_TREES_KEPT = 4096
"""Commits whose tree id is remembered (some 200 bytes each: under a MiB). A step asks
for the tree of the same few commits (HEAD, its parent, the notes tip) a dozen times."""


@dataclass(slots=True)
class TreeEntry:
    """One entry of a tree: its mode (``100644``, ``40000``, …) and object id."""

    mode: str
    sha: str

    @property
    def is_tree(self) -> bool:
        """Whether the entry is a subtree (a folder)."""
        return self.mode == "40000"


_MODES: dict[bytes, str] = {}
"""One shared string per mode seen (a handful), so cached entries do not each hold one."""


def _mode(raw: bytes) -> str:
    mode = _MODES.get(raw)
    if mode is None:
        mode = _MODES.setdefault(raw, sys.intern(raw.decode()))
    return mode


def parse_tree(data: bytes) -> dict[str, TreeEntry]:
    """Entries of a raw tree object: ``<mode> <name>\\0<20-byte id>`` repeated."""
    entries: dict[str, TreeEntry] = {}
    i, end = 0, len(data)
    while i < end:
        space = data.index(b" ", i)
        nul = data.index(b"\0", space)
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        entries[name] = TreeEntry(_mode(data[i:space]), data[nul + 1 : nul + 21].hex())
        i = nul + 21
    return entries


def tree_bytes(data: bytes, entries: int) -> int:
    """An estimate (on the high side) of the memory of a tree parsed from ``data``."""
    return _DICT_BYTES + entries * ENTRY_BYTES + len(data)


class TreeCache:
    """Parsed trees by id, bounded by an estimate of their memory: the least recently
    used go first. Trees are named by their content and never change, so an entry is
    never stale; the bound only decides how often one is read again."""

    def __init__(self, max_bytes: int = TREE_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        """The most the kept trees may weigh (estimated by :func:`tree_bytes`)."""
        self.bytes = 0
        """What the kept trees weigh now (estimated)."""
        self._trees: OrderedDict[str, tuple[dict[str, TreeEntry], int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._trees)

    def get(self, sha: str) -> dict[str, TreeEntry] | None:
        """The parsed tree ``sha`` (shared: not to be changed), or None."""
        kept = self._trees.get(sha)
        if kept is None:
            return None
        self._trees.move_to_end(sha)
        return kept[0]

    def put(self, sha: str, entries: dict[str, TreeEntry], size: int) -> None:
        """Keep ``entries`` (weighing ``size``), dropping the least recently used trees
        to stay within the bound; a tree bigger than the whole bound is not kept."""
        if size > self.max_bytes or sha in self._trees:
            return
        while self._trees and self.bytes + size > self.max_bytes:
            _, (_, dropped) = self._trees.popitem(last=False)
            self.bytes -= dropped
        self._trees[sha] = (entries, size)
        self.bytes += size


def blob_id(data: bytes) -> str:
    """The id git gives a blob of ``data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _ident_part(text: str) -> str:
    """A name or email as git writes it into a commit: no angle brackets or newlines."""
    return " ".join(text.replace("<", "").replace(">", "").split())


def _fs(name: str) -> bytes:
    """A path component as git stores it (undecodable bytes round-trip)."""
    return name.encode("utf-8", "surrogateescape")


class ObjectStore:
    """Reads and writes a repository's objects through :class:`Git`, without processes
    except where git's own rules are needed (dates, merges)."""

    def __init__(self, git: Git, *, tree_cache_bytes: int | None = None) -> None:
        self._git = git
        bound = TREE_CACHE_BYTES if tree_cache_bytes is None else tree_cache_bytes
        self.trees = TreeCache(bound)
        """The parsed trees kept, bounded in bytes."""
        self._commit_trees: OrderedDict[str, str] = OrderedDict()
        self._commit_times: OrderedDict[str, int] = OrderedDict()  # our last writes

    # ------------------------------------------------------------------ reading

    def read_blob(self, sha: str, *, own: bool = False) -> bytes:
        """A blob's bytes; ``own``: one this program wrote (see ``Git.read_own_object``)."""
        return self._git.read_own_object(sha) if own else self._git.read_object(sha)

    def read_tree(self, sha: str | None, *, own: bool = False) -> dict[str, TreeEntry]:
        """The entries of a tree (a copy the caller may change); ``{}`` for None.

        ``own``: a tree this program wrote (see ``Git.read_own_object``).
        """
        if sha is None:
            return {}
        cached = self.trees.get(sha)
        if cached is None:
            data = self._git.read_own_object(sha) if own else self._git.read_object(sha)
            cached = parse_tree(data)
            self.trees.put(sha, cached, tree_bytes(data, len(cached)))
        return dict(cached)

    def read_commit(self, sha: str) -> LogEntry:
        """A commit read in-process (GitPython's persistent cat-file), without notes."""
        raw = self._git.read_object(sha)
        return parse_commit(sha, raw)

    def tree_of(self, commit: str) -> str:
        """The tree id of a commit (remembered: a commit never changes)."""
        tree = self._commit_trees.get(commit)
        if tree is None:
            tree = self.read_commit(commit).tree
            if _OBJECT_ID.fullmatch(commit):  # an id, not a name such as HEAD that moves
                self._remember_tree(commit, tree)
        return tree

    def _remember_tree(self, commit: str, tree: str) -> None:
        known = self._commit_trees
        known[commit] = tree
        if len(known) > COMMIT_TREES_KEPT:
            known.popitem(last=False)

    def parent_of(self, sha: str) -> str:
        """The first parent of a commit; GitFailure for a root commit."""
        parents = self.read_commit(sha).parents
        if not parents:
            raise GitFailure(f"Commit {sha[:8]} has no parent.")
        return parents[0]

    def entry_at(self, commit: str, path: str) -> TreeEntry | None:
        """What ``path`` is in ``commit``, or None when it has nothing there."""
        tree = self.read_tree(self.tree_of(commit))
        parts = path.split("/")
        for part in parts[:-1]:
            entry = tree.get(part)
            if entry is None or not entry.is_tree:
                return None
            tree = self.read_tree(entry.sha)
        return tree.get(parts[-1])

    def diff_trees(self, a: str | None, b: str | None, prefix: str = "") -> list[str]:
        """Paths of files that differ between two trees, read in-process.

        Only subtrees whose ids differ are opened, so the cost follows the change.
        """
        if a == b:
            return []
        left, right = self.read_tree(a), self.read_tree(b)
        out: list[str] = []
        for name in sorted(left.keys() | right.keys()):
            x, y = left.get(name), right.get(name)
            if x == y:
                continue
            path = prefix + name
            x_tree = x.sha if x is not None and x.is_tree else None
            y_tree = y.sha if y is not None and y.is_tree else None
            if (x is not None and not x.is_tree) or (y is not None and not y.is_tree):
                out.append(path)  # a file on one side (or both)
            if x_tree or y_tree:
                out.extend(self.diff_trees(x_tree, y_tree, path + "/"))
        return out

    # ------------------------------------------------------------------ writing

    def write_blob(self, data: bytes) -> str:
        """Store ``data`` as a blob; returns its id."""
        return self._git.write_object("blob", data)

    def write_tree(self, entries: dict[str, TreeEntry]) -> str:
        """Store a tree of ``entries`` (one level: names, not paths); returns its id."""

        # git orders tree entries by name, comparing a directory as if it ended in "/".
        def key(item: tuple[str, TreeEntry]) -> bytes:
            name, entry = item
            return _fs(name) + (b"/" if entry.is_tree else b"")

        body = b"".join(
            entry.mode.encode() + b" " + _fs(name) + b"\0" + bytes.fromhex(entry.sha)
            for name, entry in sorted(entries.items(), key=key)
        )
        sha = self._git.write_object("tree", body)
        # A tree just written is read again soon (the next step rewrites the same
        # notes fan-out and folders; history and the reward model read the notes):
        # keep it parsed, with entries of its own (the caller's may change).
        self.trees.put(
            sha,
            {name: TreeEntry(e.mode, e.sha) for name, e in entries.items()},
            tree_bytes(body, len(entries)),
        )
        return sha

    def rewrite_tree(self, tree: str | None, changes: Mapping[str, TreeEntry | None]) -> str | None:
        """A new tree: ``tree`` with ``changes`` (relative paths) applied; None if empty.

        Only the trees on the changed paths are read and written again.
        """
        entries = self.read_tree(tree)
        direct: dict[str, TreeEntry | None] = {}
        nested: dict[str, dict[str, TreeEntry | None]] = {}
        for path, entry in changes.items():
            head, _, rest = path.partition("/")
            if rest:
                nested.setdefault(head, {})[rest] = entry
            else:
                direct[head] = entry
        for name, sub in nested.items():
            old = entries.get(name)
            new = self.rewrite_tree(old.sha if old and old.is_tree else None, sub)
            if new is None:
                entries.pop(name, None)
            else:
                entries[name] = TreeEntry("40000", new)
        for name, entry in direct.items():
            if entry is None:
                old = entries.get(name)
                if old is not None and not old.is_tree:
                    entries.pop(name)
            else:
                entries[name] = entry
        if not entries:
            return None
        return self.write_tree(entries)

    def write_commit(self, tree: str, parent: str | None, message: str, env: dict[str, str]) -> str:
        """Write a commit object; in-process unless the environment fixes its dates.

        ``env`` names the author and committer (``GIT_AUTHOR_NAME`` and friends).
        """
        if "GIT_AUTHOR_DATE" in os.environ or "GIT_COMMITTER_DATE" in os.environ:
            # git parses the many date formats these variables accept; we do not.
            args = ["commit-tree", tree]
            if parent:
                args += ["-p", parent]
            return self._git.run(*args, "-F", "-", input=message.encode(), env=env).strip()
        now = int(time.time())
        offset = datetime.now().astimezone().utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        zone = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"

        def person(kind: str) -> str:
            name = _ident_part(env[f"GIT_{kind}_NAME"])
            email = _ident_part(env[f"GIT_{kind}_EMAIL"])
            return f"{name} <{email}> {now} {zone}"

        lines = [f"tree {tree}"]
        if parent:
            lines.append(f"parent {parent}")
        lines += [f"author {person('AUTHOR')}", f"committer {person('COMMITTER')}"]
        sha = self._git.write_object("commit", ("\n".join(lines) + "\n\n" + message).encode())
        self._remember_tree(sha, tree)
        self._commit_times[sha] = now
        if len(self._commit_times) > 8:  # only the step's own read-back needs it
            self._commit_times.popitem(last=False)
        return sha

    def commit_time(self, sha: str) -> int:
        """A commit's committer time (seconds); the last few written are not read."""
        known = self._commit_times.get(sha)
        return known if known is not None else self.read_commit(sha).timestamp

    def merge_blobs(self, ours: TreeEntry, base: TreeEntry, theirs: TreeEntry) -> TreeEntry | None:
        """The three-way merge of two versions of a file (`git merge-file`), stored as
        a blob with ``ours``'s mode; None when the versions change the same lines."""
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for name, entry in (("ours", ours), ("base", base), ("theirs", theirs)):
                target = Path(tmp) / name
                target.write_bytes(self.read_blob(entry.sha))
                files.append(str(target))
            result = self._git.try_run("merge-file", "-p", *files)
        if result.returncode != 0:
            return None
        return TreeEntry(ours.mode, self.write_blob(result.stdout))


def parse_commit(sha: str, raw: bytes) -> LogEntry:
    """Commit ``sha`` from its raw object (``raw``), without notes."""
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
