"""The loop's sessions: a new goal starts a new session between steps (budgets and
numbering its own, a message not yet read carried over), and a session picked by id is
resumed with its whole conversation. Real git, the scripted server."""

from __future__ import annotations

from autogpt_tui.core.agent import Budget
from autogpt_tui.core.events import SessionStarted, StepCommitted
from autogpt_tui.core.session_state import NextSession
from tests.functional.test_agent import Harness, call, harness  # noqa: F401 (a fixture)


def test_a_new_goal_starts_a_new_session_at_the_next_step(harness: Harness) -> None:  # noqa: F811
    harness.server.script(
        call("write_file", path="a.txt", content="a\n"),
        call("write_file", path="b.txt", content="b\n"),
    )
    agent = harness.agent("Write a.", budget=Budget(max_steps=1))
    assert agent.run().outcome == "budget"  # one step, and the budget is spent
    first = agent.state.session
    agent.tell("Use lower case.")
    agent.set_goal("Write b.")
    assert agent.state.session == first  # nothing changes mid-step: only at the next one
    # The step budget is the new session's: one step in force in the old one is not its.
    assert agent.run().outcome == "budget"
    commits = harness.of(StepCommitted)
    assert [(c.session == first, c.step) for c in commits] == [(True, 1), (False, 1)]
    started = harness.of(SessionStarted)
    assert [(s.goal, s.replaces, s.resumed, s.steps) for s in started] == [
        ("Write a.", None, False, 0),
        ("Write b.", first, False, 0),
    ]
    sent = harness.server.requests[-1].messages
    assert {"role": "user", "content": "Goal: Write b."} in sent
    assert {"role": "user", "content": "Use lower case."} in sent  # the queued message
    assert not any(m.get("tool_calls") for m in sent)  # not the old session's steps


def test_switching_to_a_session_resumes_its_conversation_and_numbering(
    harness: Harness,  # noqa: F811
) -> None:
    harness.server.script(
        call("write_file", path="a.txt", content="a\n"),
        call("write_file", path="b.txt", content="b\n"),
        call("write_file", path="a2.txt", content="a2\n"),
    )
    agent = harness.agent("Write a.")
    agent.run(max_steps=1)
    first = agent.state.session
    agent.set_goal("Write b.")
    agent.run(max_steps=1)
    agent.switch_session(first, "Write a.")
    agent.run(max_steps=1)
    commits = harness.of(StepCommitted)
    assert [(c.session == first, c.step) for c in commits] == [(True, 1), (False, 1), (True, 2)]
    sent = harness.server.requests[-1].messages
    assert {"role": "user", "content": "Goal: Write a."} in sent
    assert len([m for m in sent if m.get("tool_calls")]) == 1  # its step 1, not the other's
    # A fresh loop resumes it by id though the other session's step lies between.
    again = harness.agent("", session=first)
    assert (again.state.goal, again.state.step, again.state.steps_in_force) == ("Write a.", 2, 2)


def test_next_session_keeps_the_latest_request() -> None:
    wanted = NextSession()
    wanted.new_goal("Same.", current="Same.")
    assert wanted.take() is None  # the goal in force: nothing to do
    wanted.resume("s1", "Goal one.")
    wanted.new_goal("Goal one.", current="Other.")  # the picked session's goal: no change
    request = wanted.take()
    assert request is not None and (request.session, request.goal) == ("s1", "Goal one.")
    wanted.new_goal("New.", current="Old.")
    wanted.new_goal("Old.", current="Old.")  # back to the goal in force
    assert wanted.take() is None
