"""Undo as a reward: ``[rewards] undo_is_negative`` decides whether an undo is a -1 rating,
on real repositories; and who may set it (a workspace's file may only turn it off)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.settings import CONFIG_ENV_VAR, load_settings
from autogpt_tui.core.steps import RATINGS_REF
from autogpt_tui.core.undo import UNDO_COMMENT
from tests.conftest import git
from tests.unit.history_support import agent_write


@pytest.fixture
def user_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No real user config and no stray variables; the user's file is read from here."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "AUTOGPT_TUI_")) or name == "XDG_CONFIG_HOME":
            monkeypatch.delenv(name)
    path = tmp_path / "user" / "config.toml"
    path.parent.mkdir()
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    return path


@pytest.fixture
def history(workspace: Path) -> Iterator[History]:
    h = History.open(workspace)
    yield h
    h.close()


# --------------------------------------------------------------------------- settings


def test_undo_counts_as_negative_by_default(user_file: Path, workspace: Path) -> None:
    assert load_settings(workspace).rewards.undo_is_negative is True


def test_the_user_turns_it_off_in_their_file_or_the_environment(
    user_file: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_file.write_text("[rewards]\nundo_is_negative = false\n")
    assert load_settings(workspace).rewards.undo_is_negative is False
    user_file.unlink()
    monkeypatch.setenv("AUTOGPT_TUI_REWARDS__UNDO_IS_NEGATIVE", "false")
    assert load_settings(workspace).rewards.undo_is_negative is False


def test_a_workspace_file_may_turn_it_off(user_file: Path, workspace: Path) -> None:
    (workspace / ".autogpt-tui.toml").write_text("[rewards]\nundo_is_negative = false\n")
    settings = load_settings(workspace)
    assert settings.rewards.undo_is_negative is False
    assert settings.warnings == []


def test_a_workspace_file_cannot_turn_it_on_over_the_users_off(
    user_file: Path, workspace: Path
) -> None:
    user_file.write_text("[rewards]\nundo_is_negative = false\n")
    path = workspace / ".autogpt-tui.toml"
    path.write_text("[rewards]\nundo_is_negative = true\n")
    settings = load_settings(workspace)
    assert settings.rewards.undo_is_negative is False
    assert settings.warnings == [
        f"Ignored rewards.undo_is_negative = true in {path}: a workspace's config file cannot"
        " make your undos count as -1 ratings when your own config says they do not."
    ]


# --------------------------------------------------------------------------- history


def test_a_negative_undo_rates_the_step_minus_one_and_says_so(history: History) -> None:
    agent_write(history, 1, "a.txt", "1\n")
    step = agent_write(history, 2, "b.txt", "2\n")
    (undone,) = history.undo(1, negative=True)
    assert undone.sha == step.sha and undone.undone
    assert undone.rating is not None
    assert (undone.rating.value, undone.rating.source) == (-1, "undo")
    assert undone.rating.comment == UNDO_COMMENT
    listed = next(s for s in history.steps() if s.sha == step.sha)
    assert listed.reward == -1 and listed.undone
    # A redo takes the undo's judgement back.
    history.redo(1)
    assert next(s for s in history.steps() if s.sha == step.sha).reward is None


def test_an_undo_that_is_not_negative_rates_nothing(history: History) -> None:
    step = agent_write(history, 1, "a.txt", "1\n")
    notes_before = git(history.root, "for-each-ref", RATINGS_REF)
    (undone,) = history.undo(1, negative=False)
    assert undone.undone and undone.rating is None
    assert history.ratings(step.sha) == []
    # No rating note was written, by the undo nor by the redo.
    history.redo(1)
    assert history.ratings(step.sha) == []
    assert git(history.root, "for-each-ref", RATINGS_REF) == notes_before


def test_the_users_own_rating_wins_and_is_what_the_undo_returns(history: History) -> None:
    step = agent_write(history, 1, "a.txt", "1\n")
    history.rate(step.sha, 1, "good, undone for another reason")
    (undone,) = history.undo(1, negative=True)
    assert undone.rating is not None and undone.rating.source == "user"
    assert undone.reward == 1
    assert [e.source for e in history.ratings(step.sha)] == ["user"]
    history.redo(1)
    assert [e.source for e in history.ratings(step.sha)] == ["user"]


def test_clearing_an_undos_rating_sticks_through_redo(history: History) -> None:
    step = agent_write(history, 1, "a.txt", "1\n")
    history.undo(1)
    assert history.rate(step.sha, 0).rating is None
    history.redo(1)
    history.undo(1)
    # The user said 0: later undos do not override it.
    assert next(s for s in history.steps() if s.sha == step.sha).rating is None


def test_undo_with_several_steps_rates_each(history: History) -> None:
    one = agent_write(history, 1, "a.txt", "1\n")
    two = agent_write(history, 2, "b.txt", "2\n")
    undone = history.undo(2)
    assert [(s.sha, s.reward) for s in undone] == [(two.sha, -1), (one.sha, -1)]
