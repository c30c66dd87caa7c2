"""Every history operation survives SIGKILL at any moment (issue 9, item 8).

The real CLI (`undo 3`, `redo 3`, `rate`) and a tiny script calling
``History.commit_step`` are killed at every checkpoint between two writes (the
``AUTOGPT_TUI_CRASH_AT`` hook) and at a few seeded random moments. After each kill,
`autogpt-tui log` (whose open recovers) must leave the workspace exactly as before the
operation or exactly as the operation would have left it, with git's own check clean,
the user's work untouched and undo and redo still working.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.journal import CHECKPOINTS, CRASH_ENV
from autogpt_tui.core.records import StepCommit, StepRecord
from tests.conftest import git
from tests.unit.history_support import dirty_the_users_work, files, write

pytestmark = pytest.mark.slow

STEP_SCRIPT = textwrap.dedent(
    """
    import sys
    from autogpt_tui.core.history import History
    from autogpt_tui.core.records import StepCommit, StepRecord

    root, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with History.open(root, create=False) as history:
        history.commit_step(
            session="s1", step=n, tool="write_file", policy="default", summary=f"step {n}",
            record=StepRecord(thought="t", tool="write_file", arguments={"path": path}),
            paths=[path],
        )
    """
)

USER_SCRIPT = textwrap.dedent(
    """
    import sys
    from autogpt_tui.core.history import History

    root, path = sys.argv[1], sys.argv[2]
    with History.open(root, create=False) as history:
        assert history.protect_user_work([path]) is not None
    """
)
"""Commits the user's version of a file the agent is about to change, as theirs."""

USER_FILES = ["README.md", "scratch.txt", "debug.log", "secret/key.txt", "notes.md"]
"""The user's uncommitted, staged, untracked and ignored files (see make_workspace)."""


class Workspace:
    """A workspace with a dozen agent steps and the user's work in progress."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.next_step = 1
        self.user_edits = 0

    def step(self, history: History) -> str:
        """Take one agent step in-process: write a file of its own and commit it."""
        n = self.next_step
        self.next_step += 1
        rel = f"agent/f{n % 5}.txt"
        write(self.root, rel, f"step {n}\n")
        return commit(history, n, rel).sha

    def user_commit(self) -> None:
        """A commit of the user's on top (undo then reverts rather than resets)."""
        log = self.root / "user" / "log.txt"
        log.parent.mkdir(exist_ok=True)
        with log.open("a") as out:
            out.write(f"before step {self.next_step}\n")
        git(self.root, "add", "user/log.txt")
        git(self.root, "commit", "-qm", "user: log", "--", "user/log.txt")


def commit(history: History, n: int, rel: str) -> StepCommit:
    return history.commit_step(
        session="s1",
        step=n,
        tool="write_file",
        policy="default",
        summary=f"step {n}",
        record=StepRecord(thought="t", tool="write_file", arguments={"path": rel}),
        paths=[rel],
    )


@pytest.fixture
def ws(workspace: Path) -> Workspace:
    space = Workspace(workspace)
    with History.open(workspace) as history:
        for _ in range(12):
            space.step(history)
    dirty_the_users_work(workspace)  # a staged README, untracked and ignored files
    write(workspace, "notes.md", "committed\n")
    git(workspace, "add", "notes.md")
    git(workspace, "commit", "-qm", "user: notes", "--", "notes.md")
    write(workspace, "notes.md", "committed, then edited and not staged\n")
    return space


# --------------------------------------------------------------------- running


def cli_args(root: Path, op: str, arg: str) -> list[str]:
    if op == "step":
        return [sys.executable, "-c", STEP_SCRIPT, str(root), *arg.split(" ")]
    if op == "user":
        return [sys.executable, "-c", USER_SCRIPT, str(root), arg]
    if op == "rate":
        return [sys.executable, "-m", "autogpt_tui", "rate", str(root), arg, "+1"]
    return [sys.executable, "-m", "autogpt_tui", op, str(root), arg]


