"""The workspace lock: one holder at a time, named in the refusal; a dead holder's lock
is taken over; a command the holder started never inherits it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from autogpt_tui.core.errors import WorkspaceLocked
from autogpt_tui.core.lock import LockHolder, WorkspaceLock, lock_path, locked_sentence

HOLDER_SCRIPT = """
import subprocess, sys
from pathlib import Path
from autogpt_tui.core.lock import WorkspaceLock

lock = WorkspaceLock.acquire(Path(sys.argv[1]), command="run")
# A background command the holder starts, inheriting whatever it can (close_fds=False).
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                         stdin=subprocess.DEVNULL, close_fds=False)
print(child.pid, flush=True)
sys.stdin.read()
"""


class Holder:
    """Another process holding the lock of ``common_dir``, with a child of its own."""

    def __init__(self, common_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER_SCRIPT, str(common_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until the lock is held
        assert line.strip(), "the holder did not start"
        self.child = int(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the holder (its child lives on, orphaned)."""
        self.process.kill()
        self.process.wait()

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.child, signal.SIGKILL)


@pytest.fixture
def common_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "repo" / ".git"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def holder(common_dir: Path) -> Iterator[Holder]:
    h = Holder(common_dir)
    yield h
    h.close()


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_second_taker_is_told_who_holds_the_workspace(common_dir: Path, holder: Holder) -> None:
    with pytest.raises(WorkspaceLocked) as refused:
        WorkspaceLock.acquire(common_dir, command="run")
    since = datetime.now().strftime("%H:%M")
    message = str(refused.value)
    assert message.startswith(
        f"Another autogpt-tui (pid {holder.pid} on {socket.gethostname()}, since "
    )
    assert message.endswith(" is working in this workspace; wait until it ends, or stop it first.")
    # The minute it started (the test may straddle a minute boundary: either side is fine).
    assert since in message or datetime.now().strftime("%H:%M") in message
    data = json.loads(lock_path(common_dir).read_text())
    assert data["pid"] == holder.pid and data["host"] == socket.gethostname()
    assert data["command"] == "run"


def test_the_lock_is_free_again_once_released(common_dir: Path) -> None:
    first = WorkspaceLock.acquire(common_dir, command="tui")
    # flock is per open file: a second take in this very process is refused as well.
    with pytest.raises(WorkspaceLocked, match=f"pid {os.getpid()} on"):
        WorkspaceLock.acquire(common_dir)
    first.release()
    first.release()  # idempotent
    assert lock_path(common_dir).read_text() == ""  # names nobody
    with WorkspaceLock.acquire(common_dir, command="undo") as second:
        assert second.holder.pid == os.getpid()
        assert json.loads(lock_path(common_dir).read_text())["command"] == "undo"


def test_a_stale_lock_file_of_a_dead_process_is_taken_over(common_dir: Path) -> None:
    stale = LockHolder(dead_pid(), socket.gethostname(), 1_000_000_000.0, "run")
    lock_path(common_dir).parent.mkdir(parents=True)
    lock_path(common_dir).write_text(stale.to_json())
    with WorkspaceLock.acquire(common_dir) as lock:
        assert json.loads(lock_path(common_dir).read_text())["pid"] == os.getpid()
        assert lock.holder.pid == os.getpid()


def test_a_holder_killed_with_sigkill_leaves_no_lock_even_with_its_child_alive(
    common_dir: Path, holder: Holder
) -> None:
    holder.kill()
    os.kill(holder.child, 0)  # the holder's background command still runs
    with WorkspaceLock.acquire(common_dir) as lock:
        assert lock.holder.pid == os.getpid()


def test_the_sentence_names_what_was_refused() -> None:
    holder = LockHolder(4321, "box", datetime(2026, 1, 2, 10, 2).timestamp())
    assert locked_sentence(holder, doing="`undo`") == (
        "Another autogpt-tui (pid 4321 on box, since 2026-01-02 10:02) is working in this "
        "workspace; `undo` must wait until it ends, or stop it first."
    )
    assert locked_sentence(None).startswith("Another autogpt-tui is working")


def test_without_flock_the_pid_in_the_file_decides(
    common_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system without flock (some network or FUSE mounts) a live pid on this
    host holds the workspace and a dead one is stale."""
    import errno
    import fcntl

    def no_flock(_fd: int, _operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        path = lock_path(common_dir)
        path.parent.mkdir(parents=True)
        path.write_text(LockHolder(alive.pid, socket.gethostname(), 1_000_000_000.0).to_json())
        with pytest.raises(WorkspaceLocked, match=f"pid {alive.pid} on"):
            WorkspaceLock.acquire(common_dir)
        assert json.loads(path.read_text())["pid"] == alive.pid  # nothing written
    finally:
        alive.kill()
        alive.wait()
    path.write_text(LockHolder(dead_pid(), socket.gethostname(), 1_000_000_000.0).to_json())
    lock = WorkspaceLock.acquire(common_dir, command="run")
    assert json.loads(path.read_text())["pid"] == os.getpid()
    lock.release()
    assert not path.exists()
