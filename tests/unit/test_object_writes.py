"""Object writes survive git's own maintenance running at the same time (issue 9, item 12).

`git gc --auto` runs `prune-packed`, which removes loose objects already in a pack and
then every fan-out folder (``.git/objects/ab/``) left empty. A write that made the folder
and then renamed its object into it could find the folder gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.git import Git, runner
from autogpt_tui.core.git.objects import blob_id
from autogpt_tui.core.history import History
from tests.conftest import git
from tests.unit.history_support import write


@pytest.fixture
def repo(workspace: Path) -> Iterator[Git]:
    """The workspace as a repository with one commit of its files."""
    git(workspace, "init", "-q")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "first")
    handle = Git(workspace)
    yield handle
    handle.close()


def stored(root: Path, sha: str) -> bytes:
    """The content git itself reads back for object ``sha``."""
    return subprocess.run(
        ["git", "cat-file", "blob", sha], cwd=root, capture_output=True, check=True
    ).stdout


def no_temporary_files(objects: Path) -> bool:
    """Whether no write left a temporary file behind."""
    return not any(
        name.startswith("tmp_obj_") for _, _, names in os.walk(objects) for name in names
    )


def test_objects_written_while_fanout_folders_are_pruned_are_all_stored(repo: Git) -> None:
    objects = repo.objects_dir
    done = threading.Event()
    errors: list[BaseException] = []

    def prune() -> None:
        # The hostile neighbour: git's prune-packed, and the same removal of every empty
        # fan-out folder it ends with, over and over until the writer is done.
        try:
            for round_ in range(100_000):
                if done.is_set():
                    return
                if round_ % 50 == 0:
                    subprocess.run(["git", "prune-packed"], cwd=repo.root, check=True)
                for folder in objects.iterdir():
                    if len(folder.name) == 2:
                        # Not empty (or already gone): left, as prune-packed does.
                        with contextlib.suppress(OSError):
                            folder.rmdir()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    thread = threading.Thread(target=prune)
    thread.start()
    written: dict[str, bytes] = {}
    try:
        for i in range(400):
            data = f"object {i}\n".encode()
            written[repo.write_object("blob", data)] = data
    finally:
        done.set()
        thread.join()
    assert not errors
    assert len(written) == 400
    for sha, data in written.items():
        assert sha == blob_id(data)
        assert stored(repo.root, sha) == data
    assert no_temporary_files(objects)
    git(repo.root, "fsck", "--strict", "--no-dangling")


def test_a_folder_removed_between_the_write_and_the_rename_is_made_again(
    repo: Git, monkeypatch: pytest.MonkeyPatch
) -> None:
    removed: list[Path] = []

    def prune_now(tmp: str, target: Path) -> None:
        if not removed:  # the first time only: the retry then succeeds
            shutil.rmtree(target.parent)
            removed.append(target.parent)

    monkeypatch.setattr(runner, "_before_rename", prune_now)
    data = b"raced\n"
    sha = repo.write_object("blob", data)
    assert removed == [repo.objects_dir / sha[:2]]
    assert stored(repo.root, sha) == data
    assert no_temporary_files(repo.objects_dir)


def test_a_write_that_keeps_losing_the_race_goes_through_git(
    repo: Git, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: list[str] = []

    def always_prune(tmp: str, target: Path) -> None:
        tries.append(tmp)
        shutil.rmtree(target.parent)

    monkeypatch.setattr(runner, "_before_rename", always_prune)
    data = b"written by git in the end\n"
    sha = repo.write_object("blob", data)
    assert len(tries) == runner.WRITE_ATTEMPTS
    assert sha == blob_id(data)
    assert stored(repo.root, sha) == data
    assert no_temporary_files(repo.objects_dir)


def test_writing_an_object_that_exists_keeps_it(repo: Git) -> None:
    data = b"twice\n"
    first = repo.write_object("blob", data)
    path = repo.objects_dir / first[:2] / first[2:]
    os.utime(path, (1_000_000, 1_000_000))  # looks old: a prune of old objects would take it
    assert repo.write_object("blob", data) == first
    # Freshened, as git does, so that it survives until the ref that needs it is written.
    assert path.stat().st_mtime > 1_000_000
    assert stored(repo.root, first) == data


def test_maintenance_runs_in_the_foreground_and_packs(workspace: Path) -> None:
    git(workspace, "init", "-q")
    # git guesses the number of loose objects from the folder objects/17: with gc.auto=1
    # it packs once that folder holds two or more.
    in_sample = 0
    for i in range(5000):
        text = f"file {i}\n"
        write(workspace, f"files/{i}.txt", text)
        in_sample += blob_id(text.encode()).startswith("17")
        if in_sample >= 2:
            break
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "many files")
    git(workspace, "config", "gc.auto", "1")
    # The user's setting asks git to detach: the tool's own maintenance must not.
    git(workspace, "config", "gc.autoDetach", "true")
    with History.open(workspace, create=False) as history:
        history.maintain()
    # Finished when maintain returned: no background gc holds the repository, and the
    # loose objects are packed.
    assert not (workspace / ".git" / "gc.pid").exists()
    counts = dict(line.split(": ") for line in git(workspace, "count-objects", "-v").splitlines())
    assert int(counts["count"]) == 0
    assert int(counts["packs"]) >= 1
