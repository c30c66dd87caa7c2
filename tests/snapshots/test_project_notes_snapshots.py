"""The goal panel lists the project's instruction files the agent reads (AGENTS.md …),
root first and nearest last, at 80×24 and 160×45."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.notifications import Notification
from textual.pilot import Pilot

from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.project_notes_line import ProjectNotesLine
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.snapshots.test_workstation_snapshots import SIZES, SnapCompare, fixed, settle
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall, Usage

__all__ = ["fixed"]  # the fixture, imported for the tests below


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_goal_panel_lists_the_project_notes_in_use(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """After a step in src/, the root's AGENTS.md and then src/'s notes are listed; the
    token meter counts the prompt tokens the server had cached."""
    (fixed / "AGENTS.md").write_text("Run the tests with `python tests.py`.\n")
    (fixed / "src" / "AGENTS.md").write_text("Keep main() returning an int.\n")
    (fixed / "src" / "CONVENTIONS.md").write_text("Four-space indents.\n")
    llm_server.script(
        Reply(
            "Read it first.",
            tool_calls=[ToolCall("read_file", {"path": "src/app.py"})],
            usage=Usage(prompt_tokens=1_200, completion_tokens=40),
        ),
        Reply(
            "Mark the return.",
            tool_calls=[
                ToolCall(
                    "edit_file",
                    {
                        "path": "src/app.py",
                        "old_text": "    return 0",
                        "new_text": "    return 0  # ok",
                    },
                )
            ],
            # The first request's prefix came from the server's prompt cache.
            usage=Usage(prompt_tokens=1_500, completion_tokens=60, cached_tokens=1_024),
        ),
    )
    settings = load_settings(
        fixed,
        overrides={
            "model": {"base_url": llm_server.base_url, "api_key": "sk-snap"},
            "agent": {"mode": "step"},
        },
    )
    app = WorkstationApp(fixed, theme_name="autogpt-dark", settings=settings)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("m")  # edits: the read and the edit run without asking
        await pilot.press("s")
        await settle(pilot)  # the read's step is taken and committed
        await pilot.press("s")
        deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
        line = app.query_one(ProjectNotesLine)
        while len(line.files) < 3 and time.monotonic() < deadline:
            await pilot.pause(0.02)
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_a_cost_budget_on_an_unpriced_model_warns(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM
) -> None:
    """The warning toast and log line when a cost budget meets a model nobody prices, as
    the workstation opens (before any step or request)."""
    settings = load_settings(
        fixed,
        overrides={
            "model": {"base_url": llm_server.base_url, "api_key": "sk-snap", "model": "my-llm"},
            "agent": {"mode": "edits", "max_cost_usd": 2.0},
        },
    )
    app = WorkstationApp(fixed, theme_name="autogpt-dark", settings=settings)

    async def run_before(pilot: Pilot[None]) -> None:
        # Said when the workstation opens, before any step: no key is pressed.
        deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
        history = app.query_one(StepHistory)

        def warned() -> list[Notification]:
            return [n for n in app._notifications if "cannot be enforced" in n.message]

        while time.monotonic() < deadline and not (history.loaded and warned()):
            await pilot.pause(0.02)
        await settle(pilot)
        # Only the warning is shown: the history's own toast may come before or after it.
        kept = warned()
        app.clear_notifications()
        for n in kept:
            app.notify(n.message, severity=n.severity, timeout=n.timeout, markup=False)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
