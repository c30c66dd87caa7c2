"""One agent per workspace: a lock file in the repository's common git directory.

``.git/autogpt-tui/lock`` holds who works in the workspace (pid, host, start time, as
JSON); the lock itself is an ``fcntl.flock`` on that file, held on an open descriptor
for as long as the agent works.

Why flock rather than creating the file with ``O_CREAT|O_EXCL``: the kernel drops a
flock when its process dies, however it dies (SIGKILL, a power cut, an OOM kill), so a
lock can never be left behind by a dead agent, and a recycled pid can never make a
dead agent's lock look alive. A lock file left by a dead process is simply not locked,
and the next agent takes it over and writes its own details into it. The file's JSON
is only there to tell the user who holds the workspace. Python opens files
non-inheritable, so a command the agent starts (even one left running in the
background) never inherits the lock and never keeps it after the agent ends.

Where flock is not supported (some network or FUSE file systems) the lock falls back
to the file's contents: a pid that is alive on this host holds it, a dead one is stale
and taken over.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autogpt_tui.core.errors import LockUnavailable, WorkspaceLocked

LOCK_FOLDER = "autogpt-tui"
"""The folder in the common git directory that holds the lock (and other state)."""
LOCK_NAME = "lock"
"""The lock file's name inside ``LOCK_FOLDER``."""

_READ_ATTEMPTS = 50
"""How often to re-read a lock file caught half-written by its new holder."""
_READ_PAUSE_S = 0.01


@dataclass(frozen=True)
class LockHolder:
    """Who holds a workspace: what the lock file says."""

    pid: int
    host: str
    started: float
    """When the holder took the lock (seconds since the epoch)."""
    command: str = ""
    """What the holder runs: ``run``, ``tui``, ``undo`` …"""

    def describe(self) -> str:
        """``pid 1234 on host, since 10:02`` for the refusal sentence."""
        when = datetime.fromtimestamp(self.started)
        today = datetime.now().date() == when.date()
        since = when.strftime("%H:%M" if today else "%Y-%m-%d %H:%M")
        return f"pid {self.pid} on {self.host}, since {since}"

    def to_json(self) -> str:
        """The lock file's contents."""
        data = {"pid": self.pid, "host": self.host, "started": self.started}
        if self.command:
            data["command"] = self.command
        return json.dumps(data)

    @classmethod
    def parse(cls, text: str) -> LockHolder | None:
        """The holder a lock file names, or None when it is empty or not ours."""
        try:
            data = json.loads(text)
            holder = cls(
                pid=int(data["pid"]),
                host=str(data["host"]),
                started=float(data["started"]),
                command=str(data.get("command", "")),
            )
        except (ValueError, TypeError, KeyError):
            return None
        return holder


def lock_path(common_dir: Path) -> Path:
    """Where the workspace lock of the repository with this common git dir lives."""
    return common_dir / LOCK_FOLDER / LOCK_NAME


def locked_sentence(holder: LockHolder | None, *, doing: str = "") -> str:
    """The one sentence that says who holds the workspace (``doing``: what was refused)."""
    who = f"Another autogpt-tui ({holder.describe()})" if holder else "Another autogpt-tui"
    tail = f"{doing} must wait until it ends" if doing else "wait until it ends"
    return f"{who} is working in this workspace; {tail}, or stop it first."


class WorkspaceLock:
    """The lock on one workspace, held by this process until :meth:`release`."""

    def __init__(self, path: Path, fd: int | None, holder: LockHolder) -> None:
        self.path = path
        """The lock file."""
        self.holder = holder
        """What the lock file says about us."""
        self._fd = fd  # None: flock unsupported, the file's contents are the lock

    @classmethod
    def acquire(cls, common_dir: Path, *, command: str = "", doing: str = "") -> WorkspaceLock:
        """Take the workspace's lock, or raise WorkspaceLocked naming who holds it.

        A lock left by a dead process is taken over. Nothing is written when the lock is
        held by someone else. ``doing`` words the refusal (``"undo"`` …).
        """
        path = lock_path(common_dir)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise LockUnavailable(
                f"Cannot take the workspace lock {path}: {err.strerror or err}."
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise WorkspaceLocked(locked_sentence(_read_holder(path), doing=doing)) from None
            return cls._acquire_by_pid(path, command=command, doing=doing)
        me = LockHolder(os.getpid(), socket.gethostname(), time.time(), command)
        try:
            _write_over(fd, me.to_json().encode())
        except OSError:
            os.close(fd)  # closing drops the flock
            raise
        return cls(path, fd, me)

    @classmethod
    def _acquire_by_pid(cls, path: Path, *, command: str, doing: str) -> WorkspaceLock:
        """The lock where flock is not supported: the pid in the file, if alive, holds it."""
        holder = _read_holder(path)
        if holder is not None and holder.pid != os.getpid() and _alive(holder):
            raise WorkspaceLocked(locked_sentence(holder, doing=doing))
        me = LockHolder(os.getpid(), socket.gethostname(), time.time(), command)
        tmp = path.with_name(f"{LOCK_NAME}.{os.getpid()}.tmp")
        tmp.write_text(me.to_json())
        tmp.replace(path)  # atomic: a reader never sees half of it
        return cls(path, None, me)

    def release(self) -> None:
        """Give the lock up (idempotent); the file is emptied so it names nobody."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # while still locked: nobody else is writing it
            os.close(fd)  # drops the flock
            return
        if _read_holder(self.path) == self.holder:
            with contextlib.suppress(OSError):
                self.path.unlink()

    def __enter__(self) -> WorkspaceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(path: Path) -> LockHolder | None:
    """What a lock file says; re-read briefly when its new holder is still writing it."""
    for _ in range(_READ_ATTEMPTS):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return None
        holder = LockHolder.parse(text)
        if holder is not None:
            return holder
        # The holder truncates and writes right after locking: wait for its few bytes.
        time.sleep(_READ_PAUSE_S)
    return None


def _write_over(fd: int, data: bytes) -> None:
    """Replace a locked file's contents: write first, then cut, so a reader sees the old
    or new details (or a mix it re-reads), never an empty file for long."""
    os.lseek(fd, 0, os.SEEK_SET)
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.ftruncate(fd, len(data))


def _alive(holder: LockHolder) -> bool:
    """Whether the holder's process still runs (on another host: assume it does)."""
    if holder.host != socket.gethostname():
        return True  # we cannot see it; the user can remove the file by hand
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, under another user
    return True
