"""What a step writes on its way: loose objects as git makes them, and the journal
synced to disk exactly when git is set to sync the refs it moves (``core.fsync``)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from autogpt_tui.core import journal
from autogpt_tui.core.history import History
from tests.conftest import git
from tests.unit.history_support import agent_write


def test_loose_objects_are_read_only_and_no_temporary_file_is_left(workspace: Path) -> None:
    with History.open(workspace) as history:
        commit = agent_write(history, 1, "notes/a.txt", "hello\n")
    objects = workspace / ".git" / "objects"
    sha = commit.sha
    mode = stat.S_IMODE((objects / sha[:2] / sha[2:]).stat().st_mode)
    assert mode & 0o222 == 0  # read-only, as git makes loose objects
    assert not [p for p in objects.rglob("tmp_obj_*")]
    assert git(workspace, "cat-file", "-p", f"{sha}:notes/a.txt") == "hello\n"
    git(workspace, "fsck", "--full", "--no-progress")


@pytest.mark.parametrize(("setting", "synced"), [(None, False), ("committed", True)])
def test_the_journal_is_synced_when_git_syncs_its_refs(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, setting: str | None, synced: bool
) -> None:
    with History.open(workspace) as history:
        agent_write(history, 1, "a.txt", "one\n")
    if setting is not None:
        git(workspace, "config", "core.fsync", setting)
    calls: list[bool] = []
    real = journal.write_atomically

    def spy(path: Path, data: bytes, *, sync: bool = True) -> None:
        if path.parent.name == "journal":
            calls.append(sync)
        real(path, data, sync=sync)

    monkeypatch.setattr(journal, "write_atomically", spy)
    with History.open(workspace, create=False) as history:
        agent_write(history, 2, "b.txt", "two\n")
    assert calls == [synced]
    assert git(workspace, "show", "HEAD:b.txt") == "two\n"
    assert not os.listdir(workspace / ".git" / "autogpt-tui" / "journal")


def test_what_a_step_wrote_is_read_back_without_reading_its_trees_again(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with History.open(workspace) as history:
        agent_write(history, 1, "src/one.txt", "one\n")
        commit = agent_write(history, 2, "src/two.txt", "two\n")
        repository = history._repository
        reads: list[str] = []
        real = repository.read_object

        def counting(sha: str) -> bytes:
            reads.append(sha)
            return real(sha)

        monkeypatch.setattr(repository, "read_object", counting)
        note = history.read_note("refs/notes/autogpt-tui/records", commit.sha)
        # The notes commit's tree and its fan-out were written by this process and
        # kept parsed: only the note's own blob is read from git.
        assert note is not None and '"thinking 2"' in note
        assert len(reads) == 1
        reads.clear()
        agent_write(history, 3, "src/three.txt", "three\n")
        # The next step rewrites the same trees (src/, the root, the notes fan-out)
        # from what it kept, reading none of them from git.
        assert reads == []
    assert git(workspace, "show", "HEAD~1:src/two.txt") == "two\n"
    assert git(workspace, "ls-tree", "--name-only", "HEAD", "src/").split() == [
        "src/app.py",
        "src/one.txt",
        "src/three.txt",
        "src/two.txt",
    ]
