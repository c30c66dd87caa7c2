"""The journal's recovery rules, one case at a time, in-process (the kill loop in
tests/functional/test_crash_safety.py kills real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core import journal
from autogpt_tui.core.errors import GitFailure
from autogpt_tui.core.git import WorkTree
from autogpt_tui.core.history import History
from autogpt_tui.core.journal import Intent, Owner, _read_crash_plan
from tests.conftest import git
from tests.unit.history_support import agent_write, state, step, write


@pytest.fixture
def history(workspace: Path) -> Iterator[History]:
    h = History.open(workspace)
    yield h
    h.close()


def journal_dir(root: Path) -> Path:
    return root / ".git" / "autogpt-tui" / "journal"


def dead_owner() -> Owner:
    """The owner record of a process that has exited (and been reaped)."""
    code = "import json, os, socket; from autogpt_tui.core.journal import Owner; "
    code += "o = Owner.me(); print(json.dumps([o.pid, o.host, o.started]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    pid, host, started = json.loads(out.stdout)
    return Owner(pid, host, started)


def journal_left_by_a_crash(
    history: History, monkeypatch: pytest.MonkeyPatch, checkpoint: str, operation: object
) -> Intent:
    """Run ``operation`` until ``checkpoint`` (where a real run would be killed), leaving
    its journal as a dead process would; returns the journalled intent."""

    class Killed(BaseException):
        pass

    def crash(name: str) -> None:
        if name == checkpoint:
            raise Killed

    monkeypatch.setattr(journal, "crash_point", crash)
    # The journal file would stay: a killed process removes nothing.
    monkeypatch.setattr(Path, "unlink", lambda self, missing_ok=False: None)
    with pytest.raises(Killed):
        assert callable(operation)
        operation()
    monkeypatch.undo()
    (path,) = journal_dir(history.root).iterdir()
    intent = Intent.from_json(path.read_bytes())
    intent.owner = dead_owner()
    path.write_bytes(intent.to_json())
    return intent


def test_the_crash_variable_names_a_checkpoint_and_a_count() -> None:
    assert _read_crash_plan("undo:refs:3") == ("undo:refs", 3)
    assert _read_crash_plan("") is None
    assert _read_crash_plan("undo:refs") is None  # no count: ignored, never a crash
    assert _read_crash_plan("undo:refs:x") is None


def test_owners_alive_and_gone() -> None:
    assert Owner.me().alive()
    assert not dead_owner().alive()
    me = Owner.me()
    # A reused pid is told apart by its start time.
    assert not Owner(me.pid, me.host, "1").alive()
    # Another machine's process can't be seen: never taken over.
    assert Owner(dead_owner().pid, "some-other-host", "1").alive()


def test_a_step_cut_after_its_refs_is_finished_by_the_next_open(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "one\n")
    write(root, "b.txt", "agent's b\n")
    intent = journal_left_by_a_crash(
        history, monkeypatch, "step:refs", lambda: step(history, 2, ["b.txt"])
    )
    assert git(root, "rev-parse", "HEAD").strip() == intent.head_after
    # The index still lacks b.txt: a staged deletion, as issue 9 found after a kill.
    assert git(root, "diff", "--cached", "--name-status").split() == ["D", "b.txt"]
    # The user edits the file before anything recovers: the edit stays theirs, unstaged.
    write(root, "b.txt", "the user's b\n")
    with History.open(root) as reopened:
        assert reopened.recovered == ["rolled forward step 2 (write_file)"]
    assert git(root, "diff", "--cached") == ""
    assert git(root, "status", "--porcelain").split() == ["M", "b.txt"]
    assert not any(journal_dir(root).iterdir())


def test_a_journalled_step_whose_refs_never_moved_is_committed(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = history.root
    write(root, "b.txt", "agent's b\n")
    before = git(root, "rev-parse", "HEAD").strip()
    intent = journal_left_by_a_crash(
        history, monkeypatch, "step:journal", lambda: step(history, 1, ["b.txt"])
    )
    assert git(root, "rev-parse", "HEAD").strip() == before
    with History.open(root) as reopened:
        assert reopened.recovered == ["rolled forward step 1 (write_file)"]
        (only,) = reopened.steps()
        assert only.sha == intent.head_after
        assert reopened.record(only.sha) is not None  # the record came with it
    assert git(root, "status", "--porcelain") == ""


def test_a_journal_is_dropped_when_the_user_moved_head_since(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "one\n")
    agent_write(history, 2, "a.txt", "two\n")
    journal_left_by_a_crash(history, monkeypatch, "undo:journal", lambda: history.undo(1))
    write(root, "mine.txt", "mine\n")
    git(root, "add", "mine.txt")
    git(root, "commit", "-qm", "the user's own commit")
    snapshot = state(root)
    with History.open(root) as reopened:
        assert reopened.recovered == ["dropped undo step 2"]
    assert state(root) == snapshot


def test_an_undo_rolled_forward_leaves_a_file_the_user_changed_since(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "one\n")
    agent_write(history, 2, "a.txt", "two\n")
    agent_write(history, 3, "c.txt", "three\n")
    journal_left_by_a_crash(history, monkeypatch, "undo:refs", lambda: history.undo(2))
    write(root, "a.txt", "the user's a\n")  # edited after the crash, before recovery
    with History.open(root) as reopened:
        assert reopened.recovered == ["rolled forward undo steps 3, 2"]
        assert reopened.redo_depth() == 2
        # c.txt followed HEAD; a.txt kept the user's edit, which now shows as theirs.
        assert not (root / "c.txt").exists()
        assert (root / "a.txt").read_text() == "the user's a\n"
        assert git(root, "diff", "--cached") == ""
        write(root, "a.txt", "one\n")
        reopened.redo(2)
    assert (root / "a.txt").read_text() == "two\n"
    assert (root / "c.txt").read_text() == "three\n"


def test_a_live_owners_journal_is_left_alone(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "one\n")
    intent = journal_left_by_a_crash(history, monkeypatch, "undo:refs", lambda: history.undo(1))
    (path,) = journal_dir(root).iterdir()
    intent.owner = Owner.me()  # this process: still in the middle of it
    path.write_bytes(intent.to_json())
    with History.open(root) as reopened:
        assert reopened.recovered == []
    assert path.exists()


def test_unreadable_journals_and_half_written_ones_are_removed(history: History) -> None:
    root = history.root
    folder = journal_dir(root)
    folder.mkdir(parents=True)
    (folder / "1-0.json").write_text("{not json")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (folder / f"{gone.stdout.strip()}-1.json.x1.tmp").write_text("{half")
    snapshot = state(root)
    with History.open(root) as reopened:
        assert reopened.recovered == []
    assert list(folder.iterdir()) == []
    assert state(root) == snapshot


def test_a_journal_being_written_by_a_live_process_is_left_alone(history: History) -> None:
    # The TUI reads the history (History.open recovers journals) while its agent's
    # thread writes a journal: the half-written file is that write's, not a crash's.
    folder = journal_dir(history.root)
    folder.mkdir(parents=True)
    writing = folder / f"{os.getpid()}-7.json.a1b2.tmp"
    writing.write_text("{half")
    with History.open(history.root) as reopened:
        assert reopened.recovered == []
    assert writing.exists()


def test_a_failure_after_the_refs_moved_puts_everything_back(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "one\n")
    agent_write(history, 2, "a.txt", "two\n")
    snapshot = state(root)
    ratings_before = git(root, "for-each-ref", "refs/notes/")
    real_restore = WorkTree.restore_paths
    calls: list[str] = []

    def fail_once(self: WorkTree, source: str, paths: list[str]) -> None:
        calls.append(source)
        if len(calls) == 1:
            raise GitFailure("git restore failed: disk full")
        real_restore(self, source, paths)

    monkeypatch.setattr(WorkTree, "restore_paths", fail_once)
    with pytest.raises(GitFailure):
        history.undo(2)
    assert state(root) == snapshot
    assert git(root, "for-each-ref", "refs/notes/") == ratings_before
    assert history.redo_depth() == 0
    assert not any(journal_dir(root).iterdir())
