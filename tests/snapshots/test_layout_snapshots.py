"""Snapshots of issue 12's layout: resizes, the footer, help, and dialogs over the diff.

The helpers (fixed dates, HOME, clock and sandbox; the three-step workspace; ``settle``)
are those of the workstation's snapshots.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.ui.app import WorkstationApp
from tests.snapshots.test_workstation_snapshots import (
    SIZES,
    SnapCompare,
    make_app,
    settle,
)
from tests.snapshots.test_workstation_snapshots import fixed as fixed  # a fixture
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

THEME = "autogpt-dark"


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_resized_from_the_other_size(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """Started at the other size and resized: laid out as if started at this one."""
    app = make_app(fixed, llm_server, THEME)
    other = SIZES[1] if size == SIZES[0] else SIZES[0]

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.resize_terminal(*size)
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=other, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_help_lists_every_key(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """The help screen over the workstation, the panel keys 1–4 among the others."""
    app = make_app(fixed, llm_server, THEME)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.clear_notifications()
        await pilot.press("question_mark")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def propose_an_edit(server: ScriptedLLM) -> None:
    """Script the model's one proposal: a docstring for ``main`` in src/app.py."""
    server.script(
        Reply(
            "I'll add a docstring.",
            tool_calls=[
                ToolCall(
                    "write_file",
                    {
                        "path": "src/app.py",
                        "content": 'def main() -> int:\n    """Exit status."""\n    return 0\n',
                    },
                )
            ],
        )
    )


async def until_pending(pilot: Pilot[None]) -> None:
    """Take a step and wait until its proposal waits for approval, on screen."""
    app = pilot.app
    assert isinstance(app, WorkstationApp)
    await settle(pilot)
    await pilot.press("s")
    deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
    while not app.runner.awaiting_approval and time.monotonic() < deadline:
        await pilot.pause(0.02)
    await settle(pilot, also_ignore=frozenset({"agent"}))  # it waits for us, by design


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_reject_dialog_over_the_proposed_diff(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """The reject prompt docked at the bottom, the proposed diff readable above it."""
    propose_an_edit(llm_server)
    app = make_app(fixed, llm_server, THEME)

    async def run_before(pilot: Pilot[None]) -> None:
        await until_pending(pilot)
        app.clear_notifications()  # before the dialog: the screen beneath keeps its toasts
        await pilot.pause(0.1)
        await pilot.press("r")
        await pilot.press(*"Keep it short")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_quit_asks_while_an_action_waits(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """q with a proposal waiting: the question over the workstation, staying the default."""
    propose_an_edit(llm_server)
    app = make_app(fixed, llm_server, THEME)

    async def run_before(pilot: Pilot[None]) -> None:
        await until_pending(pilot)
        app.clear_notifications()  # before the dialog: the screen beneath keeps its toasts
        await pilot.pause(0.1)
        await pilot.press("q")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_full_screen_diff(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """z: the proposed diff alone between the header and the footer."""
    propose_an_edit(llm_server)
    app = make_app(fixed, llm_server, THEME)

    async def run_before(pilot: Pilot[None]) -> None:
        await until_pending(pilot)
        app.clear_notifications()
        await pilot.press("z")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_split_diff_at_160_columns(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM
) -> None:
    """v from the log at 160 columns: the diff split, full screen to have the room."""
    propose_an_edit(llm_server)
    app = make_app(fixed, llm_server, THEME)

    async def run_before(pilot: Pilot[None]) -> None:
        await until_pending(pilot)
        app.clear_notifications()
        await pilot.press("1", "v")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(160, 45), run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_waiting_toast_at_the_top_right(
    snap_compare: SnapCompare, fixed: Path, llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    """The "step waits" toast over the goal panel's meters, not over the diff or the card.

    It is the only toast (the others are cleared before the step), and it lasts as long as
    the wait, so the picture does not depend on when it is taken.
    """
    propose_an_edit(llm_server)
    app = make_app(fixed, llm_server, THEME)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.clear_notifications()
        await until_pending(pilot)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
