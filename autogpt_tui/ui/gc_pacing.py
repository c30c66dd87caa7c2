"""Full garbage collections at quiet moments, not in the middle of a stream.

Python's collector runs a full (oldest-generation) pass once the middle generation has
been collected ten times. A streaming workstation makes many short-lived objects (drawn
lines, messages) and, as its log moves on, unmounted widgets whose reference cycles only
a full pass frees: with a few hundred steps in the log a full pass took 50-70 ms, two or
three times a second of a fast stream, and frames the user sees froze. While the
workstation runs, the automatic full pass is made rare (`FULL_THRESHOLD`, a safety net),
and the app offers quiet moments (a step committed, the agent waiting for the user):
`CollectionPacer.quiet` then runs a full pass once Python's own count says one is due.
"""

from __future__ import annotations

import gc

FULL_THRESHOLD = 1_000
"""Collections of the middle generation before an automatic full one while the pacer is
started (Python's is 10): minutes of work, behind the quiet moments."""
QUIET_AFTER = 10
"""Collections of the middle generation after which a quiet moment collects fully:
Python's own count. Python also waits until a quarter of the long-lived objects are new,
which it does not expose, so with a large heap a quiet moment may collect more often than
Python would have (the 1,000-step tmux benchmark kept its pace: 162 s before and after)."""


_started: list[CollectionPacer] = []
"""The pacers started in this process, oldest first (apps a test runs side by side)."""
_thresholds: tuple[int, int, int] | None = None
"""The interpreter's thresholds before the first pacer started."""


class CollectionPacer:
    """Makes full collections rare while started, and runs them at quiet moments."""

    def __init__(self) -> None:
        """A pacer, not yet started."""
        self.collections = 0
        """Full collections run by `quiet` so far."""

    @property
    def started(self) -> bool:
        """True between `start` and `stop`."""
        return self in _started

    def start(self) -> None:
        """Raise the full-collection threshold (put back when the last pacer stops)."""
        global _thresholds
        if self.started:
            return
        if not _started:
            _thresholds = gc.get_threshold()
            young, middle, _ = _thresholds
            gc.set_threshold(young, middle, FULL_THRESHOLD)
        _started.append(self)

    def stop(self) -> None:
        """Stop; the last pacer to stop, in whatever order, puts the thresholds back."""
        if not self.started:
            return
        _started.remove(self)
        if not _started and _thresholds is not None:
            gc.set_threshold(*_thresholds)

    def quiet(self) -> bool:
        """A quiet moment: collect fully if Python's count says one is due. True if it did."""
        if not self.started or gc.get_count()[2] < QUIET_AFTER:
            return False
        gc.collect()
        self.collections += 1
        return True
