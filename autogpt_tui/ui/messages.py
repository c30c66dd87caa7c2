"""Textual messages the app receives from its background workers.

The agent loop emits plain events (``autogpt_tui.core.events``); the runner wraps each
in ``AgentEventMessage`` so it crosses into the UI thread through Textual's message
queue, which is safe to post to from any thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    # Types only: the app imports this module before its first frame, which needs none
    # of the loop's code (the tools alone take tens of milliseconds to import).
    from autogpt_tui.core.events import Event, PendingAction
    from autogpt_tui.core.records import StepCommit
    from autogpt_tui.core.session_state import SessionTotals
    from autogpt_tui.core.tools import FilePreview


MERGE_CHARS = 2_000
"""Most text one merged thought fragment carries (see :meth:`AgentEventMessage.can_replace`)."""


class AgentEventMessage(Message):
    """One event from the agent loop.

    While the UI thread is behind, events waiting next to each other in its queue are
    taken together (:meth:`can_replace`): a burst of streamed tokens is one update of
    the log instead of one per token, and only the latest status or token count is shown.
    """

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
        """The loop's event, as it emitted it."""

    def can_replace(self, message: Message) -> bool:
        """Whether ``message``, queued right after this one, can stand for both.

        Textual then drops this message and handles ``message`` alone. Two thought
        fragments of the same step become one (this one's text goes in front of the
        next's); a status, usage or streamed-tokens update is superseded by the next of
        its kind.
        """
        if not isinstance(message, AgentEventMessage):
            return False
        # Imported here: the app's first frame imports this module, not the loop's events.
        from autogpt_tui.core.events import (
            StatusChanged,
            ThoughtDelta,
            TokensStreamed,
            UsageUpdated,
        )

        mine, later = self.event, message.event
        if type(mine) is ThoughtDelta and type(later) is ThoughtDelta:
            if mine.step != later.step or mine.reasoning != later.reasoning:
                return False
            if len(mine.text) + len(later.text) > MERGE_CHARS:
                return False  # Textual merges for as long as messages keep coming: hand on
            message.event = ThoughtDelta(later.step, mine.text + later.text, later.reasoning)
            return True
        superseded = (StatusChanged, UsageUpdated, TokensStreamed)
        return type(mine) is type(later) and type(mine) in superseded


class ApprovalNeeded(Message):
    """The agent waits for the user to approve or reject ``action``."""

    def __init__(self, action: PendingAction, preview: FilePreview | None) -> None:
        super().__init__()
        self.action = action
        """The proposed action."""
        self.preview = preview
        """For file edits, the change it would make (shown before approval)."""


class QuestionNeeded(Message):
    """The agent asked the user a question (``ask_user``) and waits for the answer."""

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        """The question, as the agent wrote it."""


class AgentIdle(Message):
    """The agent's worker finished a command (a step or a run) and is idle again."""


class HistoryLoaded(Message):
    """A history worker read the workspace's steps."""

    def __init__(self, root: Path, steps: Sequence[StepCommit]) -> None:
        super().__init__()
        self.root = root
        """The repository's top folder (the workspace, or a repository holding it)."""
        self.steps = list(steps)
        """The steps, newest first."""


class HistoryFailed(Message):
    """A history worker could not open or read the workspace."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
        """One sentence saying what went wrong."""


class StepDetails(Message):
    """The diff and record of the step the user selected, read off the UI thread."""

    def __init__(self, step: StepCommit, diff: str) -> None:
        super().__init__()
        self.step = step
        """The step, with its record."""
        self.diff = diff
        """Its patch against its parent."""


class HistoryChanged(Message):
    """Undo, redo or a rating changed the history; ``summary`` says what, for a toast."""

    def __init__(
        self, summary: str, select: str | None = None, totals: SessionTotals | None = None
    ) -> None:
        super().__init__()
        self.summary = summary
        """One sentence for the user."""
        self.select = select
        """The step to select once the history is read again (the one just undone), or
        None to keep the selection."""
        self.totals = totals
        """After an undo or redo, what the session's steps in force add up to."""


class WatcherStarted(Message):
    """The session's watcher runs (natively, or polling: its notice says why)."""
