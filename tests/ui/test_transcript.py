"""Opening a card's transcript from the log: which card, and what a step not committed
yet shows (the committed case reads git: tests/functional/test_tui_transcript.py)."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static

from autogpt_tui.ui.screens.transcript import TranscriptScreen
from autogpt_tui.ui.widgets.action_card import OUTPUT_CHROME
from autogpt_tui.ui.widgets.action_log import ActionLog, CardTranscript
from autogpt_tui.ui.widgets.agent_thought import AgentThought
from tests.ui.test_action_log import until


class TranscriptApp(App[None]):
    """A log whose transcript requests are kept, and opened as the workstation does."""

    def __init__(self, workspace: Path) -> None:
        super().__init__()
        self.workspace = workspace
        self.wanted: list[CardTranscript] = []
        self.widths: list[int] = []

    def compose(self) -> ComposeResult:
        yield ActionLog()

    def on_action_log_transcript_wanted(self, message: ActionLog.TranscriptWanted) -> None:
        self.wanted.append(message.transcript)
        self.push_screen(TranscriptScreen(self.workspace, message.transcript))

    def on_action_log_width_changed(self, message: ActionLog.WidthChanged) -> None:
        self.widths.append(message.columns)


def screen_text(app: App[None]) -> str:
    texts = [str(s.content) for s in app.screen.query(Static).results(Static)]
    texts += [t.text for t in app.screen.query(AgentThought).results(AgentThought)]
    return "\n".join(texts)


async def test_enter_opens_the_lowest_card_in_view_even_before_its_commit(
    tmp_path: Path,
) -> None:
    app = TranscriptApp(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        log = app.query_one(ActionLog)
        log.focus()
        await until(pilot, lambda: app.focused is log)
        await pilot.press("enter")  # nothing to open yet: a word, no screen
        await pilot.pause()
        assert app.wanted == [] and not isinstance(app.screen, TranscriptScreen)

        await log.append_thought(1, "Run the **tests**.")
        await log.show_action(1, "run_command", {"command": "pytest -q"}, waiting=False)
        output = "\n".join(f"line {n}" for n in range(1, 31))
        log.action_executed(1, False, output)
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen) and app.screen.ready)
        (wanted,) = app.wanted
        assert (wanted.step, wanted.sha, wanted.card.tool) == (1, None, "run_command")
        text = screen_text(app)
        assert "Not committed yet" in text and "Run the **tests**." in text
        assert "$ pytest -q" in text and "✗ failed" in text
        assert "line 6" in text and "24 more lines" in text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, TranscriptScreen))


async def test_a_click_on_a_card_asks_for_that_card(tmp_path: Path) -> None:
    app = TranscriptApp(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        log = app.query_one(ActionLog)
        for step in (1, 2):
            await log.append_thought(step, f"Thought {step}.")
            await log.show_action(step, "read_file", {"path": f"f{step}.py"}, waiting=False)
            log.action_executed(step, True, f"contents {step}")
        await pilot.pause()
        (first,) = log.cards(1)
        await pilot.click(first)
        await until(pilot, lambda: len(app.wanted) == 1)
        assert app.wanted[0].step == 1 and app.wanted[0].thought == "Thought 1."


async def test_the_log_reports_the_width_a_card_shows_output_at(tmp_path: Path) -> None:
    app = TranscriptApp(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await until(pilot, lambda: bool(app.widths))
        assert app.widths[-1] == log.scrollable_content_region.width - OUTPUT_CHROME
        await pilot.resize_terminal(140, 30)
        await until(pilot, lambda: app.widths[-1] == log.scrollable_content_region.width - 8)
        assert app.widths[-1] > app.widths[0]
