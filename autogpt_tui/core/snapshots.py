"""Snapshots of the user's uncommitted work, so nothing of theirs is ever lost.

Before each step the agent stores the user's work in progress — changed and deleted
tracked files, and untracked files git does not ignore, up to a size cap — as a commit
whose parent is HEAD, under ``refs/autogpt-tui/snapshots/<n>``: never on a branch, never
in the index or the working tree, as ``git stash create`` would. The user's files stay
exactly as they were; ``autogpt-tui recover`` brings a snapshot's files back.

A snapshot is written only when the work differs from the newest one, and only the
newest ``KEEP`` are kept. With a watcher the cost follows the change: the paths to look
at are the ones dirty last time, the ones the watcher saw, and the ones HEAD changed;
without one, `git status` lists them.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autogpt_tui.core.errors import UserError
from autogpt_tui.core.file_text import replace_file
from autogpt_tui.core.git import EMPTY_TREE, Git, ObjectStore, TreeEntry, WorkTree
from autogpt_tui.core.records import escape_surrogates

SNAPSHOTS_REF = "refs/autogpt-tui/snapshots"
"""Where snapshots live: one ref per snapshot, numbered in the order they were taken."""
MAX_FILE_BYTES = 16 * 1024 * 1024
"""Untracked files bigger than this are left out of snapshots (and named in them)."""
KEEP = 100
"""How many snapshots are kept; older ones are dropped as new ones are taken."""


class SnapshotNotFound(UserError):
    """The snapshot the user named does not exist."""


@dataclass(frozen=True)
class Snapshot:
    """One stored snapshot of the user's work."""

    number: int
    sha: str
    head: str
    """The commit the work was uncommitted against (the snapshot's parent)."""
    timestamp: int
    reason: str

    @property
    def ref(self) -> str:
        """The snapshot's ref."""
        return f"{SNAPSHOTS_REF}/{self.number}"


@dataclass
class Taken:
    """What one look at the user's work found."""

    snapshot: Snapshot | None
    """The snapshot holding the work (None when nothing is uncommitted)."""
    dirty: list[str] = field(default_factory=list)
    """Paths holding uncommitted work, sorted."""
    changed: list[str] = field(default_factory=list)
    """Paths whose uncommitted state changed since the previous look (the user's edits)."""
    skipped: list[str] = field(default_factory=list)
    """Untracked files too big to store."""


@dataclass(frozen=True)
class Recovered:
    """What recovering a snapshot did."""

    restored: list[str]
    saved: Snapshot | None
    """The snapshot of the work the files held just before (None when there was none)."""


_Stamp = tuple[int, int, int, int]


