"""The workspace watcher, on real folders with real inotify (Linux) or polling.

Timing is never asserted beyond generous deadlines, and nothing sleeps for a guessed time:
a subscribed ``Recorder`` wakes the test at each change set, and ``drained`` drains until
the expected paths have arrived.
"""

from __future__ import annotations

import errno
import logging
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from autogpt_tui.core import watch_observers
from autogpt_tui.core.watcher import ChangeSet, WorkspaceWatcher
from tests.conftest import git

if TYPE_CHECKING:
    # Imported inside the tests at run time: the module raises on import off Linux.
    from watchdog.observers.inotify_c import (
        CallbackId,
        InotifyFD,
        Mask,
        WatchCallback,
        WatchDescriptor,
    )

DEADLINE_S = 5.0

if not sys.platform.startswith("linux") or not watch_observers.HAVE_INOTIFY:
    pytest.skip("these tests exercise inotify (Linux)", allow_module_level=True)

# The watcher installs this filter at import, but pytest resets filters after collection.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id .* already exists:RuntimeWarning")


class Recorder:
    """A subscriber that remembers every change set, and wakes whoever waits for one."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.calls: list[ChangeSet] = []
        self.last_call = float("-inf")
        self.pending: set[str] = set()
        """Paths told of since ``drained`` last returned."""
        self.pending_overflow = False
        """An overflow was told of since ``drained`` last returned."""

    def __call__(self, change: ChangeSet) -> None:
        with self.cond:
            self.calls.append(change)
            self.pending |= change.paths
            self.pending_overflow |= change.overflow
            self.last_call = time.monotonic()
            self.cond.notify_all()

    def union(self) -> set[str]:
        with self.cond:
            return {path for change in self.calls for path in change.paths}

    def overflowed(self) -> bool:
        with self.cond:
            return any(change.overflow for change in self.calls)

    def wait_for(self, condition: Callable[[], bool], timeout: float = DEADLINE_S) -> bool:
        """Wait until ``condition`` holds, re-checking at each change set; its final value."""
        with self.cond:
            return self.cond.wait_for(condition, timeout)

    def wait_quiet(self, quiet_s: float) -> None:
        """Wait until no change set came for ``quiet_s`` (so late ones get counted too)."""
        start = time.monotonic()
        deadline = start + DEADLINE_S
        with self.cond:
            while (remaining := max(start, self.last_call) + quiet_s - time.monotonic()) > 0:
                assert time.monotonic() < deadline, "the changes never stopped"
                self.cond.wait(remaining)


def drained(
    watcher: WorkspaceWatcher, recorder: Recorder, expected: set[str], *, overflow: bool = False
) -> ChangeSet:
    """Wait until ``recorder`` was told of ``expected`` (or of an overflow), then drain.

    ``recorder`` must be subscribed to ``watcher``. A change set is delivered only after
    ``debounce_s`` without events, so every event of the writes that made ``expected``
    (a write is a create and a modify or two) has reached the drain by then.
    """
    with recorder.cond:
        recorder.cond.wait_for(
            lambda: recorder.pending_overflow if overflow else expected <= recorder.pending,
            DEADLINE_S,
        )
        recorder.pending = set()
        recorder.pending_overflow = False
        return watcher.drain()


def join_threads(threads: Iterable[threading.Thread]) -> None:
    """Wait for ``threads`` to end (each within the deadline)."""
    for thread in threads:
        thread.join(DEADLINE_S)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a committed file and a subfolder (made before any watcher)."""
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "README.md").write_text("# demo\n")
    (root / "src" / "app.py").write_text("def main():\n    return 1\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def recorder() -> Recorder:
    """A subscriber for the test's watcher."""
    return Recorder()


@pytest.fixture
def watcher(repo: Path, recorder: Recorder) -> Iterator[WorkspaceWatcher]:
    """A native watcher on ``repo`` with ``recorder`` subscribed, stopped after the test."""
    with WorkspaceWatcher(repo) as w:
        assert not w.polling, w.notice
        unsubscribe = w.subscribe(recorder)
        yield w
        unsubscribe()


# -- what gets reported -------------------------------------------------------------------


def test_a_user_edit_shows_up_in_drain_with_its_relative_path(
    repo: Path, watcher: WorkspaceWatcher, recorder: Recorder
) -> None:
    assert watcher.drain() == ChangeSet()
    (repo / "src" / "app.py").write_text("def main():\n    return 2\n")

    assert drained(watcher, recorder, {"src/app.py"}) == ChangeSet(frozenset({"src/app.py"}))
    assert watcher.drain() == ChangeSet()  # drained means forgotten


def test_a_new_file_in_a_new_subfolder_is_reported_with_its_folders(
    repo: Path, watcher: WorkspaceWatcher, recorder: Recorder
) -> None:
    (repo / "pkg" / "sub").mkdir(parents=True)
    (repo / "pkg" / "sub" / "new.py").write_text("x = 1\n")

    assert drained(watcher, recorder, {"pkg", "pkg/sub", "pkg/sub/new.py"}).paths == {
        "pkg",
        "pkg/sub",
        "pkg/sub/new.py",
    }

    # The new folder is watched from now on.
    (repo / "pkg" / "sub" / "new.py").write_text("x = 2\n")
    assert drained(watcher, recorder, {"pkg/sub/new.py"}).paths == {"pkg/sub/new.py"}


def test_deletes_and_moves_report_source_and_destination(
    repo: Path, watcher: WorkspaceWatcher, recorder: Recorder, tmp_path: Path
) -> None:
    (repo / "README.md").unlink()
    assert drained(watcher, recorder, {"README.md"}).paths == {"README.md"}

    (repo / "src" / "app.py").rename(repo / "src" / "main.py")
    assert drained(watcher, recorder, {"src/app.py", "src/main.py"}).paths == {
        "src/app.py",
        "src/main.py",
    }

    (repo / "src").rename(repo / "lib")
    assert drained(watcher, recorder, {"src", "src/main.py", "lib", "lib/main.py"}).paths == {
        "src",
        "src/main.py",
        "lib",
        "lib/main.py",
    }

    # Out of the workspace it is a deletion, into it a creation.
    outside = tmp_path / "outside.py"
    (repo / "lib" / "main.py").rename(outside)
    assert drained(watcher, recorder, {"lib/main.py"}).paths == {"lib/main.py"}
    outside.rename(repo / "back.py")
    assert drained(watcher, recorder, {"back.py"}).paths == {"back.py"}


def test_git_own_churn_never_produces_a_change(repo: Path) -> None:
    recorder = Recorder()
    with WorkspaceWatcher(repo, on_change=recorder, debounce_s=0.05) as w:
        (repo / "notes.txt").write_text("user edit\n")
        assert drained(w, recorder, {"notes.txt"}).paths == {"notes.txt"}
        recorder.wait_quiet(0.3)
        calls_before = len(recorder.calls)

        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "user edit")
        git(repo, "tag", "v1")
        git(repo, "gc", "-q")
        (repo / ".git" / "index.lock").write_text("")
        (repo / ".git" / "index.lock").unlink()
        # A nested repository's .git is git's business too.
        (repo / "vendor").mkdir()
        git(repo / "vendor", "init", "-q")
        assert drained(w, recorder, {"vendor"}).paths == {"vendor"}

        recorder.wait_quiet(0.3)
        assert [c.paths for c in recorder.calls[calls_before:]] == [frozenset({"vendor"})]


