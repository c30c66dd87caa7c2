"""The workspace watcher, on real folders with real inotify (Linux) or polling.

Timing is never asserted beyond generous deadlines: ``settle()`` says when the events of
earlier writes have been delivered, and ``wait_until`` polls a condition with a deadline.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from autogpt_tui.core import watcher as watcher_module
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

if not sys.platform.startswith("linux") or not watcher_module._HAVE_INOTIFY:
    pytest.skip("these tests exercise inotify (Linux)", allow_module_level=True)

# The watcher installs this filter at import, but pytest resets filters after collection.
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id .* already exists:RuntimeWarning")


def wait_until(condition: Callable[[], bool], timeout: float = DEADLINE_S) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; its final value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Recorder:
    """An ``on_change`` callback that remembers every change set and when it came."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[ChangeSet] = []
        self.last_call = float("-inf")

    def __call__(self, change: ChangeSet) -> None:
        with self.lock:
            self.calls.append(change)
            self.last_call = time.monotonic()

    def union(self) -> set[str]:
        with self.lock:
            return {path for change in self.calls for path in change.paths}

    def overflowed(self) -> bool:
        with self.lock:
            return any(change.overflow for change in self.calls)

    def wait_quiet(self, quiet_s: float) -> None:
        """Wait until no callback came for ``quiet_s`` (so late ones get counted too)."""
        start = time.monotonic()
        assert wait_until(lambda: time.monotonic() - max(start, self.last_call) > quiet_s)


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
def watcher(repo: Path) -> Iterator[WorkspaceWatcher]:
    """A native watcher on ``repo``, stopped after the test."""
    with WorkspaceWatcher(repo) as w:
        assert not w.polling, w.notice
        yield w


def settled_drain(watcher: WorkspaceWatcher) -> ChangeSet:
    assert watcher.settle(timeout=DEADLINE_S)
    return watcher.drain()


# -- what gets reported -------------------------------------------------------------------


def test_a_user_edit_shows_up_in_drain_with_its_relative_path(
    repo: Path, watcher: WorkspaceWatcher
) -> None:
    assert watcher.drain() == ChangeSet()
    (repo / "src" / "app.py").write_text("def main():\n    return 2\n")

    assert settled_drain(watcher) == ChangeSet(frozenset({"src/app.py"}))
    assert watcher.drain() == ChangeSet()  # drained means forgotten


def test_a_new_file_in_a_new_subfolder_is_reported_with_its_folders(
    repo: Path, watcher: WorkspaceWatcher
) -> None:
    (repo / "pkg" / "sub").mkdir(parents=True)
    (repo / "pkg" / "sub" / "new.py").write_text("x = 1\n")

    assert settled_drain(watcher).paths == {"pkg", "pkg/sub", "pkg/sub/new.py"}

    # The new folder is watched from now on.
    (repo / "pkg" / "sub" / "new.py").write_text("x = 2\n")
    assert settled_drain(watcher).paths == {"pkg/sub/new.py"}


def test_deletes_and_moves_report_source_and_destination(
    repo: Path, watcher: WorkspaceWatcher, tmp_path: Path
) -> None:
    (repo / "README.md").unlink()
    assert settled_drain(watcher).paths == {"README.md"}

    (repo / "src" / "app.py").rename(repo / "src" / "main.py")
    assert settled_drain(watcher).paths == {"src/app.py", "src/main.py"}

    (repo / "src").rename(repo / "lib")
    assert settled_drain(watcher).paths == {"src", "src/main.py", "lib", "lib/main.py"}

    # Out of the workspace it is a deletion, into it a creation.
    outside = tmp_path / "outside.py"
    (repo / "lib" / "main.py").rename(outside)
    assert settled_drain(watcher).paths == {"lib/main.py"}
    outside.rename(repo / "back.py")
    assert settled_drain(watcher).paths == {"back.py"}


