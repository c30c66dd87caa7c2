"""MCP servers' tools in the real step loop: the test server (tests/support/mcp_server.py,
a real stdio MCP server on the same SDK) and the scripted model server.

Approval by annotations in each mode, the step commits and records, crashes and timeouts
(the session goes on; the server starts again at its next call), the user's work, secrets,
and the servers' processes ending with the session.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.agent import Approval
from autogpt_tui.core.events import ActionExecuted, PendingAction
from autogpt_tui.core.mcp.config import McpServerConfig
from autogpt_tui.core.mcp.hub import McpHub
from autogpt_tui.core.mcp.toolbox import (
    NOT_UNDOABLE,
    McpToolbox,
    open_toolbox,
    role_mcp_tools,
    server_secrets,
)
from autogpt_tui.core.permissions import PermissionRule, Permissions, SourcedRule
from autogpt_tui.core.redact import Redactor
from autogpt_tui.core.tool_calls import TOOLS
from tests.conftest import git
from tests.functional.test_agent import Harness, tool_messages
from tests.support.mcp_helpers import SERVER_SCRIPT, process_alive, server_config
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall


def call(tool: str, /, **arguments: object) -> Reply:
    """A reply calling ``tool`` (the MCP tools have an argument called ``name``)."""
    return Reply(f"I will use {tool}.", tool_calls=[ToolCall(tool, arguments)])


class Asked:
    """Records the actions that waited for approval; approves them all."""

    def __init__(self) -> None:
        self.actions: list[PendingAction] = []

    def __call__(self, action: PendingAction) -> Approval:
        self.actions.append(action)
        return Approval.approve()

    @property
    def tools(self) -> list[str]:
        return [a.tool for a in self.actions]


@pytest.fixture
def harness(workspace: Path, llm_server: ScriptedLLM) -> Iterator[Harness]:
    h = Harness(workspace, llm_server)
    hub = McpHub([server_config(timeout=3.0)], h.history.root, taken=tuple(TOOLS))
    assert hub.start() == []
    h.tools = McpToolbox(h.tools, hub)  # type: ignore[assignment]
    yield h
    hub.close()
    h.close()


@pytest.mark.parametrize(
    ("mode", "asked"),
    [
        (
            "step",
            ["mcp__tools__lookup", "mcp__tools__write_note", "mcp__tools__send_mail", "finish"],
        ),
        ("edits", ["mcp__tools__send_mail"]),
        ("auto", []),
    ],
)
def test_annotations_decide_what_asks_in_each_mode(
    harness: Harness, mode: str, asked: list[str]
) -> None:
    h = harness
    h.server.script(
        call("mcp__tools__lookup", term="diff"),
        call("mcp__tools__write_note", name="note.txt", text="remember\n"),
        call("mcp__tools__send_mail", to="ops", body="done"),
        call("finish", summary="ok"),
    )
    approve = Asked()
    result = h.agent(mode=mode, approve=approve).run()
    assert result.outcome == "finished"
    assert approve.tools == asked
    # One commit per call, each with the tool in its trailer; the edit's file in its commit.
    log = h.history.steps()
    assert [s.tool for s in log[:4]] == [
        "finish",
        "mcp__tools__send_mail",
        "mcp__tools__write_note",
        "mcp__tools__lookup",
    ]
    assert git(h.root, "show", "--name-only", "--format=", log[2].sha).split() == ["note.txt"]
    assert git(h.root, "status", "--porcelain") == ""
    # The mail went outside the workspace: marked on the card and in the record.
    mail = next(a for a in h.of(ActionExecuted) if a.action.tool == "mcp__tools__send_mail")
    assert mail.action.not_undoable and mail.action.note == NOT_UNDOABLE
    mail_record, note_record = h.history.record(log[1].sha), h.history.record(log[2].sha)
    assert mail_record is not None and mail_record.not_undoable
    assert note_record is not None and not note_record.not_undoable
    assert (h.root.parent / "outbox.txt").read_text() == "ops: done\n"
    # Text and an image, described, reach the model.
    observations = tool_messages(h.server.requests[1])
    assert any(
        "diff: a word worth knowing." in o and "[image image/png, 69 bytes]" in o
        for o in observations
    )


def test_a_headless_run_refuses_a_command_tool_in_edits_mode(harness: Harness) -> None:
    h = harness
    h.server.script(call("mcp__tools__send_mail", to="ops", body="x"), call("finish", summary="ok"))
    result = h.agent(mode="edits").run()
    assert result.outcome == "finished"
    assert not (h.root.parent / "outbox.txt").exists()
    assert "mcp__tools__send_mail" in json.dumps(h.server.requests[1].messages)


def test_a_deny_rule_names_the_mcp_tool(harness: Harness) -> None:
    h = harness
    h.server.script(call("mcp__tools__send_mail", to="ops", body="x"), call("finish", summary="ok"))
    rule = PermissionRule(tool="mcp__tools__send_mail", pattern="*", action="deny")
    perms = Permissions([SourcedRule(rule, "user", None)], root=h.root)
    assert h.agent(mode="auto", permissions=perms).run().outcome == "finished"
    assert not (h.root.parent / "outbox.txt").exists()


def test_a_crash_is_a_tool_error_and_the_server_starts_again(harness: Harness) -> None:
    h = harness
    h.server.script(
        call("mcp__tools__crash"),
        call("mcp__tools__lookup", term="again"),
        call("finish", summary="ok"),
    )
    assert h.agent(mode="auto").run().outcome == "finished"
    crashed = tool_messages(h.server.requests[1])[-1]
    assert "The MCP server 'tools' closed the connection" in crashed
    assert "started again at its next call" in crashed
    assert "again: a word worth knowing." in tool_messages(h.server.requests[2])[-1]
    record = h.history.record(h.history.steps()[2].sha)
    assert record is not None and not record.ok


def test_a_hung_call_times_out_and_the_session_goes_on(harness: Harness) -> None:
    h = harness
    h.server.script(
        call("mcp__tools__hang"),
        call("mcp__tools__lookup", term="after"),
        call("finish", summary="ok"),
    )
    assert h.agent(mode="auto").run().outcome == "finished"
    hung = tool_messages(h.server.requests[1])[-1]
    assert "The MCP server 'tools' did not answer hang within 3 s" in hung
    assert "after: a word worth knowing." in tool_messages(h.server.requests[2])[-1]


def test_a_tool_error_is_a_failed_step(harness: Harness) -> None:
    h = harness
    h.server.script(call("mcp__tools__fail"), call("finish", summary="ok"))
    assert h.agent(mode="auto").run().outcome == "finished"
    said = tool_messages(h.server.requests[1])[-1]
    assert "reported an error" in said and "the glossary is closed" in said


def test_the_users_version_of_a_file_the_server_changes_is_committed_as_theirs(
    harness: Harness,
) -> None:
    h = harness
    h.server.script(
        call("mcp__tools__write_note", name="README.md", text="# the server's\n"),
        call("finish", summary="ok"),
    )
    h.agent(mode="auto", budget=None).run(max_steps=0)  # the repository exists
    (h.root / "README.md").write_text("# mine, unsaved\n")
    (h.root / "scratch.txt").write_text("untouched\n")
    assert h.agent(mode="auto").run().outcome == "finished"
    step = next(s for s in h.history.steps() if s.tool == "mcp__tools__write_note")
    assert git(h.root, "show", f"{step.sha}^:README.md") == "# mine, unsaved\n"
    assert git(h.root, "show", f"{step.sha}:README.md") == "# the server's\n"
    assert git(h.root, "show", "--name-only", "--format=", step.sha).split() == ["README.md"]
    # The user's other work stays theirs, uncommitted.
    assert "?? scratch.txt" in git(h.root, "status", "--porcelain")


def test_a_server_gets_the_safe_environment_and_its_own_variables(
    workspace: Path, llm_server: ScriptedLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-for-the-server-123456")
    monkeypatch.setenv("MY_TOKEN", "tok-secret-for-the-server-7890")
    h = Harness(workspace, llm_server)
    config = server_config(env={"TOKEN": "${MY_TOKEN}"})
    hub = McpHub([config], h.history.root, taken=tuple(TOOLS))
    try:
        assert hub.start() == []
        assert hub.call("mcp__tools__show_env", {"name": "OPENAI_API_KEY"}) == (True, "(unset)")
        assert hub.call("mcp__tools__show_env", {"name": "TOKEN"})[1].startswith("tok-secret")
        h.tools = McpToolbox(h.tools, hub)  # type: ignore[assignment]
        h.server.script(call("mcp__tools__show_env", name="TOKEN"), call("finish", summary="ok"))
        redactor = Redactor(server_secrets([config]), environ=os.environ)
        assert h.agent(mode="auto", redactor=redactor).run().outcome == "finished"
        # The token the server was given never reaches the model, the record or the log.
        assert "tok-secret" not in json.dumps(h.server.requests[1].messages)
        step = next(s for s in h.history.steps() if s.tool == "mcp__tools__show_env")
        record = h.history.record(step.sha)
        assert record is not None and "tok-secret" not in record.observation
    finally:
        hub.close()
        h.close()


def test_closing_ends_the_servers_processes(workspace: Path, tmp_path: Path) -> None:
    hub = McpHub([server_config(), server_config("second")], workspace, taken=tuple(TOOLS))
    assert hub.start() == []
    pids = [int(hub.call(f"mcp__{name}__pid", {})[1].split()[0]) for name in ("tools", "second")]
    assert all(process_alive(pid) for pid in pids)
    hub.close()
    assert not any(process_alive(pid) for pid in pids)
    assert not hub._thread.is_alive()
    hub.close()  # twice is harmless


def test_a_server_that_fails_to_start_is_left_out_in_one_sentence(workspace: Path) -> None:
    from autogpt_tui.core.sandbox import CommandRunner
    from autogpt_tui.core.tools import ToolRunner

    said: list[str] = []
    runner = ToolRunner(workspace, CommandRunner(workspace, sandbox=False))
    broken = server_config("broken").model_copy(update={"command": "/nonexistent/mcp-server"})
    missing = server_config("token", env={"T": "${NO_SUCH_VARIABLE_HERE}"})
    tools = open_toolbox(runner, [server_config(), broken, missing], said.append)
    try:
        assert isinstance(tools, McpToolbox)
        assert said == [
            "The MCP server 'broken' failed to start: /nonexistent/mcp-server was not found; "
            "its tools are left out.",
            "The MCP server 'token' was not started: the environment variable "
            "NO_SUCH_VARIABLE_HERE (in its env) is not set.",
        ]
        assert {t.server for t in tools.hub.tools.values()} == {"tools"}
    finally:
        if isinstance(tools, McpToolbox):
            tools.close()
    assert open_toolbox(runner, [], said.append) is runner  # no servers: nothing started


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    """The test server over streamable HTTP on loopback; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT), "--http", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30  # a condition wait: ends as soon as it listens
        while time.monotonic() < deadline and process.poll() is None:
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_streamable_http_server_on_loopback(
    http_server: str, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_TOKEN", "tok-http-123456")
    config = McpServerConfig(
        name="web", url=http_server, headers={"Authorization": "Bearer ${TRACKER_TOKEN}"}
    )
    with McpHub([config], workspace, taken=tuple(TOOLS)) as hub:
        assert hub.start() == []
        assert hub.tools["mcp__web__write_note"].kind == "edit"
        ok, text = hub.call("mcp__web__lookup", {"term": "http"})
        assert ok and text.startswith("http: a word worth knowing.")


def test_in_a_team_only_the_coder_gets_the_tools_that_change_things(harness: Harness) -> None:
    read_only = {"mcp__tools__lookup", "mcp__tools__crash", "mcp__tools__hang"}
    read_only |= {"mcp__tools__fail", "mcp__tools__show_env", "mcp__tools__pid"}
    assert role_mcp_tools(harness.tools, "reviewer") == read_only
    assert role_mcp_tools(harness.tools, "planner") == read_only
    assert role_mcp_tools(harness.tools, "coder") == read_only | {
        "mcp__tools__write_note",
        "mcp__tools__send_mail",
    }
