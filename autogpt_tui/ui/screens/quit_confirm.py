"""The question asked before quitting while an action awaits approval."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autogpt_tui.ui.screens.confirm import ConfirmPrompt
from autogpt_tui.ui.widgets.action_card import summarize_call

if TYPE_CHECKING:
    from autogpt_tui.core.events import PendingAction

QUIT_TITLE = "Quit with an action waiting?"
"""The dialog's title."""
QUIT_HINTS = "y quit · n or escape stay"
"""What the dialog's keys do."""


def quit_question(action: PendingAction) -> str:
    """What the user is asked: which action waits, and that quitting loses it.

    A proposal lives only in the running agent (nothing of it is recorded until it runs),
    so it cannot be kept for the next start: the question says so, and that staying (the
    default, escape) lets the user approve it first.
    """
    return (
        f"Step {action.step}: {action.tool} ({summarize_call(action.tool, action.arguments)}) "
        "awaits your approval. Quit anyway? The proposal is lost: nothing it would change "
        "is changed, and the agent proposes again when you next step. "
        "To keep it, stay and approve it (a) first."
    )


def quit_prompt(action: PendingAction) -> ConfirmPrompt:
    """The dialog asking whether to quit although ``action`` awaits approval; y quits."""
    return ConfirmPrompt(QUIT_TITLE, quit_question(action), QUIT_HINTS)
