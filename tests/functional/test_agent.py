"""The step loop against the scripted loopback model server, on real git workspaces."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from autogpt_tui.core.agent import (
    Agent,
    Approval,
    Budget,
    ModelProfile,
    PolicyChoice,
    PolicySource,
    UserChannel,
)
from autogpt_tui.core.events import (
    ActionRejected,
    Event,
    Finished,
    PendingAction,
    StepCommitted,
)
from autogpt_tui.core.history import History
from autogpt_tui.core.llm import ModelClient
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.tools import ToolRunner
from tests.conftest import git
from tests.support.scripted_llm import Fault, RecordedRequest, Reply, ScriptedLLM, ToolCall

SECRET = "sk-test-DO-NOT-LEAK-0123456789"


class Harness:
    """An agent wired to a real workspace and the scripted server, recording events."""

    def __init__(self, root: Path, server: ScriptedLLM) -> None:
        self.root = root
        self.server = server
        self.events: list[Event] = []
        self.history = History.open(root)
        self.client = ModelClient(
            model="scripted-model",
            base_url=server.base_url,
            api_key=SECRET,
            backoff_base_s=0.01,
            backoff_max_s=0.05,
            idle_timeout_s=2.0,
            max_retries=2,
        )
        self.tools = ToolRunner(self.history.root, CommandRunner(self.history.root, sandbox=False))

    def agent(
        self,
        goal: str = "Make a greeting file.",
        *,
        mode: str = "auto",
        approve: Callable[[PendingAction], Approval] | None = None,
        budget: Budget | None = None,
        context_window: int = 128_000,
        price: Callable[[str, int, int, int], float] | None = None,
        **kwargs: Any,
    ) -> Agent:
        """An agent on the harness's workspace; headless unless ``approve`` is given."""
        profile = ModelProfile("scripted-model", context_window)
        if price is not None:
            profile = ModelProfile("scripted-model", context_window, price)
        return Agent(
            history=self.history,
            model=self.client,
            tools=self.tools,
            goal=goal,
            mode=mode,
            emit=self.events.append,
            user=None if approve is None else UserChannel(approve, self.no_questions),
            budget=budget,
            profile=profile,
            **kwargs,
        )

    @staticmethod
    def no_questions(question: str) -> str:
        raise AssertionError(f"the agent asked an unexpected question: {question}")

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def close(self) -> None:
        self.client.close()
        self.history.close()


@pytest.fixture
def harness(workspace: Path, llm_server: ScriptedLLM) -> Iterator[Harness]:
    h = Harness(workspace, llm_server)
    yield h
    h.close()


def call(name: str, **arguments: Any) -> Reply:
    return Reply(f"I will use {name}.", tool_calls=[ToolCall(name, arguments)])


def tool_messages(request: RecordedRequest) -> list[str]:
    return [str(m.get("content")) for m in request.messages if m.get("role") == "tool"]


def all_text(request: RecordedRequest) -> str:
    return json.dumps(request.messages)


