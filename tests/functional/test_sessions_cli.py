"""``autogpt-tui sessions`` and ``--session``/``--continue``, run as a user would."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from autogpt_tui.core.history import History
from tests.functional.test_cli import assert_one_sentence, cli
from tests.functional.test_run_cli import call, events, run
from tests.support.scripted_llm import ScriptedLLM
from tests.support.steps import commit_write_step

OLD = "aaaa111111"
"""The older session: three steps in force, writing docs."""
NEW = "aaab222222"
"""The newer session (its id shares ``aaa`` with the older one): two steps in force, one
taken off the branch by an undo."""


def write_steps(history: History, session: str, goal: str, numbers: range) -> None:
    """Commit one write_file step per number, as the agent would have."""
    for n in numbers:
        name = f"{session[:4]}-{n}.txt"
        commit_write_step(
            history, session=session, step=n, path=name, content=f"{session} {n}\n", goal=goal
        )


@pytest.fixture
def two_sessions(workspace: Path) -> Path:
    """Two sessions: OLD with 3 steps (one rated up), NEW with 3 steps, of which the last
    was undone (rated −1 for it) and the first rated down."""
    with History.open(workspace) as history:
        write_steps(history, OLD, "Write the docs", range(1, 4))
        write_steps(history, NEW, "Add the tests", range(1, 4))
        history.undo(1)
        history.rate(f"{OLD}#2", 1, "good")
        history.rate(f"{NEW}#1", -1)
    return workspace


def test_sessions_lists_both_newest_first_with_steps_rewards_and_the_current_one(
    two_sessions: Path,
) -> None:
    result = cli("sessions", str(two_sessions))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SESSION", "STEPS", "LAST", "ACTIVITY", "REWARDS", "GOAL"]
    new, old = lines[1], lines[2]
    assert new.startswith(f"*  {NEW}") and "2 +1 undone" in new and new.endswith("Add the tests")
    assert "-2 (0+ 2−)" in new  # rated −1, and the undone step counted −1 by the undo
    assert old.startswith(f"   {OLD}") and "+1 (1+ 0−)" in old and old.endswith("Write the docs")
    assert lines[-1] == "* the session --continue resumes"


def test_sessions_json_is_an_array_newest_first(two_sessions: Path) -> None:
    result = cli("sessions", str(two_sessions), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [s["id"] for s in data] == [NEW, OLD]
    new, old = data
    assert (new["steps"], new["undone"], new["last_step"]) == (2, 1, 3)
    assert (new["reward"], new["rated_up"], new["rated_down"]) == (-2.0, 0, 2)
    assert new["current"] and not old["current"]
    assert (old["steps"], old["undone"], old["goal"]) == (3, 0, "Write the docs")
    assert old["last_activity"] <= new["last_activity"]
    assert isinstance(new["last_activity"], int) and new["finished"] is False


def test_sessions_of_a_workspace_without_steps_says_so(workspace: Path) -> None:
    with History.open(workspace):
        pass
    result = cli("sessions", str(workspace))
    assert result.returncode == 0 and "No sessions yet" in result.stdout
    assert json.loads(cli("sessions", str(workspace), "--json").stdout) == []


def test_sessions_in_a_plain_folder_is_refused(tmp_path: Path) -> None:
    result = cli("sessions", str(tmp_path))
    assert_one_sentence(result, 2, "not")
    assert not (tmp_path / ".git").exists()


def test_a_session_resumed_above_another_is_one_session(two_sessions: Path) -> None:
    # OLD goes on above NEW's steps: its steps no longer lie together on the branch.
    with History.open(two_sessions) as history:
        write_steps(history, OLD, "Write the docs", range(4, 5))
    data = json.loads(cli("sessions", str(two_sessions), "--json").stdout)
    assert [(s["id"], s["steps"], s["current"]) for s in data] == [(OLD, 4, True), (NEW, 2, False)]


def run_session_flags(workspace: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`run` with session flags and no model: a choice is made (or refused) first."""
    return cli("run", str(workspace), *flags, "--base-url", "http://127.0.0.1:9/v1")


