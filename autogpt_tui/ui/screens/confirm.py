"""A yes-or-no question in a small dialog (trusting a workspace's config file)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

CONFIRM_HINTS = "y yes · n or escape no"
"""The keys the dialog listens to, shown under the question."""


class ConfirmPrompt(ModalScreen[bool]):
    """Ask a yes-or-no question; dismiss with True for yes, False for no or escape."""

    DEFAULT_CSS = """
    ConfirmPrompt {
        align: center middle;
    }
    ConfirmPrompt > #confirm-dialog {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $warning;
        border-title-color: $text-warning;
        border-title-style: bold;
        background: $surface;
    }
    ConfirmPrompt #confirm-question {
        margin: 1 0;
        color: $foreground;
    }
    ConfirmPrompt #confirm-hints {
        height: 1;
        color: $text-muted;
        text-align: right;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, title: str, question: str, hints: str = CONFIRM_HINTS) -> None:
        """Ask ``question`` under ``title``; ``hints`` says what y and n mean here."""
        super().__init__()
        self.title_text = title
        """Shown in the dialog's border."""
        self.question = question
        """What the user is asked."""
        self.hints = hints
        """The keys' line under the question."""

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(Content(self.question), id="confirm-question")
            yield Static(self.hints, id="confirm-hints")

    def on_mount(self) -> None:
        self.query_one("#confirm-dialog", Vertical).border_title = Content(self.title_text)

    def action_answer(self, yes: bool) -> None:
        """Close the dialog with the answer."""
        self.dismiss(yes)
