"""A yes/no question in a small dialog, answered with y/enter or n/escape."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class Confirm(ModalScreen[bool]):
    """Ask a yes/no question; dismiss with True for yes (y, enter) or False (n, escape).

    Used, for example, to confirm quitting while the agent is in the middle of a step.
    """

    DEFAULT_CSS = """
    Confirm {
        align: center middle;
    }
    Confirm > #confirm-dialog {
        width: 60;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $warning;
        border-title-color: $text-warning;
        border-title-style: bold;
        background: $surface;
    }
    Confirm #confirm-message {
        margin: 1 0;
        color: $foreground;
    }
    Confirm #confirm-buttons {
        height: auto;
        align-horizontal: right;
    }
    Confirm #confirm-buttons Button {
        margin-left: 2;
        min-width: 12;
        padding: 0 1;
    }
    Confirm #confirm-no {
        background: $panel;
        color: $foreground;
        &:hover {
            background: $panel-lighten-1;
        }
    }
    Confirm #confirm-yes {
        background: $primary;
        color: $button-color-foreground;
        &:hover {
            background: $primary-darken-1;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(
        self,
        title: str,
        message: str,
        *,
        yes_label: str = "Yes",
        no_label: str = "No",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Make a confirmation dialog.

        Args:
            title: Shown in the dialog's border, e.g. "Quit?".
            message: The question, with what happens if the user says yes.
            yes_label: The yes button's text (e.g. "Quit"); its key is always y or enter.
            no_label: The no button's text (e.g. "Keep working"); its key is n or escape.
        """
        super().__init__(name=name, id=id, classes=classes)
        self.title_text = title
        """Shown in the dialog's border."""
        self.message = message
        """The question being asked."""
        self.yes_label = yes_label
        """The yes button's text."""
        self.no_label = no_label
        """The no button's text."""

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(Content(self.message), id="confirm-message")
            with Horizontal(id="confirm-buttons"):
                no = Button(Content(f"{self.no_label} (n)"), id="confirm-no", compact=True)
                yes = Button(Content(f"{self.yes_label} (y)"), id="confirm-yes", compact=True)
                # The buttons are for the mouse; keys go to the screen, so that enter
                # always means yes rather than "press whichever button has focus".
                no.can_focus = yes.can_focus = False
                yield no
                yield yes

    def on_mount(self) -> None:
        self.query_one("#confirm-dialog", Vertical).border_title = Content(self.title_text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        """Close the dialog with the user's answer."""
        self.dismiss(yes)
