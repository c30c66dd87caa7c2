"""A one-line text prompt in a dialog docked at the bottom: reasons, comments, answers, goals."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

PROMPT_HINTS = "enter to confirm · escape to cancel"
"""The keys the prompt listens to, shown under the input."""
EMPTY_ANSWER_HINT = "type something, or escape to cancel"
"""What the prompt says when enter is pressed on an empty answer that is not allowed."""


class TextPrompt(ModalScreen[str | None]):
    """Ask the user for one line of text; dismiss with it (stripped), or None on escape.

    Examples of use: the reason for rejecting an action, a comment on a step, an
    answer to the agent's question, a new goal.
    """

    # Docked at the bottom, the full width, as short as it can be: what the answer is
    # about (the proposed diff, the step, the agent's question) stays in view above it.
    # Its backdrop (a light dimming, not a blank screen) is set in app.tcss, whose
    # ``Screen`` rule would otherwise make it opaque.
    DEFAULT_CSS = """
    TextPrompt {
        align: center bottom;
    }
    TextPrompt > #prompt-dialog {
        width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $primary;
        border-title-color: $text-primary;
        border-title-style: bold;
        background: $surface;
    }
    TextPrompt #prompt-explanation {
        color: $foreground;
    }
    TextPrompt #prompt-input {
        width: 100%;
        padding: 0 1;
        background: $panel;
        &:focus {
            background-tint: $foreground 4%;
        }
    }
    TextPrompt #prompt-foot {
        height: 1;
    }
    TextPrompt #prompt-status {
        width: 1fr;
        color: $text-muted;
        text-style: italic;
    }
    TextPrompt #prompt-hints {
        width: auto;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        title: str,
        explanation: str = "",
        *,
        placeholder: str = "",
        value: str = "",
        allow_empty: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Make a prompt.

        Args:
            title: Shown in the dialog's border, e.g. "Reject".
            explanation: One line under the title saying what the answer is for.
            placeholder: Greyed-out text in the empty input.
            value: The input's initial text (e.g. the current goal, to edit it).
            allow_empty: Whether enter on an empty input answers "" rather than asking again.
        """
        super().__init__(name=name, id=id, classes=classes)
        self.title_text = title
        """Shown in the dialog's border."""
        self.explanation = explanation
        """The line under the title saying what the answer is for."""
        self.placeholder = placeholder
        """Greyed-out text in the empty input."""
        self.initial_value = value
        """The text the input starts with."""
        self.allow_empty = allow_empty
        """Whether an empty answer is accepted."""

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-dialog"):
            if self.explanation:
                yield Static(Content(self.explanation), id="prompt-explanation")
            yield Input(
                value=self.initial_value,
                placeholder=self.placeholder,
                id="prompt-input",
                select_on_focus=False,
                compact=True,
            )
            with Horizontal(id="prompt-foot"):
                # Blank until an empty answer needs explaining.
                yield Static("", id="prompt-status")
                yield Static(PROMPT_HINTS, id="prompt-hints")

    def on_mount(self) -> None:
        dialog = self.query_one("#prompt-dialog", Vertical)
        dialog.border_title = Content(self.title_text)
        input_widget = self.query_one("#prompt-input", Input)
        input_widget.focus()
        input_widget.cursor_position = len(input_widget.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        answer = event.value.strip()
        if answer or self.allow_empty:
            self.dismiss(answer)
        else:
            self.query_one("#prompt-status", Static).update(EMPTY_ANSWER_HINT)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        # The hint about empty answers is stale as soon as the user types.
        self.query_one("#prompt-status", Static).update("")

    def action_cancel(self) -> None:
        """Close the prompt without an answer."""
        self.dismiss(None)
