"""A card's full transcript, and the width commands format for, in the workstation driven
by Pilot against the scripted server (issue 12, item 3 and "the full transcript")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Static

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.screens.transcript import TranscriptScreen
from autogpt_tui.ui.widgets.action_card import OUTPUT_CHROME
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.agent_thought import AgentThought
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import make_app, press, prompt_open, steps_in, until
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall
from tests.ui.test_action_log import shown

__all__ = ["make_app"]  # the fixture, shared with the TUI tests


def run(command: str, thought: str = "Let me run it.") -> Reply:
    return Reply(thought, tool_calls=[ToolCall("run_command", {"command": command})])


def transcript_text(app: WorkstationApp) -> str:
    screen = app.screen
    assert isinstance(screen, TranscriptScreen)
    texts = [str(s.content) for s in screen.query(Static).results(Static)]
    texts += [t.text for t in screen.query(AgentThought).results(AgentThought)]
    return "\n".join(texts)


def transcript_loaded(app: WorkstationApp) -> bool:
    return isinstance(app.screen, TranscriptScreen) and app.screen.ready


async def approve_step(app: WorkstationApp, pilot: object, count: int) -> None:
    await press(app, "s")
    await until(pilot, lambda: app.runner.awaiting_approval)  # type: ignore[arg-type]
    await press(app, "a")
    await until(pilot, lambda: len(steps_in(app)) == count and not app._agent_busy)  # type: ignore[arg-type]


async def test_enter_on_the_log_opens_the_full_output_of_a_command(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(run("seq 1 40", "Count to forty."))
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await approve_step(app, pilot, 1)
        log = app.query_one(ActionLog)
        (card,) = log.cards(1)
        # The card shows the head and says how to see the rest.
        await until(pilot, lambda: "36 more lines" in shown(card))
        assert "40" not in card.data.output
        log.focus()
        await until(pilot, lambda: app.focused is log)
        await press(app, "enter")
        await until(pilot, lambda: transcript_loaded(app))
        text = transcript_text(app)
        assert "Count to forty." in text
        assert '"command": "seq 1 40"' in text
        # Every line of the output, not only the card's head.
        assert "\n".join(str(n) for n in range(1, 41)) in text
        screen = app.screen
        assert isinstance(screen, TranscriptScreen)
        assert screen.query_one("#transcript").border_title == (
            f"step 1 · run_command · {app.query_one(StepHistory).steps[0].short_sha}"
        )
        await press(app, "escape")
        await until(pilot, lambda: not isinstance(app.screen, TranscriptScreen))


async def test_a_click_on_a_card_opens_its_step_with_the_rejected_proposal(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    first = {"path": "a.txt", "content": "line one\nline two\n"}
    llm_server.script(
        Reply("First idea.", tool_calls=[ToolCall("write_file", first)]),
        run("echo two", "Second idea."),
    )
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await press(app, "r")
        await until(pilot, lambda: prompt_open(app))
        await pilot.press(*"say two")
        await pilot.press("enter")
        await until(pilot, lambda: len(llm_server.requests) == 2 and app.runner.awaiting_approval)
        await press(app, "a")
        await until(pilot, lambda: steps_in(app) == [1] and not app._agent_busy)
        log = app.query_one(ActionLog)
        rejected = log.query("ActionCard.-rejected").first()
        await pilot.click(rejected)
        await until(pilot, lambda: transcript_loaded(app))
        text = transcript_text(app)
        assert "Proposal 1, rejected" in text and "First idea." in text
        assert "Rejected: say two" in text
        # A file's content shows as written, under its name, not as a JSON string.
        assert "content:\nline one\nline two" in text and '"path": "a.txt"' in text
        assert "Second idea." in text and "two" in text


async def test_commands_format_their_output_for_the_logs_width(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(run('echo "cols=$COLUMNS"'), run('echo "cols=$COLUMNS"'))
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        log = app.query_one(ActionLog)
        wide = log.scrollable_content_region.width - OUTPUT_CHROME
        await approve_step(app, pilot, 1)
        assert f"cols={wide}" in log.card_data(1)[0].output
        # The terminal widens: the log with it, and the next command is told.
        await pilot.resize_terminal(220, 45)
        await until(pilot, lambda: app.runner.output_columns != wide)
        wider = log.scrollable_content_region.width - OUTPUT_CHROME
        await approve_step(app, pilot, 2)
        assert f"cols={wider}" in log.card_data(2)[0].output
        assert wider > wide
