"""Ratings of steps: explicit ones, implicit ones, and where they are kept."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.errors import (
    InvalidRating,
    NotAnAgentStep,
)
from autogpt_tui.core.history import History
from tests.conftest import git
from tests.unit.history_support import agent_write


@pytest.fixture
def history(workspace: Path) -> Iterator[History]:
    h = History.open(workspace)
    yield h
    h.close()


def test_the_latest_rating_wins_and_zero_clears(history: History) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    assert history.rate(s.sha, 1, "good").reward == 1
    assert history.rate(s.sha, -1, "actually no").reward == -1
    assert history.resolve(s.sha).rating is not None
    assert history.rate(s.sha, 0).rating is None
    assert history.steps()[0].reward is None
    assert [e.value for e in history.ratings(s.sha)] == [1, -1, 0]


def test_explicit_ratings_override_implicit_ones(history: History) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    history.rate(s.sha, -1, "undone", source="undo")
    history.rate(s.sha, 1, "it was fine")
    history.rate(s.sha, -1, "rejected later", source="reject")
    assert history.resolve(s.sha).reward == 1


def test_bad_ratings_change_nothing(history: History) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    before = git(history.root, "for-each-ref")
    with pytest.raises(InvalidRating):
        history.rate(s.sha, 2)
    with pytest.raises(NotAnAgentStep):
        history.rate("HEAD^", 1)
    assert git(history.root, "for-each-ref") == before


def test_a_copy_of_the_folder_carries_records_and_ratings(history: History, tmp_path: Path) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    history.rate(s.sha, 1, "nice")
    copy = tmp_path / "copy"
    shutil.copytree(history.root, copy, symlinks=True)
    with History.open(copy) as other:
        found = other.resolve(s.sha)
        assert found.reward == 1 and found.record is not None
        assert found.record.thought == "thinking 1"
