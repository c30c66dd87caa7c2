"""The long-lived `git check-ignore` behind step commits, and maintenance in the background.

A step leaves out a new file the workspace ignores, as `git add` would. The answer
comes from one long-lived git process, which must never answer by rules that have
changed since it read them: an edited, new or removed ``.gitignore`` (by a step or by
hand), ``.git/info/exclude``, a negated pattern. The repack the agent's loop starts
every 100 steps runs in the background while steps go on writing objects and moving
refs; afterwards the repository is whole and every step reads back.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.git import Git
from autogpt_tui.core.git.ignore import MAX_ASKED, IgnoreChecker
from autogpt_tui.core.history import History
from tests.conftest import git
from tests.unit.history_support import agent_write, step, write


@pytest.fixture
def history(workspace: Path) -> Iterator[History]:
    h = History.open(workspace)
    yield h
    h.close()


def committed(root: Path, path: str) -> bool:
    """Whether HEAD's tree holds ``path``."""
    return bool(git(root, "ls-tree", "--name-only", "HEAD", "--", path).strip())


def test_a_step_leaves_out_new_files_by_the_rules_as_they_are_now(history: History) -> None:
    root = history.root
    agent_write(history, 1, ".gitignore", "*.log\n!keep.log\n")
    agent_write(history, 2, "a.log", "one\n")
    agent_write(history, 3, "keep.log", "kept\n")  # a negated pattern: not ignored
    assert not committed(root, "a.log")
    assert committed(root, "keep.log")
    # The agent changes the rules in a step: the next new file follows them.
    agent_write(history, 4, ".gitignore", "*.tmp\n")
    agent_write(history, 5, "b.log", "two\n")
    agent_write(history, 6, "c.tmp", "three\n")
    assert committed(root, "b.log")
    assert not committed(root, "c.tmp")
    # The user adds rules by hand (no step sees the file): a nested .gitignore, made
    # after the process has answered for that folder, and .git/info/exclude.
    agent_write(history, 7, "sub/first.txt", "first\n")
    write(root, "sub/.gitignore", "*.txt\n")
    agent_write(history, 8, "sub/second.txt", "second\n")
    assert committed(root, "sub/first.txt")
    assert not committed(root, "sub/second.txt")
    exclude = root / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with exclude.open("a") as out:
        out.write("private.md\n")
    agent_write(history, 9, "private.md", "mine\n")
    agent_write(history, 10, "public.md", "ours\n")
    assert not committed(root, "private.md")
    assert committed(root, "public.md")
    # A rule file removed by hand: what it ignored is taken again.
    (root / "sub" / ".gitignore").unlink()
    agent_write(history, 11, "sub/third.txt", "third\n")
    assert committed(root, "sub/third.txt")


def test_one_process_answers_while_the_rules_hold_and_a_fresh_one_after(
    workspace: Path,
) -> None:
    write(workspace, ".gitignore", "*.log\n")
    git(workspace, "init", "-q")
    repo = Git(workspace)
    checker = IgnoreChecker(repo)
    try:
        assert checker.ignored(["a.log", "a.txt"]) == ["a.log"]
        first = checker._proc
        assert first is not None
        assert checker.ignored(["deep/er/b.log", "c.txt"]) == ["deep/er/b.log"]
        assert checker._proc is first  # the same process answered
        write(workspace, "deep/.gitignore", "!b.log\n")
        assert checker.ignored(["deep/er/b.log"]) == []
        assert checker._proc is not first  # new rules: a fresh process
        # A process that died is replaced, and the answer is still right.
        current = checker._proc
        assert current is not None
        os.kill(current.pid, signal.SIGKILL)
        current.wait()
        assert checker.ignored(["x.log", "deep/er/b.log"]) == ["x.log"]
        assert checker.ignored(["y.log"]) == ["y.log"]
        # Many paths at once go to a one-off process, with the same answers.
        many = [f"f{i}.log" if i % 2 else f"f{i}.txt" for i in range(MAX_ASKED + 5)]
        assert checker.ignored(many) == [p for p in many if p.endswith(".log")]
    finally:
        repo.close()
    assert checker._proc is None  # closed with the repository handle


def test_background_maintenance_while_steps_go_on_leaves_a_whole_repository(
    history: History,
) -> None:
    root = history.root
    for n in range(1, 81):
        agent_write(history, n, f"f{n % 7}.txt", f"{n}\n")
    history.maintain(background=True)
    # Steps go on at once, writing objects and moving refs while the repack runs.
    for n in range(81, 121):
        agent_write(history, n, f"g{n % 5}.txt", f"{n}\n")
    step(history, 121, None, tool="run_command")
    history.maintain(background=True)  # reaps the first repack, or skips while it runs
    history.close()
    counts = dict(
        line.split(": ") for line in git(root, "count-objects", "-v").splitlines() if line
    )
    assert int(counts["packs"]) >= 1
    subprocess.run(["git", "fsck", "--full", "--no-progress"], cwd=root, check=True)
    with History.open(root, create=False) as again:
        steps = again.steps()
        assert [s.step for s in steps[:3]] == [121, 120, 119]
        assert len(steps) == 121
        assert again.resolve(steps[40].sha).record is not None
    for n in range(81, 121):
        assert (root / f"g{n % 5}.txt").exists()
    assert git(root, "status", "--porcelain") == ""
