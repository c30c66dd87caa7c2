"""What the workstation does with a team's events (core/orchestra_events.py).

An agent's event comes wrapped with the role that emitted it: the log takes the role as
the speaker (its new step entries get the role's badge), then the event is shown as a
single agent's would be. The plan goes to the goal panel's checklist; a reviewer's
verdict is a line in the log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autogpt_tui.core.orchestra_events import PlanUpdated, ReviewGiven, RoleEvent
from autogpt_tui.ui.agent_events import dispatch, handles
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.plan_checklist import PlanChecklist

if TYPE_CHECKING:
    from autogpt_tui.ui.app import WorkstationApp


@handles(RoleEvent)
async def _role_event(app: WorkstationApp, event: RoleEvent) -> None:
    app.query_one(ActionLog).speaker = event.role
    await dispatch(app, event.event)


@handles(PlanUpdated)
async def _plan_updated(app: WorkstationApp, event: PlanUpdated) -> None:
    app.query_one(PlanChecklist).show(event.subgoals, event.current)
    app.refresh_bindings()  # n and N apply once there is a plan


@handles(ReviewGiven)
async def _review_given(app: WorkstationApp, event: ReviewGiven) -> None:
    await app.query_one(ActionLog).notice(
        f"Reviewer rated {event.sha[:8]} {event.value:+d}: {event.reason}",
        severity="warning" if event.value < 0 else "success" if event.value > 0 else "information",
    )
