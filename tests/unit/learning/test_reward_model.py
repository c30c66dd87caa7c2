"""The reward model kept current: refresh reads only what changed, and sees everything."""

from __future__ import annotations

import subprocess

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.learning import RewardModel
from tests.unit.learning.steps import (
    assert_same_as_fresh_load,
    make_step,
    rated_corpus,
    rejection,
    stats_by_name,
)

# --------------------------------------------------------------- refresh


def test_refresh_costs_nothing_when_nothing_changed(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing changed: a refresh starts no process and reads no commit or note.

    How fast that is belongs to ``benchmarks/bench_rewards.py``, not to a timed test.
    """
    rated_corpus(history)
    model = RewardModel.load(history, ["default"])
    assert model.refresh(history) is False

    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("refresh read the repository although nothing changed")

    monkeypatch.setattr(subprocess, "Popen", no_read)
    monkeypatch.setattr(subprocess, "run", no_read)
    for name in ("log_entries", "read_commit", "read_note", "diff_trees", "tree_of"):
        monkeypatch.setattr(History, name, no_read)
    for _ in range(100):
        assert model.refresh(history) is False


def test_refresh_sees_what_another_history_instance_did(history: History) -> None:
    steps = rated_corpus(history)
    model = RewardModel.load(history, ["default"])
    section = model.prompt_section("parser", [])
    with History.open(history.root) as cli:  # as `autogpt-tui rate` would
        cli.rate(steps["docs"].sha, -1, "the docs were wrong")
        new = make_step(cli, 5, "edit_file", {"path": "src/parser.py"})
        cli.rate(new.sha, 1, "clean parser fix")
    assert model.refresh(history)
    assert model.reward(steps["docs"].sha) == -1
    assert model.reward(new.sha) == 1
    assert model.prompt_section("parser", []) != section
    assert "clean parser fix" in model.prompt_section("parser", [])
    assert model.refresh(history) is False

    with History.open(history.root) as cli:  # a step made and undone elsewhere
        gone = make_step(cli, 6, "run_command", {"command": "drop database"})
        cli.undo()
    assert model.refresh(history)
    assert model.reward(gone.sha) == -1
    assert model.lessons("drop database", [])[0].sha == gone.sha
    assert_same_as_fresh_load(model, history)


def test_refresh_reads_many_new_steps_with_one_git_log(history: History) -> None:
    model = RewardModel.load(history, ["default"])
    with History.open(history.root) as other:
        for n in range(1, 41):
            s = make_step(other, n, "edit_file", {"path": f"src/file_{n}.py"})
            if n % 4 == 0:
                other.rate(s.sha, -1, f"wrong file {n}")
    assert model.refresh(history)
    assert len(model) == 40 and stats_by_name(model)["default"].rated == 10
    assert_same_as_fresh_load(model, history)


def test_refresh_follows_undo_redo_and_new_steps(history: History) -> None:
    model = RewardModel.load(history, ["default", "other"])
    for n in range(1, 6):
        s = make_step(history, n, policy="other" if n % 2 else "default")
        history.rate(s.sha, 1 if n % 3 else -1, f"comment {n}")
        assert model.refresh(history)
    history.undo(2)
    model.refresh(history)
    history.redo()
    make_step(history, 9, rejected=[rejection("ask_user", {"question": "why?"}, "do not ask")])
    model.refresh(history)
    assert_same_as_fresh_load(model, history)
