"""``autogpt-tui mcp list`` and MCP servers in a headless ``run``, as a user meets them.

The servers come from the user's config (a workspace's own only once trusted), the test
server being a real stdio MCP server (tests/support/mcp_server.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from autogpt_tui.core.history import History
from autogpt_tui.core.settings import trust_workspace
from tests.functional.test_cli import assert_one_sentence, cli
from tests.functional.test_run_cli import events, run
from tests.support.mcp_helpers import server_toml
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

BROKEN = '[[mcp.servers]]\nname = "broken"\ncommand = "/nonexistent/mcp-server"\n'


def user_config(text: str) -> Path:
    path = Path(os.environ["AUTOGPT_TUI_CONFIG"])
    path.write_text(text)
    return path


def test_mcp_list_shows_each_tool_and_each_failing_server_in_one_sentence(workspace: Path) -> None:
    History.open(workspace).close()
    user_config(server_toml() + BROKEN)
    result = cli("mcp", "list", str(workspace))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tools (stdio: ") and lines[0].endswith(": 8 tools")
    assert (
        "  mcp__tools__lookup      read                   Look a term up in the glossary." in lines
    )
    assert (
        "  mcp__tools__write_note  edit                   Write a note into the workspace." in lines
    )
    assert (
        "  mcp__tools__send_mail   command  not undoable  Send a mail (written to outbox.txt "
        "beside the workspace)." in lines
    )
    assert lines[-1] == (
        "broken (stdio: /nonexistent/mcp-server): The MCP server 'broken' failed to start: "
        "/nonexistent/mcp-server was not found; its tools are left out."
    )


def test_mcp_list_json(workspace: Path) -> None:
    History.open(workspace).close()
    user_config(
        server_toml(extra='env = { TOKEN = "${MY_TOKEN}" }\n')
        + '[[mcp.servers]]\nname = "off"\nurl = "http://127.0.0.1:9/mcp"\nenabled = false\n'
        + 'headers = { Authorization = "Bearer sk-inline-secret" }\n'
    )
    result = cli("mcp", "list", str(workspace), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    tools, off = data["servers"]
    assert tools["error"] == (
        "The MCP server 'tools' was not started: the environment variable MY_TOKEN "
        "(in its env) is not set."
    )
    assert off["enabled"] is False and off["error"] is None and off["tools"] == []
    assert "sk-inline-secret" not in result.stdout  # header values are never shown


def test_a_workspaces_servers_wait_for_trust(workspace: Path) -> None:
    History.open(workspace).close()
    ws_config = workspace / ".autogpt-tui.toml"
    ws_config.write_text(server_toml("theirs"))
    result = cli("mcp", "list", str(workspace))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "No MCP servers are declared ([[mcp.servers]] in your config).",
        f"Ignored mcp.servers in {ws_config} until you trust this workspace's config "
        "(`autogpt-tui trust`, or yes when the TUI asks).",
    ]
    trust_workspace(workspace)
    trusted = cli("mcp", "list", str(workspace))
    assert trusted.stdout.splitlines()[0].endswith(": 8 tools")


def test_a_bad_server_table_is_one_sentence_naming_the_file_and_field(workspace: Path) -> None:
    History.open(workspace).close()
    path = user_config('[[mcp.servers]]\nname = "x"\ncommand = "a"\nurl = "http://h/mcp"\n')
    assert_one_sentence(
        cli("mcp", "list", str(workspace)),
        1,
        f"Error in {path}: mcp.servers[0]",
    )
    user_config('[[mcp.servers]]\nname = "x y"\ncommand = "a"\n')
    assert_one_sentence(
        cli("mcp", "list", str(workspace)), 1, f"Error in {path}: mcp.servers[0].name must be"
    )


def test_a_headless_run_calls_mcp_tools_and_show_marks_the_step_not_undoable(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    user_config(server_toml() + BROKEN)
    llm_server.script(
        Reply("Look.", tool_calls=[ToolCall("mcp__tools__lookup", {"term": "git"})]),
        Reply("Mail.", tool_calls=[ToolCall("mcp__tools__send_mail", {"to": "a", "body": "b"})]),
        Reply("Done.", tool_calls=[ToolCall("finish", {"summary": "ok"})]),
    )
    result = run(
        str(workspace), "--goal", "g", "--mode", "auto", "--base-url", llm_server.base_url, "--json"
    )
    assert result.returncode == 0, result.stderr
    lines = events(result)
    notices = [e["message"] for e in lines if e["type"] == "notice"]
    assert any("The MCP server 'broken' failed to start" in n for n in notices)
    commits = [e for e in lines if e["type"] == "commit"]
    assert len(commits) == 3
    shown = cli("show", str(workspace), "2")
    assert shown.returncode == 0, shown.stderr
    assert "not undoable: it acts outside the workspace" in shown.stdout
    assert "not undoable" not in cli("show", str(workspace), "1").stdout
    assert (workspace.parent / "outbox.txt").read_text() == "a: b\n"
    record = json.loads(cli("show", str(workspace), "2", "--json").stdout)
    assert "not_undoable" in json.dumps(record)
