"""Snapshots of an MCP tool waiting for approval: an open-world tool (the test server's
``send_mail``, a command that acts outside the workspace) on its card, which says it is
not undoable. The workstation is the one of test_workstation_snapshots, fixed the same way.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from tests.snapshots.test_workstation_snapshots import SIZES, SnapCompare, fixed, settle
from tests.support.mcp_helpers import server_config
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

__all__ = ["fixed"]  # the fixture, shared with the workstation's snapshots


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_an_mcp_tool_that_is_not_undoable_waits_for_approval(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    llm_server.script(
        Reply(
            "I'll tell the team the fix is in.",
            tool_calls=[
                ToolCall("mcp__tools__send_mail", {"to": "team", "body": "main returns 0"})
            ],
        )
    )
    server = server_config().model_dump()
    settings = load_settings(
        fixed,
        overrides={
            "model": {"base_url": llm_server.base_url, "api_key": "sk-snap"},
            "agent": {"mode": "edits"},
            "mcp": {"servers": [server]},
        },
    )
    app = WorkstationApp(fixed, theme_name="autogpt-dark", settings=settings)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("s")
        deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
        # Until the screen has taken the proposal in (its "waits" toast is up), not only
        # the runner: the toast cleared below must not come after the clearing.
        while time.monotonic() < deadline and not (
            app.runner.awaiting_approval and any("waits" in n.message for n in app._notifications)
        ):
            await pilot.pause(0.02)
        await settle(pilot, also_ignore=frozenset({"agent"}))  # it waits for us, by design
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
