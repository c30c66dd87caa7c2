"""A team of agents on one goal: plan → work a subgoal → review → next or replan → finish.

The orchestra is a small explicit state machine over :class:`~autogpt_tui.core.plan.PlanState`:

    plan ──► work ──► (review) ──► work … ──► finish
      ▲                  │
      └──── replan ◄─────┘   (a subgoal rated -1 with review = "subgoal", or the user)

Each phase is one role's: the planner plans, the coder works on the current subgoal,
the reviewer reviews. Each role is its own :class:`~autogpt_tui.core.agent.Agent` with
its own conversation and context (the team shares one session, whose step numbers run
across the roles; each agent's conversation holds only its role's turns), its own system
prompt (the role's prompt) and tools. The orchestra takes one step of the phase's
agent at a time, so every action of any role is one commit (with an ``Agent-Role``
trailer) that the user approves exactly as in single-agent mode. The phase is read
again from the step records before each step (core/plan.py): an undo rewinds the plan.

UI-free: the TUI and ``run`` drive it through :meth:`Orchestra.run`, as they drive an
agent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

from autogpt_tui.core.agent import Agent, Budget
from autogpt_tui.core.events import (
    Event,
    Finished,
    Notice,
    Outcome,
    StatusChanged,
    UsageUpdated,
)
from autogpt_tui.core.history import History
from autogpt_tui.core.orchestra_events import PlanUpdated, ReviewGiven
from autogpt_tui.core.plan import SKIP_NOTE, PlanState, ReviewMode, Verdict, parse_verdict
from autogpt_tui.core.plan import plan_from_steps as _replay
from autogpt_tui.core.records import StepCommit
from autogpt_tui.core.roles import RoleName
from autogpt_tui.core.session_state import LoopDetector

__all__ = ["Orchestra", "Phase", "next_phase", "record_review", "team_steps"]

Phase = Literal["plan", "work", "review", "finish"]

PHASE_ROLE: Mapping[Phase, RoleName] = {"plan": "planner", "work": "coder", "review": "reviewer"}

MAX_EMPTY_PLANS = 2
"""Plans without a subgoal in a row before the team gives up."""
MAX_DIFF_CHARS = 12_000
"""Characters of a change the reviewer is shown; it can read the files for more."""


def next_phase(plan: PlanState, *, has_reviewer: bool, replan: bool = False) -> Phase:
    """What the team does next, given where the plan stands."""
    if has_reviewer and plan.review_due is not None:
        return "review"
    if not plan.subgoals or plan.replan is not None or replan:
        return "plan"
    return "work" if plan.current is not None else "finish"


def team_usage(agents: Iterable[Agent]) -> UsageUpdated:
    """The team's usage so far, all roles together (each agent counts its own role's)."""
    states = [agent.state for agent in agents]
    prompt = sum(s.prompt_tokens for s in states)
    completion = sum(s.completion_tokens for s in states)
    return UsageUpdated(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cost_usd=sum(s.cost_usd for s in states),
        cached_tokens=sum(s.cached_tokens for s in states),
    )


def team_over_budget(agents: Iterable[Agent], budget: Budget) -> str | None:
    """Why the team's tokens or cost, all roles together, are over ``budget``, or None.

    Each agent checks only its own role's usage: without this a $2 budget would let
    each of three roles spend $2.
    """
    usage = team_usage(agents)
    if budget.max_tokens is not None and usage.total_tokens >= budget.max_tokens:
        return (
            f"The token budget ({budget.max_tokens:,}) ran out after {usage.total_tokens:,} "
            "tokens (the whole team's)."
        )
    if budget.max_cost_usd is not None and usage.cost_usd >= budget.max_cost_usd:
        return (
            f"The cost budget (${budget.max_cost_usd:.2f}) ran out at ${usage.cost_usd:.4f} "
            "(the whole team's)."
        )
    return None


def team_steps(history: History, team: str) -> list[StepCommit]:
    """The team's steps in force on the branch, oldest first."""
    steps = [s for s in history.steps_on_branch(records=True) if not s.undone and s.session == team]
    steps.reverse()
    return steps


def record_review(history: History, sha: str, verdict: Verdict, *, model: str) -> bool:
    """Record the reviewer's verdict on step ``sha`` as a rating from the reviewer model.

    The one place a reviewer rating is written. It is kept beside any rating of the
    user's, never in its place (``core/ratings.py``: the user's rating is the step's
    reward, the reviewer's counts only where the user gave none), so that the rewards
    view can say how often the two agree. Returns whether the rating was recorded.
    """
    history.rate(sha, float(verdict.value), verdict.reason, source="reviewer", model=model)
    return True


