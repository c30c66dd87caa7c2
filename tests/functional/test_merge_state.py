"""A repository in the middle of a merge, as a user meets it: `autogpt-tui run` exits 1
with the sentence, the TUI shows it, and the conflict state survives untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autogpt_tui.core.git.state import busy_sentence
from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from tests.conftest import git
from tests.functional.test_tui import press, until
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

SENTENCE = busy_sentence("merge")


@pytest.fixture
def mid_merge(tmp_path: Path) -> Path:
    """A repository whose merge of ``other`` stopped on a conflict in f.txt."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "f.txt").write_text("base\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "other")
    (root / "f.txt").write_text("other\n")
    git(root, "commit", "-qam", "other")
    git(root, "checkout", "-q", "main")
    (root / "f.txt").write_text("main\n")
    git(root, "commit", "-qam", "main")
    merge = subprocess.run(
        ["git", "-c", "user.name=U", "-c", "user.email=u@example.com", "merge", "other"],
        cwd=root,
        capture_output=True,
    )
    assert merge.returncode == 1
    (root / "notes.txt").write_text("the user's own, untracked\n")
    return root


def state(root: Path) -> tuple[str, str, str, bytes, bool]:
    return (
        git(root, "for-each-ref", "--format=%(refname) %(objectname)"),
        git(root, "rev-parse", "HEAD"),
        git(root, "status", "--porcelain=v1", "--untracked-files=all"),
        (root / "f.txt").read_bytes(),
        (root / ".git" / "MERGE_HEAD").exists(),
    )


def test_run_mid_merge_exits_1_with_the_sentence_and_commits_nothing(
    mid_merge: Path, llm_server: ScriptedLLM
) -> None:
    before = state(mid_merge)
    assert before[-1] and b"<<<<<<<" in before[3]
    llm_server.script(Reply("w", tool_calls=[ToolCall("finish", {"summary": "x"})]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "autogpt_tui",
            "run",
            str(mid_merge),
            "--goal",
            "Fix it",
            "--base-url",
            llm_server.base_url,
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, OPENAI_API_KEY="sk-test-merge"),
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == f"autogpt-tui: {SENTENCE}\n"
    assert llm_server.requests == []
    assert state(mid_merge) == before


async def test_the_tui_shows_the_merge_notice_and_commits_nothing(
    mid_merge: Path, llm_server: ScriptedLLM
) -> None:
    before = state(mid_merge)
    settings = load_settings(
        mid_merge,
        overrides={"model": {"base_url": llm_server.base_url, "api_key": "sk-test-merge"}},
    )
    app = WorkstationApp(mid_merge, goal="Fix it", settings=settings)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await press(app, "s")
            await until(pilot, lambda: any(n.message == SENTENCE for n in app._notifications))
            await until(pilot, lambda: not app._agent_busy)
    finally:
        app.runner.stop()
        app.runner.close()
    assert llm_server.requests == []
    assert state(mid_merge) == before
