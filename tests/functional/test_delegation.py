"""``delegate(task)``: a read-only sub-agent with a fresh context, against the scripted
server on real git workspaces. The server plays the parent and the sub-agent in turn."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.agent import Approval, Budget
from autogpt_tui.core.delegation import DELEGATE_PROMPT, LAST_STEP, DelegateConfig
from autogpt_tui.core.events import (
    DelegatedCall,
    DelegationEnded,
    DelegationStarted,
    PendingAction,
    StepCommitted,
    ThoughtDelta,
)
from autogpt_tui.core.history import History
from autogpt_tui.core.record_models import StepRecord
from tests.conftest import git
from tests.functional.test_agent import SECRET, Harness, call, tool_messages
from tests.functional.test_permission_rules import rules
from tests.support.scripted_llm import (
    RecordedRequest,
    Reply,
    ScriptedLLM,
    Stall,
    ToolCall,
    Usage,
)

TASK = "Find where main is defined."


@pytest.fixture
def harness(workspace: Path, llm_server: ScriptedLLM) -> Iterator[Harness]:
    h = Harness(workspace, llm_server)
    yield h
    h.close()


def delegate(task: str = TASK) -> Reply:
    return Reply("Let a helper look.", tool_calls=[ToolCall("delegate", {"task": task})])


def sub(text: str, *calls: ToolCall, usage: Usage | None = None) -> Reply:
    if usage is None:
        return Reply(text, tool_calls=list(calls))
    return Reply(text, tool_calls=list(calls), usage=usage)


def the_record(history: History, step: int) -> StepRecord:
    found = next(s for s in history.steps() if s.step == step)
    record = history.resolve(found.sha).record
    assert record is not None
    return record


def text_of(request: RecordedRequest) -> str:
    return json.dumps(request.messages)


def test_a_delegation_has_its_own_context_and_its_summary_is_the_observation(
    harness: Harness,
) -> None:
    harness.server.script(
        call("read_file", path="README.md"),  # the parent's own context: "# demo"
        delegate(),
        sub(
            "Listing and searching.",
            ToolCall("list_files", {"path": "src"}, id="s1"),
            ToolCall("search", {"pattern": "def main"}, id="s2"),
        ),
        sub("Reading it.", ToolCall("read_file", {"path": "src/app.py"}, id="s3")),
        sub("Done.", ToolCall("finish", {"summary": "main is in src/app.py line 1."}, id="s4")),
        call("finish", summary="Found it."),
    )
    result = harness.agent(goal="Make a greeting file.").run()
    assert result.outcome == "finished"
    requests = harness.server.requests
    assert len(requests) == 6
    # The sub-agent's three requests: its own prompt, the task as its goal, read-only
    # tools, and nothing of the parent's conversation.
    for request in requests[2:5]:
        assert request.system_prompt == DELEGATE_PROMPT
        assert request.messages[1] == {"role": "user", "content": f"Goal: {TASK}"}
        assert request.tools is not None
        assert {t["function"]["name"] for t in request.tools} == {
            "read_file",
            "list_files",
            "search",
            "finish",
        }
        text = text_of(request)
        assert "Make a greeting file." not in text and "# demo" not in text
        assert "Let a helper look." not in text
    # Its own steps are its context: the third request holds the first two's results.
    assert "src/app.py:1: def main():" in tool_messages(requests[3])
    assert "def main():\n    return 1\n" in tool_messages(requests[4])
    # The parent's next request: the summary as the delegate call's result.
    told = tool_messages(requests[5])
    assert told[-1] == "The sub-agent's summary (3 steps):\nmain is in src/app.py line 1."
    assert requests[5].system_prompt != DELEGATE_PROMPT
    assert "Reading it." not in text_of(requests[5])  # the sub-steps stay out of it

    steps = {s.step: s for s in harness.history.steps()}
    assert [s.tool for s in sorted(steps.values(), key=lambda s: s.step)] == [
        "read_file",
        "delegate",
        "finish",
    ]
    # One commit for the delegation, and an empty one: reads change nothing.
    assert git(harness.root, "show", "--name-only", "--format=", steps[2].sha).strip() == ""
    assert steps[2].summary == f"Delegate: {TASK}"
    record = the_record(harness.history, 2)
    assert record.tool == "delegate" and record.arguments == {"task": TASK}
    delegation = record.delegation
    assert delegation is not None
    assert delegation.outcome == "finished" and delegation.task == TASK
    assert delegation.summary == "main is in src/app.py line 1."
    assert [[(c.tool, c.outcome) for c in s.calls] for s in delegation.steps] == [
        [("list_files", "ran"), ("search", "ran")],
        [("read_file", "ran")],
        [("finish", "ran")],
    ]
    assert delegation.steps[1].calls[0].observation == "def main():\n    return 1\n"
    # The parent step's usage holds its own request and the three sub-requests.
    assert sum(s.usage.prompt_tokens for s in delegation.steps) > 0
    assert record.usage.prompt_tokens > sum(s.usage.prompt_tokens for s in delegation.steps)
    # The sub-agent's events are its own, marked with the parent's step.
    assert [(e.step, e.task) for e in harness.of(DelegationStarted)] == [(2, TASK)]
    assert [(e.step, e.sub_step, e.tool) for e in harness.of(DelegatedCall)] == [
        (2, 1, "list_files"),
        (2, 1, "search"),
        (2, 2, "read_file"),
        (2, 3, "finish"),
    ]
    assert [(e.step, e.sub_steps, e.outcome) for e in harness.of(DelegationEnded)] == [
        (2, 3, "finished")
    ]
    assert [e.step for e in harness.of(StepCommitted)] == [1, 2, 3]
    assert not any("Reading it." in e.text for e in harness.of(ThoughtDelta))


def test_a_write_by_the_sub_agent_is_refused_and_it_is_told(harness: Harness) -> None:
    harness.server.script(
        delegate(),
        sub("Fixing it.", ToolCall("write_file", {"path": "evil.txt", "content": "x"}, id="w")),
        sub("Then a command.", ToolCall("run_command", {"command": "touch evil2.txt"}, id="c")),
        sub("Nested?", ToolCall("delegate", {"task": "more"}, id="d")),
        sub("Fine.", ToolCall("finish", {"summary": "I could not write."}, id="f")),
        call("finish", summary="ok"),
    )
    assert harness.agent().run().outcome == "finished"
    assert not (harness.root / "evil.txt").exists()
    assert not (harness.root / "evil2.txt").exists()
    told = tool_messages(harness.server.requests[2])[-1]
    assert told.startswith("Error: write_file is refused: a delegated sub-agent explores")
    assert "delegate is refused" in tool_messages(harness.server.requests[4])[-1]
    record = the_record(harness.history, 1)
    assert record.delegation is not None
    assert [s.calls[0].outcome for s in record.delegation.steps] == [
        "error",
        "error",
        "error",
        "ran",
    ]
    # Still one empty commit: nothing was changed.
    sha = harness.history.steps()[-1].sha
    assert git(harness.root, "show", "--name-only", "--format=", sha).strip() == ""


def test_step_mode_asks_once_for_the_delegation_saying_what_it_runs(harness: Harness) -> None:
    harness.server.script(
        delegate(),
        sub("Look.", ToolCall("read_file", {"path": "README.md"}), ToolCall("list_files", {})),
        sub("Done.", ToolCall("finish", {"summary": "It is a demo."})),
        call("finish", summary="ok"),
    )
    asked: list[PendingAction] = []

    def approve(action: PendingAction) -> Approval:
        asked.append(action)
        return Approval.approve()

    agent = harness.agent(mode="step", approve=approve, delegation=DelegateConfig(max_steps=5))
    assert agent.run().outcome == "finished"
    assert [a.tool for a in asked] == ["delegate", "finish"]
    assert asked[0].note == "runs up to 5 read-only steps without asking"
    assert asked[1].note == ""


def test_a_deny_rule_refuses_a_sub_read_and_the_sub_agent_is_told(harness: Harness) -> None:
    harness.server.script(
        delegate(),
        sub("Look.", ToolCall("read_file", {"path": "README.md"}, id="r")),
        sub("Done.", ToolCall("finish", {"summary": "Could not read it."})),
        call("finish", summary="ok"),
    )
    permissions = rules(harness.root, ("read_file", "README.md", "deny"))
    assert harness.agent(permissions=permissions).run().outcome == "finished"
    told = tool_messages(harness.server.requests[2])[-1]
    assert told.startswith("Refused: the user's permission rules (deny read_file")
    assert "# demo" not in text_of(harness.server.requests[2])
    record = the_record(harness.history, 1)
    assert record.delegation is not None
    assert record.delegation.steps[0].calls[0].outcome == "rejected"


def test_the_sub_agent_stops_at_its_cap_and_the_parent_hears_why(harness: Harness) -> None:
    harness.server.script(
        delegate(),
        sub("Look.", ToolCall("list_files", {})),
        sub("Still looking.", ToolCall("read_file", {"path": "README.md"})),
        call("finish", summary="ok"),
    )
    agent = harness.agent(delegation=DelegateConfig(max_steps=2))
    assert agent.run().outcome == "finished"
    # The last step's request says it is the last.
    assert harness.server.requests[2].messages[-1] == {"role": "user", "content": LAST_STEP}
    told = tool_messages(harness.server.requests[3])[-1]
    assert told.startswith("The sub-agent used its 2 steps without a summary.")
    assert "List .; Read README.md" in told and "Still looking." in told
    record = the_record(harness.history, 1)
    assert record.delegation is not None and record.delegation.outcome == "step_cap"
    assert record.ok is False


def test_budgets_count_the_sub_agent_requests(harness: Harness) -> None:
    used = Usage(100, 10)
    harness.server.script(
        Reply("Delegate.", tool_calls=[ToolCall("delegate", {"task": TASK})], usage=used),
        sub("Look.", ToolCall("list_files", {}), usage=used),
        sub("More.", ToolCall("read_file", {"path": "README.md"}), usage=used),
        sub("Never asked for.", ToolCall("finish", {"summary": "x"}), usage=used),
    )
    agent = harness.agent(budget=Budget(max_tokens=300))
    result = agent.run()
    assert result.outcome == "budget"
    assert len(harness.server.requests) == 3  # the parent's and two of the sub-agent's
    assert agent.state.prompt_tokens + agent.state.completion_tokens == 330
    record = the_record(harness.history, 1)
    assert record.usage.prompt_tokens == 300 and record.usage.completion_tokens == 30
    assert record.delegation is not None and record.delegation.outcome == "budget"
    assert [s.usage.prompt_tokens for s in record.delegation.steps] == [100, 100]


@pytest.mark.parametrize(("stop", "outcome"), [("cancel", "cancelled"), ("pause", "paused")])
def test_cancel_or_pause_during_a_delegation_stops_it_promptly(
    harness: Harness, stop: str, outcome: str
) -> None:
    harness.server.script(
        delegate(),
        sub("Look.", ToolCall("list_files", {})),
        Stall(after_chunks=1, seconds=60),
    )
    agent = harness.agent()
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(agent.run().outcome))
    worker.start()
    harness.server.wait_for_stalls(1)
    getattr(agent, stop)()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert results == [outcome]
    assert len(harness.server.requests) == 3
    # The step still holds what the sub-agent did before it was stopped.
    record = the_record(harness.history, 1)
    assert record.delegation is not None and record.delegation.outcome == "stopped"
    assert record.observation.startswith("The user stopped the delegation after 1 step")
    assert [e.outcome for e in harness.of(DelegationEnded)] == ["stopped"]


def test_secrets_in_what_the_sub_agent_reads_are_masked(harness: Harness) -> None:
    (harness.root / "notes.txt").write_text(f"key = {SECRET}\n")
    harness.server.script(
        delegate(),
        sub("Read.", ToolCall("read_file", {"path": "notes.txt"})),
        sub("Done.", ToolCall("finish", {"summary": f"The key is {SECRET}"})),
        call("finish", summary="ok"),
    )
    from autogpt_tui.core.redact import Redactor

    assert harness.agent(redactor=Redactor([SECRET])).run().outcome == "finished"
    for request in harness.server.requests:
        assert SECRET not in text_of(request)
    record = the_record(harness.history, 1)
    assert record.delegation is not None and record.delegation.summary
    assert SECRET not in record.model_dump_json()
    sub_events = [e.to_json() for e in harness.of(DelegatedCall)]
    assert len(sub_events) == 2 and SECRET not in json.dumps(sub_events)


def test_a_resumed_session_replays_the_delegation_as_one_call_and_its_summary(
    harness: Harness,
) -> None:
    from tests.functional.test_reply_calls import answered

    harness.server.script(
        delegate(),
        sub("Reading.", ToolCall("read_file", {"path": "src/app.py"})),
        sub("Done.", ToolCall("finish", {"summary": "main returns 1."})),
    )
    first = harness.agent(goal="Fix main.")
    assert first.run(max_steps=1).outcome == "stepped"
    harness.server.script(call("finish", summary="ok"))
    resumed = harness.agent(goal="Fix main.")
    assert resumed.state.session == first.state.session
    assert resumed.run().outcome == "finished"
    request = harness.server.requests[-1]
    answered(request.messages)
    assert tool_messages(request) == ["The sub-agent's summary (2 steps):\nmain returns 1."]
    assert "Reading." not in text_of(request)  # the sub-steps stay in the record only
