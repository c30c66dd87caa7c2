"""Build a team of agents (core/orchestra.py) as the settings say, like ``open_session``.

The coder's agent is built by :func:`~autogpt_tui.core.session.open_session` (it holds
the workspace lock, the watcher, the model client and the tools); the planner and the
reviewer share those, each with an agent, a session and a conversation of its own.
Every agent gets its role's prompt (after the system prompt, as a policy arm's
instructions are), its role's tools, its model and its own policy arms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from autogpt_tui.core.agent import Agent
from autogpt_tui.core.collaborators import Budget, PolicyChoice, PolicySource, UserChannel
from autogpt_tui.core.errors import UserError
from autogpt_tui.core.events import Event, Finished, UsageUpdated
from autogpt_tui.core.history import History
from autogpt_tui.core.lock import WorkspaceLock
from autogpt_tui.core.mcp.toolbox import role_mcp_tools
from autogpt_tui.core.orchestra import Orchestra, team_steps, team_usage
from autogpt_tui.core.orchestra_events import RoleEvent
from autogpt_tui.core.plan import plan_from_steps
from autogpt_tui.core.roles import ROLES, AgentRole, RoleArm, RoleName
from autogpt_tui.core.session import AgentSession, open_session
from autogpt_tui.core.session_state import new_session_id
from autogpt_tui.core.settings import Settings
from autogpt_tui.core.watcher import WorkspaceWatcher

__all__ = ["TeamSession", "UnknownAgent", "choose_team", "open_team"]


class UnknownAgent(UserError):
    """``--agents`` names an agent the config does not have, or not a workable team."""


@dataclass
class TeamSession:
    """A team and the resources it holds (the coder's session's); close it when done."""

    session: AgentSession
    orchestra: Orchestra

    @property
    def history(self) -> History:
        """The workspace's history."""
        return self.session.history

    def close(self) -> None:
        """Give back what the coder's session holds (the others share it)."""
        self.session.close()


def choose_team(settings: Settings, names: Sequence[str]) -> dict[RoleName, AgentRole]:
    """The agents ``--agents`` names, by role; UnknownAgent (one sentence) when a name is
    not in ``[[agents]]``, two play the same role, or the planner or coder is missing."""
    configured = {agent.name: agent for agent in settings.agents}
    team: dict[RoleName, AgentRole] = {}
    for name in names:
        agent = configured.get(name)
        if agent is None:
            known = ", ".join(configured) or "none"
            raise UnknownAgent(
                f"--agents names {name!r}, which no [[agents]] has (known: {known})."
            )
        if agent.role in team:
            raise UnknownAgent(
                f"--agents names two {agent.role}s ({team[agent.role].name!r} and {name!r});"
                " a team has one agent per role."
            )
        team[agent.role] = agent
    missing = [role for role in ("planner", "coder") if role not in team]
    if missing:
        raise UnknownAgent(f"--agents needs a {missing[0]} (a team plans and codes at least).")
    return {role: team[role] for role in ROLES if role in team}


def _role_policy(role: AgentRole, history: History, lessons: PolicySource) -> PolicySource:
    arms = role.arms or [RoleArm(name=role.name)]
    by_name = {arm.name: arm for arm in arms}

    def choice(arm: RoleArm) -> PolicyChoice:
        text = role.role_prompt()
        if arm.instructions.strip():
            text += "\n\n" + arm.instructions.strip()
        return PolicyChoice(arm.name, arm.temperature, text, role.model)

    def choose() -> PolicyChoice:
        if len(arms) == 1:
            return choice(arms[0])
        from autogpt_tui.core.learning import RewardModel

        # The role's own bandit: its arms learn from the ratings of its own steps.
        model = RewardModel.load(history, list(by_name))
        model.refresh(history)
        return choice(by_name[model.choose_arm()])

    def resume(name: str) -> PolicyChoice | None:
        arm = by_name.get(name)
        return choice(arm) if arm is not None else None

    return PolicySource(choose=choose, resume=resume, lessons=lessons.lessons)


