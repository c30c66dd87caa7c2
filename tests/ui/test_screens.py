"""The modal screens driven through Textual's Pilot in tiny host apps."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static

from autogpt_tui.ui.screens import HelpScreen, TextPrompt
from autogpt_tui.ui.screens.help import KEY_SECTIONS
from autogpt_tui.ui.screens.prompt import EMPTY_ANSWER_HINT, PROMPT_HINTS
from autogpt_tui.ui.themes import register_themes

SMALL = (80, 24)
THEMES = ("autogpt-dark", "autogpt-light")


class Host(App[None]):
    """A bare app with a line of text, a help key and a record of screen results."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, theme: str = "autogpt-dark") -> None:
        super().__init__()
        register_themes(self)
        self.theme = theme
        self.results: list[Any] = []
        """What each screen opened with ``show`` was dismissed with, in order."""

    def compose(self) -> ComposeResult:
        yield Static("the workstation")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def show(self, screen: Screen[Any]) -> None:
        """Open ``screen`` and record its result."""
        self.push_screen(screen, self.results.append)


async def opened(pilot: Pilot[None], screen: Screen[Any]) -> Host:
    """Open ``screen`` on the host app and wait until it is showing."""
    app = pilot.app
    assert isinstance(app, Host)
    app.show(screen)
    await pilot.pause()
    assert app.screen is screen
    return app


def text_of(widget: Static) -> str:
    """The plain text a Static shows."""
    return str(widget.render())


# --- help ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["escape", "q", "question_mark"])
async def test_help_opens_with_question_mark_and_closes(key: str) -> None:
    app = Host()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press(key)
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        assert app.is_running, "q closes the help, it does not quit the app"


async def test_help_closes_on_a_click_outside_the_dialog() -> None:
    app = Host()
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.click(offset=(0, 0))
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_help_lists_every_key_in_the_design() -> None:
    keys = {key for _, rows in KEY_SECTIONS for key, _ in rows}
    expected = {"s", "a", "r", "m", "p", "u / U", "+ / -", "c", "g", "?", "ctrl+p", "q"}
    assert expected | {"v", "tab", "1–4"} <= keys
    app = Host()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("question_mark")
        shown = {text_of(widget) for widget in app.screen.query(".help-key").results(Static)}
        assert keys <= shown
        text = " ".join(text_of(w) for w in app.screen.query(Static).results(Static))
        assert "commit" in text and "rewards" in text and "edits" in text


@pytest.mark.parametrize("theme", THEMES)
async def test_help_fits_80x24_without_horizontal_overflow(theme: str) -> None:
    app = Host(theme)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        dialog = app.screen.query_one("#help-dialog", VerticalScroll)
        assert app.screen.region.contains_region(dialog.region)
        assert dialog.max_scroll_x == 0
        inside = dialog.scrollable_content_region
        for widget in dialog.query(Static):
            assert widget.region.width <= inside.width, widget
            assert widget.content_region.right <= inside.right + dialog.scroll_x, widget
        # Taller than 24 rows: it scrolls, and the keys scroll it.
        assert dialog.max_scroll_y > 0
        assert app.screen.focused is dialog
        await pilot.press("end")
        await pilot.pause()
        assert dialog.scroll_y == dialog.max_scroll_y


# --- text prompt ---------------------------------------------------------------------------


def reject_prompt(**options: Any) -> TextPrompt:
    """The prompt the workstation shows for a rejection."""
    return TextPrompt(
        "Reject", "Why reject this action? The agent is told.", placeholder="a reason", **options
    )


@pytest.mark.parametrize("theme", THEMES)
async def test_prompt_returns_the_typed_text_stripped(theme: str) -> None:
    app = Host(theme)
    async with app.run_test(size=SMALL) as pilot:
        prompt = reject_prompt()
        await opened(pilot, prompt)
        field = prompt.query_one(Input)
        assert field.has_focus and field.placeholder == "a reason"
        assert PROMPT_HINTS in text_of(prompt.query_one("#prompt-hints", Static))
        await pilot.press("space", *"wrong", "space", *"file", "space")
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == ["wrong file"]
        assert app.screen is not prompt


async def test_prompt_starts_with_the_initial_value() -> None:
    app = Host()
    async with app.run_test(size=SMALL) as pilot:
        prompt = TextPrompt("Goal", "What should the agent do?", value="fix the tests")
        await opened(pilot, prompt)
        await pilot.press("exclamation_mark", "enter")
        await pilot.pause()
        assert app.results == ["fix the tests!"], "the cursor starts at the end"


async def test_prompt_escape_returns_none() -> None:
    app = Host()
    async with app.run_test(size=SMALL) as pilot:
        prompt = reject_prompt()
        await opened(pilot, prompt)
        await pilot.press(*"half typed", "escape")
        await pilot.pause()
        assert app.results == [None]


async def test_prompt_refuses_an_empty_answer() -> None:
    app = Host()
    async with app.run_test(size=SMALL) as pilot:
        prompt = reject_prompt()
        await opened(pilot, prompt)
        status = prompt.query_one("#prompt-status", Static)
        assert text_of(status) == ""
        await pilot.press("space", "space", "enter")
        await pilot.pause()
        assert app.screen is prompt and app.results == []
        assert text_of(status) == EMPTY_ANSWER_HINT
        await pilot.press("x")
        await pilot.pause()
        assert text_of(status) == "", "typing clears the hint"
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == ["x"]


async def test_prompt_allows_an_empty_answer_when_asked_to() -> None:
    app = Host()
    async with app.run_test(size=SMALL) as pilot:
        await opened(pilot, TextPrompt("Comment", "A comment on step 3.", allow_empty=True))
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [""]


async def test_prompt_shows_brackets_literally() -> None:
    app = Host()
    async with app.run_test(size=SMALL) as pilot:
        prompt = TextPrompt("Question [agent]", "Use [bold] or not?")
        await opened(pilot, prompt)
        explanation = prompt.query_one("#prompt-explanation", Static)
        assert text_of(explanation) == "Use [bold] or not?"