class Orchestra:
    """Runs a planner, a coder and (optionally) a reviewer on one goal."""

    def __init__(
        self,
        *,
        history: History,
        team: str,
        agents: Mapping[RoleName, Agent],
        review: ReviewMode = "step",
        models: Mapping[RoleName, str] | None = None,
        emit: Callable[[Event], None] | None = None,
        max_steps: int | None = None,
        budget: Budget | None = None,
    ) -> None:
        """``agents`` holds the planner and the coder (the reviewer is optional), all
        working in session ``team``; ``max_steps`` limits the team's
        steps in force, all roles together, and ``budget``'s tokens and cost the team's
        usage, all roles together (each agent also stops itself within it)."""
        if "planner" not in agents or "coder" not in agents:
            raise ValueError("a team needs a planner and a coder")
        self.history = history
        self.team = team
        self.agents = dict(agents)
        self.review = review
        self.models = dict(models or {})
        self.emit: Callable[[Event], None] = emit or (lambda _event: None)
        self.max_steps = max_steps
        self.budget = budget or Budget()
        self._lock = threading.Lock()
        self._skip = False
        self._replan: str | None = None
        self._skipped: tuple[int, int] | None = None
        """(plan version, subgoal) the user skipped; kept until the coder's next step
        records it (its record carries the skip note)."""
        self._briefed: dict[RoleName, object] = {}
        self._empty_plans = 0
        self._last_plan: PlanUpdated | None = None
        self._taken = 0
        self.plan = self._read_plan()

    # ------------------------------------------------------------ the user's

    def skip(self) -> None:
        """Skip the current subgoal: the coder moves on to the next. Safe from any thread."""
        with self._lock:
            self._skip = True

    def replan(self, reason: str = "the user asked for a new plan") -> None:
        """Send the team back to the planner for a new plan. Safe from any thread."""
        with self._lock:
            self._replan = reason

    def pause(self) -> None:
        """Stop after the step in progress."""
        for agent in self.agents.values():
            agent.pause()

    def cancel(self) -> None:
        """Stop as soon as possible."""
        for agent in self.agents.values():
            agent.cancel()

    def set_mode(self, mode: str) -> None:
        """Change every agent's approval mode."""
        for agent in self.agents.values():
            agent.set_mode(mode)

    # ------------------------------------------------------------------ run

    @property
    def phase(self) -> Phase:
        """What the team does next."""
        return next_phase(
            self.plan, has_reviewer="reviewer" in self.agents, replan=self._replan is not None
        )

    def run(self, max_steps: int | None = None) -> Finished:
        """Take steps, each the current phase's agent's, until the plan is done or a stop.

        ``max_steps`` limits this call (the TUI's single step)."""
        self._taken = 0
        try:
            return self._run(max_steps)
        except _EmptyPlans:
            return self._finish(
                "error",
                f"The planner wrote no subgoal {MAX_EMPTY_PLANS} times in a row.",
                self._taken,
            )

    def _run(self, max_steps: int | None) -> Finished:
        taken = 0
        while True:
            self._take_user_requests()
            self.plan = self._read_plan()
            phase = self.phase
            self._announce(phase)
            if phase == "finish":
                return self._finish("finished", "The team finished the plan.", taken)
            if max_steps is not None and taken >= max_steps:
                plural = "s" if taken != 1 else ""
                return self._finish("stepped", f"Took {taken} step{plural}.", taken)
            in_force = len(team_steps(self.history, self.team))
            if self.max_steps is not None and in_force >= self.max_steps:
                return self._finish("budget", f"The step budget ({self.max_steps}) ran out.", taken)
            over = team_over_budget(self.agents.values(), self.budget)
            if over is not None:
                return self._finish("budget", over, taken)
            role = PHASE_ROLE[phase]
            agent = self.agents[role]
            self._brief(role, agent)
            result = agent.run(max_steps=1)
            taken += result.steps
            self._taken = taken
            if result.outcome not in ("stepped", "finished"):
                return self._finish(result.outcome, result.message, taken)
            if result.steps and phase == "work":
                self._skipped = None  # the coder's step recorded the skip note
            if result.outcome == "finished":
                # A role's finish hands its result back; it is not the team's end, and
                # the same hand-back twice is not a loop.
                agent._loops = LoopDetector()
                agent._set_status("idle")  # the role is done, the team is not
                if role == "planner":
                    self._after_plan()
                elif role == "reviewer":
                    self._after_review(result.summary or "")

    def plan_event(self, history: History) -> PlanUpdated:
        """The plan as ``history`` (any thread's own) has it now: after an undo or a redo
        the workstation shows the rewound plan at once, not at the team's next step."""
        plan = _replay(team_steps(history, self.team), self.review)
        phase = next_phase(plan, has_reviewer="reviewer" in self.agents)
        subgoals = tuple((s.text, s.state) for s in plan.subgoals)
        return PlanUpdated(subgoals=subgoals, current=plan.current, phase=phase)

    # -------------------------------------------------------------- phases

    def _read_plan(self) -> PlanState:
        plan = _replay(team_steps(self.history, self.team), self.review)
        if self._skipped is not None and self._skipped[0] == plan.version:
            index = plan.current
            if index is not None and index == self._skipped[1]:
                plan.skip_current()
        return plan

    def _take_user_requests(self) -> None:
        with self._lock:
            skip, self._skip = self._skip, False
            replan = self._replan
        if skip:
            plan = self._read_plan()
            index = plan.current
            if index is not None and not plan.replan:
                text = plan.subgoals[index].text
                self._skipped = (plan.version, index)
                self.agents["coder"].conversation.note(
                    f"{SKIP_NOTE}{index + 1} ({text}); leave it and go on with the next one."
                )
                self.emit(Notice(f"Skipped subgoal {index + 1}: {text}"))
        if replan is not None and self._briefed.get("planner") != ("replan", replan):
            self._briefed["planner"] = ("replan", replan)
            self.agents["planner"].conversation.note(
                f"Plan again ({replan}). The plan so far:\n{self.plan.checklist()}\n"
                "Call finish with only the subgoals still to do."
            )

    def _announce(self, phase: Phase) -> None:
        event = PlanUpdated(
            subgoals=tuple((s.text, s.state) for s in self.plan.subgoals),
            current=self.plan.current,
            phase=phase,
        )
        if event != self._last_plan:
            self._last_plan = event
            self.emit(event)

    def _brief(self, role: RoleName, agent: Agent) -> None:
        """Tell the role's agent its task, once per task."""
        plan = self.plan
        if role == "planner":
            key: object = ("plan", plan.version, plan.replan)
            if plan.replan is not None and self._briefed.get(role) != key:
                self._briefed[role] = key
                agent.conversation.note(
                    f"The reviewer rejected the last subgoal ({plan.replan}). Plan again; "
                    f"the plan so far:\n{plan.checklist()}\n"
                    "Call finish with only the subgoals still to do."
                )
            return
        if role == "coder":
            index = plan.current
            assert index is not None  # the work phase has a current subgoal
            key = ("work", plan.version, index)
            if self._briefed.get(role) != key:
                agent.conversation.note(
                    f"Current subgoal ({index + 1} of {len(plan.subgoals)}): "
                    f"{plan.subgoals[index].text}\nThe plan:\n{plan.checklist()}\n"
                    "Work only on this subgoal; call finish when it is done."
                )
        else:
            key = ("review", plan.review_due)
            if self._briefed.get(role) != key:
                agent.conversation.note(self._review_brief(plan))
        self._briefed[role] = key

    def _review_brief(self, plan: PlanState) -> str:
        what = "the coder's last step" if self.review == "step" else "the coder's last subgoal"
        parts: list[str] = []
        for sha in plan.review_steps or [plan.review_due or ""]:
            try:
                step = self.history.resolve(sha)
                parts.append(f"## {step.summary}\n{self.history.diff(sha)}")
            except Exception:
                continue
        diff = "\n".join(parts)
        if len(diff) > MAX_DIFF_CHARS:
            diff = diff[:MAX_DIFF_CHARS] + "\n… (cut; read the files for the rest)"
        return (
            f"Review {what}:\n{diff}\n"
            "Call finish with a summary that starts with +1, 0 or -1, then a one-line reason."
        )

    def _after_plan(self) -> None:
        with self._lock:
            self._replan = None
        plan = self._read_plan()
        if plan.subgoals and plan.current is not None:
            self._empty_plans = 0
            return
        self._empty_plans += 1
        self.agents["planner"].conversation.note(
            "That plan has no subgoal to do. Call finish with a checklist, one subgoal per "
            "line, each starting with '- [ ] '."
        )
        if self._empty_plans >= MAX_EMPTY_PLANS:
            with self._lock:
                self._replan = None
            raise _EmptyPlans()

    def _after_review(self, summary: str) -> None:
        reviewed = self.plan.review_due
        verdict = parse_verdict(summary)
        if reviewed is None:
            return
        if verdict is None:
            self.emit(Notice(f"The reviewer's verdict has no rating (+1, 0 or -1): {summary}"))
            return
        model = self.models.get("reviewer", "")
        record_review(self.history, reviewed, verdict, model=model)
        self.emit(ReviewGiven(sha=reviewed, value=verdict.value, reason=verdict.reason))
        if verdict.value < 0 and self.review == "step":
            self.agents["coder"].conversation.note(
                f"The reviewer rated your last change -1: {verdict.reason}"
            )

    def _finish(self, outcome: Outcome, message: str, taken: int) -> Finished:
        summary = self.plan.checklist() if outcome == "finished" else None
        if outcome == "finished":
            self.emit(StatusChanged("done"))  # the team's end (its agents' are hand-backs)
        event = Finished(outcome=outcome, message=message, steps=taken, summary=summary)
        self.emit(event)
        return event


class _EmptyPlans(Exception):
    """The planner wrote no subgoal, again."""
