"""Talking to the agent at any time: the message box's text reaches the model and the record."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.agent import Approval
from autogpt_tui.core.events import PendingAction, UserMessageRead
from autogpt_tui.core.redact import REDACTED, Redactor
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_agent import Harness, call
from tests.functional.test_tui import make_app, press, prompt_open, steps_in, until
from tests.support.scripted_llm import RecordedRequest, ScriptedLLM

__all__ = ["make_app"]  # the fixture, imported to be used here

MESSAGE = "Prefer tabs to spaces in this project."


@pytest.fixture
def harness(workspace: Path, llm_server: ScriptedLLM) -> Iterator[Harness]:
    h = Harness(workspace, llm_server)
    yield h
    h.close()


def user_texts(request: RecordedRequest) -> list[str]:
    return [str(m["content"]) for m in request.messages if m.get("role") == "user"]


def test_a_message_goes_with_the_next_request_and_into_that_steps_record(
    harness: Harness,
) -> None:
    harness.server.script(
        call("write_file", path="a.txt", content="a\n"),
        call("write_file", path="b.txt", content="b\n"),
    )
    agent = harness.agent("Write two files.")
    agent.tell(MESSAGE)
    agent.run(max_steps=1)
    first = harness.server.requests[0]
    assert user_texts(first) == ["Goal: Write two files.", MESSAGE]
    record = harness.history.resolve("HEAD").record
    assert record is not None and record.user_messages == [MESSAGE]
    assert [(e.step, e.text) for e in harness.of(UserMessageRead)] == [(1, MESSAGE)]
    # The next step's request has it once, before step 1's action, as it was said.
    agent.run(max_steps=1)
    second = harness.server.requests[1].messages
    said = [i for i, m in enumerate(second) if m.get("content") == MESSAGE]
    call_at = next(i for i, m in enumerate(second) if m.get("tool_calls"))
    assert len(said) == 1 and said[0] < call_at
    assert harness.history.resolve("HEAD").record.user_messages == []  # type: ignore[union-attr]


def test_a_message_is_rebuilt_from_the_record_after_a_restart(harness: Harness) -> None:
    harness.server.script(call("write_file", path="a.txt", content="a\n"))
    first = harness.agent("Write files.")
    first.tell(MESSAGE)
    first.run(max_steps=1)
    harness.server.script(call("finish", summary="done"))
    again = harness.agent("Write files.")
    assert again.run().outcome == "finished"
    assert user_texts(harness.server.requests[-1]).count(MESSAGE) == 1


def test_a_message_sent_while_a_proposal_waits_goes_with_the_retry(harness: Harness) -> None:
    harness.server.script(
        call("write_file", path="a.txt", content="a\n"),
        call("write_file", path="b.txt", content="b\n"),
    )
    agent = None

    def approve(action: PendingAction) -> Approval:
        assert agent is not None
        if action.arguments["path"] == "a.txt":
            agent.tell("Name it b.txt.")  # typed while the proposal waited
            return Approval.reject("wrong name")
        return Approval.approve()

    agent = harness.agent("Write a file.", mode="step", approve=approve)
    assert agent.step().committed
    assert "Name it b.txt." not in user_texts(harness.server.requests[0])
    assert "Name it b.txt." in user_texts(harness.server.requests[1])
    record = harness.history.resolve("HEAD").record
    assert record is not None and record.user_messages == ["Name it b.txt."]


def test_a_secret_in_a_message_is_masked_before_the_model_sees_it(harness: Harness) -> None:
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2
    harness.server.script(call("write_file", path="a.txt", content="a\n"))
    agent = harness.agent("Write a file.", redactor=Redactor([secret]))
    agent.tell(f"The token is {secret}, do not print it.")
    agent.run(max_steps=1)
    sent = user_texts(harness.server.requests[0])[-1]
    assert secret not in sent and REDACTED in sent
    record = harness.history.resolve("HEAD").record
    assert record is not None and secret not in record.model_dump_json()


async def test_the_message_box_sends_before_the_first_step_and_the_log_shows_it(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(call("write_file", path="hello.txt", content="hello\n"))
    app = make_app(mode="auto")
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "i")
        await until(pilot, lambda: prompt_open(app))
        await pilot.press(*"Keep it short")
        await pilot.press("enter")
        await until(pilot, lambda: not prompt_open(app))
        assert llm_server.requests == []  # sending a message does not start the agent
        await press(app, "s")
        await until(pilot, lambda: steps_in(app) == [1])
        assert "Keep it short" in user_texts(llm_server.requests[0])
        log = app.query_one(ActionLog)
        await until(pilot, lambda: "You: Keep it short" in notices(log))


async def test_an_empty_message_is_not_sent(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM
) -> None:
    llm_server.script(call("finish", summary="done"))
    app = make_app(mode="auto")
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "i")
        await until(pilot, lambda: prompt_open(app))
        await pilot.press("space", "enter")
        assert prompt_open(app)  # it says to type something, or escape
        await pilot.press("escape")
        await until(pilot, lambda: not prompt_open(app))
        await press(app, "s")
        await until(pilot, lambda: len(llm_server.requests) == 1)
        assert user_texts(llm_server.requests[0]) == ["Goal: Write a greeting."]


def notices(log: ActionLog) -> list[str]:
    return [n.text for n in log._notices]
