"""The watchdog observers the workspace watcher runs on, tuned for a git workspace.

Split from :mod:`autogpt_tui.core.watcher` (which turns their events into change sets):
the handler that forwards every event, a polling observer that skips ``.git`` and never
follows symlinks, and on Linux an inotify observer that reports what watchdog itself only
logs or skips (a full watch table, the kernel's queue overflow) and stops without racing
its own thread.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.api import BaseObserver, EventQueue, ObservedWatch
from watchdog.observers.polling import PollingEmitter
from watchdog.utils import UnsupportedLibcError

GIT_FOLDER = ".git"
JOIN_TIMEOUT_S = 2.0
"""Upper bound for joining one thread on stop; in practice they end in milliseconds."""

# watchdog warns when a fast `mkdir -p a/b` makes it watch `a/b` twice (once while walking
# `a`, once for `b`'s own creation event). Harmless, but it would print under the TUI; the
# warning is attributed (stacklevel) to _InotifyFD.add_callback, i.e. to this module.
warnings.filterwarnings(
    "ignore",
    message=r"Callback with id .* already exists for watch",
    category=RuntimeWarning,
    module=r"autogpt_tui\.core\.watch_observers",
)


def is_git_path(relative: str) -> bool:
    """True for ``.git`` and anything below any ``.git`` (nested repositories included)."""
    return f"/{relative}/".find(f"/{GIT_FOLDER}/") >= 0


def polling_notice(exc: OSError, interval_s: float) -> str:
    """The sentence shown to the user when the native watcher could not be used."""
    lead = f"File changes are polled every {interval_s:g} s: "
    if exc.errno == errno.ENOSPC:
        return lead + "the inotify watch limit was reached (raise fs.inotify.max_user_watches)."
    if exc.errno == errno.EMFILE:
        return lead + "too many inotify instances are open (raise fs.inotify.max_user_instances)."
    return lead + f"the native file watcher failed ({exc.strerror or exc})."


def shutdown(observer: BaseObserver) -> None:
    """Stop a watchdog observer (started or not) and wait for its threads."""
    observer.stop()
    if observer.is_alive():
        observer.join(timeout=JOIN_TIMEOUT_S)


class Handler(FileSystemEventHandler):
    """Forwards every event to the watcher; the watcher does its own filtering."""

    def __init__(self, sink: Callable[[FileSystemEvent], None]) -> None:
        super().__init__()
        self._sink = sink

    def dispatch(self, event: FileSystemEvent) -> None:
        self._sink(event)


def _scandir_skipping_git(path: str | None) -> Iterator[os.DirEntry[str]]:
    """``os.scandir`` without ``.git``: polling it every second would stat every object."""
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.name != GIT_FOLDER:
                yield entry


class _PollingEmitter(PollingEmitter):
    """watchdog's polling emitter that skips ``.git`` and never follows symlinks."""

    def __init__(
        self,
        event_queue: EventQueue,
        watch: ObservedWatch,
        *,
        timeout: float = 1.0,
        event_filter: list[type[FileSystemEvent]] | None = None,
    ) -> None:
        # lstat: os.stat would descend into symlinked folders (and loop on cycles).
        super().__init__(
            event_queue,
            watch,
            timeout=timeout,
            event_filter=event_filter,
            stat=os.lstat,
            listdir=_scandir_skipping_git,
        )


class PollingObserver(BaseObserver):
    """A polling observer built on :class:`_PollingEmitter`."""

    def __init__(self, interval_s: float) -> None:
        super().__init__(_PollingEmitter, timeout=interval_s)


HAVE_INOTIFY = False
"""True when the inotify observer with overflow and watch-limit reporting is available."""
if sys.platform.startswith("linux"):
    try:
        from watchdog.observers.inotify import InotifyEmitter
        from watchdog.observers.inotify_c import (
            CallbackId,
            InotifyEvent,
            InotifyFD,
            Mask,
            WatchCallback,
            WatchDescriptor,
        )
    except (ImportError, OSError, UnsupportedLibcError):  # a libc without inotify; watchdog < 7
        pass
    else:
        HAVE_INOTIFY = True

        class InotifyFDReporting(InotifyFD):
            """watchdog's inotify reader, reporting what watchdog itself only logs or skips."""

            def __init__(
                self, on_overflow: Callable[[], None], on_watch_limit: Callable[[OSError], None]
            ) -> None:
                super().__init__()
                self._on_overflow = on_overflow
                self._on_watch_limit = on_watch_limit

            def add_callback(
                self, path: bytes, mask: Mask, callback: WatchCallback, id_: CallbackId
            ) -> WatchDescriptor:
                try:
                    return super().add_callback(path, mask, callback, id_)
                except OSError as exc:
                    # watchdog swallows this for every folder but the root: the folder would
                    # go unwatched without anyone knowing.
                    if exc.errno in (errno.ENOSPC, errno.ENOMEM):
                        self._on_watch_limit(exc)
                    raise

            def handle_event(self, event: InotifyEvent) -> None:
                if event.is_queue_overflow:
                    # watchdog rebuilds its watches but emits nothing: events were lost.
                    self._on_overflow()
                super().handle_event(event)

        class _InotifyEmitter(InotifyEmitter):
            """watchdog's inotify emitter, stopped in an order that cannot race its loop.

            watchdog's ``stop()`` drops the emitter's watch group from the stopping thread
            while the emitter's own thread may be inside ``queue_events()`` (between its
            loop test and reading the group, or holding an event it just read); that
            thread then logs "queue_events() called when the thread is inactive", an error
            that reached the user's stderr at the end of nearly every run. Here the loop
            is told to stop, its blocking read woken by deactivating the group (which stays
            in place, so an event already read is queued as usual), and the thread joined;
            only then does watchdog tear the emitter down.
            """

            def stop(self) -> None:
                self.stopped_event.set()
                group = self._inotify  # watchdog's own: set in on_thread_start()
                if group is not None:
                    group.deactivate()  # wakes read_event(); deactivating twice is harmless
                if self.is_alive() and self is not threading.current_thread():
                    self.join(timeout=JOIN_TIMEOUT_S)
                super().stop()

        class InotifyObserver(BaseObserver):
            """watchdog's ``InotifyObserver``, on an :class:`InotifyFDReporting` of its own."""

            def __init__(self, inotify_fd: InotifyFDReporting) -> None:
                self._inotify_fd = inotify_fd
                super().__init__(_InotifyEmitter, inotify_fd=inotify_fd)

            def on_thread_stop(self) -> None:
                super().on_thread_stop()
                self._inotify_fd.stop()
                if self._inotify_fd.is_alive():
                    self._inotify_fd.join(timeout=JOIN_TIMEOUT_S)