def test_git_own_churn_never_produces_a_change(repo: Path) -> None:
    recorder = Recorder()
    with WorkspaceWatcher(repo, on_change=recorder, debounce_s=0.05) as w:
        (repo / "notes.txt").write_text("user edit\n")
        assert settled_drain(w).paths == {"notes.txt"}
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
        assert settled_drain(w).paths == {"vendor"}

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

        assert wait_until(lambda: written <= recorder.union())
        recorder.wait_quiet(3 * w.debounce_s)
        assert 1 <= len(recorder.calls) <= 3
        assert recorder.union() == written
        assert not recorder.overflowed()
        # The drain consumer gets everything too, independently of the callbacks.
        assert settled_drain(w) == ChangeSet(frozenset(written))


def test_a_burst_beyond_max_paths_overflows_and_drops_the_paths(repo: Path) -> None:
    for d in range(10):
        (repo / "burst" / f"d{d}").mkdir(parents=True)
    recorder = Recorder()
    with WorkspaceWatcher(repo, on_change=recorder, max_paths=100) as w:
        _write_burst(repo, 1000)

        assert wait_until(recorder.overflowed)
        recorder.wait_quiet(3 * w.debounce_s)
        assert len(recorder.calls) <= 3
        overflowed = [c for c in recorder.calls if c.overflow]
        assert all(c.paths == frozenset() for c in overflowed)
        assert settled_drain(w) == ChangeSet(frozenset(), overflow=True)
        assert w.drain() == ChangeSet()


def test_a_continuous_storm_still_delivers_every_max_latency(repo: Path) -> None:
    recorder = Recorder()
    with WorkspaceWatcher(repo, on_change=recorder, debounce_s=0.2, max_latency_s=0.3):
        target = repo / "log.txt"
        # Writes every 20 ms never leave 0.2 s of quiet: only max_latency_s delivers.
        start = time.monotonic()
        while not recorder.calls and time.monotonic() - start < DEADLINE_S:
            target.write_text(f"{time.monotonic()}\n")
            time.sleep(0.02)
        assert recorder.calls, "no callback during a continuous storm"
        assert recorder.calls[0].paths == {"log.txt"}


def test_a_failing_callback_does_not_stop_the_watcher(repo: Path) -> None:
    calls: list[ChangeSet] = []

    def flaky(change: ChangeSet) -> None:
        calls.append(change)
        if len(calls) == 1:
            raise RuntimeError("consumer bug")

    with WorkspaceWatcher(repo, on_change=flaky, debounce_s=0.05) as w:
        (repo / "a.txt").write_text("1\n")
        assert wait_until(lambda: len(calls) == 1)
        (repo / "b.txt").write_text("2\n")
        assert wait_until(lambda: len(calls) == 2)
        assert calls[1].paths == {"b.txt"}
        assert settled_drain(w).paths == {"a.txt", "b.txt"}


