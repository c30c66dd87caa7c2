"""Snapshots of the goal panel's status states (issue 12), at 80×24 and 160×45.

The fixed environment of ``test_workstation_snapshots`` (dates, ids, HOME, the log's
clock, the stand-in sandbox) is reused; model failures carry a ``Retry-After`` so the
log's retry lines say the same delay on every run, and the goal panel reads a clock the
test holds still (its spinner frame and times follow that clock alone).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.goal_panel import GoalPanel, GoalState
from tests.snapshots.test_workstation_snapshots import (
    SIZES,
    SnapCompare,
    fixed,  # noqa: F401 (a fixture, used by name)
    settle,
)
from tests.support.scripted_llm import Fault, Reply, ScriptedLLM, Stall, ToolCall, Usage
from tests.ui.test_goal_activity import FakeClock

THEME = "autogpt-dark"


def make_app(workspace: Path, server: ScriptedLLM, **model: object) -> WorkstationApp:
    settings = load_settings(
        workspace,
        overrides={
            "model": {"base_url": server.base_url, "api_key": "sk-snap", **model},
        },
    )
    return WorkstationApp(workspace, theme_name=THEME, settings=settings)


async def wait_for(pilot: Pilot[None], condition: object) -> None:
    """Let the app run until ``condition()`` holds (a condition wait, 30 s at most)."""
    assert callable(condition)
    deadline = time.monotonic() + 30
    while not condition() and time.monotonic() < deadline:
        await pilot.pause(0.02)
    assert condition(), "condition not met in time"


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_error_after_the_model_server_failed(
    snap_compare: SnapCompare,
    fixed: Path,  # noqa: F811
    llm_server: ScriptedLLM,
    size: tuple[int, int],
) -> None:
    """The run ended in an error: ``✗ error`` and the reason on a line of its own."""
    llm_server.script(Fault(500, retry_after=0.1), Fault(500, retry_after=0.1))
    app = make_app(fixed, llm_server, max_retries=1)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("s")
        panel = app.query_one(GoalPanel)
        await wait_for(pilot, lambda: panel.reason != "")
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


THOUGHT = "Let me read src/app.py to see what main returns now."


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_thinking_with_spinner_elapsed_time_and_tokens(
    snap_compare: SnapCompare,
    fixed: Path,  # noqa: F811
    llm_server: ScriptedLLM,
    size: tuple[int, int],
) -> None:
    """The model streams, then stalls: ``⠧ thinking 12s · 6 tokens``, on a frozen clock."""
    llm_server.script(Stall(after_chunks=4, seconds=120, text=THOUGHT))
    app = make_app(fixed, llm_server)
    clock = FakeClock()

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        panel = app.query_one(GoalPanel)
        panel.clock = clock
        await pilot.press("s")
        # The four chunks: the role, then three of eight characters (two tokens each).
        await wait_for(pilot, lambda: "· 6 tokens" in panel.query_one(GoalState).plain)
        clock.now += 12
        await wait_for(pilot, lambda: "thinking 12s" in panel.query_one(GoalState).plain)
        await settle(pilot, also_ignore=frozenset({"agent"}))  # it waits for the model
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_retry_countdown(
    snap_compare: SnapCompare,
    fixed: Path,  # noqa: F811
    llm_server: ScriptedLLM,
    size: tuple[int, int],
) -> None:
    """A 429 asks to wait 30 s: ``retrying in 30s (attempt 2/5)``, on a frozen clock."""
    llm_server.script(Fault(429, retry_after=30))
    app = make_app(fixed, llm_server)
    clock = FakeClock()

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        panel = app.query_one(GoalPanel)
        panel.clock = clock
        await pilot.press("s")
        state = panel.query_one(GoalState)
        await wait_for(pilot, lambda: "retrying in 30s (attempt 2/5)" in state.plain)
        await settle(pilot, also_ignore=frozenset({"agent"}))  # it waits out the delay
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_out_of_budget(
    snap_compare: SnapCompare,
    fixed: Path,  # noqa: F811
    llm_server: ScriptedLLM,
    size: tuple[int, int],
) -> None:
    """A token budget ran out after a step: ``⊘ out of budget`` and the reason."""
    llm_server.script(
        Reply(
            "Adding the docstring.",
            tool_calls=[ToolCall("write_file", {"path": "notes.txt", "content": "done\n"})],
            usage=Usage(prompt_tokens=900, completion_tokens=200),
        )
    )
    settings = load_settings(
        fixed,
        overrides={
            "model": {"base_url": llm_server.base_url, "api_key": "sk-snap"},
            "agent": {"mode": "auto", "max_tokens": 1_000},
        },
    )
    app = WorkstationApp(fixed, theme_name=THEME, settings=settings)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("p")  # run on its own: one step, then the budget stops it
        panel = app.query_one(GoalPanel)
        await wait_for(pilot, lambda: panel.status == "budget" and panel.reason != "")
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