class Snapshots:
    """Takes, lists and recovers snapshots of a working tree's uncommitted work."""

    def __init__(self, git: Git, objects: ObjectStore, worktree: WorkTree) -> None:
        self._git = git
        self._objects = objects
        self._worktree = worktree
        self._dirty: dict[str, TreeEntry | None] = {}
        self._head: str | None = None
        # path -> (stat stamp, entry) of the last hashing, so unchanged files cost no read.
        self._hashed: dict[str, tuple[_Stamp, TreeEntry]] = {}
        # The work the last snapshot this object wrote (or found) holds, and that snapshot.
        self._written: tuple[dict[str, TreeEntry | None], Snapshot] | None = None

    # ---------------------------------------------------------------- taking

    def take(self, reason: str, changed: Iterable[str] | None = None) -> Taken:
        """Store the user's uncommitted work if it changed since the newest snapshot.

        ``changed`` lists the paths a watcher saw change since the last call; None
        means unknown, and `git status` is asked.
        """
        head = self._git.head()
        if changed is None or self._head is None:
            candidates = set(self._worktree.dirty_paths())
        else:
            candidates = set(self._dirty) | set(changed)
            if self._head != head:
                before, now = self._objects.tree_of(self._head), self._objects.tree_of(head)
                candidates |= set(self._objects.diff_trees(before, now))
        candidates = {p for p in candidates if not _is_git_path(p)}
        dirty, skipped = self._look(sorted(candidates), head)
        previous, moved = self._dirty, self._head is not None and self._head != head
        first = self._head is None
        self._dirty, self._head = dirty, head
        user_changed: list[str] = []
        if not first:
            for path in sorted(dirty.keys() | previous.keys()):
                if dirty.get(path, _ABSENT) != previous.get(path, _ABSENT):
                    if path not in dirty and moved:
                        continue  # clean now because a commit took it, not an edit
                    user_changed.append(path)
        if not dirty:
            return Taken(None, [], user_changed, skipped)
        written = self._written
        if (
            written is not None
            and written[0] == dirty
            and self._git.ref_value(written[1].ref) == written[1].sha
        ):
            # The same work as the snapshot this session last wrote (only HEAD moved, by
            # steps that did not touch it): that snapshot still holds every byte.
            return Taken(written[1], sorted(dirty), user_changed, skipped)
        tree = self._objects.rewrite_tree(self._objects.tree_of(head), dirty) or EMPTY_TREE
        newest = self.newest()
        if newest is not None and newest.head == head and self._objects.tree_of(newest.sha) == tree:
            self._written = (dict(dirty), newest)
            return Taken(newest, sorted(dirty), user_changed, skipped)
        snapshot = self._write(tree, head, reason, sorted(dirty), skipped)
        self._written = (dict(dirty), snapshot)
        return Taken(snapshot, sorted(dirty), user_changed, skipped)

    def take_paths(self, reason: str, paths: Sequence[str]) -> Snapshot | None:
        """Store the current state of ``paths`` (ignored files too), with the rest of the
        work known from the last look, in a new snapshot; None when none of them exist."""
        head = self._git.head()
        state: dict[str, TreeEntry | None] = dict(self._dirty) if self._head == head else {}
        for path in paths:
            full = self._worktree.root / path
            if full.is_symlink():
                target = os.fsencode(os.readlink(full))
                state[path] = TreeEntry("120000", self._objects.write_blob(target))
            elif full.is_file() and full.stat().st_size <= MAX_FILE_BYTES:
                mode = "100755" if os.access(full, os.X_OK) else "100644"
                state[path] = TreeEntry(mode, self._objects.write_blob(full.read_bytes()))
        if not state:
            return None
        tree = self._objects.rewrite_tree(self._objects.tree_of(head), state) or EMPTY_TREE
        return self._write(tree, head, reason, sorted(state), [])

    def _look(
        self, paths: Sequence[str], head: str
    ) -> tuple[dict[str, TreeEntry | None], list[str]]:
        """The paths whose working-tree state differs from HEAD, with that state."""
        dirty: dict[str, TreeEntry | None] = {}
        skipped: list[str] = []
        to_hash: list[str] = []
        for path in paths:
            at_head = self._objects.entry_at(head, path)
            if at_head is not None and at_head.mode == "160000":
                continue  # a submodule's work is its own repository's business
            full = self._worktree.root / path
            try:
                info = os.lstat(full)
            except OSError:
                if at_head is not None and not at_head.is_tree:
                    dirty[path] = None  # deleted
                continue
            if stat.S_ISDIR(info.st_mode):
                continue
            if at_head is None and info.st_size > MAX_FILE_BYTES and not stat.S_ISLNK(info.st_mode):
                skipped.append(path)
                continue
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode)
            known = self._hashed.get(path)
            if known is not None and known[0] == stamp:
                entry = known[1]
            elif stat.S_ISLNK(info.st_mode) or stat.S_ISREG(info.st_mode):
                to_hash.append(path)
                continue
            else:
                continue  # a socket, a FIFO: nothing git could store
            if entry != at_head:
                dirty[path] = entry
        if to_hash:
            head_has = {p for p in to_hash if self._objects.entry_at(head, p) is not None}
            for change in self._worktree.changes(to_hash, head):
                if change.entry is None:
                    continue
                path = change.path
                try:
                    info = os.lstat(self._worktree.root / path)
                except OSError:
                    continue
                stamp = (info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode)
                self._hashed[path] = (stamp, change.entry)
                if path in head_has and change.entry == self._objects.entry_at(head, path):
                    continue
                dirty[path] = change.entry
        if len(self._hashed) > 10_000:
            self._hashed.clear()
        return dirty, skipped

    def _write(
        self, tree: str, head: str, reason: str, paths: list[str], skipped: list[str]
    ) -> Snapshot:
        shown = ", ".join(escape_surrogates(p) for p in paths[:20])
        more = f" and {len(paths) - 20} more" if len(paths) > 20 else ""
        body = f"Files: {shown}{more}\n"
        if skipped:
            big = ", ".join(escape_surrogates(p) for p in skipped[:20])
            body += f"Too big to keep: {big}\n"
        message = f"autogpt-tui snapshot: {reason}\n\n{body}"
        sha = self._objects.write_commit(tree, head, message, self._git.user_identity())
        existing = self.all()
        number = (existing[0].number + 1) if existing else 1
        commands = [f"create {SNAPSHOTS_REF}/{number} {sha}"]
        commands += [f"delete {old.ref} {old.sha}" for old in existing[KEEP - 1 :]]
        self._git.update_refs(commands, "autogpt-tui: snapshot of the user's work")
        return Snapshot(number, sha, head, int(time.time()), reason)

    # --------------------------------------------------------------- reading

    def all(self) -> list[Snapshot]:
        """Every kept snapshot, newest first."""
        out = self._git.run(
            "for-each-ref",
            "--format=%(refname)%00%(objectname)%00%(parent)%00%(committerdate:unix)%00%(subject)",
            SNAPSHOTS_REF + "/",
        )
        found: list[Snapshot] = []
        for line in out.splitlines():
            parts = line.split("\0")
            if len(parts) != 5:
                continue
            ref, sha, parent, when, subject = parts
            tail = ref.rsplit("/", 1)[-1]
            if not tail.isdigit():
                continue
            reason = subject.removeprefix("autogpt-tui snapshot: ")
            found.append(Snapshot(int(tail), sha, parent.split(" ")[0], int(when or 0), reason))
        found.sort(key=lambda s: s.number, reverse=True)
        return found

    def newest(self) -> Snapshot | None:
        """The newest snapshot, or None."""
        found = self.all()
        return found[0] if found else None

    def find(self, name: str) -> Snapshot:
        """The snapshot ``name`` (its number) names, or SnapshotNotFound."""
        found = self.all()
        if not found:
            raise SnapshotNotFound("There are no snapshots of your work in this workspace.")
        if not name.isdigit():
            raise SnapshotNotFound(
                f"{name!r} is not a snapshot number; `autogpt-tui recover --list` lists them."
            )
        for snapshot in found:
            if snapshot.number == int(name):
                return snapshot
        raise SnapshotNotFound(
            f"There is no snapshot {name}; `autogpt-tui recover --list` lists the "
            f"{len(found)} kept."
        )

    def files(self, snapshot: Snapshot) -> list[str]:
        """The paths a snapshot holds uncommitted work for."""
        objects = self._objects
        return objects.diff_trees(objects.tree_of(snapshot.head), objects.tree_of(snapshot.sha))

    # ------------------------------------------------------------- recovering

    def recover(self, snapshot: Snapshot) -> Recovered:
        """Put the snapshot's versions of its files back in the working tree.

        The files' current state is snapshotted first, so a recovery can itself be
        recovered from. The index and HEAD are not touched.
        """
        paths = self.files(snapshot)
        saved = self.take(f"before recovering snapshot {snapshot.number}").snapshot
        root = self._worktree.root.resolve()
        for path in paths:
            try:
                self._restore(root, path, self._objects.entry_at(snapshot.sha, path))
            except OSError as error:
                kept = f" (what it replaced is in snapshot {saved.number})" if saved else ""
                raise UserError(
                    f"Can't recover {escape_surrogates(path)}: {error.strerror or error}; "
                    f"the files listed before it were recovered{kept}."
                ) from None
        self._dirty, self._head, self._written = {}, None, None  # the next look scans afresh
        return Recovered(paths, saved)

    def _restore(self, root: Path, path: str, entry: TreeEntry | None) -> None:
        """Give the working-tree file ``path`` the snapshot's ``entry`` (None: no file)."""
        target = root / path
        _check_inside(root, target)
        if entry is None:
            if target.is_file() or target.is_symlink():
                target.unlink()
            return
        data = self._objects.read_blob(entry.sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() and not target.is_symlink():
            raise UserError(f"Can't recover {escape_surrogates(path)}: a folder stands there now.")
        if (
            entry.mode == "120000"
            or target.is_symlink()
            or (target.exists() and not target.is_file())
        ):
            target.unlink(missing_ok=True)
        if entry.mode == "120000":
            os.symlink(os.fsdecode(data), target)
            return
        replace_file(target, data)  # a new file renamed over: never half written
        mode = target.stat().st_mode
        # Executable where readable, as git checks out a 100755 file.
        wanted = mode | (mode & 0o444) >> 2 if entry.mode == "100755" else mode & ~0o111
        if wanted != mode:
            os.chmod(target, wanted)


_ABSENT = TreeEntry("", "")


def _is_git_path(path: str) -> bool:
    return path == ".git" or path.startswith(".git/")


def _check_inside(root: Path, target: Path) -> None:
    """Refuse to write through a folder that became a link out of the workspace."""
    parent = target.parent.resolve()
    if parent != root and not parent.is_relative_to(root):
        raise UserError(
            f"Can't recover {escape_surrogates(str(target))}: its folder now leads "
            "outside the workspace."
        )
