"""Several tool calls in one reply, against the scripted server on real git workspaces:
the reads run as one step (one empty commit listing every call and result), a write in
the same reply is asked for next as a one-call step would be, and every call of every
assistant turn is answered — live, after a resume, and after an undo."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autogpt_tui.cli import main
from autogpt_tui.core.agent import Approval
from autogpt_tui.core.events import ActionExecuted, PendingAction, StepCommitted
from autogpt_tui.core.learning.export import export_sft
from autogpt_tui.core.llm import ModelClient, ToolCallAssembler
from autogpt_tui.core.redact import Redactor
from autogpt_tui.core.step_calls import AFTER_REJECTION, LEFT_OUT
from tests.conftest import git
from tests.functional.test_agent import SECRET, Harness, call
from tests.support.scripted_llm import Fault, RecordedRequest, Reply, ScriptedLLM, ToolCall

READS = [
    ToolCall("read_file", {"path": "README.md"}, id="r1"),
    ToolCall("list_files", {"path": "src"}, id="r2"),
    ToolCall("search", {"pattern": "def main"}, id="r3"),
]
WRITE = ToolCall("write_file", {"path": "notes.txt", "content": "seen\n"}, id="w1")


@pytest.fixture
def harness(workspace: Path, llm_server: ScriptedLLM) -> Iterator[Harness]:
    h = Harness(workspace, llm_server)
    yield h
    h.close()


def answered(messages: list[dict[str, Any]]) -> None:
    """Fail unless every tool call of every assistant turn is answered by a tool message
    before the next assistant or user turn, and no tool message answers nothing (the rule
    the OpenAI API enforces)."""
    open_calls: set[str] = set()
    for message in messages:
        role = message["role"]
        if role == "tool":
            assert message["tool_call_id"] in open_calls, message
            open_calls.discard(message["tool_call_id"])
            continue
        assert not open_calls, f"unanswered calls {open_calls} before a {role} turn"
        if role == "assistant":
            open_calls = {c["id"] for c in message.get("tool_calls") or []}
    assert not open_calls, f"unanswered calls {open_calls} at the end"


def tool_results(request: RecordedRequest) -> dict[str, str]:
    return {m["tool_call_id"]: m["content"] for m in request.messages if m["role"] == "tool"}


def test_three_reads_and_a_write_make_a_reads_step_then_the_write_as_today(
    harness: Harness,
) -> None:
    harness.server.script(
        Reply("Looking around first.", tool_calls=[*READS, WRITE]),
        call("finish", summary="done"),
    )
    asked: list[tuple[str, int]] = []

    def approve(action: PendingAction) -> Approval:
        # What was committed when each approval was asked for.
        asked.append((action.tool, len(harness.history.steps())))
        return Approval.approve()

    result = harness.agent(mode="step", approve=approve).run()
    assert result.outcome == "finished"
    # Each read asked for in turn (step mode asks for reads too), then the write, asked
    # for once the reads were committed, and only then: one request for both steps.
    assert asked[:4] == [("read_file", 0), ("list_files", 0), ("search", 0), ("write_file", 1)]
    assert len(harness.server.requests) == 2
    first = harness.server.requests[0]
    assert first.body["parallel_tool_calls"] is True

    steps = list(reversed(harness.history.steps()))
    assert [(s.step, s.tool) for s in steps] == [
        (1, "read_file"),
        (2, "write_file"),
        (3, "finish"),
    ]
    reads = steps[0]
    assert git(harness.root, "show", "--name-only", "--format=", reads.sha).strip() == ""
    assert "Agent-Tool: read_file" in git(harness.root, "show", "-s", "--format=%B", reads.sha)
    assert reads.summary.startswith("Read README.md; List src; Search 'def main'")
    record = harness.history.resolve(reads.sha).record
    assert record is not None
    assert [(c.tool, c.call_id, c.outcome) for c in record.calls] == [
        ("read_file", "r1", "ran"),
        ("list_files", "r2", "ran"),
        ("search", "r3", "ran"),
    ]
    assert record.calls[0].observation == "# demo\n"
    assert record.calls[1].observation == "src/app.py"
    assert record.calls[2].observation == "src/app.py:1: def main():"
    assert record.thought == "Looking around first."
    assert (harness.root / "notes.txt").read_text() == "seen\n"
    assert git(harness.root, "show", "--name-only", "--format=", steps[1].sha).split() == [
        "notes.txt"
    ]

    # The next request carries the three results, then the write with its own result.
    nxt = harness.server.requests[1]
    answered(nxt.messages)
    results = tool_results(nxt)
    assert results["r1"] == "# demo\n" and results["r2"] == "src/app.py"
    assert results["r3"] == "src/app.py:1: def main():"
    assert results["w1"].startswith("Created notes.txt")
    turns = [m for m in nxt.messages if m["role"] == "assistant"]
    assert [[c["id"] for c in t["tool_calls"]] for t in turns] == [["r1", "r2", "r3"], ["w1"]]
    assert turns[0]["content"] == "Looking around first."
    # The log shows every read as its own card of step 1.
    executed = [(e.action.step, e.action.tool) for e in harness.of(ActionExecuted)]
    assert executed[:4] == [
        (1, "read_file"),
        (1, "list_files"),
        (1, "search"),
        (2, "write_file"),
    ]
    assert [e.step for e in harness.of(StepCommitted)] == [1, 2, 3]


def test_replay_after_resume_and_undo_answers_every_call(harness: Harness) -> None:
    harness.server.script(
        Reply("Reading.", tool_calls=[*READS, WRITE, ToolCall("bogus_tool", {}, id="b1")]),
    )
    agent = harness.agent()
    assert agent.run(max_steps=2).outcome == "stepped"
    live = agent.messages()
    answered(live)

    # A new loop on the same workspace (a restart) rebuilds the same conversation.
    resumed = harness.agent()
    assert resumed.messages() == live
    ids = [[c["id"] for c in m["tool_calls"]] for m in live if m["role"] == "assistant"]
    # The malformed call is answered with the reads; the write waited for its own step.
    assert ids == [["r1", "r2", "r3", "b1"], ["w1"]]
    told = {m["tool_call_id"]: m["content"] for m in live if m["role"] == "tool"}
    assert told["b1"].startswith("Error: Unknown tool")

    # Undo the write: the conversation goes back to the reads, still all answered, and
    # the next request (made by the resumed loop) is valid as sent.
    harness.history.undo(1)
    harness.server.script(call("finish", summary="done"))
    assert resumed.run().outcome == "finished"
    request = harness.server.requests[-1]
    answered(request.messages)
    turns = [m for m in request.messages if m["role"] == "assistant"]
    assert [[c["id"] for c in t["tool_calls"]] for t in turns] == [["r1", "r2", "r3", "b1"]]


def test_a_rejected_read_stops_the_reply_and_every_call_is_answered(harness: Harness) -> None:
    decisions = iter([Approval.approve(), Approval.reject("Not src, please.")])
    harness.server.script(
        Reply("Reading.", tool_calls=[*READS, WRITE]),
        call("finish", summary="done"),
    )

    def approve(action: PendingAction) -> Approval:
        return next(decisions, Approval.approve())

    assert harness.agent(mode="step", approve=approve).run().outcome == "finished"
    steps = list(reversed(harness.history.steps()))
    assert [s.tool for s in steps] == ["read_file", "finish"]  # the write never ran
    assert not (harness.root / "notes.txt").exists()
    record = harness.history.resolve(steps[0].sha).record
    assert record is not None
    assert [c.outcome for c in record.calls] == ["ran", "rejected", "left_out", "left_out"]
    results = tool_results(harness.server.requests[1])
    assert "Not src, please." in results["r2"]
    assert results["r3"] == AFTER_REJECTION and results["w1"] == AFTER_REJECTION
    answered(harness.server.requests[1].messages)


def test_the_first_read_rejected_is_a_rejection_as_today(harness: Harness) -> None:
    decisions = iter([Approval.reject("No reading.")])
    harness.server.script(
        Reply("Reading.", tool_calls=READS),
        call("finish", summary="done"),
    )

    def approve(action: PendingAction) -> Approval:
        return next(decisions, Approval.approve())

    assert harness.agent(mode="step", approve=approve).run().outcome == "finished"
    steps = harness.history.steps()
    assert [s.tool for s in steps] == ["finish"]  # nothing ran, nothing committed
    record = harness.history.resolve(steps[0].sha).record
    assert record is not None and [r.call_id for r in record.rejected] == ["r1"]
    request = harness.server.requests[1]
    answered(request.messages)
    assert "No reading." in tool_results(request)["r1"]


def test_two_writes_in_a_reply_run_the_first_and_tell_of_the_second(harness: Harness) -> None:
    second = ToolCall("write_file", {"path": "b.txt", "content": "b\n"}, id="w2")
    harness.server.script(
        Reply("Writing.", tool_calls=[WRITE, second]),
        call("finish", summary="done"),
    )
    assert harness.agent().run().outcome == "finished"
    assert (harness.root / "notes.txt").exists() and not (harness.root / "b.txt").exists()
    request = harness.server.requests[1]
    answered(request.messages)
    assert tool_results(request)["w2"] == LEFT_OUT


def test_a_message_from_the_user_drops_the_waiting_write(harness: Harness) -> None:
    harness.server.script(
        Reply("Reading.", tool_calls=[READS[0], WRITE]),
        call("finish", summary="done"),
    )
    agent = harness.agent()
    assert agent.run(max_steps=1).outcome == "stepped"
    agent.tell("Actually, do not write anything.")
    assert agent.run().outcome == "finished"
    assert not (harness.root / "notes.txt").exists()
    # The model was asked afresh, with the user's words.
    assert "do not write anything" in json.dumps(harness.server.requests[1].messages)


def test_the_sft_export_carries_every_call_and_every_result(harness: Harness) -> None:
    harness.server.script(
        Reply("Looking around first.", tool_calls=[*READS, WRITE]),
        call("finish", summary="done"),
    )
    assert harness.agent().run().outcome == "finished"
    out = io.StringIO()
    assert export_sft(harness.history, out) == 3
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    target = lines[0]["messages"][-1]
    assert [c["id"] for c in target["tool_calls"]] == ["r1", "r2", "r3"]
    later = lines[1]["messages"]
    assert [m["tool_call_id"] for m in later if m["role"] == "tool"] == ["r1", "r2", "r3"]
    assert later[-1]["tool_calls"][0]["id"] == "w1"


def test_a_server_refusing_parallel_tool_calls_is_asked_again_without(
    llm_server: ScriptedLLM,
) -> None:
    def respond(request: RecordedRequest) -> Fault | Reply:
        if "parallel_tool_calls" in request.body:
            return Fault(400, message="Unrecognized request argument: parallel_tool_calls")
        return Reply("ok", tool_calls=[ToolCall("finish", {"summary": "x"})])

    llm_server.responder = respond
    client = ModelClient(model="m", base_url=llm_server.base_url, api_key="k", backoff_base_s=0.01)
    tools = [{"type": "function", "function": {"name": "finish", "parameters": {}}}]
    try:
        for _ in range(2):
            done = client.complete([{"role": "user", "content": "hi"}], tools)
            assert done.tool_calls[0].name == "finish"
    finally:
        client.close()
    sent = [r.body.get("parallel_tool_calls") for r in llm_server.requests]
    # Asked once, refused, asked again without; the next request never sends it.
    assert sent == [True, None, None]


def test_an_old_single_call_record_still_replays(harness: Harness, workspace: Path) -> None:
    harness.server.script(call("read_file", path="README.md"))
    agent = harness.agent()
    agent.run(max_steps=1)
    record = harness.history.resolve(harness.history.steps()[0].sha).record
    assert record is not None and record.calls == []  # one call: stored as before
    resumed = harness.agent()
    answered(resumed.messages())
    assert resumed.messages() == agent.messages()


def test_show_prints_every_call_of_a_reads_step(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    harness.server.script(Reply("Looking.", tool_calls=READS))
    assert harness.agent().run(max_steps=1).outcome == "stepped"
    assert main(["show", str(harness.root), "1"]) == 0
    out = capsys.readouterr().out
    for n, tool in enumerate(("read_file", "list_files", "search"), start=1):
        assert f"call {n}\n    {tool} " in out
    assert "observation 3\n    src/app.py:1: def main():" in out
    assert main(["show", str(harness.root), "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["call_id"] for c in data["record"]["calls"]] == ["r1", "r2", "r3"]


def test_tool_calls_streamed_interleaved_are_assembled_by_index() -> None:
    assembler = ToolCallAssembler()
    assembler.add(0, "a", "read_file", '{"pa')
    assembler.add(1, "b", "search", '{"pat')
    assembler.add(0, None, None, 'th": "x"}')
    assembler.add(1, None, None, 'tern": "y"}')
    assembler.add(2, "c", "list_files", "{}")
    calls = [(c.id, c.name, json.loads(c.arguments)) for c in assembler.result()]
    assert calls == [
        ("a", "read_file", {"path": "x"}),
        ("b", "search", {"pattern": "y"}),
        ("c", "list_files", {}),
    ]


def test_several_streamed_calls_arrive_whole(harness: Harness) -> None:
    # Small fragments, one call after the other, as OpenAI streams them.
    harness.server.script(Reply("x", tool_calls=READS, chunk_size=3))
    done = harness.client.complete([{"role": "user", "content": "go"}], [])
    assert [(c.id, c.name, json.loads(c.arguments)) for c in done.tool_calls] == [
        (c.id, c.name, c.arguments) for c in READS
    ]


def test_run_headless_prints_each_read_and_the_thought_once(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        Reply("Looking around first.", tool_calls=[*READS, WRITE]),
        call("finish", summary="done"),
    )
    done = subprocess.run(
        [
            *(sys.executable, "-m", "autogpt_tui", "run", str(workspace), "--goal", "Look"),
            *("--base-url", llm_server.base_url, "--mode", "edits"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "OPENAI_API_KEY": "sk-x"},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("Looking around first.") == 1
    for line in ("step 1: read_file", "step 1: list_files", "step 1: search", "step 2: write_file"):
        assert line in out
    assert "committed" in out and "Read README.md; List src; Search 'def main'" in out


def test_no_secret_reaches_a_reads_step_record(harness: Harness) -> None:
    (harness.root / "config.txt").write_text(f"key = {SECRET}\n")
    harness.server.script(
        Reply(
            "Reading.",
            tool_calls=[
                ToolCall("read_file", {"path": "config.txt"}, id="r1"),
                ToolCall("list_files", {"path": "."}, id="r2"),
                ToolCall("read_file", {"path": SECRET, "bogus": SECRET}, id="b1"),
            ],
        )
    )
    agent = harness.agent(redactor=Redactor([SECRET]))
    assert agent.run(max_steps=1).outcome == "stepped"
    note = git(harness.root, "notes", "--ref=refs/notes/autogpt-tui/records", "show", "HEAD")
    assert "[redacted]" in note and SECRET not in note
    assert SECRET not in json.dumps(agent.messages())


def test_compaction_shortens_each_result_of_a_reads_step() -> None:
    from autogpt_tui.core.conversation import Conversation
    from autogpt_tui.core.records import CallRecord, StepCommit, StepRecord

    calls = [
        CallRecord(
            tool="read_file", arguments={"path": f"f{n}"}, call_id=f"c{n}", observation="x" * 8000
        )
        for n in range(3)
    ]
    steps = [
        StepCommit(
            sha=f"{n:040x}",
            parent=None,
            session="s",
            step=n,
            tool="read_file",
            policy="default",
            summary="Read",
            timestamp=0,
            record=StepRecord(tool="read_file", arguments={"path": "f0"}, calls=calls),
        )
        for n in range(1, 13)
    ]
    conversation = Conversation("goal", context_window=20_000)
    conversation.rebuild(steps)
    messages = conversation.messages()
    answered(messages)
    results = [m["content"] for m in messages if m["role"] == "tool"]
    # Each of a step's three results is shortened, not only one of them; the newest may
    # stay whole once the rest fits.
    assert all("characters of this output elided" in r for r in results[:3])
    assert sum(len(r) for r in results) < 12 * 3 * 8000 // 4
