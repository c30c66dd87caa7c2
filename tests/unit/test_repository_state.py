"""A repository in the middle of a merge, rebase, cherry-pick, revert, bisect or `git am`:
the agent does not step, undo and redo do not move HEAD, and nothing is committed."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.agent import Agent
from autogpt_tui.core.errors import RepositoryBusy
from autogpt_tui.core.events import ErrorOccurred, Event, Finished, StepCommitted
from autogpt_tui.core.git import Git
from autogpt_tui.core.git.state import busy_sentence, repository_state
from autogpt_tui.core.history import History
from autogpt_tui.core.llm import ModelClient
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.tools import ToolRunner
from tests.conftest import git
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall
from tests.unit.history_support import agent_write, files


def attempt(root: Path, *args: str) -> int:
    """Run a git command that may stop on a conflict; returns its exit status."""
    return subprocess.run(
        ["git", "-c", "user.name=Test User", "-c", "user.email=user@example.com", *args],
        cwd=root,
        capture_output=True,
        check=False,
    ).returncode


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """main and other disagree on f.txt; main has two agent steps, one of them undone
    (so both undo and redo have something to do)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "f.txt").write_text("base\n")
    (root / "g.txt").write_text("g\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "other")
    (root / "f.txt").write_text("other\n")
    git(root, "commit", "-qam", "other changes f")
    (root / "g.txt").write_text("other g\n")
    git(root, "commit", "-qam", "other changes g")
    git(root, "checkout", "-q", "main")
    (root / "f.txt").write_text("main\n")
    git(root, "commit", "-qam", "main changes f")
    git(root, "tag", "main-f")
    with History.open(root) as h:
        agent_write(h, 1, "agent.txt", "one\n")
        agent_write(h, 2, "agent.txt", "two\n")
        h.undo(1)
    yield root


def _merge(root: Path) -> None:
    assert attempt(root, "merge", "other") != 0


def _rebase(root: Path) -> None:
    assert attempt(root, "rebase", "other") != 0


def _rebase_apply(root: Path) -> None:
    assert attempt(root, "rebase", "--apply", "other") != 0


def _am(root: Path) -> None:
    patch = root.parent / "other.patch"
    patch.write_bytes(
        subprocess.run(
            ["git", "format-patch", "-1", "--stdout", "other~1"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    )
    assert attempt(root, "am", "--3way", str(patch)) != 0


def _cherry_pick(root: Path) -> None:
    assert attempt(root, "cherry-pick", "other~1") != 0


def _cherry_pick_series_between_commits(root: Path) -> None:
    # The first pick conflicts; once resolved and committed, CHERRY_PICK_HEAD is gone
    # but the sequencer still has the second pick to do.
    assert attempt(root, "cherry-pick", "other~1", "other") != 0
    (root / "f.txt").write_text("resolved\n")
    git(root, "add", "f.txt")
    git(root, "commit", "-qm", "picked, resolved")


def _revert(root: Path) -> None:
    (root / "f.txt").write_text("main again\n")
    git(root, "commit", "-qam", "main changes f again")
    assert attempt(root, "revert", "--no-edit", "main-f") != 0


def _bisect(root: Path) -> None:
    git(root, "bisect", "start")


STATES: dict[str, tuple[Callable[[Path], None], str]] = {
    "merge": (_merge, "merge"),
    "rebase": (_rebase, "rebase"),
    "rebase-apply": (_rebase_apply, "rebase"),
    "am": (_am, "am"),
    "cherry-pick": (_cherry_pick, "cherry-pick"),
    "cherry-pick-series": (_cherry_pick_series_between_commits, "cherry-pick"),
    "revert": (_revert, "revert"),
    "bisect": (_bisect, "bisect"),
}


def snapshot(root: Path) -> tuple[dict[str, bytes], str, str, list[str]]:
    """Files, HEAD, status and git's own state files: what a refusal must leave alone."""
    state_files = sorted(
        p.name
        for p in (root / ".git").iterdir()
        if p.name.endswith("_HEAD")
        or p.name.startswith(("rebase-", "BISECT_", "sequencer", "MERGE_"))
    )
    return (
        files(root),
        git(root, "rev-parse", "HEAD"),
        git(root, "status", "--porcelain=v1", "--untracked-files=all"),
        state_files,
    )


def test_a_quiet_repository_has_no_state(repo: Path) -> None:
    git_handle = Git(repo)
    try:
        assert repository_state(git_handle) is None
    finally:
        git_handle.close()


@pytest.mark.parametrize("name", list(STATES))
def test_each_state_is_named_and_undo_and_redo_refuse_it(repo: Path, name: str) -> None:
    start, key = STATES[name]
    start(repo)
    before = snapshot(repo)
    with History.open(repo, create=False) as h:
        assert repository_state(Git(repo)) == key
        with pytest.raises(RepositoryBusy) as undo:
            h.undo(1)
        with pytest.raises(RepositoryBusy) as redo:
            h.redo(1)
    assert undo.value.state == key
    assert str(undo.value).startswith("This repository is in the middle of ")
    assert str(undo.value).endswith("before undoing a step.")
    assert str(redo.value).endswith("before redoing a step.")
    assert "\n" not in str(undo.value)
    assert snapshot(repo) == before


def test_the_sentences_say_how_to_finish() -> None:
    assert busy_sentence("merge") == (
        "This repository is in the middle of a merge; finish it (git commit) or abort it "
        "(git merge --abort) before the agent can work."
    )
    assert "git rebase --continue" in busy_sentence("rebase")
    assert "git am --abort" in busy_sentence("am")
    assert "git cherry-pick --abort" in busy_sentence("cherry-pick")
    assert "git revert --continue" in busy_sentence("revert")
    assert "git bisect reset" in busy_sentence("bisect")


class _Loop:
    """An agent on ``root`` against the scripted server, recording its events."""

    def __init__(self, root: Path, server: ScriptedLLM) -> None:
        self.events: list[Event] = []
        self.history = History.open(root)
        self.client = ModelClient(
            model="scripted-model", base_url=server.base_url, api_key="k", max_retries=0
        )
        tools = ToolRunner(self.history.root, CommandRunner(self.history.root, sandbox=False))
        self.agent = Agent(
            history=self.history,
            model=self.client,
            tools=tools,
            goal="Write notes.",
            mode="auto",
            emit=self.events.append,
        )

    def close(self) -> None:
        self.client.close()
        self.history.close()


def write_call(path: str, content: str) -> Reply:
    arguments = {"path": path, "content": content}
    return Reply("Writing.", tool_calls=[ToolCall("write_file", arguments)])


@pytest.mark.parametrize("name", ["merge", "rebase", "cherry-pick", "bisect"])
def test_the_agent_does_not_step_in_the_middle_of_an_operation(
    repo: Path, llm_server: ScriptedLLM, name: str
) -> None:
    start, key = STATES[name]
    start(repo)
    before = snapshot(repo)
    llm_server.script(write_call("notes.txt", "x\n"))
    loop = _Loop(repo, llm_server)
    try:
        result = loop.agent.run()
    finally:
        loop.close()
    assert result.outcome == "error"
    assert result.message == busy_sentence(key)
    assert [e.message for e in loop.events if isinstance(e, ErrorOccurred)] == [result.message]
    assert not [e for e in loop.events if isinstance(e, StepCommitted)]
    assert llm_server.requests == []  # not even the model was asked
    assert snapshot(repo) == before  # conflict markers and git's state files untouched


def test_a_merge_started_while_the_session_is_open_stops_the_next_step(
    repo: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(write_call("notes.txt", "first\n"), write_call("notes.txt", "second\n"))
    loop = _Loop(repo, llm_server)
    try:
        first = loop.agent.run(max_steps=1)
        assert first.outcome == "stepped"
        head = git(repo, "rev-parse", "HEAD")
        _merge(repo)  # the user, meanwhile, in their own terminal
        before = snapshot(repo)
        second = loop.agent.run()
    finally:
        loop.close()
    assert second.outcome == "error" and "middle of a merge" in second.message
    assert isinstance(loop.events[-1], Finished)
    assert git(repo, "rev-parse", "HEAD") == head
    assert snapshot(repo) == before
    assert (repo / ".git" / "MERGE_HEAD").exists()
    assert "<<<<<<<" in (repo / "f.txt").read_text()
    assert len(llm_server.requests) == 1
    # Once the user finishes the merge, the agent works again.
    (repo / "f.txt").write_text("merged\n")
    git(repo, "commit", "-qam", "merge other")
    loop = _Loop(repo, llm_server)
    try:
        third = loop.agent.run(max_steps=1)
    finally:
        loop.close()
    assert third.outcome == "stepped"
    assert (repo / "notes.txt").read_text() == "second\n"
