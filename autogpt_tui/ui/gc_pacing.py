"""Full garbage collections at quiet moments, not in the middle of a stream.

Python's collector runs a full (oldest-generation) pass once the middle generation has
been collected ten times. A streaming workstation makes many short-lived objects (drawn
lines, messages) and, as its log moves on, unmounted widgets whose reference cycles only
a full pass frees: with a few hundred steps in the log a full pass took 50-70 ms, two or
three times a second of a fast stream, and frames the user sees froze. While the
workstation runs, the automatic full pass is made rare (`FULL_THRESHOLD`, a safety net),
and the app offers quiet moments (a step committed, the agent waiting for the user):
`CollectionPacer.quiet` then runs the full pass Python would have run by then.
"""

from __future__ import annotations

import gc

FULL_THRESHOLD = 1_000
"""Collections of the middle generation before an automatic full one while the pacer is
started (Python's is 10): minutes of work, behind the quiet moments."""
QUIET_AFTER = 10
"""Collections of the middle generation after which a quiet moment collects fully
(Python's own threshold: garbage is freed about as often as without the pacer)."""


class CollectionPacer:
    """Makes full collections rare while started, and runs them at quiet moments."""

    def __init__(self) -> None:
        """A pacer, not yet started."""
        self._saved: tuple[int, int, int] | None = None
        self.collections = 0
        """Full collections run by `quiet` so far."""

    @property
    def started(self) -> bool:
        """True between `start` and `stop`."""
        return self._saved is not None

    def start(self) -> None:
        """Raise the full-collection threshold (put back by `stop`)."""
        if self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, FULL_THRESHOLD)

    def stop(self) -> None:
        """Put the interpreter's thresholds back."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def quiet(self) -> bool:
        """A quiet moment: collect fully if Python would have by now. True if it did."""
        if self._saved is None or gc.get_count()[2] < QUIET_AFTER:
            return False
        gc.collect()
        self.collections += 1
        return True
