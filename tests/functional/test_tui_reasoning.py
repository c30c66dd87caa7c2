"""The workstation against a reasoning model: reasoning reaches the thought, muted."""

from __future__ import annotations

from collections.abc import Callable

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import make_app, press, until
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

__all__ = ["make_app"]  # the fixture, shared with the TUI tests


async def test_reasoning_streams_into_the_thought_apart_from_the_answer(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM
) -> None:
    # DeepSeek's reasoning_content shape, then the answer and a call.
    llm_server.script(
        Reply(
            "Writing **hello.txt**.",
            tool_calls=[ToolCall("write_file", {"path": "hello.txt", "content": "hi\n"})],
            reasoning="A greeting file is all the goal asks for.",
            reasoning_style="reasoning_content",
        )
    )
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        log = app.query_one(ActionLog)
        # The events reach the UI as messages: the thought appears when they are handled.
        await until(pilot, lambda: log.thought(1) is not None)
        thought = log.thought(1)
        assert thought is not None
        # Drawn muted above the answer (tests/ui/test_thought_reasoning.py checks the look).
        await until(
            pilot, lambda: thought.lines[:1] == ["A greeting file is all the goal asks for."]
        )
        assert thought.reasoning == "A greeting file is all the goal asks for."
        await until(pilot, lambda: thought.text == "Writing **hello.txt**.")