def test_a_full_run_commits_one_step_per_action(harness: Harness) -> None:
    harness.server.script(
        call("write_file", path="hello.txt", content="hello\n"),
        call("read_file", path="hello.txt"),
        call("run_command", command="wc -c hello.txt"),
        call("finish", summary="Wrote hello.txt"),
    )
    result = harness.agent().run()
    assert result.outcome == "finished" and result.summary == "Wrote hello.txt"
    steps = harness.history.steps()
    assert [(s.step, s.tool) for s in steps] == [
        (4, "finish"),
        (3, "run_command"),
        (2, "read_file"),
        (1, "write_file"),
    ]
    assert len({s.session for s in steps}) == 1
    assert (harness.root / "hello.txt").read_text() == "hello\n"
    assert git(harness.root, "show", "--name-only", "--format=", steps[3].sha).split() == [
        "hello.txt"
    ]
    assert git(harness.root, "show", "--name-only", "--format=", steps[2].sha).strip() == ""
    record = harness.history.resolve(steps[1].sha).record
    assert record is not None and "6 hello.txt" in record.observation
    assert [e.step for e in harness.of(StepCommitted)] == [1, 2, 3, 4]
    # The model saw each observation: the third request carries the read's output.
    assert "hello" in tool_messages(harness.server.requests[2])[-1]
    first = harness.server.requests[0]
    assert first.tools is not None
    assert {t["function"]["name"] for t in first.tools} >= {"write_file", "finish"}
    assert "Make a greeting file." in all_text(first)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (ToolCall("delete_everything", {}), "Unknown tool"),
        (ToolCall("write_file", '{"path": "a.txt", "content": '), "not valid JSON"),
        (ToolCall("read_file", {"path": "a.txt", "start_line": 0}), "start_line"),
        (ToolCall("write_file", {"path": "/etc/passwd", "content": "x"}), "outside the workspace"),
        (ToolCall("write_file", {"path": "../escape.txt", "content": "x"}), "outside"),
        (ToolCall("write_file", {"path": ".git/config", "content": "x"}), ".git"),
        (ToolCall("edit_file", {"path": "README.md", "old_text": "nope", "new_text": "x"}), "not"),
    ],
)
def test_bad_tool_input_goes_back_to_the_model_and_the_run_goes_on(
    harness: Harness, bad: ToolCall, says: str
) -> None:
    harness.server.script(
        Reply("Trying something.", tool_calls=[bad]),
        call("finish", summary="done"),
    )
    result = harness.agent().run()
    assert result.outcome == "finished"
    told = tool_messages(harness.server.requests[1])
    assert told and says in told[-1]
    assert not (harness.root.parent / "escape.txt").exists()
    assert "x" not in (harness.root / ".git" / "config").read_text().splitlines()


