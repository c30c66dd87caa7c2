"""Snapshots of the user's uncommitted work, on real repositories."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core import snapshots as snapshots_module
from autogpt_tui.core.errors import UserError
from autogpt_tui.core.history import History
from autogpt_tui.core.snapshots import SnapshotNotFound
from tests.conftest import git
from tests.unit.history_support import agent_write, state, write


@pytest.fixture
def history(workspace: Path) -> Iterator[History]:
    h = History.open(workspace)
    yield h
    h.close()


def test_nothing_uncommitted_means_no_snapshot(history: History) -> None:
    taken = history.snapshot("test")
    assert taken.snapshot is None and taken.dirty == []
    assert history.snapshots() == []


def test_a_snapshot_changes_nothing_the_user_can_see(history: History) -> None:
    root = history.root
    write(root, "README.md", "# changed\n")
    write(root, "new/untracked.txt", "new\n")
    (root / "src" / "app.py").unlink()
    git(root, "add", "README.md")  # something staged, too
    before = state(root)
    index = git(root, "diff", "--cached", "--name-status")
    taken = history.snapshot("before step 1")
    assert taken.snapshot is not None
    assert taken.dirty == ["README.md", "new/untracked.txt", "src/app.py"]
    assert state(root) == before
    assert git(root, "diff", "--cached", "--name-status") == index
    snap = taken.snapshot
    assert git(root, "rev-parse", f"{snap.sha}^") == git(root, "rev-parse", "HEAD")
    assert git(root, "show", f"{snap.sha}:new/untracked.txt") == "new\n"
    assert sorted(history.snapshot_files(snap)) == taken.dirty
    assert git(root, "branch", "--contains", snap.sha).strip() == ""  # on no branch


def test_the_same_work_is_not_stored_twice(history: History) -> None:
    write(history.root, "README.md", "# changed\n")
    first = history.snapshot("a").snapshot
    again = history.snapshot("b").snapshot
    assert first is not None and again == first
    write(history.root, "README.md", "# changed again\n")
    third = history.snapshot("c").snapshot
    assert third is not None and third.number == first.number + 1


def test_only_the_newest_are_kept(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshots_module, "KEEP", 3)
    for n in range(5):
        write(history.root, "README.md", f"# version {n}\n")
        history.snapshot(f"v{n}")
    assert [s.number for s in history.snapshots()] == [5, 4, 3]
    assert [s.reason for s in history.snapshots()] == ["v4", "v3", "v2"]


def test_big_untracked_files_are_named_not_stored(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshots_module, "MAX_FILE_BYTES", 1000)
    write(history.root, "small.txt", "small\n")
    (history.root / "scratch.bin").write_bytes(b"\0" * 5000)
    taken = history.snapshot("test")
    assert taken.skipped == ["scratch.bin"] and taken.dirty == ["small.txt"]
    assert taken.snapshot is not None
    message = git(history.root, "log", "-1", "--format=%B", taken.snapshot.sha)
    assert "Too big to keep: scratch.bin" in message


def test_a_watchers_paths_give_the_same_answer_as_a_full_scan(history: History) -> None:
    root = history.root
    write(root, "README.md", "# one\n")
    history.snapshot("full")  # the first look always scans
    agent_write(history, 1, "agent.txt", "agent\n")  # HEAD moves by a step
    write(root, "later.txt", "later\n")
    incremental = history.snapshot("watched", changed=["later.txt", "agent.txt"])
    assert incremental.dirty == ["README.md", "later.txt"]
    assert incremental.changed == ["later.txt"]  # the agent's committed file is not an edit
    with History.open(root) as fresh:
        assert fresh.snapshot("scan").dirty == incremental.dirty


def test_odd_file_names_are_kept_exactly(history: History) -> None:
    root = history.root
    name = b"caf\xe9 \nodd.txt"
    with open(os.path.join(os.fsencode(root), name), "wb") as handle:
        handle.write(b"bytes\n")
    taken = history.snapshot("odd")
    assert taken.snapshot is not None
    (path,) = history.snapshot_files(taken.snapshot)
    assert os.fsencode(path) == name
    os.unlink(os.path.join(os.fsencode(root), name))
    history.recover(taken.snapshot)
    with open(os.path.join(os.fsencode(root), name), "rb") as handle:
        assert handle.read() == b"bytes\n"


def test_recover_restores_files_modes_links_and_deletions(history: History) -> None:
    root = history.root
    write(root, "README.md", "# mine\n")
    write(root, "tool.sh", "#!/bin/sh\n")
    (root / "tool.sh").chmod(0o755)
    os.symlink("README.md", root / "link")
    (root / "src" / "app.py").unlink()
    snap = history.snapshot("work").snapshot
    assert snap is not None
    git(root, "checkout", "--", ".")
    for name in ("tool.sh", "link"):
        (root / name).unlink()
    write(root, "README.md", "# newer, about to be replaced\n")
    head = git(root, "rev-parse", "HEAD")
    done = history.recover(snap)
    assert sorted(done.restored) == ["README.md", "link", "src/app.py", "tool.sh"]
    assert (root / "README.md").read_text() == "# mine\n"
    assert os.access(root / "tool.sh", os.X_OK)
    assert os.readlink(root / "link") == "README.md"
    assert not (root / "src" / "app.py").exists()
    assert git(root, "rev-parse", "HEAD") == head
    assert done.saved is not None  # what the files held before is itself kept
    assert git(root, "show", f"{done.saved.sha}:README.md") == "# newer, about to be replaced\n"


def test_find_refuses_unknown_snapshots_in_one_sentence(history: History) -> None:
    with pytest.raises(SnapshotNotFound, match="no snapshots"):
        history.find_snapshot("1")
    write(history.root, "README.md", "# x\n")
    history.snapshot("x")
    with pytest.raises(SnapshotNotFound, match="There is no snapshot 9"):
        history.find_snapshot("9")
    with pytest.raises(SnapshotNotFound, match="not a snapshot number"):
        history.find_snapshot("HEAD")


def test_protecting_a_file_commits_only_that_file_as_the_users(history: History) -> None:
    root = history.root
    write(root, "README.md", "# mine\n")
    write(root, "other.txt", "not touched\n")
    commit = history.protect_user_work(["README.md", "brand-new.txt"])
    assert commit is not None and commit.paths == ["README.md"]
    assert git(root, "log", "-1", "--format=%s%n%an").splitlines()[0] == "User edits: README.md"
    assert "?? other.txt" in git(root, "status", "--porcelain")
    assert history.protect_user_work(["README.md"]) is None  # nothing left to protect


def test_steps_that_leave_the_users_work_alone_write_no_new_snapshot(history: History) -> None:
    write(history.root, "README.md", "# the user's work\n")
    first = history.snapshot("before step 1").snapshot
    for n in (1, 2, 3):
        agent_write(history, n, f"agent{n}.txt", "agent\n")
        assert history.snapshot(f"before step {n + 1}").snapshot == first
    assert len(history.snapshots()) == 1
    # A snapshot that was dropped meanwhile is written again rather than relied on.
    assert first is not None
    git(history.root, "update-ref", "-d", first.ref)
    agent_write(history, 4, "agent4.txt", "agent\n")
    again = history.snapshot("before step 5").snapshot
    assert again is not None and again != first
    assert git(history.root, "show", f"{again.sha}:README.md") == "# the user's work\n"


def test_a_recover_that_cannot_write_a_file_says_so_in_one_sentence(history: History) -> None:
    root = history.root
    write(root, "notes/today.txt", "mine\n")
    snap = history.snapshot("work").snapshot
    assert snap is not None
    (root / "notes" / "today.txt").unlink()
    (root / "notes").rmdir()
    (root / "notes").write_text("a file where the folder was\n")
    with pytest.raises(UserError, match=r"^Can't recover notes/today.txt: ") as caught:
        history.recover(snap)
    assert "\n" not in str(caught.value)
    assert (root / "notes").read_text() == "a file where the folder was\n"
