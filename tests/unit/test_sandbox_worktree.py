"""Commands in a ``--worktree`` session's worktree, inside bubblewrap: git works there
(read-only), the repository's config shows no credential, and neither the user's
checkout nor the rest of the common git directory is in sight."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.sandbox_worktree import linked_worktree_mounts
from autogpt_tui.core.worktree import start_worktree
from tests.conftest import git

TOKEN = "ghp_worktreeSECRET42"


@pytest.fixture
def worktree(workspace: Path) -> Path:
    """A repository whose remote URL holds a token, an uncommitted file in the user's
    checkout, and a session worktree; the worktree's folder."""
    with History.open(workspace) as history:
        git(workspace, "remote", "add", "origin", f"https://me:{TOKEN}@example.com/r.git")
        (workspace / "mine.txt").write_text("the user's own\n")
        return start_worktree(history, "wtsandbox1").path


@pytest.fixture
def boxed(worktree: Path) -> CommandRunner:
    """A sandboxed runner in the worktree; without a working bwrap the test skips,
    except on CI."""
    runner = CommandRunner(worktree, sandbox=True, default_timeout_s=10)
    status = runner.sandbox_status
    if not status.active:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the sandbox tests, but: {status.notice}")
        pytest.skip(status.notice)
    return runner


def test_git_works_in_the_worktree_inside_the_sandbox(boxed: CommandRunner) -> None:
    result = boxed.run("echo new > made.txt && git log --format=%s -1 && git status --short")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "?? made.txt"


def test_the_repository_is_read_only_and_its_credentials_unseen(
    boxed: CommandRunner, workspace: Path
) -> None:
    common = workspace / ".git"
    shown = boxed.run(f"git remote get-url origin; cat {common}/config")
    assert "example.com" in shown.stdout and TOKEN not in shown.stdout + shown.stderr
    assert boxed.run(f"touch {common}/refs/heads/x").exit_code != 0
    assert boxed.run("git branch made-inside").exit_code != 0
    assert "made-inside" not in git(workspace, "branch")


def test_the_users_checkout_and_the_rest_of_git_are_out_of_sight(
    boxed: CommandRunner, workspace: Path
) -> None:
    assert boxed.run(f"cat {workspace}/mine.txt").exit_code != 0
    assert (workspace / ".git" / "index").exists()
    assert boxed.run(f"ls {workspace}/.git/index").exit_code != 0  # the user's index


def test_no_mounts_for_an_ordinary_checkout(workspace: Path, tmp_path: Path) -> None:
    with History.open(workspace):
        pass
    assert linked_worktree_mounts(workspace, tmp_path) == []
