"""An MCP tool in the TUI, driven by Pilot: the approval card of a tool that acts outside
the workspace says it is not undoable; approving it runs it on the server and commits the
step; quitting ends the server's process."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from autogpt_tui.core.mcp.toolbox import NOT_UNDOABLE
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import make_app, press, steps_in, until
from tests.support.mcp_helpers import process_alive, server_toml
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

__all__ = ["make_app"]  # the fixture, shared with test_tui


async def test_an_open_world_mcp_tool_waits_on_a_card_that_says_not_undoable(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    Path(os.environ["AUTOGPT_TUI_CONFIG"]).write_text(server_toml())
    llm_server.script(
        Reply(
            "Tell ops.", tool_calls=[ToolCall("mcp__tools__send_mail", {"to": "ops", "body": "hi"})]
        ),
        Reply("Pid?", tool_calls=[ToolCall("mcp__tools__pid", {})]),
    )
    app = make_app(mode="edits")
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        pending = app.runner.pending_action
        assert pending is not None and pending.tool == "mcp__tools__send_mail"
        assert pending.not_undoable and pending.kind == "command"
        log = app.query_one(ActionLog)
        await until(pilot, lambda: 1 in log._entries and bool(log._entries[1].cards))
        assert log._entries[1].cards[-1].note == NOT_UNDOABLE
        assert not (workspace.parent / "outbox.txt").exists()  # nothing ran before approval
        await press(app, "a")
        await until(pilot, lambda: 1 in steps_in(app))
        assert (workspace.parent / "outbox.txt").read_text() == "ops: hi\n"
        # A read-only MCP tool runs unasked in edits mode.
        await press(app, "s")
        await until(pilot, lambda: 2 in steps_in(app))
        session = app.runner.session
        assert session is not None and session.mcp is not None
        pid = int(session.mcp.hub.call("mcp__tools__pid", {})[1])
        assert process_alive(pid)
    # The app has quit: its session closed, and the server with it.
    await until(pilot, lambda: not process_alive(pid), timeout=15)


async def test_the_mcp_sdk_is_imported_after_the_first_frame_only_when_servers_are_declared(
    make_app: Callable[..., WorkstationApp], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from autogpt_tui.core.mcp import hub

    imported_on: list[str] = []
    real_import = hub.import_sdk

    def recording_import() -> None:
        imported_on.append(threading.current_thread().name)
        real_import()

    monkeypatch.setattr(hub, "import_sdk", recording_import)
    # No server declared: nothing is imported ahead.
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.first_frame_shown)
        await pilot.pause()
        assert imported_on == []
    # A server declared: the SDK is imported on a thread while the user reads the screen,
    # and no server is started by it (that waits for the session).
    Path(os.environ["AUTOGPT_TUI_CONFIG"]).write_text(server_toml())
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: len(imported_on) == 1, timeout=30)
        assert imported_on[0] != threading.main_thread().name
        assert app.runner.session is None
