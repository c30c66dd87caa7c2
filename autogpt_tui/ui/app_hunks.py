"""Choosing hunks of a proposed edit: the workstation's keys for hunk-level review.

While a write_file or edit_file of two hunks or more waits for approval, ``]`` and ``[``
move between its hunks in the diff, space accepts or rejects the current one, and ``a``
applies the accepted ones only (``Approval.partial``). Every hunk starts accepted, so
``a`` alone is today's approval; rejecting them all makes ``a`` a rejection. The keys
work whatever panel has the focus (the files tree keeps space for itself while it has
it); they show in the footer only while there are hunks to choose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App

from autogpt_tui.core.collaborators import Approval
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer

if TYPE_CHECKING:
    from autogpt_tui.ui.agent_runner import AgentRunner

ALL_HUNKS_REJECTED = "every hunk of the change was rejected"
"""What the log says of an edit whose hunks the user all rejected."""


class HunkKeys(App[None]):
    """The app's half of hunk-level review: the keys, and the answer they make."""

    runner: AgentRunner
    """The agent's session."""
    _hunk_viewer: DiffViewer | None = None

    @property
    def _viewer(self) -> DiffViewer:
        # Held, not queried each time: the keys' check runs dozens of times a refresh.
        if self._hunk_viewer is None:
            self._hunk_viewer = self.query_one(DiffViewer)
        return self._hunk_viewer

    @property
    def choosing_hunks(self) -> bool:
        """Whether an edit of several hunks waits for approval and shows its hunks."""
        if not self.runner.awaiting_approval or self._hunk_viewer is None:
            return False
        viewer = self._hunk_viewer
        return viewer.review is not None and viewer.showing_proposal

    def on_diff_viewer_hunks_changed(self, _message: DiffViewer.HunksChanged) -> None:
        """The hunks on show changed: their keys apply, or no longer do."""
        self._viewer  # noqa: B018 - held from now on, for the keys' check
        self.refresh_bindings()

    def action_next_hunk(self) -> None:
        """Go to the next hunk of the proposed edit."""
        self._move(1)

    def action_previous_hunk(self) -> None:
        """Go to the previous hunk of the proposed edit."""
        self._move(-1)

    def _move(self, by: int) -> None:
        if self.choosing_hunks and not self._viewer.move_hunk(by):
            self.notify(
                "This is the last hunk." if by > 0 else "This is the first hunk.", markup=False
            )

    def action_toggle_hunk(self) -> None:
        """Accept the current hunk if it is rejected, else reject it."""
        if self.choosing_hunks:
            self._viewer.toggle_hunk()

    def hunk_approval(self) -> Approval:
        """The answer ``a`` gives: the accepted hunks of the edit on show, or the whole
        action when there are no hunks to choose."""
        if not self.choosing_hunks:
            return Approval.approve()
        review = self._viewer.review
        return review.approval() if review is not None else Approval.approve()
