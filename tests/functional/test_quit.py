"""Quitting while an action awaits approval asks first; otherwise q quits at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Static

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.screens.confirm import ConfirmPrompt
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import call, press, steps_in, until
from tests.functional.test_tui import make_app as make_app  # a fixture
from tests.support.scripted_llm import ScriptedLLM


def confirm_open(app: WorkstationApp) -> bool:
    """The quit question is on screen, composed (pushed is not yet drawn)."""
    return isinstance(app.screen, ConfirmPrompt) and bool(app.screen.query("#confirm-hints"))


def question(app: WorkstationApp) -> str:
    return str(app.screen.query_one("#confirm-question", Static).render())


async def test_q_with_an_action_waiting_asks_and_escape_keeps_it(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(call("write_file", path="hello.txt", content="hello\n"))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await press(app, "q")
        await until(pilot, lambda: confirm_open(app))
        text = question(app)
        assert "Step 1: write_file (hello.txt" in text
        assert "The proposal is lost" in text
        assert "y quit" in str(app.screen.query_one("#confirm-hints", Static).render())
        assert app.is_running and app.runner.awaiting_approval

        await press(app, "escape")  # staying is the default: nothing is lost
        await until(pilot, lambda: not isinstance(app.screen, ConfirmPrompt))
        assert app.is_running and app.runner.awaiting_approval
        await press(app, "a")
        await until(pilot, lambda: steps_in(app) == [1])
        assert (workspace / "hello.txt").read_text() == "hello\n"


async def test_y_quits_and_the_action_never_runs(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(call("write_file", path="hello.txt", content="hello\n"))
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await press(app, "q")
        await until(pilot, lambda: confirm_open(app))
        await press(app, "y")
        await until(pilot, lambda: not app.is_running)
    assert not (workspace / "hello.txt").exists()


async def test_q_with_nothing_waiting_quits_at_once(
    make_app: Callable[..., WorkstationApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "q")
        await until(pilot, lambda: not app.is_running)
