"""The keys that steer a team of agents (``--agents``): skip the current subgoal (``n``)
or have the planner plan again (``N``). A part of the app, like the other ``app_*``
mixins; the runner passes the request on to the orchestra, which takes it before its
next step."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autogpt_tui.ui.agent_runner import AgentRunner


class TeamKeys:
    """``n`` and ``N``: the user's say over a team's plan."""

    if TYPE_CHECKING:
        runner: AgentRunner

        def notify(self, message: str, *, markup: bool = ...) -> None: ...

    def action_skip_subgoal(self) -> None:
        """Skip the plan's current subgoal (from the team's next step)."""
        if self.runner.skip_subgoal():
            self.notify("The current subgoal is skipped from the next step (s to step).")
        else:
            self.notify("No plan yet: the planner writes one with the first steps.")

    def action_replan(self) -> None:
        """Have the planner write a new plan for what is left (from the next step)."""
        if self.runner.replan():
            self.notify("The planner plans again at the next step (s to step).")
        else:
            self.notify("No plan yet: the planner writes one with the first steps.")