# -- debouncing and coalescing ----------------------------------------------------------


def _write_burst(root: Path, count: int) -> set[str]:
    """Write ``count`` files in 10 existing folders; their relative paths."""
    written = set()
    for i in range(count):
        relative = f"burst/d{i % 10}/f{i:04}.txt"
        (root / relative).write_text(f"{i}\n")
        written.add(relative)
    return written


def test_a_burst_of_1000_writes_makes_at_most_3_callbacks_covering_every_path(
    repo: Path,
) -> None:
    for d in range(10):
        (repo / "burst" / f"d{d}").mkdir(parents=True)
    recorder = Recorder()
    with WorkspaceWatcher(repo, on_change=recorder) as w:
        written = _write_burst(repo, 1000)

        assert recorder.wait_for(lambda: written <= recorder.union())
        recorder.wait_quiet(3 * w.debounce_s)
        assert 1 <= len(recorder.calls) <= 3
        assert recorder.union() == written
        assert not recorder.overflowed()
        # The drain consumer gets everything too, independently of the callbacks.
        assert drained(w, recorder, written) == ChangeSet(frozenset(written))


def test_a_burst_beyond_max_paths_overflows_and_drops_the_paths(repo: Path) -> None:
    for d in range(10):
        (repo / "burst" / f"d{d}").mkdir(parents=True)
    recorder = Recorder()
    with WorkspaceWatcher(repo, on_change=recorder, max_paths=100) as w:
        _write_burst(repo, 1000)

        assert recorder.wait_for(recorder.overflowed)
        recorder.wait_quiet(3 * w.debounce_s)
        assert len(recorder.calls) <= 3
        overflowed = [c for c in recorder.calls if c.overflow]
        assert all(c.paths == frozenset() for c in overflowed)
        assert drained(w, recorder, set(), overflow=True) == ChangeSet(frozenset(), overflow=True)
        assert w.drain() == ChangeSet()