def test_a_symlink_out_of_the_workspace_is_refused(harness: Harness, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    (harness.root / "link.txt").symlink_to(outside)
    harness.server.script(
        call("read_file", path="link.txt"),
        call("write_file", path="link.txt", content="overwritten"),
        call("finish", summary="done"),
    )
    assert harness.agent().run().outcome == "finished"
    assert outside.read_text() == "secret\n"
    told = tool_messages(harness.server.requests[2])
    assert "outside the workspace" in told[-2] and "outside the workspace" in told[-1]
    assert "secret" not in all_text(harness.server.requests[2])


def test_step_mode_waits_for_approval_and_a_rejection_reaches_the_model(
    harness: Harness,
) -> None:
    decisions = iter([Approval.reject("Use greeting.txt, not hello.txt."), Approval.approve()])
    seen: list[PendingAction] = []

    def approve(action: PendingAction) -> Approval:
        seen.append(action)
        return next(decisions)

    harness.server.script(
        call("write_file", path="hello.txt", content="hi\n"),
        call("write_file", path="greeting.txt", content="hi\n"),
    )
    agent = harness.agent(mode="step", approve=approve)
    outcome = agent.step()
    assert outcome.committed
    assert [a.arguments["path"] for a in seen] == ["hello.txt", "greeting.txt"]
    assert all(a.needs_approval for a in seen)
    assert not (harness.root / "hello.txt").exists()
    assert (harness.root / "greeting.txt").exists()
    assert "Use greeting.txt, not hello.txt." in tool_messages(harness.server.requests[1])[-1]
    assert harness.of(ActionRejected)[0].reason == "Use greeting.txt, not hello.txt."
    # The rejected proposal is kept in the record of the action approved in its place.
    record = harness.history.resolve("HEAD").record
    assert record is not None
    rejected = [r.model_dump() for r in record.rejected]
    assert rejected[0]["arguments"]["path"] == "hello.txt"
    assert rejected[0]["reason"] == "Use greeting.txt, not hello.txt."


def test_edits_mode_runs_edits_but_asks_before_commands(harness: Harness) -> None:
    asked: list[str] = []

    def approve(action: PendingAction) -> Approval:
        asked.append(action.tool)
        return Approval.reject("No commands today.")

    harness.server.script(
        call("write_file", path="a.txt", content="a\n"),
        call("run_command", command="touch made-by-command"),
        call("finish", summary="ok"),
    )
    result = harness.agent(mode="edits", approve=approve).run()
    assert result.outcome == "finished"
    assert asked == ["run_command"]
    assert (harness.root / "a.txt").exists() and not (harness.root / "made-by-command").exists()


def test_headless_refuses_what_the_mode_would_ask_about(harness: Harness) -> None:
    harness.server.script(
        call("run_command", command="touch x"),
        call("finish", summary="gave up on the command"),
    )
    result = harness.agent(mode="edits").run()
    assert result.outcome == "finished"
    assert not (harness.root / "x").exists()
    assert "headless" in tool_messages(harness.server.requests[1])[-1]


def test_the_step_budget_stops_the_run_cleanly(harness: Harness) -> None:
    harness.server.script(*[call("write_file", path=f"f{n}.txt", content="x") for n in range(5)])
    result = harness.agent(budget=Budget(max_steps=3)).run()
    assert result.outcome == "budget" and result.steps == 3
    assert len(harness.history.steps()) == 3
    assert harness.server.pending == 2
    assert git(harness.root, "status", "--porcelain") == ""


def test_the_step_budget_counts_the_sessions_steps_in_force(harness: Harness) -> None:
    """As the goal panel's meter does: a resumed session goes on from its steps, and an
    undone step is given back."""
    harness.server.script(*[call("write_file", path=f"f{n}.txt", content="x") for n in range(6)])
    first = harness.agent("Write files.", budget=Budget(max_steps=3))
    assert first.run(max_steps=2).outcome == "stepped"
    again = harness.agent("Write files.", budget=Budget(max_steps=3))  # a restart resumes
    result = again.run()
    assert result.outcome == "budget" and result.steps == 1
    harness.history.undo(1)
    result = again.run()
    assert result.outcome == "budget" and result.steps == 1  # the undone step, given back
    assert [s.step for s in harness.history.steps() if not s.undone] == [4, 2, 1]


def test_the_token_and_cost_budgets_stop_the_run(harness: Harness) -> None:
    from tests.support.scripted_llm import Usage as ServerUsage

    harness.server.script(
        *[
            Reply(
                "w",
                tool_calls=[ToolCall("write_file", {"path": f"t{n}", "content": "x"})],
                usage=ServerUsage(600, 100),
            )
            for n in range(2)
        ]
    )
    result = harness.agent(budget=Budget(max_tokens=1000)).run()
    assert result.outcome == "budget" and result.steps == 2
    assert "token budget" in result.message

    harness.server.script(
        *[
            Reply(
                "w",
                tool_calls=[ToolCall("write_file", {"path": f"c{n}", "content": "x"})],
                usage=ServerUsage(1_000_000, 0),
            )
            for n in range(3)
        ]
    )
    agent = harness.agent(
        "Another goal.",
        budget=Budget(max_cost_usd=1.5),
        price=lambda _m, i, o, _c: i / 1_000_000 * 1.0,
    )
    result = agent.run()
    assert result.outcome == "budget" and result.steps == 2
    assert "cost budget" in result.message


def test_a_session_resumes_from_the_repository_after_a_restart(harness: Harness) -> None:
    harness.server.script(
        call("write_file", path="one.txt", content="1\n"),
        call("write_file", path="two.txt", content="2\n"),
    )
    first = harness.agent("Write numbers.")
    first.run(max_steps=2)
    session = first.state.session
    # A new agent (as after restarting the app or `run`) with the same goal continues.
    harness.server.script(call("finish", summary="numbers written"))
    again = harness.agent("Write numbers.")
    assert again.state.session == session and again.state.step == 2
    assert again.run().outcome == "finished"
    request = harness.server.requests[-1]
    calls = [m for m in request.messages if m.get("tool_calls")]
    assert [json.loads(c["tool_calls"][0]["function"]["arguments"])["path"] for c in calls] == [
        "one.txt",
        "two.txt",
    ]
    assert harness.history.steps()[0].step == 3
    assert harness.history.steps()[0].session == session


def test_undo_rewinds_the_conversation(harness: Harness) -> None:
    harness.server.script(
        call("write_file", path="keep.txt", content="k\n"),
        call("write_file", path="drop.txt", content="d\n"),
    )
    agent = harness.agent("Rewind test.")
    agent.run(max_steps=2)
    harness.history.undo(1)
    harness.server.script(call("finish", summary="done"))
    agent.run(max_steps=1)
    text = all_text(harness.server.requests[-1])
    assert "keep.txt" in text and "drop.txt" not in text
    # Step numbers are never reused: the undone step 2 keeps its number.
    assert [(s.step, s.undone) for s in harness.history.steps()] == [
        (3, False),
        (2, True),
        (1, False),
    ]


def test_a_step_after_undoing_several_continues_from_the_highest_number(
    harness: Harness,
) -> None:
    harness.server.script(
        *[call("write_file", path=f"f{n}.txt", content=f"{n}\n") for n in range(4)]
    )
    agent = harness.agent("Number test.")
    agent.run(max_steps=4)
    harness.history.undo(3)  # steps 2, 3 and 4
    harness.server.script(call("write_file", path="again.txt", content="again\n"))
    agent.run(max_steps=1)
    (committed,) = harness.of(StepCommitted)[-1:]
    assert committed.step == 5
    steps = harness.history.steps()
    labels = [f"{s.session}#{s.step}" for s in steps]
    assert len(labels) == len(set(labels)) == 5  # every SESSION#N names one step
    assert [(s.step, s.undone) for s in steps] == [
        (5, False),
        (4, True),
        (3, True),
        (2, True),
        (1, False),
    ]
    # The conversation was rewound all the same: only step 1 and the new step are in it.
    text = all_text(harness.server.requests[-1])
    assert "f0.txt" in text and "f1.txt" not in text


def test_a_resumed_session_after_undo_goes_on_from_the_highest_number(harness: Harness) -> None:
    harness.server.script(
        *[call("write_file", path=f"f{n}.txt", content=f"{n}\n") for n in range(3)]
    )
    first = harness.agent("Resume test.")
    first.run(max_steps=3)
    session = first.state.session
    harness.history.undo(2)
    # A new agent, as after restarting the app or `run`: the session resumes at step 1,
    # and its next step is 4, not 2.
    again = harness.agent("Resume test.")
    assert again.state.session == session and again.state.step == 3
    harness.server.script(call("finish", summary="done"))
    assert again.run().outcome == "finished"
    assert harness.of(StepCommitted)[-1].step == 4
    assert "f1.txt" not in all_text(harness.server.requests[-1])


def test_a_session_named_by_id_whose_steps_were_all_undone_keeps_its_numbers(
    harness: Harness,
) -> None:
    harness.server.script(
        *[call("write_file", path=f"f{n}.txt", content=f"{n}\n") for n in range(2)]
    )
    first = harness.agent("All undone.")
    first.run(max_steps=2)
    session = first.state.session
    harness.history.undo(2)
    again = harness.agent("All undone.", session=session)
    assert again.state.session == session and again.state.step == 2
    harness.server.script(call("finish", summary="done"))
    again.run()
    assert harness.of(StepCommitted)[-1].step == 3


def test_a_loop_is_detected_and_stopped(harness: Harness) -> None:
    harness.server.script(*[call("read_file", path="README.md") for _ in range(6)])
    result = harness.agent().run()
    assert result.outcome == "loop"
    assert "same result" in result.message
    assert len(harness.history.steps()) == 4
    assert "That is a loop" in all_text(harness.server.requests[3])


def test_model_failures_are_retried_and_then_reported(harness: Harness) -> None:
    harness.server.script(
        Fault(503),
        call("write_file", path="a.txt", content="a"),
        Fault(500),
        Fault(500),
        Fault(500),
    )
    result = harness.agent().run()
    assert result.outcome == "error"
    assert "failed 3 times" in result.message
    assert len(harness.history.steps()) == 1
    assert git(harness.root, "status", "--porcelain") == ""


def test_a_reply_without_a_tool_call_is_nudged(harness: Harness) -> None:
    harness.server.script(Reply("Let me think about it."), call("finish", summary="ok"))
    assert harness.agent().run().outcome == "finished"
    assert "exactly one tool call" in all_text(harness.server.requests[1])


def test_long_sessions_stay_inside_the_context_window(harness: Harness) -> None:
    (harness.root / "big.txt").write_text("word " * 3000 + "\n")
    n = 40
    harness.server.script(
        *[call("read_file", path="big.txt") if i % 2 else call("list_files") for i in range(n)]
    )
    agent = harness.agent(context_window=8_000)
    result = agent.run(max_steps=n)
    assert result.outcome in ("stepped", "loop")
    sizes = [len(json.dumps(r.messages)) for r in harness.server.requests]
    # 8,000 tokens is about 32,000 characters; every request stays well inside it.
    assert max(sizes) < 32_000
    assert "Make a greeting file." in all_text(harness.server.requests[-1])


def test_the_api_key_never_reaches_commits_notes_or_events(harness: Harness) -> None:
    harness.server.script(
        call("run_command", command="env | sort"),
        call("write_file", path="a.txt", content="a"),
        call("finish", summary="done"),
    )
    harness.agent().run()
    assert harness.server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    dump = subprocess.run(
        ["git", "log", "--all", "-p", "--format=%H %B %N"],
        cwd=harness.root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    notes = git(harness.root, "notes", "--ref=refs/notes/autogpt-tui/records", "list")
    contents = "".join(
        git(harness.root, "cat-file", "-p", line.split()[0]) for line in notes.splitlines()
    )
    events = json.dumps([e.to_json() for e in harness.events], default=str)
    for text in (dump, contents, events):
        assert SECRET not in text


def test_pause_from_another_thread_stops_after_the_current_step(harness: Harness) -> None:
    harness.server.script(*[call("write_file", path=f"p{n}", content="x") for n in range(3)])
    agent = harness.agent()
    done = threading.Event()

    def pause_after_first(event: Event) -> None:
        harness.events.append(event)
        if isinstance(event, StepCommitted):
            agent.pause()
            done.set()

    agent.emit = pause_after_first
    result = agent.run()
    assert done.is_set()
    assert result.outcome == "paused" and result.steps == 1
    assert isinstance(harness.events[-1], Finished)


def test_policy_instructions_and_temperature_reach_the_request(harness: Harness) -> None:
    harness.server.script(call("finish", summary="ok"))
    careful = PolicyChoice("careful", 0.2, "Read before you edit.")
    agent = harness.agent(policy=PolicySource(choose=lambda: careful))
    agent.run()
    request = harness.server.requests[0]
    assert request.body["temperature"] == 0.2
    assert "Read before you edit." in request.system_prompt
    assert harness.history.steps()[0].policy == "careful"


@pytest.mark.slow
def test_a_500_step_session_still_works(harness: Harness) -> None:
    counter = iter(range(10_000))

    def responder(request: RecordedRequest) -> Reply:
        n = next(counter)
        return call("write_file", path=f"notes/f{n % 25}.txt", content=f"entry {n}\n" * 40)

    harness.server.responder = responder
    agent = harness.agent("Keep a long log.", context_window=16_000)
    result = agent.run(max_steps=500)
    assert result.outcome == "stepped" and result.steps == 500
    assert harness.history.steps(limit=1)[0].step == 500
    sizes = [len(json.dumps(r.messages)) for r in harness.server.requests]
    assert max(sizes) < 16_000 * 4
    assert "Keep a long log." in all_text(harness.server.requests[-1])
    # Restarting rebuilds the 500-step conversation from the records and goes on.
    harness.server.responder = None
    harness.server.script(call("finish", summary="enough"))
    assert harness.agent("Keep a long log.", context_window=16_000).run().outcome == "finished"
    assert len(json.dumps(harness.server.requests[-1].messages)) < 16_000 * 4


def test_step_commits_are_authored_as_the_configured_agent(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    from autogpt_tui.core.session import open_session
    from autogpt_tui.core.settings import load_settings

    llm_server.script(call("finish", summary="ok"))
    settings = load_settings(
        workspace,
        overrides={
            "model": {"base_url": llm_server.base_url, "api_key": "k"},
            "history": {"agent_name": "Robo Coder", "agent_email": "robo@example.com"},
        },
    )
    session = open_session(workspace, settings, goal="g", mode="auto")
    try:
        session.agent.run()
    finally:
        session.close()
    assert git(workspace, "log", "-1", "--format=%an <%ae>").strip() == (
        "Robo Coder <robo@example.com>"
    )
