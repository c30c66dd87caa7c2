"""Issue 10, item 4, through the agent loop: where nothing can hide the API key from a
command (no bubblewrap, no user namespaces), auto mode asks before every command, and a
headless run refuses them with the reason; where a PID namespace can, commands run and
no canary reaches the model."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.collaborators import Approval
from autogpt_tui.core.events import ActionRejected, PendingAction
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.tools import ToolRunner
from tests.functional.test_agent import Harness, all_text, call, tool_messages
from tests.support.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")

CANARY_KEY = "sk-canaryAGENT0123456789abcdef"
CANARY_DB = "canaryAGENTdb99"

REASON = (
    "Every command waits for your approval, even in auto mode: without bubblewrap, nothing "
    "here can hide this program's API key from a command (user namespaces are not available "
    "here)."
)


@pytest.fixture
def harness(
    workspace: Path, llm_server: ScriptedLLM, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY_KEY)
    monkeypatch.setenv("DATABASE_URL", f"postgres://u:{CANARY_DB}@db/app")
    real = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == "bwrap" else real(name, *a, **k)
    )
    h = Harness(workspace, llm_server)
    yield h
    h.close()


def _exposed(h: Harness) -> CommandRunner:
    runner = CommandRunner(h.history.root, sandbox=True, user_namespaces=False)
    h.tools = ToolRunner(h.history.root, runner)
    assert runner.sandbox_status.approval_reason == REASON
    return runner


def test_auto_mode_asks_before_a_command_when_the_key_cannot_be_hidden(harness: Harness) -> None:
    h = harness
    _exposed(h)
    asked: list[str] = []

    def approve(action: PendingAction) -> Approval:
        asked.append(action.tool)
        return Approval.reject("Not now.")

    h.server.script(
        call("write_file", path="a.txt", content="a\n"),
        call("run_command", command="touch made-by-command"),
        call("finish", summary="ok"),
    )
    result = h.agent(mode="auto", approve=approve).run()
    assert result.outcome == "finished"
    assert asked == ["run_command"]  # the edit ran unasked, as auto mode says
    assert (h.root / "a.txt").exists() and not (h.root / "made-by-command").exists()


def test_a_headless_auto_run_refuses_commands_and_says_why(harness: Harness) -> None:
    h = harness
    _exposed(h)
    h.server.script(
        call("run_command", command="touch x"),
        call("finish", summary="gave up on the command"),
    )
    result = h.agent(mode="auto").run()
    assert result.outcome == "finished"
    assert not (h.root / "x").exists()
    [rejected] = h.of(ActionRejected)
    assert rejected.reason.startswith(REASON + " No user is available to approve run_command")
    assert tool_messages(h.server.requests[1])[-1].endswith(rejected.reason)


def test_with_a_pid_namespace_commands_run_and_no_canary_reaches_the_model(
    harness: Harness,
) -> None:
    h = harness
    runner = CommandRunner(h.history.root, sandbox=True)
    if runner.sandbox_status.approval_reason is not None:
        pytest.skip(runner.sandbox_status.approval_reason)
    h.tools = ToolRunner(h.history.root, runner)
    h.server.script(
        call("run_command", command="env; cat /proc/*/environ | tr '\\0' '\\n'"),
        call("run_command", command="tr '\\0' '\\n' < /proc/$PPID/environ; echo probed"),
        call("finish", summary="done"),
    )
    result = h.agent(mode="auto").run()
    assert result.outcome == "finished"
    assert "probed" in tool_messages(h.server.requests[2])[-1]
    for request in h.server.requests:
        text = all_text(request)
        assert CANARY_KEY not in text and CANARY_DB not in text
