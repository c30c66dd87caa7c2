"""Undo and redo on real git repositories: the user's work is never lost."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.errors import (
    LocalChangesInTheWay,
    NothingToRedo,
    NothingToUndo,
)
from autogpt_tui.core.history import History
from tests.conftest import git
from tests.unit.history_support import agent_write, dirty_the_users_work, files, state, step, write


@pytest.fixture
def history(workspace: Path) -> Iterator[History]:
    h = History.open(workspace)
    yield h
    h.close()


def test_undo_and_redo_keep_every_byte_of_the_users_work(history: History) -> None:
    root = history.root
    agent_write(history, 1, "src/feature.py", "v1\n")
    s2 = agent_write(history, 2, "src/app.py", "def main():\n    return 42\n")
    dirty_the_users_work(root)
    s3 = agent_write(history, 3, "src/feature.py", "v2\n")
    user_files = {k: v for k, v in files(root).items() if k not in ("src/feature.py", "src/app.py")}
    staged = git(root, "diff", "--cached")

    undone = history.undo(1)
    assert [s.sha for s in undone] == [s3.sha]
    assert (root / "src/feature.py").read_text() == "v1\n"
    assert git(root, "rev-parse", "HEAD").strip() == git(root, "rev-parse", f"{s3.sha}^").strip()

    def users_work_intact() -> None:
        now = files(root)
        assert {k: now[k] for k in user_files} == user_files
        assert git(root, "diff", "--cached") == staged

    users_work_intact()
    # The user commit sits between step 2 and step 3, so step 2 is undone by a revert.
    history.undo(1)
    assert (root / "src/app.py").read_text() == "def main():\n    return 1\n"
    assert s2.sha in git(root, "log", "-1", "--format=%B")
    users_work_intact()

    history.redo(1)
    assert (root / "src/app.py").read_text() == "def main():\n    return 42\n"
    users_work_intact()
    history.redo(1)
    assert (root / "src/feature.py").read_text() == "v2\n"
    assert git(root, "rev-parse", "HEAD").strip() == s3.sha
    users_work_intact()
    assert [(s.step, s.undone) for s in history.steps()] == [(3, False), (2, False), (1, False)]


def test_undo_keeps_undone_steps_reachable_and_redo_restores_the_same_commits(
    history: History,
) -> None:
    root = history.root
    steps = [agent_write(history, n, f"f{n}.txt", f"{n}\n") for n in (1, 2, 3)]
    history.undo(3)
    git(root, "gc", "-q", "--prune=now")
    assert not (root / "f1.txt").exists()
    assert history.redo_depth() == 3
    assert [s.undone for s in history.steps()] == [True, True, True]
    redone = history.redo(2)
    assert [s.sha for s in redone] == [steps[0].sha, steps[1].sha]
    assert (root / "f2.txt").exists() and not (root / "f3.txt").exists()
    history.redo(1)
    assert git(root, "rev-parse", "HEAD").strip() == steps[2].sha
    # No undone-step ref is left (the step index, a cache ref, lives beside them).
    assert git(root, "for-each-ref", "refs/autogpt-tui/undone/") == ""
    assert git(root, "for-each-ref", "--format=%(refname)", "refs/autogpt-tui/") == (
        "refs/autogpt-tui/index/heads/master\n"
    )


def test_undo_refuses_to_touch_a_file_the_user_changed_and_changes_nothing(
    history: History,
) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "agent\n")
    write(root, "a.txt", "agent\nplus the user's line\n")
    before = state(root)
    with pytest.raises(LocalChangesInTheWay, match=r"uncommitted changes in a\.txt"):
        history.undo(1)
    assert state(root) == before


def test_undo_refuses_to_overwrite_an_untracked_file_in_the_way(history: History) -> None:
    root = history.root
    (root / "README.md").unlink()
    step(history, 1, ["README.md"])
    write(root, "README.md", "the user's new readme\n")  # untracked now
    before = state(root)
    with pytest.raises(LocalChangesInTheWay, match=r"README\.md"):
        history.undo(1)
    assert state(root) == before


def test_a_merely_touched_file_does_not_block_undo(history: History) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "agent\n")
    os.utime(root / "a.txt", (1, 1))
    history.undo(1)
    assert not (root / "a.txt").exists()


def test_undo_past_the_first_step_changes_nothing(history: History) -> None:
    agent_write(history, 1, "a.txt", "a\n")
    agent_write(history, 2, "b.txt", "b\n")
    before = state(history.root)
    with pytest.raises(NothingToUndo, match="Only 2 steps can be undone, not 3"):
        history.undo(3)
    assert state(history.root) == before
    history.undo(2)
    with pytest.raises(NothingToUndo, match="There is no step to undo"):
        history.undo(1)


def test_redo_with_nothing_to_redo_changes_nothing(history: History) -> None:
    agent_write(history, 1, "a.txt", "a\n")
    before = state(history.root)
    with pytest.raises(NothingToRedo, match="nothing to redo"):
        history.redo(1)
    assert state(history.root) == before


def test_a_multi_step_undo_is_all_or_nothing(history: History) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "a\n")
    agent_write(history, 2, "b.txt", "b\n")
    agent_write(history, 3, "c.txt", "c\n")
    write(root, "a.txt", "the user changed it\n")  # blocks undoing step 1 only
    before = state(root)
    with pytest.raises(LocalChangesInTheWay):
        history.undo(3)
    assert state(root) == before
    assert history.redo_depth() == 0


def test_a_new_step_after_undo_clears_redo_but_keeps_the_undone_step_visible(
    history: History,
) -> None:
    agent_write(history, 1, "a.txt", "a\n")
    s2 = agent_write(history, 2, "b.txt", "b\n")
    history.undo(1)
    agent_write(history, 3, "c.txt", "c\n")
    with pytest.raises(NothingToRedo):
        history.redo(1)
    listed = {s.sha: s for s in history.steps()}
    assert listed[s2.sha].undone
    assert history.resolve(s2.sha).undone


def test_undo_merges_around_the_users_later_edits_to_the_same_file(history: History) -> None:
    root = history.root
    write(root, "src/app.py", "".join(f"line {i}\n" for i in range(20)))
    history.commit_user_edits()
    text = (root / "src/app.py").read_text().replace("line 2\n", "line 2 by agent\n")
    agent_write(history, 1, "src/app.py", text)
    write(root, "src/app.py", text.replace("line 17\n", "line 17 by user\n"))
    history.commit_user_edits()
    history.undo(1)
    result = (root / "src/app.py").read_text()
    assert "line 2\n" in result and "by agent" not in result
    assert "line 17 by user\n" in result


def test_undo_that_conflicts_with_the_users_later_commit_changes_nothing(
    history: History,
) -> None:
    root = history.root
    agent_write(history, 1, "README.md", "agent line\n")
    write(root, "README.md", "user rewrote the agent line\n")
    history.commit_user_edits()
    before = state(root)
    with pytest.raises(LocalChangesInTheWay, match=r"same lines of README\.md"):
        history.undo(1)
    assert state(root) == before


def test_undo_and_redo_on_a_detached_head(history: History) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "a\n")
    git(root, "checkout", "-q", "--detach")
    s2 = agent_write(history, 2, "b.txt", "b\n")
    assert git(root, "rev-parse", "HEAD").strip() == s2.sha
    history.undo(1)
    assert not (root / "b.txt").exists()
    history.redo(1)
    assert (root / "b.txt").read_text() == "b\n"
    assert git(root, "rev-parse", "HEAD").strip() == s2.sha


def test_steps_on_a_branch_with_the_users_own_history_and_merges(history: History) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "a\n")
    git(root, "checkout", "-q", "-b", "side")
    write(root, "side.txt", "side\n")
    git(root, "add", "side.txt")
    git(root, "commit", "-qm", "user on a side branch")
    git(root, "checkout", "-q", "-")
    agent_write(history, 2, "b.txt", "b\n")
    git(root, "merge", "-q", "--no-edit", "side")
    agent_write(history, 3, "c.txt", "c\n")
    assert [s.step for s in history.steps()] == [3, 2, 1]
    history.undo(2)  # step 3 by moving back, step 2 by a revert under the merge
    assert not (root / "c.txt").exists() and not (root / "b.txt").exists()
    assert (root / "side.txt").exists()


def test_undo_refuses_when_only_the_index_holds_the_users_version(history: History) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "agent\n")
    write(root, "a.txt", "the user's staged version\n")
    git(root, "add", "a.txt")
    write(root, "a.txt", "agent\n")  # the working tree is back to HEAD; the index is not
    before = state(root)
    with pytest.raises(LocalChangesInTheWay, match=r"a\.txt"):
        history.undo(1)
    assert state(root) == before
    assert git(root, "show", ":a.txt") == "the user's staged version\n"


def test_undo_refuses_a_mode_change_and_a_deleted_file(history: History) -> None:
    root = history.root
    agent_write(history, 1, "run.sh", "echo hi\n")
    (root / "run.sh").chmod(0o755)
    with pytest.raises(LocalChangesInTheWay, match=r"run\.sh"):
        history.undo(1)
    (root / "run.sh").chmod(0o644)
    (root / "run.sh").unlink()
    with pytest.raises(LocalChangesInTheWay, match=r"run\.sh"):
        history.undo(1)


def test_undo_is_an_implicit_minus_one_unless_the_user_rated(history: History) -> None:
    s1 = agent_write(history, 1, "a.txt", "a\n")
    s2 = agent_write(history, 2, "b.txt", "b\n")
    history.rate(s1.sha, 1, "good")
    history.undo(2)
    listed = {s.sha: s for s in history.steps()}
    rating = listed[s2.sha].rating
    assert rating is not None and rating.value == -1 and rating.source == "undo"
    assert listed[s1.sha].reward == 1  # the user's rating wins
    history.redo(1)
    history.redo(1)
    assert history.resolve(s2.sha).reward is None  # redo takes the judgement back
    history.rate(s2.sha, 1)
    assert history.resolve(s2.sha).reward == 1


def test_the_last_step_number_counts_undone_steps_so_numbers_are_never_reused(
    history: History,
) -> None:
    assert history.last_step_number("s1") == 0
    for n in range(1, 4):
        agent_write(history, n, f"f{n}.txt", f"{n}\n")
    assert history.last_step_number("s1") == 3
    # Taken off the branch (kept under the undone refs): still counted.
    history.undo(2)
    assert [s.step for s in history.undoable()] == [1]
    assert history.last_step_number("s1") == 3
    # Brought back, then taken off again: the same.
    history.redo(1)
    assert history.last_step_number("s1") == 3
    history.undo(1)
    assert history.last_step_number("s1") == 3
    # Another session's numbers are its own.
    assert history.last_step_number("other") == 0


def test_the_last_step_number_counts_a_step_undone_by_a_revert(history: History) -> None:
    agent_write(history, 1, "a.txt", "a\n")
    agent_write(history, 2, "b.txt", "b\n")
    write(history.root, "mine.txt", "mine\n")
    git(history.root, "add", "mine.txt")
    git(history.root, "commit", "-q", "-m", "my own commit")
    # The user's commit sits on top: undo reverts step 2 with a new commit.
    history.undo(1)
    assert [s.step for s in history.undoable()] == [1]
    assert history.last_step_number("s1") == 2
