"""Toasts cover nothing essential, and last as long as they mean something."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets._toast import Toast, ToastRack

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.toasts import TIMEOUTS
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import call, press, steps_in, until
from tests.functional.test_tui import make_app as make_app  # a fixture
from tests.snapshots.test_workstation_snapshots import stand_in_bwrap
from tests.support.scripted_llm import ScriptedLLM


def toasts(app: WorkstationApp) -> list[Toast]:
    return list(app.screen.query(Toast))


async def test_the_waiting_toast_covers_neither_the_diff_nor_the_card_and_goes_with_the_wait(
    make_app: Callable[..., WorkstationApp],
    llm_server: ScriptedLLM,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sandbox counts as available wherever this runs (the step runs no command):
    # without bubblewrap its warning would be a second toast, stacked under this one.
    folder = stand_in_bwrap(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    llm_server.script(call("write_file", path="hello.txt", content="hello\n"))
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        app.clear_notifications()
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await until(pilot, lambda: any("waits" in str(t.render()) for t in toasts(app)))
        await pilot.pause()
        goal = app.query_one("#goal").region
        for toast in toasts(app):
            # Over the goal panel (its meters), under the header; not over a panel.
            assert toast.region.y >= 1 and toast.region.bottom <= goal.bottom
            for panel in ("#log", "#diff"):
                assert not toast.region.overlaps(app.query_one(panel).region)

        await press(app, "a")
        await until(pilot, lambda: steps_in(app) == [1])
        # Gone with the wait, not seconds later.
        await until(pilot, lambda: not any("waits" in str(t.render()) for t in toasts(app)))
        assert not any("waits" in n.message for n in app._notifications)


async def test_toasts_last_by_severity_unless_told(
    make_app: Callable[..., WorkstationApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        app.clear_notifications()
        app.notify("fyi")
        app.notify("careful", severity="warning")
        app.notify("broken", severity="error")
        app.notify("told", timeout=2)
        await until(pilot, lambda: len(app._notifications) == 4)
        timeouts = {n.message: n.timeout for n in app._notifications}
        assert timeouts == {
            "fyi": TIMEOUTS["information"],
            "careful": TIMEOUTS["warning"],
            "broken": TIMEOUTS["error"],
            "told": 2,
        }
        assert TIMEOUTS["information"] < TIMEOUTS["warning"] < TIMEOUTS["error"]


async def test_at_160_columns_two_toasts_stay_over_the_goal_panel(
    make_app: Callable[..., WorkstationApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        app.clear_notifications()
        await pilot.pause()
        app.notify("Mode: edits — reads and file edits run; commands and questions wait.")
        app.notify("The model server failed 5 times.", severity="error")
        await until(pilot, lambda: len(toasts(app)) == 2)
        await pilot.pause()
        goal = app.query_one("#goal").region
        diff = app.query_one(DiffViewer).region
        for toast in toasts(app):
            assert toast.region.bottom <= goal.bottom and not toast.region.overlaps(diff)


async def test_a_toast_shows_once_while_a_dialog_lies_over_the_workstation(
    make_app: Callable[..., WorkstationApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        workstation = app.screen
        app.notify("sent")
        await until(pilot, lambda: any("sent" in str(t.render()) for t in toasts(app)))
        await press(app, "i")
        await until(pilot, lambda: app.screen is not workstation)
        await until(pilot, lambda: any("sent" in str(t.render()) for t in toasts(app)))
        # The workstation shows through the dialog, but its own copy of the toast is hidden.
        rack = workstation.query_one(ToastRack)

        def shown_on_workstation() -> int:
            return sum(1 for holder in rack.children if holder.display)

        assert rack.children  # the toasts are still there, under the dialog...
        await until(pilot, lambda: shown_on_workstation() == 0)  # ...but hidden
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is workstation)
        await until(pilot, lambda: shown_on_workstation() >= 1)
