"""The garbage-collection pacer on its own: thresholds raised and put back, quiet moments."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from autogpt_tui.ui.gc_pacing import FULL_THRESHOLD, QUIET_AFTER, CollectionPacer


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_pacers_stopped_in_any_order_put_the_thresholds_back(
    thresholds: tuple[int, int, int],
) -> None:
    first, second = CollectionPacer(), CollectionPacer()
    first.start()
    second.start()
    assert gc.get_threshold() == (*thresholds[:2], FULL_THRESHOLD)
    first.stop()  # the first app closes while the second still runs
    assert gc.get_threshold()[2] == FULL_THRESHOLD
    second.stop()
    assert gc.get_threshold() == thresholds
    second.stop()  # stopping twice changes nothing
    assert gc.get_threshold() == thresholds


def test_a_quiet_moment_collects_only_when_python_would_have(
    thresholds: tuple[int, int, int],
) -> None:
    pacer = CollectionPacer()
    assert not pacer.quiet()  # not started: Python collects as it always does
    pacer.start()
    gc.collect()  # counts back to zero
    assert not pacer.quiet()
    for _ in range(QUIET_AFTER):
        gc.collect(1)
    assert pacer.quiet() and pacer.collections == 1
    assert gc.get_count()[2] == 0
    assert not pacer.quiet()
    pacer.stop()