def test_a_continuous_storm_still_delivers_every_max_latency(repo: Path) -> None:
    recorder = Recorder()
    with WorkspaceWatcher(repo, on_change=recorder, debounce_s=0.2, max_latency_s=0.3):
        target = repo / "log.txt"
        # Writes every 20 ms never leave 0.2 s of quiet: only max_latency_s delivers.
        start = time.monotonic()
        while not recorder.calls and time.monotonic() - start < DEADLINE_S:
            target.write_text(f"{time.monotonic()}\n")
            # The next write in 20 ms, unless a change set comes first.
            recorder.wait_for(lambda: bool(recorder.calls), timeout=0.02)
        assert recorder.calls, "no callback during a continuous storm"
        assert recorder.calls[0].paths == {"log.txt"}


def test_a_failing_callback_does_not_stop_the_watcher(repo: Path) -> None:
    recorder = Recorder()

    def flaky(change: ChangeSet) -> None:
        recorder(change)
        if len(recorder.calls) == 1:
            raise RuntimeError("consumer bug")

    with WorkspaceWatcher(repo, on_change=flaky, debounce_s=0.05) as w:
        (repo / "a.txt").write_text("1\n")
        assert recorder.wait_for(lambda: len(recorder.calls) == 1)
        (repo / "b.txt").write_text("2\n")
        assert recorder.wait_for(lambda: len(recorder.calls) == 2)
        assert recorder.calls[1].paths == {"b.txt"}
        assert drained(w, recorder, {"a.txt", "b.txt"}).paths == {"a.txt", "b.txt"}


def test_every_subscriber_gets_every_change_set_until_it_unsubscribes(repo: Path) -> None:
    first, second = Recorder(), Recorder()
    with WorkspaceWatcher(repo, debounce_s=0.05) as w:
        unsubscribe_first = w.subscribe(first)
        unsubscribe_second = w.subscribe(second)
        (repo / "a.txt").write_text("1\n")
        assert first.wait_for(lambda: first.union() == {"a.txt"})
        assert second.wait_for(lambda: second.union() == {"a.txt"})

        unsubscribe_first()
        (repo / "b.txt").write_text("2\n")
        assert second.wait_for(lambda: "b.txt" in second.union())
        assert first.union() == {"a.txt"}
        # Draining is independent of the subscribers.
        assert drained(w, second, {"a.txt", "b.txt"}).paths == {"a.txt", "b.txt"}
        unsubscribe_second()


