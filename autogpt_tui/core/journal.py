"""Crash safety for the history: every operation is journalled, and finished or undone.

A step commit, an undo of N or a redo of N is carried out in the same order, by
:meth:`Journal.run`, so that a SIGKILL at any moment leaves something the next
``History.open`` can make whole:

1. **Objects.** Every new object (blobs, trees, commits, notes) is written first. A
   crash here leaves only unreferenced objects, which git ignores (``git fsck`` lists
   them as dangling, which is information, not damage) and ``gc`` prunes in time.
2. **Journal.** An :class:`Intent` is written to ``<git dir>/autogpt-tui/journal/``
   (temporary file, fsync, rename): the operation, who runs it (pid, host, process
   start time), every ref it moves with its old and new value (HEAD first), the paths
   whose index entries and files it may change, and the redo stack it leaves.
3. **Refs.** One `git update-ref --stdin` transaction moves them all: HEAD, the
   records or ratings notes, the refs keeping undone steps. This is the commit point;
   git applies a transaction entirely or not at all.
4. **Files.** The paths are brought in line with the new HEAD: a step's index entries
   (its files are already as committed), an undo's or redo's index entries and files.
5. **Redo stack** saved, then the journal removed.

Recovery (:meth:`Journal.recover`, run by every ``History.open``) looks at each journal
whose owner process is gone (a live owner, in this process or another, is in the
middle of its operation and is left alone):

- HEAD at the journal's new value: the refs moved, so the operation is **rolled
  forward** by doing steps 4 and 5 again. They are idempotent: a step's paths get
  HEAD's index entries (the user's working files are never touched, so an edit made
  since stays an unstaged edit); an undo's or redo's paths that still match the old
  HEAD are restored from the new one, and a path that matches neither (the user edited
  it since the crash) is left as the user has it.
- HEAD at the old value: the transaction never ran, and nothing but objects was
  written. Those objects are all there (they were written before the journal), so the
  transaction is run now, checking every old value, and the operation **rolled
  forward** as above: a step the agent took is committed with its record, an undo the
  user asked for is done. Only if a ref moved meanwhile (or objects went missing) is
  the operation **rolled back**, which means removing the journal.
- HEAD moved elsewhere (the user committed or checked out since): the user has
  carried on from the state they found, so the journal is dropped and nothing touched.

A crash before the journal is written leaves only unreferenced objects (and, for a
step, the action's changes uncommitted in the working tree, as before the step).
Recovery itself is idempotent, so a crash during it is recovered by the next open.

A rating is a single notes-ref update, atomic by itself, so it needs no journal. Undo
and redo fold their implicit ratings into their own transaction.

For tests, ``AUTOGPT_TUI_CRASH_AT=<checkpoint>:<n>`` makes :func:`crash_point` SIGKILL
its own process the n-th time the named checkpoint is passed (see CHECKPOINTS).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from autogpt_tui.core.git import ZERO_SHA, Git, ObjectStore, WorkTree
from autogpt_tui.core.git.worktree import nul_separated

CRASH_ENV = "AUTOGPT_TUI_CRASH_AT"
"""``<checkpoint>:<n>``: SIGKILL this process the n-th time the checkpoint is passed."""

Operation = Literal["step", "user", "undo", "redo", "land"]

CHECKPOINTS: dict[str, tuple[str, ...]] = {
    op: (f"{op}:objects", f"{op}:journal", f"{op}:refs", f"{op}:files", f"{op}:redo")
    for op in ("step", "user", "undo", "redo", "land")
}
"""Every checkpoint, per operation, in the order they are passed: between each pair of
writes (objects | journal | refs | files | redo stack | journal removed)."""
CHECKPOINTS["rate"] = ("rate:objects",)
CHECKPOINTS["recover"] = ("recover:files", "recover:redo")

_crash_plan: tuple[str, int] | Literal[False] | None = False  # False: env not read yet
_crash_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    """A checkpoint between two writes: SIGKILL here if ``AUTOGPT_TUI_CRASH_AT`` says so.

    The variable is read once per process; unset, a checkpoint costs a comparison.
    """
    global _crash_plan
    if _crash_plan is False:
        _crash_plan = _read_crash_plan(os.environ.get(CRASH_ENV, ""))
    if _crash_plan is None or _crash_plan[0] != name:
        return
    _crash_counts[name] = _crash_counts.get(name, 0) + 1
    if _crash_counts[name] == _crash_plan[1]:
        os.kill(os.getpid(), signal.SIGKILL)


def _read_crash_plan(value: str) -> tuple[str, int] | None:
    name, _, count = value.rpartition(":")
    if not name or not count.isdigit():
        return None
    return name, int(count)


# ------------------------------------------------------------------ redo stack


@dataclass
class RedoEntry:
    """How one undone step was taken back, so redo can bring it back the same way."""

    sha: str
    method: Literal["reset", "revert"]
    revert: str | None = None
    """The revert commit, when the step was taken back by one."""


class RedoStack:
    """The undone steps redo can bring back, one stack per branch (or detached HEAD).

    Kept in a file in the working tree's git directory, replaced atomically, so a crash
    never leaves half a stack.
    """

    def __init__(self, git: Git) -> None:
        self._git = git
        self._path = git.git_dir / "autogpt-tui" / "redo.json"

    def load(self, key: str | None = None) -> list[RedoEntry]:
        """The stack of branch ``key`` (HEAD's by default), most recently undone last."""
        raw = self._load_all().get(key or self._git.branch_key(), [])
        stack: list[RedoEntry] = []
        for item in raw if isinstance(raw, list) else []:
            try:
                stack.append(RedoEntry(item["sha"], item["method"], item.get("revert")))
            except (KeyError, TypeError):
                continue
        return stack

    def save(self, stack: Sequence[RedoEntry], key: str | None = None) -> None:
        """Replace the stack of branch ``key`` (HEAD's by default)."""
        data = self._load_all()
        key = key or self._git.branch_key()
        if not stack and key not in data:
            return
        data[key] = [asdict(e) for e in stack]
        write_atomically(self._path, json.dumps(data).encode())

    def _load_all(self) -> dict[str, list[dict[str, Any]]]:
        try:
            data = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def write_atomically(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data``: a crash leaves the old file or the new, never half.

    With ``sync`` the content reaches the disk before the name points at it, so that
    even a power cut leaves the old file or the new; without it, a killed process
    still does (the kernel has the file), and a power cut may leave an empty one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            if sync:
                os.fsync(out.fileno())  # the content is on disk before the name points at it
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------- intents


@dataclass
class RefMove:
    """One ref an operation moves: from ``old`` to ``new`` (ZERO_SHA: absent)."""

    ref: str
    old: str
    new: str
    check: bool = True
    """Whether the move requires the ref to hold ``old``. A cache ref (the step index,
    which says itself which HEAD it describes) is moved unchecked, so that a reader
    rebuilding it at the same moment can never make a step fail."""

    @classmethod
    def parse(cls, command: str) -> RefMove:
        """The move an ``update <ref> <new> <old>`` line of `update-ref --stdin` makes."""
        verb, ref, new, old = command.split(" ")
        if verb != "update":
            raise ValueError(f"not an update command: {command!r}")
        return cls(ref, old, new)

    def forward(self) -> str:
        """The `update-ref --stdin` command making this move, checking the old value."""
        if self.new == ZERO_SHA:
            return f"delete {self.ref} {self.old}" if self.check else f"delete {self.ref}"
        if not self.check:
            return f"update {self.ref} {self.new}"
        return f"update {self.ref} {self.new} {self.old}"

    def backward(self) -> str:
        """The command undoing this move, checking that the ref still has its new value."""
        return RefMove(self.ref, self.new, self.old, self.check).forward()


@dataclass
class Owner:
    """The process running an operation: while it lives, its journal is not ours."""

    pid: int
    host: str
    started: str

    @classmethod
    def me(cls) -> Owner:
        """This process."""
        return cls(os.getpid(), socket.gethostname(), _start_time(os.getpid()) or "")

    def alive(self) -> bool:
        """Whether the process is still running (or might be: another host's)."""
        if self.host != socket.gethostname():
            return True  # can't see another machine's processes: never take over
        if self.pid == os.getpid():
            return self.started == (_start_time(self.pid) or "")
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # another user's process of that pid exists
        started = _start_time(self.pid)
        # The pid may have been reused by a later process: the start time tells.
        return started is None or started == self.started


def _writer_alive(name: str) -> bool:
    """Whether the process whose pid starts a journal file's name (``PID-N.json...``)
    still runs: its file may be mid-write."""
    pid, _, _ = name.partition("-")
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process of that pid exists
    return True


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), None when unknown or a
    zombie (a process that has exited but not been reaped is as good as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return "exited"
    return fields[19]


@dataclass
class Intent:
    """What an operation is about to do, written down before it starts."""

    op: Operation
    reason: str
    """The reflog message."""
    refs: list[RefMove]
    """Every ref it moves, HEAD first, in one transaction."""
    paths: list[str]
    """The paths whose index entries (and, with ``restore``, files) follow HEAD."""
    restore: bool
    """Undo and redo change files too; a step's files already hold what it commits."""
    branch: str
    """The branch HEAD was on (the redo stack's key)."""
    redo_after: list[RedoEntry] | None
    """The redo stack it leaves, or None to leave the stack alone."""
    owner: Owner = field(default_factory=Owner.me)

    @property
    def head_before(self) -> str:
        """HEAD before the operation."""
        return self.refs[0].old

    @property
    def head_after(self) -> str:
        """HEAD once the operation is done."""
        return self.refs[0].new

    def to_json(self) -> bytes:
        """The journal file's content."""
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Intent:
        """Read a journal file back (ValueError, KeyError or TypeError if it is not one)."""
        raw = json.loads(data)
        redo = raw["redo_after"]
        return cls(
            op=raw["op"],
            reason=str(raw["reason"]),
            refs=[RefMove(**move) for move in raw["refs"]],
            paths=[str(p) for p in raw["paths"]],
            restore=bool(raw["restore"]),
            branch=str(raw["branch"]),
            redo_after=None if redo is None else [RedoEntry(**e) for e in redo],
            owner=Owner(**raw["owner"]),
        )


_sequence = itertools.count()


class Journal:
    """Carries out history operations journalled, and finishes those a crash cut short."""

    def __init__(self, git: Git, objects: ObjectStore, worktree: WorkTree) -> None:
        self._git = git
        self._objects = objects
        self._worktree = worktree
        self._dir = git.git_dir / "autogpt-tui" / "journal"
        self._redo = RedoStack(git)

    def run(self, intent: Intent) -> None:
        """Journal ``intent``, move its refs, bring its paths and redo stack in line.

        Should bringing the files in line fail (a file that cannot be written), the refs
        are moved back and the files restored: an operation is all or nothing.
        """
        op = intent.op
        crash_point(f"{op}:objects")
        path = self._dir / f"{os.getpid()}-{next(_sequence)}.json"
        # Synced only when git syncs the refs it moves (core.fsync): a journal is there
        # for a process killed mid-way, which it survives unsynced. Against a power cut
        # it could only help if the ref files were on disk too, which git by default
        # does not make sure of (nor of loose objects); a journal a power cut left
        # empty is unreadable and dropped by recover(), which costs at worst the
        # step's index entries (the commit is whole or absent, as git left it).
        write_atomically(path, intent.to_json(), sync=self._git.syncs_refs())
        try:
            crash_point(f"{op}:journal")
            self._git.update_refs([m.forward() for m in intent.refs], intent.reason)
            crash_point(f"{op}:refs")
            try:
                self._finish(intent, recovering=False)
            except Exception:
                self._roll_back(intent)
                raise
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        path.unlink()

    def recover(self) -> list[str]:
        """Finish or roll back every operation a crash cut short; returns what was done,
        one line each (``rolled forward``/``rolled back``/``dropped`` and the reason)."""
        try:
            names = sorted(os.listdir(self._dir))
        except FileNotFoundError:
            return []
        done: list[str] = []
        for name in names:
            path = self._dir / name
            if not name.endswith(".json"):
                if name.endswith(".tmp") and not _writer_alive(name):
                    # A journal write cut short: never the real one. One whose writer
                    # lives is being written now (by another thread, say the agent's
                    # while the TUI reads the history): removing it fails that write.
                    path.unlink(missing_ok=True)
                continue
            try:
                intent = Intent.from_json(path.read_bytes())
            except (OSError, ValueError, KeyError, TypeError):
                path.unlink(missing_ok=True)  # unreadable: written by no complete write
                continue
            if intent.owner.alive():
                continue  # still running: its owner finishes it
            done.append(f"{self._recover(intent)} {intent.reason}")
            path.unlink(missing_ok=True)
        return done

    def _recover(self, intent: Intent) -> str:
        head = self._git.head_or_none()
        if head == intent.head_before and head != intent.head_after:
            # Journalled, but the transaction never ran: every object it needs was written
            # before the journal, so it can still run, unless something moved meanwhile
            # (or git pruned the objects of a journal left for weeks).
            if not self._complete(intent):
                return "rolled back"
            head = intent.head_after
        if head == intent.head_after:
            self._finish(intent, recovering=True)
            return "rolled forward"
        # The user has carried on from the state they found: leave it as it is.
        return "dropped"

    def _complete(self, intent: Intent) -> bool:
        """Run the journalled transaction, if all it needs is there; True when it ran."""
        new = [m.new for m in intent.refs if m.new != ZERO_SHA]
        # An unchecked move's old value may be gone already (a cache ref moved since).
        old = [m.old for m in intent.refs if m.old != ZERO_SHA and m.check]
        check = self._git.try_run("rev-list", "--objects", "--quiet", *new, "--not", *old)
        if check.returncode != 0:
            return False
        script = "".join(f"{m.forward()}\n" for m in intent.refs).encode()
        moved = self._git.try_run(
            "update-ref", "-m", f"autogpt-tui: {intent.reason}", "--stdin", input=script
        )
        return moved.returncode == 0

    def _finish(self, intent: Intent, *, recovering: bool) -> None:
        """Steps 4 and 5: the paths follow the new HEAD, the redo stack is saved."""
        op = "recover" if recovering else intent.op
        after = intent.head_after
        if intent.paths:
            if intent.restore:
                paths = intent.paths
                if recovering:
                    # Only what still looks as the old HEAD had it is restored. What is
                    # done already is left, and so is a file the user changed since the
                    # crash: only its index entry follows HEAD, so that the user's
                    # version shows as their own unstaged change.
                    todo = self._worktree.local_changes(paths, after)
                    theirs = self._worktree.local_changes(todo, intent.head_before)
                    if theirs:
                        self._index_to(after, theirs)
                    paths = sorted(set(todo) - set(theirs))
                if paths:
                    self._worktree.restore_paths(after, paths)
            elif recovering:
                self._index_to(after, intent.paths)
            else:
                self._worktree.sync_index(intent.paths, after)
        crash_point(f"{op}:files")
        if intent.redo_after is not None:
            self._redo.save(intent.redo_after, intent.branch)
        crash_point(f"{op}:redo")

    def _index_to(self, commit: str, paths: Sequence[str]) -> None:
        """Set the index entries of ``paths`` to ``commit``'s, leaving the files alone."""
        self._git.run(
            "reset",
            "-q",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
            commit,
            input=nul_separated(paths),
        )

    def _roll_back(self, intent: Intent) -> None:
        """Undo a half-finished operation in this process: refs back, files back."""
        with contextlib.suppress(Exception):  # the original error is the one to report
            self._git.update_refs([m.backward() for m in intent.refs], "roll back")
            if intent.restore and intent.paths:
                self._worktree.restore_paths(intent.head_before, intent.paths)
