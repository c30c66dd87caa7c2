"""A team of agents (core/orchestra.py) on a real workspace and the scripted server, which
plays each role by the role's prompt: plan → code → review → finish, the Agent-Role
trailer, reviewer ratings, undo across a subgoal boundary rewinding the plan, resume."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from autogpt_tui.core.events import Event, Finished, StepCommitted, UsageUpdated
from autogpt_tui.core.history import History
from autogpt_tui.core.orchestra_events import PlanUpdated, ReviewGiven, RoleEvent
from autogpt_tui.core.settings import ModelSettings, SandboxSettings, Settings
from autogpt_tui.core.team_session import TeamSession, UnknownAgent, choose_team, open_team
from tests.support.role_play import RolePlay, call
from tests.support.scripted_llm import Reply, ScriptedLLM, Usage

TEAM = ["planner", "coder", "reviewer"]
PLAN = "- [ ] Write a.txt\n- [ ] Write b.txt"


def settings_for(server: ScriptedLLM, **agent: object) -> Settings:
    settings = Settings(
        model=ModelSettings(
            model="scripted-model", base_url=server.base_url, api_key=SecretStr("k")
        ),
        sandbox=SandboxSettings(enabled=False),
    )
    for key, value in agent.items():
        setattr(settings.agent, key, value)
    return settings


class Team:
    """A team on the workspace, recording its events."""

    def __init__(self, root: Path, server: ScriptedLLM) -> None:
        self.root = root
        self.server = server
        self.play = RolePlay(server)
        self.events: list[Event] = []
        self.sessions: list[TeamSession] = []

    def open(self, goal: str = "Write a and b.", **agent: object) -> TeamSession:
        session = open_team(
            self.root,
            settings_for(self.server, mode="auto", **agent),
            TEAM,
            goal=goal,
            emit=self.events.append,
            watch=False,
        )
        self.sessions.append(session)
        return session

    def inner(self, kind: type[Event]) -> list[tuple[str, object]]:
        return [
            (e.role, e.event)
            for e in self.events
            if isinstance(e, RoleEvent) and isinstance(e.event, kind)
        ]

    def close(self) -> None:
        for session in self.sessions:
            session.close()


@pytest.fixture
def team(workspace: Path, llm_server: ScriptedLLM) -> Iterator[Team]:
    made = Team(workspace, llm_server)
    yield made
    made.close()


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def script_whole_session(play: RolePlay) -> None:
    play.script("planner", [call("list_files"), call("finish", summary=PLAN)])
    play.script(
        "coder",
        [
            call("write_file", path="a.txt", content="a\n"),
            call("finish", summary="a.txt written"),
            call("write_file", path="b.txt", content="b\n"),
            call("finish", summary="b.txt written"),
        ],
    )
    play.script(
        "reviewer",
        [
            call("finish", summary="+1 a.txt is right"),
            call("finish", summary="-1 b.txt lacks a title"),
        ],
    )


def test_a_whole_session_plans_codes_reviews_and_finishes(team: Team) -> None:
    script_whole_session(team.play)
    session = team.open()
    result = session.orchestra.run()
    assert result.outcome == "finished"
    assert result.summary == "- [x] Write a.txt\n- [x] Write b.txt"
    assert team.play.asked == [
        "planner", "planner",
        "coder", "reviewer", "coder",
        "coder", "reviewer", "coder",
    ]  # fmt: skip
    # Each role has its own conversation: the reviewer never sees the coder's calls.
    reviews = [r for r in team.server.requests if "You are the reviewer" in r.system_prompt]
    assert "a.txt" in str(reviews[0].messages) and "+++ b/a.txt" in str(reviews[0].messages)
    assert not any(
        m.get("tool_calls") and m["tool_calls"][0]["function"]["name"] == "write_file"
        for r in reviews
        for m in r.messages
    )
    # The planner and the reviewer are offered read-only tools only.
    tools = {t["function"]["name"] for t in reviews[0].body["tools"]}
    assert tools == {"read_file", "list_files", "search", "finish"}
    coder_request = next(r for r in team.server.requests if "You are the coder" in r.system_prompt)
    assert "Current subgoal (1 of 2): Write a.txt" in str(coder_request.messages)
    # Every action is one commit with its role; the reviewer's verdicts are ratings.
    roles = git(
        team.root, "log", "--format=%(trailers:key=Agent-Role,valueonly)", "--reverse"
    ).split()
    assert roles == [
        "planner",
        "planner",
        "coder",
        "reviewer",
        "coder",
        "coder",
        "reviewer",
        "coder",
    ]
    # One session for the team, its step numbers running across the roles.
    numbers = git(team.root, "log", "--format=%(trailers:key=Agent-Step,valueonly)", "--reverse")
    assert numbers.split() == [str(n) for n in range(1, 9)]
    sessions = git(team.root, "log", "--format=%(trailers:key=Agent-Session,valueonly)").split()
    assert len(set(sessions)) == 1
    history = History.open(team.root)
    try:
        a_step = next(s for s in history.steps_on_branch() if s.summary.startswith("Write a.txt"))
        (rating,) = history.ratings(a_step.sha)
        assert (rating.value, rating.source, rating.comment) == (1.0, "reviewer", "a.txt is right")
        assert rating.model  # the reviewer's model, for the rewards view and the exports
        # A reviewer's verdict is the step's review, never its reward (the user's place).
        assert a_step.reward is None and a_step.review is not None
        # `log --json` names each step's role, read back from its trailer.
        logged = [s.to_json()["role"] for s in reversed(history.steps())]
        assert logged == roles
    finally:
        history.close()
    verdicts = [(e.value, e.reason) for e in team.events if isinstance(e, ReviewGiven)]
    assert verdicts == [(1, "a.txt is right"), (-1, "b.txt lacks a title")]
    # The coder is told of the -1 before its next step.
    last_coder = [r for r in team.server.requests if "You are the coder" in r.system_prompt][-1]
    assert "The reviewer rated your last change -1: b.txt lacks a title" in str(last_coder.messages)
    plans = [e for e in team.events if isinstance(e, PlanUpdated)]
    assert plans[-1].subgoals == (("Write a.txt", "done"), ("Write b.txt", "done"))
    assert plans[-1].phase == "finish"
    # One Finished for the team, none for each agent's steps.
    assert len([e for e in team.events if isinstance(e, Finished)]) == 1
    assert not team.inner(Finished)
    assert {role for role, _ in team.inner(StepCommitted)} == {"planner", "coder", "reviewer"}


def test_undo_across_a_subgoal_boundary_rewinds_the_plan(team: Team) -> None:
    team.play.script("planner", [call("finish", summary=PLAN)])
    team.play.script(
        "coder",
        [
            call("write_file", path="a.txt", content="a\n"),
            call("finish", summary="a.txt written"),
            call("write_file", path="b.txt", content="b\n"),
        ],
    )
    team.play.script(
        "reviewer", [call("finish", summary="0 fine"), call("finish", summary="+1 ok")]
    )
    session = team.open(review="subgoal")
    orchestra = session.orchestra
    orchestra.run(max_steps=5)  # plan, a, finish a, review subgoal 1, b
    assert team.play.asked == ["planner", "coder", "coder", "reviewer", "coder"]
    assert [s.state for s in orchestra.plan.subgoals] == ["done", "open"]
    # Undo b, the review and the coder's finish of subgoal 1: it is current again.
    session.history.undo(3)
    orchestra.run(max_steps=0)
    assert [s.state for s in orchestra.plan.subgoals] == ["open", "open"]
    assert orchestra.plan.current == 0
    assert orchestra.phase == "work"
    # A new orchestra on the same branch rebuilds the same plan from the records.
    session.close()
    team.sessions.remove(session)
    again = team.open(review="subgoal")
    assert again.orchestra.team == orchestra.team
    assert [s.state for s in again.orchestra.plan.subgoals] == ["open", "open"]
    team.play.script("coder", [call("finish", summary="a.txt was there")])
    again.orchestra.run(max_steps=1)
    assert [s.state for s in again.orchestra.plan.subgoals] == ["done", "open"]
    assert again.orchestra.phase == "review"


def test_skip_and_replan(team: Team) -> None:
    team.play.script(
        "planner", [call("finish", summary=PLAN), call("finish", summary="- [ ] Write c.txt")]
    )
    team.play.script(
        "coder",
        [call("write_file", path="b.txt", content="b\n"), call("finish", summary="done")],
    )
    session = team.open()
    orchestra = session.orchestra
    orchestra.run(max_steps=1)
    orchestra.skip()
    orchestra.run(max_steps=1)  # the coder's next step is on subgoal 2, the skip recorded
    assert [s.state for s in orchestra.plan.subgoals] == ["skipped", "open"]
    coder = [r for r in team.server.requests if "You are the coder" in r.system_prompt][-1]
    assert "The user skipped the subgoal 1 (Write a.txt)" in str(coder.messages)
    assert "Current subgoal (2 of 2): Write b.txt" in str(coder.messages)
    team.play.script("reviewer", [call("finish", summary="+1 ok")])
    orchestra.run(max_steps=1)  # the review of b.txt
    orchestra.replan()
    orchestra.run(max_steps=1)
    assert [(s.text, s.state) for s in orchestra.plan.subgoals] == [
        ("Write a.txt", "skipped"),
        ("Write c.txt", "open"),
    ]  # the open subgoal b was replaced, the skipped one kept


def test_the_single_agent_has_no_role_trailer(workspace: Path, llm_server: ScriptedLLM) -> None:
    from autogpt_tui.core.session import open_session

    llm_server.script(call("finish", summary="done"))
    session = open_session(
        workspace, settings_for(llm_server, mode="auto"), goal="Do.", watch=False
    )
    try:
        assert session.agent.run().outcome == "finished"
    finally:
        session.close()
    assert "Agent-Role" not in git(workspace, "log", "-1", "--format=%B")
    history = History.open(workspace)
    try:
        assert history.steps()[0].to_json()["role"] is None
    finally:
        history.close()
    assert "You are the" not in llm_server.requests[0].system_prompt


def test_a_bad_agents_list_is_one_sentence(llm_server: ScriptedLLM) -> None:
    settings = settings_for(llm_server)
    with pytest.raises(UnknownAgent, match=r"^--agents names 'boss', which no \[\[agents\]\] has"):
        choose_team(settings, ["planner", "boss"])
    with pytest.raises(UnknownAgent, match="needs a planner"):
        choose_team(settings, ["coder"])
    assert list(choose_team(settings, ["coder", "planner"])) == ["planner", "coder"]


def test_a_roles_prompt_model_and_arm_reach_its_requests(team: Team) -> None:
    from autogpt_tui.core.roles import AgentRole, RoleArm

    team.play.script("planner", [call("finish", summary="- [ ] One thing")])
    settings = settings_for(team.server, mode="auto")
    settings.agents = [
        AgentRole(
            name="boss",
            role="planner",
            prompt="You are the planner. Plan tersely.",
            model="planner-model",
            arms=[RoleArm(name="terse", instructions="Use few words.")],
        ),
        AgentRole(name="coder", role="coder", tools=["read_file", "edit_file"]),
    ]
    session = open_team(
        team.root, settings, ["boss", "coder"], goal="One.", emit=team.events.append, watch=False
    )
    team.sessions.append(session)
    session.orchestra.run(max_steps=1)
    (request,) = team.server.requests
    assert request.body["model"] == "planner-model"
    assert "Plan tersely." in request.system_prompt and "Use few words." in request.system_prompt
    trailer = git(team.root, "log", "-1", "--format=%(trailers:key=Agent-Policy,valueonly)")
    assert trailer.strip() == "terse"
    # The coder is offered only its configured tools (finish always).
    assert session.orchestra.agents["coder"].allowed_tools == frozenset(
        {"read_file", "edit_file", "finish"}
    )


def test_a_tool_outside_the_role_is_refused_before_approval(team: Team) -> None:
    team.play.script(
        "planner",
        [call("write_file", path="x.txt", content="x"), call("finish", summary="- [ ] A")],
    )
    session = team.open()
    session.orchestra.run(max_steps=1)
    assert not (team.root / "x.txt").exists()
    second = [r for r in team.server.requests if "You are the planner" in r.system_prompt][-1]
    assert "The tool 'write_file' is not yours in this role" in str(second.messages)
    assert [s.text for s in session.orchestra.plan.subgoals] == ["A"]


def test_the_step_budget_counts_the_whole_team(team: Team) -> None:
    team.play.script("planner", [call("list_files"), call("finish", summary="- [ ] A")])
    team.play.script("coder", [call("write_file", path="a.txt", content="a\n")])
    session = team.open(max_steps=3)
    result = session.orchestra.run()
    assert (result.outcome, result.steps) == ("budget", 3)
    assert team.play.asked == ["planner", "planner", "coder"]


def test_the_token_budget_counts_the_whole_team(team: Team) -> None:
    # Each role alone stays under 1,000 tokens; the team together does not.
    def costly(reply: Reply) -> Reply:
        return replace(reply, usage=Usage(prompt_tokens=400, completion_tokens=0))

    team.play.script(
        "planner", [costly(call("list_files")), costly(call("finish", summary="- [ ] A"))]
    )
    team.play.script("coder", [costly(call("write_file", path="a.txt", content="a\n"))])
    session = team.open(max_tokens=1_000)
    result = session.orchestra.run()
    assert (result.outcome, result.steps) == ("budget", 3)
    assert "the whole team's" in result.message
    assert team.play.asked == ["planner", "planner", "coder"]  # the reviewer never asked
    # The meter's events say the team's usage, whichever role spoke.
    usage = [event for _, event in team.inner(UsageUpdated)]
    assert isinstance(usage[-1], UsageUpdated) and usage[-1].total_tokens == 1_200
