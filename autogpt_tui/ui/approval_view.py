"""What the workstation shows the moment the user answers a pending action, and after.

The loop takes a while to report back (the action runs, its files are snapshotted and
committed), so the answer is shown at once from the key press: the card says approved or
rejected, the goal panel running, and the diff panel stops asking for an answer. Once
the agent's worker is idle, nothing about the answered action may linger there: the
panel goes back to the step selected in the history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App

from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from autogpt_tui.ui.widgets.goal_panel import GoalPanel
from autogpt_tui.ui.widgets.step_history import StepHistory

if TYPE_CHECKING:
    from autogpt_tui.core.events import PendingAction
    from autogpt_tui.ui.app import WorkstationApp

SELECT_HINT = "Select a step to see its diff."
"""What the diff panel says when there is no step to show."""


def show_answer(app: App[Any], action: PendingAction, *, approved: bool, reason: str = "") -> None:
    """Show at once that the user approved (or rejected, for ``reason``) ``action``."""
    log = app.query_one(ActionLog)
    if approved:
        log.action_approved(action.step)
        app.query_one(GoalPanel).status = "running"  # the loop says so too, a moment later
    else:
        log.action_rejected(action.step, reason)
    viewer = app.query_one(DiffViewer)
    if not viewer.showing_proposal:
        return
    if not approved:
        viewer.show_message(f"{action.tool} was rejected; the agent is told why.", proposal=True)
    elif viewer.model.is_message:
        # The line asked for an answer; a proposed diff stays, as it is what runs and
        # what will be committed.
        viewer.show_message(f"{action.tool} approved · running…", proposal=True)


def leave_proposal(app: WorkstationApp) -> None:
    """The agent's worker is idle: if the diff panel still shows an answered action's
    proposal, show the step selected in the history instead."""
    viewer = app.query_one(DiffViewer)
    if not viewer.showing_proposal or app.runner.awaiting_approval:
        return
    step = app.query_one(StepHistory).selected_step
    if step is None:
        viewer.show_message(SELECT_HINT)
        return
    viewer.show_message(f"Step {step.step}: reading its diff…")
    app.load_step_details(step.sha)