def test_settle_without_a_git_folder_waits_for_quiet(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with WorkspaceWatcher(tmp_path / "plain", debounce_s=0.1) as w:
        (tmp_path / "plain" / "a.txt").write_text("1\n")
        assert w.settle(timeout=DEADLINE_S)
        assert w.drain().paths == {"a.txt"}


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
    monkeypatch.setattr(watcher_module._InotifyObserver, "schedule", _raise_enospc)
    with WorkspaceWatcher(repo, poll_interval_s=0.1) as w:
        assert w.polling
        assert w.notice is not None
        assert "polled every 0.1 s" in w.notice
        assert "fs.inotify.max_user_watches" in w.notice

        (repo / "src" / "app.py").write_text("changed\n")
        (repo / "new").mkdir()
        (repo / "new" / "file.txt").write_text("new\n")
        (repo / ".git" / "index.lock").write_text("")  # still ignored
        assert settled_drain(w).paths == {"src/app.py", "new", "new/file.txt"}


def test_falls_back_when_a_subfolder_cannot_be_watched(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # watchdog swallows a failure below the root; the watcher must notice it anyway.
    _fail_add_callback_for(monkeypatch, b"/src")
    with WorkspaceWatcher(repo, poll_interval_s=0.1) as w:
        assert w.polling
        assert w.notice is not None and "max_user_watches" in w.notice
        (repo / "src" / "app.py").write_text("changed\n")
        assert settled_drain(w).paths == {"src/app.py"}


def test_switches_to_polling_when_a_new_folder_cannot_be_watched(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    with WorkspaceWatcher(repo, poll_interval_s=0.1, on_change=recorder, debounce_s=0.05) as w:
        assert not w.polling
        _fail_add_callback_for(monkeypatch, b"/huge")
        (repo / "huge").mkdir()

        assert wait_until(lambda: w.polling)
        assert w.notice is not None and "max_user_watches" in w.notice
        # Changes may have been missed during the switch: both consumers must rescan.
        assert wait_until(recorder.overflowed)
        assert w.drain().overflow

        (repo / "huge" / "inside.txt").write_text("seen by polling\n")
        assert settled_drain(w).paths == {"huge/inside.txt"}


def test_force_polling_polls_without_a_notice(repo: Path) -> None:
    with WorkspaceWatcher(repo, force_polling=True, poll_interval_s=0.1) as w:
        assert w.polling
        assert w.notice is None
        (repo / "README.md").write_text("edited\n")
        (repo / "src" / "app.py").rename(repo / "src" / "main.py")
        assert settled_drain(w).paths == {"README.md", "src/app.py", "src/main.py"}


def test_a_kernel_queue_overflow_asks_for_a_rescan(repo: Path, watcher: WorkspaceWatcher) -> None:
    # Overflowing the real queue takes ~16k unread events; feed the overflow event directly.
    observer = watcher._observer
    assert isinstance(observer, watcher_module._InotifyObserver)
    from watchdog.observers.inotify_c import (
        InotifyConstants,
        InotifyEvent,
        Mask,
        WatchDescriptor,
    )

    overflow = InotifyEvent(WatchDescriptor(-1), Mask(InotifyConstants.IN_Q_OVERFLOW), 0, b"")
    observer._inotify_fd.handle_event(overflow)

    assert watcher.drain() == ChangeSet(frozenset(), overflow=True)
    # Still watching afterwards.
    (repo / "README.md").write_text("after\n")
    assert settled_drain(watcher).paths == {"README.md"}


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
    assert wait_until(lambda: set(threading.enumerate()) <= before)


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
    assert wait_until(lambda: not _watcher_threads())


def test_a_restart_reports_overflow_for_changes_made_while_stopped(repo: Path) -> None:
    w = WorkspaceWatcher(repo)
    with w:
        pass
    (repo / "README.md").write_text("while stopped\n")
    with w:
        assert w.drain() == ChangeSet(frozenset(), overflow=True)
        (repo / "README.md").write_text("while running\n")
        assert settled_drain(w).paths == {"README.md"}


def test_the_root_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        WorkspaceWatcher(tmp_path / "missing").start()
    with pytest.raises(ValueError):
        WorkspaceWatcher(tmp_path, debounce_s=-1)


def test_a_symlinked_root_reports_paths_relative_to_it(repo: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(repo, target_is_directory=True)
    with WorkspaceWatcher(link) as w:
        (link / "src" / "app.py").write_text("via link\n")
        assert settled_drain(w).paths == {"src/app.py"}


def test_removing_the_workspace_asks_for_a_rescan(repo: Path) -> None:
    with WorkspaceWatcher(repo) as w:
        shutil.rmtree(repo)
        assert wait_until(lambda: w.drain().overflow)


def test_change_set_truthiness() -> None:
    assert not ChangeSet()
    assert ChangeSet(frozenset({"a"}))
    assert ChangeSet(overflow=True)


def test_settle_writes_no_marker_that_outlives_it(repo: Path, watcher: WorkspaceWatcher) -> None:
    assert watcher.settle()
    leftovers = [name for name in os.listdir(repo / ".git") if "settle" in name]
    assert leftovers == []