def env_with(crash_at: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash_at:
        env[CRASH_ENV] = crash_at
    return env


def run(args: list[str], crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env_with(crash_at),
        timeout=120,
    )


def kill_at_random(args: list[str], delay: float) -> None:
    """Start ``args`` and SIGKILL it (the process only, as `kill -9` does) after ``delay``
    seconds unless it finished; then wait until the git commands it started are done."""
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env_with(None),
        start_new_session=True,
    )
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.kill()
    proc.wait()
    # Its git children carry on as orphans (as they would after a real kill -9).
    deadline = time.monotonic() + 60
    while group_alive(proc.pid):
        assert time.monotonic() < deadline, "the killed process's children never ended"
        time.sleep(0.01)


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` is still running (zombies don't count)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def recover_with_log(root: Path) -> str:
    """Run `log` (whose open recovers); returns what it told the user on stderr."""
    result = run([sys.executable, "-m", "autogpt_tui", "log", str(root)])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


# --------------------------------------------------------------------- checking


def snapshot(root: Path) -> dict[str, Any]:
    """Everything that tells two outcomes apart: files, HEAD's tree, the index, the
    step list with undone marks and ratings, the redo stack's depth."""
    with History.open(root, create=False) as history:
        steps = [(s.session, s.step, s.undone, s.rating) for s in history.steps()]
        return {
            "files": files(root),
            "tree": history.tree_of(history.head()),
            "status": git(root, "status", "--porcelain=v1", "--untracked-files=all", "--ignored"),
            "cached": git(root, "diff", "--cached", "--name-only"),
            "steps": steps,
            "redo": history.redo_depth(),
        }


def copy_of(root: Path, tmp: Path) -> Path:
    copy = tmp / "reference"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, symlinks=True)
    return copy


def assert_sound(root: Path, user_files: dict[str, bytes]) -> None:
    """git's check is clean, the user's files and staging are untouched, and undo and
    redo work (and give back the same state)."""
    check = subprocess.run(
        ["git", "fsck", "--no-dangling"], cwd=root, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "missing" not in check.stdout + check.stderr
    assert "broken" not in check.stdout + check.stderr
    assert {p: (root / p).read_bytes() for p in USER_FILES} == user_files
    # Only what the user staged is staged.
    assert git(root, "diff", "--cached", "--name-only").split() == ["README.md"]
    before = snapshot(root)
    with History.open(root, create=False) as history:
        history.undo(1)
        history.redo(1)
    after = snapshot(root)
    for key in ("files", "tree", "status", "cached", "redo"):
        assert after[key] == before[key], key


class Scenario:
    """One operation, prepared, with the outcomes it may have."""

    def __init__(self, space: Workspace, tmp: Path, op: str, *, timed: bool = False) -> None:
        self.space = space
        self.op = op
        root = space.root
        with History.open(root, create=False) as history:
            if op == "undo":
                # Alternate between steps on top (undo resets) and a user commit on top
                # (undo writes revert commits).
                for _ in range(3):
                    space.step(history)
                if space.next_step % 2:
                    space.user_commit()
            elif op == "redo":
                for _ in range(3):
                    space.step(history)
                history.undo(3)
            history_steps = history.steps(1)
        self.arg = {"undo": "3", "redo": "3", "rate": history_steps[0].sha}.get(op, "")
        if op == "user":
            # The user edits a file an agent step wrote; the agent is about to change it.
            self.arg = f"agent/f{(space.next_step - 2) % 5}.txt"  # not the newest step's
            space.user_edits += 1
            write(root, self.arg, f"the user's edit {space.user_edits}, to be committed\n")
        if op == "step":
            n = space.next_step
            space.next_step += 1
            self.path = f"agent/f{n % 5}.txt"
            write(root, self.path, f"step {n}, taken by a process that may be killed\n")
            self.arg = f"{n} {self.path}"
        self.before = snapshot(root)
        # The state the operation leaves when nothing interrupts it, from a copy.
        copy = copy_of(root, tmp)
        self.duration = 0.0
        """How long the uninterrupted command took (``timed``): kills are aimed at it."""
        if timed:
            started = time.monotonic()
            assert run(cli_args(copy, op, self.arg)).returncode == 0
            self.duration = time.monotonic() - started
        else:
            with History.open(copy, create=False) as history:
                self.operation(history)
        self.done = snapshot(copy)
        self.user_files = {p: (root / p).read_bytes() for p in USER_FILES}

    def operation(self, history: History) -> object:
        if self.op == "undo":
            return history.undo(3)
        if self.op == "redo":
            return history.redo(3)
        if self.op == "rate":
            return history.rate(self.arg, 1)
        if self.op == "user":
            return history.protect_user_work([self.arg])
        n, path = self.arg.split(" ")
        return commit(history, int(n), path)

    def args(self) -> list[str]:
        return cli_args(self.space.root, self.op, self.arg)

    def check(self, expect: str | None) -> None:
        """After recovery: the state before or the state done (``expect`` says which,
        when the kill point decides it), and everything sound."""
        root = self.space.root
        now = snapshot(root)
        if expect == "before":
            assert now == self.before
        elif expect == "done":
            assert now == self.done
        else:
            assert now in (self.before, self.done)
        if self.op == "step" and now == self.before:
            # The step was rolled back: its change is in the working tree, uncommitted,
            # as the action left it; the resumed agent would commit it.
            with History.open(root, create=False) as history:
                n, path = self.arg.split(" ")
                commit(history, int(n), path)
        if self.op == "user" and now == self.before:
            # Not committed: the user's edit is still theirs, uncommitted, as it was.
            with History.open(root, create=False) as history:
                assert history.protect_user_work([self.arg]) is not None
        assert_sound(root, self.user_files)


def test_the_kill_hook_is_dormant_without_the_variable(ws: Workspace, tmp_path: Path) -> None:
    scenario = Scenario(ws, tmp_path, "undo")
    result = run(scenario.args())
    assert result.returncode == 0, result.stderr
    scenario.check("done")


@pytest.mark.parametrize("op", ["step", "user", "undo", "redo", "rate"])
def test_a_kill_at_every_checkpoint_is_recovered(op: str, ws: Workspace, tmp_path: Path) -> None:
    for checkpoint in CHECKPOINTS[op]:
        scenario = Scenario(ws, tmp_path, op)
        result = run(scenario.args(), crash_at=f"{checkpoint}:1")
        assert result.returncode == -9, (checkpoint, result.stderr)
        journal = ws.root / ".git" / "autogpt-tui" / "journal"
        journalled = not checkpoint.endswith(":objects")
        assert (journal.is_dir() and any(journal.iterdir())) == journalled, checkpoint
        told = recover_with_log(ws.root)
        assert ("was interrupted" in told) == journalled, (checkpoint, told)
        assert not journal.is_dir() or not any(journal.iterdir())
        # Once journalled, an operation is always finished; before that, it never began.
        scenario.check("done" if journalled else "before")


@pytest.mark.parametrize("checkpoint", CHECKPOINTS["recover"])
def test_a_kill_during_recovery_is_recovered_by_the_next_open(
    checkpoint: str, ws: Workspace, tmp_path: Path
) -> None:
    for op, cut in (("undo", "undo:refs"), ("redo", "redo:journal"), ("step", "step:refs")):
        scenario = Scenario(ws, tmp_path, op)
        assert run(scenario.args(), crash_at=f"{cut}:1").returncode == -9
        log = [sys.executable, "-m", "autogpt_tui", "log", str(ws.root)]
        assert run(log, crash_at=f"{checkpoint}:1").returncode == -9
        recover_with_log(ws.root)
        scenario.check("done")


def test_kills_at_random_moments_are_recovered(ws: Workspace, tmp_path: Path) -> None:
    rng = random.Random(9)
    for _ in range(6):
        op = rng.choice(["step", "undo", "redo", "rate"])
        scenario = Scenario(ws, tmp_path, op, timed=True)
        # Most of a run is starting Python; the writes come at the end of it.
        kill_at_random(scenario.args(), scenario.duration * rng.uniform(0.8, 1.0))
        recover_with_log(ws.root)
        scenario.check(None)