def test_a_folder_without_git_is_watched_too(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    recorder = Recorder()
    with WorkspaceWatcher(tmp_path / "plain", debounce_s=0.1, on_change=recorder) as w:
        (tmp_path / "plain" / "a.txt").write_text("1\n")
        assert drained(w, recorder, {"a.txt"}).paths == {"a.txt"}


# -- falling back to polling --------------------------------------------------------------


def _raise_enospc(*args: object, **kwargs: object) -> NoReturn:
    raise OSError(errno.ENOSPC, "inotify watch limit reached")


def _fail_add_callback_for(monkeypatch: pytest.MonkeyPatch, suffix: bytes) -> None:
    """Make inotify hit its watch limit on folders whose path ends in ``suffix``.

    Patches watchdog's ``InotifyFD``, so the watcher's subclass meets the error through
    ``super()`` exactly as it would meet the real one.
    """
    from watchdog.observers.inotify_c import InotifyFD

    original = InotifyFD.add_callback

    def add_callback(
        self: InotifyFD, path: bytes, mask: Mask, callback: WatchCallback, id_: CallbackId
    ) -> WatchDescriptor:
        if path.endswith(suffix):
            _raise_enospc()
        return original(self, path, mask, callback, id_)

    monkeypatch.setattr(InotifyFD, "add_callback", add_callback)


def test_falls_back_to_polling_when_the_watch_limit_is_reached(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_observers.InotifyObserver, "schedule", _raise_enospc)
    recorder = Recorder()
    with WorkspaceWatcher(repo, poll_interval_s=0.1, on_change=recorder) as w:
        assert w.polling
        assert w.notice is not None
        assert "polled every 0.1 s" in w.notice
        assert "fs.inotify.max_user_watches" in w.notice

        (repo / "src" / "app.py").write_text("changed\n")
        (repo / "new").mkdir()
        (repo / "new" / "file.txt").write_text("new\n")
        (repo / ".git" / "index.lock").write_text("")  # still ignored
        assert drained(w, recorder, {"src/app.py", "new", "new/file.txt"}).paths == {
            "src/app.py",
            "new",
            "new/file.txt",
        }


def test_falls_back_when_a_subfolder_cannot_be_watched(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # watchdog swallows a failure below the root; the watcher must notice it anyway.
    _fail_add_callback_for(monkeypatch, b"/src")
    recorder = Recorder()
    with WorkspaceWatcher(repo, poll_interval_s=0.1, on_change=recorder) as w:
        assert w.polling
        assert w.notice is not None and "max_user_watches" in w.notice
        (repo / "src" / "app.py").write_text("changed\n")
        assert drained(w, recorder, {"src/app.py"}).paths == {"src/app.py"}


def test_switches_to_polling_when_a_new_folder_cannot_be_watched(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    with WorkspaceWatcher(repo, poll_interval_s=0.1, on_change=recorder, debounce_s=0.05) as w:
        assert not w.polling
        _fail_add_callback_for(monkeypatch, b"/huge")
        (repo / "huge").mkdir()

        # Changes may have been missed during the switch: both consumers must rescan.
        assert drained(w, recorder, set(), overflow=True).overflow
        assert w.polling
        assert w.notice is not None and "max_user_watches" in w.notice

        (repo / "huge" / "inside.txt").write_text("seen by polling\n")
        assert drained(w, recorder, {"huge/inside.txt"}).paths == {"huge/inside.txt"}


def test_force_polling_polls_without_a_notice(repo: Path) -> None:
    recorder = Recorder()
    with WorkspaceWatcher(repo, force_polling=True, poll_interval_s=0.1, on_change=recorder) as w:
        assert w.polling
        assert w.notice is None
        (repo / "README.md").write_text("edited\n")
        (repo / "src" / "app.py").rename(repo / "src" / "main.py")
        assert drained(w, recorder, {"README.md", "src/app.py", "src/main.py"}).paths == {
            "README.md",
            "src/app.py",
            "src/main.py",
        }


def test_a_kernel_queue_overflow_asks_for_a_rescan(
    repo: Path, watcher: WorkspaceWatcher, recorder: Recorder
) -> None:
    # Overflowing the real queue takes ~16k unread events; feed the overflow event directly.
    observer = watcher._observer
    assert isinstance(observer, watch_observers.InotifyObserver)
    from watchdog.observers.inotify_c import (
        InotifyConstants,
        InotifyEvent,
        Mask,
        WatchDescriptor,
    )

    overflow = InotifyEvent(WatchDescriptor(-1), Mask(InotifyConstants.IN_Q_OVERFLOW), 0, b"")
    observer._inotify_fd.handle_event(overflow)

    assert drained(watcher, recorder, set(), overflow=True) == ChangeSet(frozenset(), overflow=True)
    # Still watching afterwards.
    (repo / "README.md").write_text("after\n")
    assert drained(watcher, recorder, {"README.md"}).paths == {"README.md"}


# -- lifecycle ----------------------------------------------------------------------------


def _watcher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("watcher:")]


@pytest.mark.parametrize("force_polling", [False, True], ids=["inotify", "polling"])
def test_stop_is_prompt_idempotent_and_joins_the_threads(repo: Path, force_polling: bool) -> None:
    before = set(threading.enumerate())
    w = WorkspaceWatcher(repo, force_polling=force_polling, on_change=lambda change: None)
    w.start()
    w.start()  # idempotent
    assert w.running
    (repo / "README.md").write_text("pending callback\n")

    start = time.monotonic()
    w.stop()
    assert time.monotonic() - start < DEADLINE_S
    w.stop()
    assert not w.running
    join_threads(set(threading.enumerate()) - before)
    assert set(threading.enumerate()) <= before


def test_stop_from_inside_the_callback(repo: Path) -> None:
    stopped = threading.Event()
    w: WorkspaceWatcher

    def stop_now(change: ChangeSet) -> None:
        w.stop()
        stopped.set()

    w = WorkspaceWatcher(repo, on_change=stop_now, debounce_s=0.05)
    w.start()
    (repo / "README.md").write_text("bye\n")
    assert stopped.wait(DEADLINE_S)
    assert not w.running
    join_threads(_watcher_threads())
    assert not _watcher_threads()


def test_a_restart_reports_overflow_for_changes_made_while_stopped(repo: Path) -> None:
    recorder = Recorder()
    w = WorkspaceWatcher(repo, on_change=recorder)
    with w:
        pass
    (repo / "README.md").write_text("while stopped\n")
    with w:
        assert drained(w, recorder, set(), overflow=True) == ChangeSet(frozenset(), overflow=True)
        (repo / "README.md").write_text("while running\n")
        assert drained(w, recorder, {"README.md"}).paths == {"README.md"}


def test_the_root_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        WorkspaceWatcher(tmp_path / "missing").start()
    with pytest.raises(ValueError):
        WorkspaceWatcher(tmp_path, debounce_s=-1)


def test_a_symlinked_root_reports_paths_relative_to_it(repo: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(repo, target_is_directory=True)
    recorder = Recorder()
    with WorkspaceWatcher(link, on_change=recorder) as w:
        (link / "src" / "app.py").write_text("via link\n")
        assert drained(w, recorder, {"src/app.py"}).paths == {"src/app.py"}


def test_removing_the_workspace_asks_for_a_rescan(repo: Path) -> None:
    recorder = Recorder()
    with WorkspaceWatcher(repo, on_change=recorder) as w:
        shutil.rmtree(repo)
        assert drained(w, recorder, set(), overflow=True).overflow


def test_change_set_truthiness() -> None:
    assert not ChangeSet()
    assert ChangeSet(frozenset({"a"}))
    assert ChangeSet(overflow=True)


def test_stopping_with_events_on_their_way_in_logs_nothing(
    repo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # watchdog holds a move out of the tree for half a second, waiting for its other
    # half; a watcher stopped meanwhile used to make watchdog log an error ("called when
    # the thread is inactive"), which reached stderr at the end of nearly every run.
    outside = tmp_path / "outside"
    outside.mkdir()

    def stop_with_a_move_held_back(name: str) -> None:
        recorder = Recorder()
        w = WorkspaceWatcher(repo, on_change=recorder)
        w.start()
        (repo / name).write_text("soon elsewhere\n")
        (repo / name).rename(outside / name)
        # The write is told of while the move is still held back.
        assert recorder.wait_for(lambda: name in recorder.union())
        with caplog.at_level(logging.DEBUG, logger="watchdog"):
            w.stop()

    for n in range(3):
        stop_with_a_move_held_back(f"moved-{n}.txt")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
