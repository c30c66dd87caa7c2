"""Canary secrets planted everywhere never reach the model, the notes, the events or an export."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from autogpt_tui.core.events import Event
from autogpt_tui.core.history import History
from autogpt_tui.core.learning import export_sft
from autogpt_tui.core.session import open_session
from autogpt_tui.core.settings import load_settings
from tests.conftest import git
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

KEY = "sk-canary-api-key-0123456789abcdef"
DB_PASSWORD = "canary-db-password-42"
PAT = "canarypat0123456789"
REMOTE_TOKEN = "canary-remote-token-77"
DOTENV = "sk-canary-dotenv-abcdefghijklmnop"


def call(name: str, **arguments: str) -> Reply:
    return Reply(f"Using {name}.", tool_calls=[ToolCall(name, arguments)])


def test_no_canary_leaves_the_machine(
    workspace: Path, llm_server: ScriptedLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("DATABASE_URL", f"postgres://app:{DB_PASSWORD}@db.internal/app")
    monkeypatch.setenv("GITHUB_PAT", PAT)
    History.open(workspace).close()
    git(workspace, "remote", "add", "origin", f"https://bot:{REMOTE_TOKEN}@example.com/r.git")
    (workspace / ".env").write_text(f"OPENAI_API_KEY={DOTENV}\n")
    llm_server.script(
        call("run_command", command="env; git config -l; cat .env"),
        call("read_file", path=".env"),
        call("finish", summary="looked around"),
    )
    settings = load_settings(
        workspace, overrides={"model": {"base_url": llm_server.base_url}, "agent": {"mode": "auto"}}
    )
    events: list[Event] = []
    session = open_session(workspace, settings, goal="Look around", emit=events.append)
    try:
        assert session.agent.run().outcome == "finished"
    finally:
        session.close()
    requests = json.dumps([r.messages for r in llm_server.requests])
    notes = subprocess.run(
        ["git", "log", "--all", "--format=%H %B %N", "--notes=refs/notes/autogpt-tui/records"],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    shown = json.dumps([e.to_json() for e in events], default=str)
    exported = io.StringIO()
    with History.open(workspace) as h:
        export_sft(h, exported)
    for where, text in (
        ("requests", requests),
        ("notes", notes),
        ("events", shown),
        ("export", exported.getvalue()),
    ):
        for canary in (KEY, DB_PASSWORD, PAT, REMOTE_TOKEN, DOTENV):
            assert canary not in text, f"{canary} reached the {where}"
    # The command's environment is an allowlist: DATABASE_URL is not even named in it
    # (issue 10, item 2). The workspace's own .env is readable, and masked.
    assert "DATABASE_URL" not in requests and "GITHUB_PAT" not in requests
    assert "OPENAI_API_KEY=[redacted]" in requests
