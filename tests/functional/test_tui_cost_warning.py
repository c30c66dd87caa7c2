"""The TUI warns, in a toast and in the log, that a cost budget cannot work for a model
nobody prices, before the model is asked anything (Pilot, scripted server); and its goal
panel's token meter counts the prompt tokens the server read from its cache."""

from __future__ import annotations

from pathlib import Path

from autogpt_tui.core.history import History
from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.budget_meter import BudgetMeter
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import press, steps_in, until
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall, Usage

SENTENCE = "has no known price, so the cost budget ($2.00) cannot be enforced"


def app_for(workspace: Path, server: ScriptedLLM, model: str) -> WorkstationApp:
    History.open(workspace).close()
    settings = load_settings(
        workspace,
        overrides={
            "model": {"base_url": server.base_url, "api_key": "sk-test-tui-cost", "model": model},
            "agent": {"mode": "auto", "max_cost_usd": 2.0},
        },
    )
    return WorkstationApp(workspace, goal="Write a note.", settings=settings)


async def test_an_unpriced_model_under_a_cost_budget_gets_a_toast(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    usage = Usage(prompt_tokens=3_000, completion_tokens=100, cached_tokens=2_500)
    llm_server.script(
        Reply(
            "Note.",
            tool_calls=[ToolCall("write_file", {"path": "n.txt", "content": "x"})],
            usage=usage,
        )
    )
    app = app_for(workspace, llm_server, "my-local-model")
    try:
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await until(pilot, lambda: app.query_one(StepHistory).loaded)
            # Said when the workstation opens, before any step and any request.
            await until(pilot, lambda: any(SENTENCE in n.message for n in app._notifications))
            assert llm_server.requests == []
            await press(app, "s")
            await until(pilot, lambda: steps_in(app) == [1])
            # The session's own warning, when it opened, is not said a second time.
            said = [n for n in app._notifications if SENTENCE in n.message]
            assert len(said) == 1
            log = app.query_one(ActionLog)
            assert sum(SENTENCE in str(e) for e in log._notices) == 1
            warning = said[0]
            assert warning.severity == "warning"
            assert "'my-local-model'" in warning.message and "read $0" in warning.message
            tokens = app.query_one("#meter-tokens", BudgetMeter)
            await until(pilot, lambda: "cached" in tokens.text)
            assert tokens.text == "tokens 3.1k (2.5k cached)"
    finally:
        app.runner.stop()
        app.runner.close()


async def test_a_priced_model_gets_no_such_toast(workspace: Path, llm_server: ScriptedLLM) -> None:
    llm_server.script(
        Reply("Note.", tool_calls=[ToolCall("write_file", {"path": "n.txt", "content": "x"})])
    )
    app = app_for(workspace, llm_server, "gpt-4o-mini")
    try:
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await until(pilot, lambda: app.query_one(StepHistory).loaded)
            await press(app, "s")
            await until(pilot, lambda: steps_in(app) == [1])
            assert not any("cannot be enforced" in n.message for n in app._notifications)
    finally:
        app.runner.stop()
        app.runner.close()
