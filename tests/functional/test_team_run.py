"""``autogpt-tui run --agents planner,coder,reviewer``: a team headless, as a user runs it,
against the scripted server playing each role; every event line carries its role."""

from __future__ import annotations

from pathlib import Path

from tests.functional.test_run_cli import events, run
from tests.support.role_play import RolePlay, call
from tests.support.scripted_llm import ScriptedLLM


def test_run_with_agents_prints_each_event_with_its_role(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    play = RolePlay(llm_server)
    play.script("planner", [call("finish", summary="- [ ] Write a.txt")])
    play.script(
        "coder",
        [call("write_file", path="a.txt", content="a\n"), call("finish", summary="a.txt written")],
    )
    play.script("reviewer", [call("finish", summary="+1 good")])
    result = run(
        str(workspace),
        "--goal", "Write a.",
        "--base-url", llm_server.base_url,
        "--agents", "planner,coder,reviewer",
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = events(result)
    commits = [e for e in lines if e["type"] == "commit"]
    assert [c["role"] for c in commits] == ["planner", "coder", "reviewer", "coder"]
    assert all("role" in e for e in lines if e["type"] in ("proposed", "executed", "commit"))
    review = next(e for e in lines if e["type"] == "review")
    assert (review["value"], review["reason"], review["role"]) == (1, "good", "reviewer")
    plans = [e for e in lines if e["type"] == "plan"]
    assert plans[-1]["subgoals"] == [["Write a.txt", "done"]]
    assert lines[-1]["type"] == "finished" and lines[-1]["outcome"] == "finished"
    assert "role" not in lines[-1]


def test_run_with_agents_in_text_names_the_speaker(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    play = RolePlay(llm_server)
    play.script("planner", [call("finish", summary="- [ ] Nothing to change")])
    play.script("coder", [call("finish", summary="nothing to do")])
    result = run(
        str(workspace), "--goal", "Look.", "--base-url", llm_server.base_url,
        "--agents", "planner,coder",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "[planner] step 1: finish" in result.stdout
    assert "[coder] step 2: finish" in result.stdout  # one session, numbers across roles
    assert "  - [x] Nothing to change" in result.stdout
    # The team's one session is announced once, not once per role.
    assert sum(line.startswith("Session ") for line in result.stdout.splitlines()) == 1


def test_run_with_an_unknown_agent_is_one_sentence(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    result = run(
        str(workspace), "--goal", "Look.", "--base-url", llm_server.base_url,
        "--agents", "planner,boss",
    )  # fmt: skip
    assert result.returncode != 0
    assert "--agents names 'boss', which no [[agents]] has" in result.stderr
    assert "Traceback" not in result.stderr
    assert not llm_server.requests
    empty = run(str(workspace), "--goal", "Look.", "--agents", " , ")
    assert empty.returncode == 2 and "--agents needs names" in empty.stderr
