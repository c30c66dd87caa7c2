"""Undo and rejection in the workstation, driven by Pilot against the scripted server:
the log marks undone steps, a new step after an undo is a new branch with a new number,
and every reply's thought is its own block (issue 12, items 4 and 8)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Static

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.step_history import StepHistory, step_label
from tests.functional.test_tui import call, make_app, press, prompt_open, steps_in, until
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall
from tests.ui.test_action_log import shown

__all__ = ["make_app"]  # the fixture, shared with the TUI tests


def notices(app: WorkstationApp) -> list[str]:
    log = app.query_one(ActionLog)
    return [shown(n).strip() for n in log.query(".notice").results(Static)]


async def test_a_step_after_undo_is_a_new_branch_with_a_new_number(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(
        *[
            Reply(
                f"Thought {n}.",
                tool_calls=[ToolCall("write_file", {"path": f"f{n}.txt", "content": "x"})],
            )
            for n in range(1, 4)
        ],
        Reply(
            "A new way.", tool_calls=[ToolCall("write_file", {"path": "new.txt", "content": "x"})]
        ),
    )
    app = make_app(mode="auto")
    async with app.run_test(size=(160, 45)) as pilot:
        history = app.query_one(StepHistory)
        log = app.query_one(ActionLog)
        await until(pilot, lambda: history.loaded)

        def took(count: int) -> Callable[[], bool]:
            return lambda: len(steps_in(app)) == count and not app._agent_busy

        for n in range(1, 4):
            await press(app, "s")
            await until(pilot, took(n))
        await press(app, "u")
        await until(pilot, lambda: history.steps[0].undone)
        await press(app, "u")
        await until(pilot, lambda: [s.undone for s in history.steps] == [True, True, False])
        # The log says so: the cards of steps 2 and 3 are marked undone, step 1's is not.
        await until(pilot, lambda: log.undone(2) and log.undone(3))
        assert not log.undone(1)
        (card,) = log.cards(3)
        await until(pilot, lambda: "↶ undone" in shown(card))
        assert "✓ done" not in shown(card)

        await press(app, "s")
        await until(pilot, lambda: len(history.steps) == 4 and not app._agent_busy)
        # Numbered 4, not 2 again; the history names every step once.
        assert steps_in(app) == [4, 3, 2, 1]
        labels = [step_label(s) for s in history.steps]
        assert len(set(labels)) == 4
        assert [s.undone for s in history.steps] == [False, True, True, False]
        # A divider shows where the conversation branches off; the new thought is its own.
        divider = "── new branch after undoing #2–#3 ──"
        assert notices(app).count(divider) == 1
        # ...right above the new step.
        children = list(log.children)
        thought = log.thought(4)
        assert thought is not None and thought.parent in children
        above = children[children.index(thought.parent) - 1]
        assert isinstance(above, Static) and shown(above).strip() == divider
        assert log.thought_text(4) == "A new way."
        assert log.thought_text(2) == "Thought 2."
        assert not log.undone(4)


async def test_the_thought_after_a_rejection_is_not_glued_to_the_first(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(
        Reply(
            "Should dashes go too?",
            tool_calls=[ToolCall("write_file", {"path": "a.txt", "content": "x"})],
        ),
        Reply(
            "Spare turn: b then.",
            tool_calls=[ToolCall("write_file", {"path": "b.txt", "content": "x"})],
        ),
    )
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        log = app.query_one(ActionLog)
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await press(app, "r")
        await until(pilot, lambda: prompt_open(app))
        await pilot.press(*"not a")
        await pilot.press("enter")
        await until(pilot, lambda: len(llm_server.requests) == 2 and app.runner.awaiting_approval)
        await press(app, "a")
        await until(pilot, lambda: steps_in(app) == [1] and not app._agent_busy)
        assert log.entry_count(1) == 2
        assert log.thought_text(1) == "Spare turn: b then."
        headers = [shown(h).strip() for h in log.query(".step-header").results(Static)]
        assert headers[0].startswith("step 1") and "attempt" not in headers[0]
        assert headers[1].startswith("step 1 · attempt 2")
        texts = [t.text for t in log.query("AgentThought").results()]  # type: ignore[attr-defined]
        assert texts == ["Should dashes go too?", "Spare turn: b then."]


async def test_a_reply_without_a_call_and_the_next_are_two_thoughts(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(Reply("Let me think."), call("write_file", path="a.txt", content="a\n"))
    app = make_app(mode="auto")
    async with app.run_test(size=(160, 45)) as pilot:
        log = app.query_one(ActionLog)
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: steps_in(app) == [1] and not app._agent_busy)
        assert log.entry_count(1) == 2
        assert log.thought_text(1) == "Now **write_file**."
