"""The workstation's transcripts: a card's full record on a screen of its own, and the
width commands format their output for.

:class:`TranscriptPanes` is the part of the app that answers the log: a card the user
opens (enter on the log, or a click) shows as a :class:`TranscriptScreen`, and the
width the log shows output at goes to the agent's commands as ``COLUMNS`` (plain data:
the core never sees a widget).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App

from autogpt_tui.ui.screens.transcript import TranscriptScreen
from autogpt_tui.ui.widgets.action_log import ActionLog

if TYPE_CHECKING:
    from autogpt_tui.ui.agent_runner import AgentRunner


class TranscriptPanes(App[None]):
    """The transcript screen and the commands' width (see the module)."""

    workspace: Path
    """The folder the agent works in."""
    runner: AgentRunner
    """The agent's session."""

    def on_action_log_transcript_wanted(self, message: ActionLog.TranscriptWanted) -> None:
        if isinstance(self.screen, TranscriptScreen):
            return  # one at a time: a second enter does not stack another
        self.push_screen(TranscriptScreen(self.workspace, message.transcript))

    def on_action_log_width_changed(self, message: ActionLog.WidthChanged) -> None:
        self.runner.set_output_columns(message.columns)
