"""Dialogs lie over the workstation: the diff being rejected stays readable beneath."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.screens.prompt import TextPrompt
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import (
    call,
    last_tool_message,
    press,
    prompt_open,
    until,
)
from tests.functional.test_tui import make_app as make_app  # a fixture
from tests.support.scripted_llm import ScriptedLLM

SIZES = [(80, 24), (160, 45)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
async def test_the_reject_dialog_leaves_the_proposed_diff_in_view(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, size: tuple[int, int]
) -> None:
    content = "".join(f"line {n}\n" for n in range(1, 9))
    llm_server.script(
        call("write_file", path="hello.txt", content=content),
        call("write_file", path="greeting.txt", content="hi\n"),
    )
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        viewer = app.query_one(DiffViewer)
        await until(pilot, lambda: "hello.txt" in viewer.diff_title)
        await press(app, "r")
        await until(pilot, lambda: prompt_open(app))
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)
        # The workstation shows through: the dialog's backdrop is see-through, and the
        # dialog sits below the diff's headers and its first added lines.
        assert prompt.styles.background.a < 0.5
        assert viewer.region.area > 0  # still laid out (and so drawn) beneath
        dialog = prompt.query_one("#prompt-dialog").region
        first_lines = viewer.content_region.y + 6  # ---, +++, @@ and three added lines
        assert dialog.y >= first_lines
        assert dialog.bottom == size[1]  # docked at the bottom

        # Typing and enter work as before: the reason reaches the agent.
        await pilot.press(*"Call it greeting.txt")
        await pilot.press("enter")
        await until(pilot, lambda: len(llm_server.requests) == 2 and app.runner.awaiting_approval)
        assert "Call it greeting.txt" in last_tool_message(llm_server.requests[1])


async def test_the_comment_and_goal_dialogs_are_docked_prompts_too(
    make_app: Callable[..., WorkstationApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "g")
        await until(pilot, lambda: prompt_open(app))
        await pilot.pause()
        assert app.screen.query_one("#prompt-dialog").region.bottom == 45
        await pilot.press("ctrl+u", *"Write a farewell", "enter")
        await until(pilot, lambda: app.runner.goal == "Write a farewell")


async def test_the_keys_are_checked_without_walking_the_widgets(
    make_app: Callable[..., WorkstationApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query walks every widget (each card of a long log), and the footer checks each
    key on every refresh: opening the reject dialog late in a session took half a second."""
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        queries: list[Any] = []
        original = WorkstationApp.query

        def counting(self: WorkstationApp, *args: Any, **kwargs: Any) -> Any:
            queries.append(args)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(WorkstationApp, "query", counting)
        for action in ("comment", "rate", "step", "approve", "quit"):
            app.check_action(action, ())
        assert queries == []
