"""The events a team of agents adds to the loop's (core/events.py).

Each agent of a team emits the loop's usual events; the orchestra passes them on wrapped
in a :class:`RoleEvent` naming the role that speaks, so ``run --json`` lines carry
``"role"`` and the TUI can badge the log. The plan and the reviewer's verdicts are
events of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from autogpt_tui.core.events import Event

__all__ = ["PlanUpdated", "ReviewGiven", "RoleEvent"]


@dataclass(frozen=True)
class RoleEvent(Event):
    """An event of one agent of the team: ``event`` as that agent emitted it."""

    type: ClassVar[str] = "role_event"
    role: str
    event: Event

    def to_json(self) -> dict[str, Any]:
        """The agent's event as JSON, with the ``role`` that emitted it."""
        return {**self.event.to_json(), "role": self.role}


@dataclass(frozen=True)
class PlanUpdated(Event):
    """The team's plan as it stands: each subgoal with its state, and the current one."""

    type: ClassVar[str] = "plan"
    subgoals: tuple[tuple[str, str], ...]
    """(text, state) per subgoal, in order; the state is open, done or skipped."""
    current: int | None
    """Index of the subgoal being worked on; None when none is left."""
    phase: str
    """What the team does next: plan, work, review or finish."""
    role: str = "planner"


@dataclass(frozen=True)
class ReviewGiven(Event):
    """The reviewer rated a coder step (or a subgoal's last step)."""

    type: ClassVar[str] = "review"
    sha: str
    value: int
    reason: str
    role: str = "reviewer"
