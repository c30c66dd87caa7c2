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
