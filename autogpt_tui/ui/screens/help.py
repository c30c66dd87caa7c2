"""The help screen: every key, what it does, and how the workstation works."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from autogpt_tui.core.constants import MODE_MEANINGS, MODES
from autogpt_tui.ui.actions import help_sections

if TYPE_CHECKING:
    from autogpt_tui.core.permissions import Permissions

KEY_SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = tuple(
    (section, tuple(rows)) for section, rows in help_sections()
)
"""The keys shown on the help screen, in sections: (key, what it does), from the action table."""

HOW_IT_WORKS = (
    "You give the agent a goal. It works in steps: each time it thinks, picks one "
    "action (read or edit a file, run a command, ask you a question) and sees the "
    "result. Every action becomes one git commit in the workspace, so each step can "
    "be reviewed as a diff, undone and redone.",
    "Your ratings and comments are rewards: they teach the agent which ways of "
    "working to prefer next time, and can be exported as training data.",
    "The mode decides which actions wait for your approval:",
)
"""The "how it works" paragraphs below the keys; the modes follow the last one."""

CLOSE_HINT = "escape · q · ? to close"
"""What the border of the help screen says about leaving it."""


class HelpScreen(ModalScreen[None]):
    """A scrollable dialog listing every key, with a short account of how things work."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > #help-dialog {
        width: 78;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $primary;
        border-title-color: $text-primary;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    HelpScreen .help-section {
        margin-top: 1;
        color: $text-primary;
        text-style: bold;
    }
    HelpScreen .help-section.-first {
        margin-top: 0;
    }
    HelpScreen .help-row {
        height: auto;
    }
    HelpScreen .help-key {
        width: 9;
        padding-left: 1;
        color: $text-accent;
        text-style: bold;
    }
    HelpScreen .help-action {
        width: 1fr;
        color: $foreground;
    }
    HelpScreen .help-paragraph {
        margin-top: 1;
        color: $foreground;
    }
    HelpScreen .help-paragraph.-first {
        margin-top: 0;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def __init__(self, permissions: Permissions | None = None) -> None:
        """``permissions``: the rules to list under the keys (None: no such section)."""
        super().__init__()
        self.permissions = permissions

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog"):
            for number, (title, keys) in enumerate(KEY_SECTIONS):
                first = " -first" if number == 0 else ""
                yield Static(Content(title), classes="help-section" + first)
                for key, action in keys:
                    yield from self._row(key, action)
            yield Static(Content("How it works"), classes="help-section")
            for number, paragraph in enumerate(HOW_IT_WORKS):
                classes = "help-paragraph -first" if number == 0 else "help-paragraph"
                yield Static(Content(paragraph), classes=classes)
            for mode in MODES:
                yield from self._row(mode, _sentence(MODE_MEANINGS[mode]))
            if self.permissions is not None:
                yield Static(Content("Permission rules"), classes="help-section")
                for key, text in permission_rows(self.permissions):
                    yield from self._row(key, text)

    def _row(self, key: str, text: str) -> ComposeResult:
        """One line of the table: a key (or mode) and what it means."""
        with Horizontal(classes="help-row"):
            yield Static(Content(key), classes="help-key")
            yield Static(Content(text), classes="help-action")

    def on_mount(self) -> None:
        dialog = self.query_one("#help-dialog", VerticalScroll)
        dialog.border_title = "Help"
        dialog.border_subtitle = CLOSE_HINT
        # Focus the scroll area so the arrow keys and page up/down scroll the help.
        dialog.focus()

    def on_click(self, event: events.Click) -> None:
        # A click on the dimmed backdrop, outside the dialog, closes the help.
        if event.widget is self:
            self.dismiss(None)

    def action_close(self) -> None:
        """Close the help and return to where the user was."""
        self.dismiss(None)


NO_RULES = (
    "None: the mode alone decides. Add [[permissions]] rules to your config, or press A "
    "when an action waits to always allow ones like it."
)
"""The permission section's row when no rule is in force or ignored."""


def permission_rows(permissions: Permissions) -> list[tuple[str, str]]:
    """The help screen's permission rows: (action, rule and where it is written), the
    ignored ones last with why; deny wins over ask, ask over allow."""
    rows: list[tuple[str, str]] = [
        (str(r.rule.action), f"{r.rule.tool} `{r.rule.pattern}` — {r.origin}")
        for r in permissions.in_force
    ]
    rows += [
        ("ignored", f"{r.rule.action} {r.rule.tool} `{r.rule.pattern}` — {r.origin}: {r.ignored}")
        for r in permissions.ignored
    ]
    return rows or [("", NO_RULES)]


def _sentence(phrase: str) -> str:
    """A phrase as a sentence: capitalised, with a full stop."""
    return phrase[:1].upper() + phrase[1:] + "."
