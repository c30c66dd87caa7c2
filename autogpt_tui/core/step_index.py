"""The step index: the agent's commits on a branch, newest first, without walking history.

Listing steps by walking `git log HEAD` costs O(commits): on a repository with 80,000
ordinary commits and five steps at the tip, asking for 50 steps reads all of history.
The index lists the *agent commits* (steps, and the commits that undo or redo one)
reachable from a given HEAD, newest first, so a listing costs O(steps asked).

Layout: one ref per branch, ``refs/autogpt-tui/index/<branch>``, pointing at a tree
(a *node*); a node holds

- ``h``: the HEAD it describes (a gitlink: named, not kept alive by it);
- ``c``: one agent commit (a gitlink), or ``l``: a blob of several, newest first;
- ``p``: the node below it (a subtree), absent at the bottom.

So a new step adds one small tree, written in the same `update-ref` transaction as the
step (see core/journal.py), undo of the top step moves to a copy of the node below, and
:meth:`StepIndex.compact` folds the single-commit nodes on top into one list node now
and then, so a long history is read in a few objects. Trees stay out of `git log --all`.

The index is a cache and is never trusted blindly: a node describes the HEAD ``h`` it was
written for, and it is used for the current HEAD only when ``h`` is HEAD, or a short,
merge-free run of commits leads from ``h`` to HEAD (the user's own commits, read
directly). Anything else (a reset, rebase or amend by the user, another tool moving the
branch, a missing index) falls back to the full walk, which rebuilds the index. A reader
moves no ref: what it rebuilt is kept in ``.git/autogpt-tui/step-index.json`` and taken
up by the next step, undo or redo (in its transaction) or by History.maintain.

Crash safety is the journal's: the index ref moves in the same transaction as HEAD, so
recovery rolls it forward or back with everything else. It is moved unchecked (see
RefMove.check): the index is a cache that says itself which HEAD it describes, so a
reader rebuilding it at the same moment can never make a step fail, and whichever
write lands last is still right for the HEAD it names.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from autogpt_tui.core.errors import GitFailure
from autogpt_tui.core.git import ZERO_SHA, Git, ObjectStore, TreeEntry
from autogpt_tui.core.journal import write_atomically
from autogpt_tui.core.records import TRAILER_REDO, TRAILER_UNDO, LogEntry

INDEX_REFS = "refs/autogpt-tui/index"
"""Where the step index of each branch lives (``<INDEX_REFS>/heads/main``)."""

GITLINK = "160000"
"""The tree mode of a commit named (not contained) by a tree, as git stores submodules."""

RANGE_CAP = 2000
"""The most commits read between an index's HEAD and the current HEAD before giving up on
the index for a full walk (a user who rebased onto a big upstream, say)."""

_HEX = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")

COMPACT_AT = 64
"""Single-commit nodes on top of the index that :meth:`StepIndex.compact` folds into one."""


def is_agent_commit(entry: LogEntry) -> bool:
    """Whether the index lists ``entry``: a step, or a commit undoing or redoing one."""
    trailers = entry.trailers
    return entry.step_number is not None or TRAILER_UNDO in trailers or TRAILER_REDO in trailers


def index_ref(branch_key: str) -> str:
    """The index ref for the branch ``branch_key`` names (``HEAD`` when detached)."""
    if branch_key == "HEAD":
        return f"{INDEX_REFS}/detached"
    return f"{INDEX_REFS}/{branch_key.removeprefix('refs/')}"


@dataclass(frozen=True)
class Node:
    """One node of the index, as read from its tree."""

    sha: str
    head: str
    commits: tuple[str, ...]
    """The agent commits this node holds, newest first."""
    below: str | None


class StepIndex:
    """Reads and writes the step index of the current branch."""

    def __init__(self, git: Git, objects: ObjectStore) -> None:
        self._git = git
        self._objects = objects
        self._rebuilt = git.common_dir / "autogpt-tui" / "step-index.json"
        self._last: Node | None = None  # the node written last: the next step's base

    def rebuilt(self, ref: str) -> str | None:
        """The node a reader last rebuilt for ``ref`` (see :meth:`remember`), or None."""
        try:
            value = json.loads(self._rebuilt.read_text()).get(ref)
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None

    def remember(self, ref: str, node: str) -> None:
        """Keep an index a reader rebuilt, without moving any ref.

        Reading the history (`log`, `show`, the TUI's list, a refused undo) changes no
        ref: the rebuilt node waits in a file of the git directory until the next step,
        undo or redo moves the ref to it (or to what it adds on top) in its own
        transaction. Nothing is lost if the file goes: the next walk rebuilds it.
        """
        try:
            data = json.loads(self._rebuilt.read_text())
        except (OSError, ValueError):
            data = {}
        data = data if isinstance(data, dict) else {}
        data[ref] = node
        with contextlib.suppress(OSError):  # a read-only repository: just walk next time
            write_atomically(self._rebuilt, json.dumps(data).encode())

    # ---------------------------------------------------------------- reading

    def ref(self, branch_key: str | None = None) -> str:
        """The index ref of ``branch_key`` (by default the branch HEAD is on)."""
        return index_ref(branch_key or self._git.branch_key())

    def ref_value(self, ref: str) -> str | None:
        """What the index ref points at, or None when it does not exist."""
        # Read on every step: the loose ref file first (no object lookup); a packed ref,
        # or anything unusual, goes through the general path.
        try:
            value = (self._git.common_dir / ref).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return self._git.ref_value(ref)
        return value if _HEX.fullmatch(value) else self._git.ref_value(ref)

    def top(self, ref: str | None = None) -> Node | None:
        """The index's top node, or None when there is none (or it is unreadable)."""
        sha = self.ref_value(ref or self.ref())
        return self.node(sha) if sha else None

    def node(self, sha: str) -> Node | None:
        """The node stored as tree ``sha``, or None when it is not one."""
        if self._last is not None and self._last.sha == sha:
            return self._last  # trees never change: no need to read it back
        try:
            # The index's trees and lists are written here, loose: read from their files.
            entries = self._objects.read_tree(sha, own=True)
            commits: tuple[str, ...] = ()
            if (single := entries.get("c")) is not None and single.mode == GITLINK:
                commits = (single.sha,)
            elif (listed := entries.get("l")) is not None and not listed.is_tree:
                listing = self._objects.read_blob(listed.sha, own=True)
                commits = tuple(listing.decode("ascii").split())
        except (ValueError, KeyError, OSError, UnicodeDecodeError, GitFailure):
            return None
        head = entries.get("h")
        below = entries.get("p")
        if head is None or head.mode != GITLINK:
            return None
        return Node(sha, head.sha, commits, below.sha if below and below.is_tree else None)

    def commits(self, top: Node) -> Iterator[str]:
        """Every agent commit the index holds below and at ``top``, newest first.

        Raises LookupError when a node on the way is missing or malformed (the index is
        then of no use: the caller walks the history instead).
        """
        node: Node | None = top
        while node is not None:
            yield from node.commits
            if node.below is None:
                return
            node = self.node(node.below)
            if node is None:
                raise LookupError("the step index is damaged")

    # ---------------------------------------------------------------- writing
    # Writing a node writes one tree object and moves nothing: the caller moves the ref
    # (with the step, undo or redo that made it, in one transaction).

    def push(self, below: Node | None, commit: str, head: str) -> str:
        """A node with ``commit`` on top of ``below``, describing ``head``."""
        entries = {"c": TreeEntry(GITLINK, commit), "h": TreeEntry(GITLINK, head)}
        if below is not None:
            entries["p"] = TreeEntry("40000", below.sha)
        sha = self._objects.write_tree(entries)
        self._last = Node(sha, head, (commit,), below.sha if below else None)
        return sha

    def rehead(self, node: Node, head: str) -> str:
        """``node``'s copy describing ``head`` (commits the index does not list were made)."""
        if node.head == head:
            return node.sha
        return self._write(node.commits, node.below, head)

    def pop(self, node: Node, commit: str, head: str) -> Node | None:
        """The index once ``commit``, its newest agent commit, is taken off (HEAD now
        ``head``); None when ``commit`` is not the newest."""
        if not node.commits or node.commits[0] != commit:
            return None
        rest = node.commits[1:]
        if rest:
            return self.node(self._write(rest, node.below, head))
        if node.below is None:
            return self.node(self._write((), None, head))
        below = self.node(node.below)
        return None if below is None else self.node(self.rehead(below, head))

    def build(self, commits: Sequence[str], head: str) -> str:
        """A one-node index of ``commits`` (newest first) for ``head``."""
        return self._write(tuple(commits), None, head)

    def _write(self, commits: Sequence[str], below: str | None, head: str) -> str:
        entries = {"h": TreeEntry(GITLINK, head)}
        if len(commits) == 1:
            entries["c"] = TreeEntry(GITLINK, commits[0])
        elif commits:
            blob = self._objects.write_blob("".join(f"{c}\n" for c in commits).encode())
            entries["l"] = TreeEntry("100644", blob)
        if below is not None:
            entries["p"] = TreeEntry("40000", below)
        return self._objects.write_tree(entries)

    def store(self, ref: str, new: str, old: str | None) -> bool:
        """Move ``ref`` from ``old`` to ``new`` by itself (a rebuild or a compaction);
        False when someone moved it meanwhile (or the repository is read-only)."""
        try:
            self._git.update_refs([f"update {ref} {new} {old or ZERO_SHA}"], "step index")
        except GitFailure:
            return False
        return True

    def compact(self) -> bool:
        """Fold the single-commit nodes on top of the current branch's index into one
        list node, so reading a long history takes a few objects; True when it did."""
        ref = self.ref()
        top = self.top(ref)
        if top is None:
            return False
        singles: list[str] = []
        node: Node | None = top
        rest: str | None = None
        while node is not None and len(node.commits) == 1:
            singles.append(node.commits[0])
            rest = node.below
            if rest is None:
                break
            node = self.node(rest)
            if node is None:
                return False  # damaged: the next walk rebuilds it
        if len(singles) < COMPACT_AT:
            return False
        return self.store(ref, self._write(singles, rest, top.head), top.sha)
