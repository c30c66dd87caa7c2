"""``ServeNotice``: what a browser tab shows when its TUI could not start (the workspace
is in use by another tab's agent, say): the sentence the terminal would have printed."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.widgets import Footer, Static

from autogpt_tui.ui.themes import DEFAULT_THEME, choose_theme, register_themes


class ServeNotice(App[None]):
    """One sentence, and a key to close."""

    TITLE = "autogpt-tui"
    CSS = """
    #notice { width: 70; max-width: 100%; padding: 1 2; border: round $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Close")]

    def __init__(self, sentence: str) -> None:
        super().__init__()
        self.sentence = sentence

    def on_mount(self) -> None:
        """Look like the workstation would have: its default theme."""
        register_themes(self)
        choose_theme(self, DEFAULT_THEME)

    def compose(self) -> ComposeResult:
        """The sentence in the middle of the screen, the close key below."""
        with Middle(), Center():
            yield Static(f"{self.sentence}\n\nClose this tab, or press q.", id="notice")
        yield Footer()


def show_notice(sentence: str) -> None:
    """Run :class:`ServeNotice` until the user closes it."""
    ServeNotice(sentence).run()