def _team_to_resume(history: History, goal: str, review: str) -> str | None:
    """The branch's latest team, when it works on ``goal`` and is not done."""
    latest = next(
        (s for s in history.steps_on_branch(records=True) if not s.undone and s.record),
        None,
    )
    if latest is None or latest.record is None or not latest.record.role:
        return None
    if goal and latest.record.goal != goal:
        return None
    team = latest.session
    plan = plan_from_steps(team_steps(history, team), "subgoal" if review == "subgoal" else "step")
    return None if plan.finished and plan.review_due is None else team


def open_team(
    workspace: Path | History,
    settings: Settings,
    names: Sequence[str],
    *,
    goal: str,
    mode: str | None = None,
    emit: Callable[[Event], None] | None = None,
    user: UserChannel | None = None,
    budget: Budget | None = None,
    watch: bool = True,
    watcher: WorkspaceWatcher | None = None,
    lock: WorkspaceLock | None = None,
) -> TeamSession:
    """A team of the agents ``names`` (``--agents``) on ``workspace``; resumes the branch's
    team when it works on ``goal`` and has not finished.

    The step, token and cost budgets count the whole team's steps and usage (all
    roles together). Raises UnknownAgent for a bad ``--agents``.
    """
    roles = choose_team(settings, names)
    outer = emit or (lambda _event: None)

    agents: dict[RoleName, Agent] = {}

    def tagged(role: str) -> Callable[[Event], None]:
        def _emit(event: Event) -> None:
            if isinstance(event, Finished):
                return  # each agent stops after every step; the orchestra says when the team does
            if isinstance(event, UsageUpdated) and agents:
                # The meters show the team's usage, not the role that spoke last.
                event = replace(team_usage(agents.values()), estimated=event.estimated)
            outer(RoleEvent(role, event))

        return _emit

    history = workspace if isinstance(workspace, History) else History.open(workspace)
    team = _team_to_resume(history, goal, settings.agent.review) or new_session_id()
    step_budget = budget.max_steps if budget is not None else settings.agent.max_steps
    per_agent = Budget(
        max_steps=None,
        max_tokens=budget.max_tokens if budget else settings.agent.max_tokens,
        max_cost_usd=budget.max_cost_usd if budget else settings.agent.max_cost_usd,
    )
    session = open_session(
        history,
        settings,
        goal=goal,
        mode=mode,
        emit=tagged("coder"),
        user=user,
        budget=per_agent,
        watch=watch,
        watcher=watcher,
        lock=lock,
        session=team,
    )
    try:
        coder = session.agent
        for role_name, role in roles.items():
            if role_name == "coder":
                agent = coder
            else:
                agent = Agent(
                    history=history,
                    model=coder.model,
                    tools=coder.tools,
                    goal=goal,
                    mode=coder.mode,
                    emit=tagged(role_name),
                    user=user,
                    budget=per_agent,
                    profile=coder.profile,
                    policy=coder.policy,
                    hooks=coder.hooks,
                    session=team,
                    redactor=coder.redactor,
                    permissions=coder.gate.permissions,
                )
            agent.role = role_name
            agent.allowed_tools = frozenset(role.allowed_tools()) | role_mcp_tools(
                coder.tools, role.role
            )
            agent.policy = _role_policy(role, history, coder.policy)
            agent._rebuild(agent.state)  # its own turns only, now that it has its role
            agents[role_name] = agent
        # Only the coder changes files: the tools warn it (not the last agent built) first.
        coder.tools.before_change = coder._before_change  # type: ignore[attr-defined]
        models = {name: role.model or settings.model.model for name, role in roles.items()}
        orchestra = Orchestra(
            history=history,
            team=team,
            agents=agents,
            review=settings.agent.review,
            models=models,
            emit=outer,
            max_steps=step_budget,
            budget=per_agent,
        )
    except BaseException:
        session.close()
        raise
    return TeamSession(session, orchestra)
