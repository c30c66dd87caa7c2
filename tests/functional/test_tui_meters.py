"""The goal panel's meters count the session's steps in force: undo and redo recount
them (steps, tokens, cost), a new step adds to what is in force, and a reopened
workstation starts from it. Pilot against the scripted server, real git."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.goal_panel import GoalPanel, format_count
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import press, until
from tests.functional.test_tui_status import MakeApp, make_app  # noqa: F401 (a fixture)
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall, Usage

USAGE = Usage(prompt_tokens=1_000, completion_tokens=100)
"""What the server reports for every request: 1,100 tokens a step."""


def write(name: str) -> Reply:
    return Reply(
        f"Writing {name}.",
        tool_calls=[ToolCall("write_file", {"path": name, "content": f"{name}\n"})],
        usage=USAGE,
    )


def meters(app: WorkstationApp) -> tuple[int, int, float]:
    goal = app.query_one(GoalPanel)
    return goal.steps_used, goal.tokens_used, goal.cost_used


def counted(app: WorkstationApp, steps: int) -> Callable[[], bool]:
    """The meters count ``steps`` and the agent is idle again."""
    return lambda: meters(app)[0] == steps and not app._agent_busy


def undone(app: WorkstationApp) -> int:
    return sum(step.undone for step in app.query_one(StepHistory).steps)


async def test_undo_and_redo_recount_the_meters_and_a_new_step_adds_to_them(
    make_app: MakeApp,  # noqa: F811
    llm_server: ScriptedLLM,
) -> None:
    """Issue 12, item 5: after 3 undos the meters still said 10 steps; then 11."""
    llm_server.script(write("a.txt"), write("b.txt"), write("c.txt"), write("d.txt"))
    app = make_app(mode="auto")
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        for count in (1, 2, 3):
            await press(app, "s")
            await until(pilot, counted(app, count))
        steps, tokens, cost = meters(app)
        assert (steps, tokens) == (3, 3 * 1_100) and cost > 0
        await press(app, "u")
        await until(pilot, lambda: undone(app) == 1 and meters(app)[0] == 2)
        await press(app, "u")
        await until(pilot, lambda: undone(app) == 2 and meters(app)[0] == 1)
        assert meters(app)[:2] == (1, 1_100) and meters(app)[2] == pytest.approx(cost / 3)
        await press(app, "U")
        await until(pilot, lambda: undone(app) == 1 and meters(app)[0] == 2)
        assert meters(app)[:2] == (2, 2_200) and meters(app)[2] == pytest.approx(cost * 2 / 3)
        goal = app.query_one(GoalPanel)
        assert goal.query_one("#meter-steps").text == "steps 2/50"  # type: ignore[attr-defined]
        assert goal.query_one("#meter-tokens").text == f"tokens {format_count(2_200)}"  # type: ignore[attr-defined]
        # A new step counts on from the steps in force, not from the last step's number.
        await press(app, "s")
        await until(pilot, lambda: meters(app)[0] == 3 and not app._agent_busy)
        assert meters(app)[:2] == (3, 3 * 1_100) and meters(app)[2] == pytest.approx(cost)


async def test_a_reopened_workstation_starts_from_the_steps_in_force(
    make_app: MakeApp,  # noqa: F811
    llm_server: ScriptedLLM,
) -> None:
    llm_server.script(write("a.txt"), write("b.txt"))
    app = make_app(mode="auto")
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "p")  # runs until the script is exhausted (an error)
        await until(pilot, lambda: meters(app)[0] == 2 and not app._agent_busy)
        await press(app, "u")
        await until(pilot, lambda: undone(app) == 1 and meters(app)[0] == 1)
    app.runner.stop()
    app.runner.close()
    again = make_app(mode="auto")
    async with again.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: meters(again)[0] == 1)
        assert meters(again)[1] == 1_100