@pytest.mark.parametrize(
    ("flags", "sentence"),
    [
        (("--session", "aaa"), "'aaa' fits 2 sessions"),
        (("--session", "zzz"), "No session's id starts with 'zzz'"),
        (("--session", OLD, "--goal", "Something else"), "a different --goal starts a new session"),
        (("--session", OLD, "--continue"), "not allowed with argument"),
        ((), "--goal is required"),
    ],
)
def test_run_refuses_a_session_it_cannot_choose_in_one_sentence(
    two_sessions: Path, flags: tuple[str, ...], sentence: str
) -> None:
    head = (two_sessions / ".git" / "HEAD").read_text()
    before = cli("log", str(two_sessions), "--json").stdout
    result = run_session_flags(two_sessions, *flags)
    assert_one_sentence(result, 2, sentence)
    assert cli("log", str(two_sessions), "--json").stdout == before
    assert (two_sessions / ".git" / "HEAD").read_text() == head


def test_continue_without_any_session_is_refused(workspace: Path) -> None:
    with History.open(workspace):
        pass
    result = run_session_flags(workspace, "--continue")
    assert_one_sentence(result, 2, "There is no session to continue")


def test_run_continue_resumes_the_latest_session_with_its_goal_and_numbering(
    two_sessions: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        call("write_file", path="more.txt", content="more\n"), call("finish", summary="done")
    )
    result = run(str(two_sessions), "--continue", "--base-url", llm_server.base_url, "--json")
    assert result.returncode == 0, result.stderr
    lines = events(result)
    started = [e for e in lines if e["type"] == "session"]
    assert len(started) == 1
    assert started[0]["session"] == NEW and started[0]["goal"] == "Add the tests"
    assert started[0]["resumed"] and started[0]["steps"] == 2 and started[0]["last_step"] == 3
    commits = [e for e in lines if e["type"] == "commit"]
    # After step 3 (undone, its number kept), in the same session.
    assert [(c["session"], c["step"]) for c in commits] == [(NEW, 4), (NEW, 5)]
    first = llm_server.requests[0].messages
    assert {"role": "user", "content": "Goal: Add the tests"} in first
    # The conversation was rebuilt from the session's records: its two steps in force.
    calls = [m for m in first if m.get("role") == "assistant" and m.get("tool_calls")]
    assert len(calls) == 2


def test_run_session_resumes_an_older_session_by_prefix_above_the_newer_one(
    two_sessions: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(call("finish", summary="docs done"))
    result = run(str(two_sessions), "--session", "aaaa", "--base-url", llm_server.base_url)
    assert result.returncode == 0, result.stderr
    assert f"Resuming session {OLD} (3 steps in force): Write the docs" in result.stdout
    assert "Finished after 1 step: docs done" in result.stdout
    first = llm_server.requests[0].messages
    assert {"role": "user", "content": "Goal: Write the docs"} in first
    assert len([m for m in first if m.get("tool_calls")]) == 3
    data = json.loads(cli("sessions", str(two_sessions), "--json").stdout)
    assert [(s["id"], s["steps"], s["last_step"], s["finished"]) for s in data] == [
        (OLD, 4, 4, True),
        (NEW, 2, 3, False),
    ]
    # Taken again with --session, the older session's conversation holds all four steps,
    # though the newer session's lie between them.
    llm_server.script(call("finish", summary="again"))
    again = run(str(two_sessions), "--session", OLD, "--base-url", llm_server.base_url)
    assert again.returncode == 0, again.stderr
    assert len([m for m in llm_server.requests[-1].messages if m.get("tool_calls")]) == 4


@pytest.mark.parametrize(
    ("flags", "sentence"),
    [
        (("--session", "aaa"), "'aaa' fits 2 sessions"),
        (("--session", "zzz"), "No session's id starts with 'zzz'"),
        (("--continue", "--goal", "Other"), "a different --goal starts a new session"),
    ],
)
def test_the_tui_refuses_a_session_it_cannot_choose_before_the_screen(
    two_sessions: Path, flags: tuple[str, ...], sentence: str
) -> None:
    result = cli(str(two_sessions), *flags)
    assert_one_sentence(result, 2, sentence)
    assert result.stdout == ""  # no screen was drawn
    # The workspace lock was given up: a second try is refused for the same reason, not
    # because an agent holds the workspace.
    assert_one_sentence(cli(str(two_sessions), *flags), 2, sentence)
