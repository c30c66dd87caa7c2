"""The team's plan: a checklist of subgoals, rebuilt from the step records.

The plan state is never kept anywhere but in the steps themselves, so an undo rewinds it
with the steps and a resumed session rebuilds it (one parser of the fact: this module):

- the planner's ``finish`` holds the plan, one subgoal per line (``- [ ] Add a test``);
  a later plan (a replan) keeps the subgoals already done and replaces the rest;
- the coder's ``finish`` marks the current subgoal done;
- a coder step whose record carries the :data:`SKIP_NOTE` note skips the subgoal that
  was current (the user pressed the skip key before it);
- the reviewer's ``finish`` is its verdict (``+1 looks right``) on the change it was
  shown; with ``review = "subgoal"`` a -1 sends the team back to the planner.

This module is pure: no git, no model. ``core/orchestra.py`` runs the team on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from autogpt_tui.core.records import StepCommit

__all__ = [
    "CHANGING_TOOLS",
    "SKIP_NOTE",
    "PlanState",
    "ReviewMode",
    "Subgoal",
    "SubgoalState",
    "Verdict",
    "parse_plan",
    "parse_verdict",
    "plan_from_steps",
]

ReviewMode = Literal["step", "subgoal"]
"""When the reviewer speaks: after each coder step that changed files, or each subgoal."""

SubgoalState = Literal["open", "done", "skipped"]

SKIP_NOTE = "The user skipped the subgoal "
"""How a coder step's record says the user skipped the subgoal that was current."""

CHANGING_TOOLS = frozenset(("write_file", "edit_file", "run_command"))
"""Tools whose step may change files: in ``review = "step"`` such a step is reviewed."""

_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s*(?:\[[ xX]\]\s*)?(?P<text>\S.*)$")
_VERDICT = re.compile(r"^\s*(?P<value>[+-]?[01])\b[\s:.,;)\-–—]*(?P<reason>.*)$", re.S)


@dataclass
class Subgoal:
    """One item of the plan."""

    text: str
    state: SubgoalState = "open"


@dataclass(frozen=True)
class Verdict:
    """The reviewer's rating of a change: -1, 0 or +1, and its one-line reason."""

    value: int
    reason: str


@dataclass
class PlanState:
    """Where the team stands: the subgoals, and what is due next."""

    subgoals: list[Subgoal] = field(default_factory=list)
    version: int = 0
    """How many plans the planner has written (a replan adds one)."""
    replan: str | None = None
    """Why the team must plan again (a subgoal the reviewer rated -1); None: no need."""
    review_due: str | None = None
    """The coder step (sha) waiting for the reviewer's verdict; None: none."""
    review_steps: list[str] = field(default_factory=list)
    """The coder steps the due review covers, oldest first (a subgoal's, or one)."""
    last_verdict: Verdict | None = None

    @property
    def current(self) -> int | None:
        """Index of the subgoal being worked on (the first open one); None: none left."""
        return next((i for i, s in enumerate(self.subgoals) if s.state == "open"), None)

    @property
    def finished(self) -> bool:
        """Whether a plan exists and every subgoal is done or skipped."""
        return bool(self.subgoals) and self.current is None

    def checklist(self) -> str:
        """The plan as the model and the user read it (``- [x] done``, ``- [~] skipped``)."""
        marks = {"open": " ", "done": "x", "skipped": "~"}
        return "\n".join(f"- [{marks[s.state]}] {s.text}" for s in self.subgoals)

    def skip_current(self) -> None:
        """Mark the current subgoal skipped (nothing when none is open)."""
        index = self.current
        if index is not None:
            self.subgoals[index].state = "skipped"

    def _new_plan(self, items: list[str]) -> None:
        kept = [s for s in self.subgoals if s.state != "open"]
        self.subgoals = kept + [Subgoal(text) for text in items]
        self.version += 1
        self.replan = None


def parse_plan(text: str) -> list[str]:
    """The subgoals of a plan as the planner wrote it: its list items, in order.

    Lines that are not list items (a heading, a sentence) are left out; a plan with no
    list item at all is taken line by line, so a plain reply still gives a plan.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    items = [m.group("text").strip() for m in map(_ITEM.match, lines) if m]
    return items or [line.strip() for line in lines]


def parse_verdict(text: str) -> Verdict | None:
    """The reviewer's verdict from its finish summary (``+1 clean change``), or None."""
    match = _VERDICT.match(text)
    if match is None:
        return None
    value = int(match.group("value"))
    reason = " ".join(match.group("reason").split()) or "no reason given"
    return Verdict(value, reason)


def plan_from_steps(steps: Iterable[StepCommit], review: ReviewMode = "step") -> PlanState:
    """The plan state the team's steps in force (oldest first) leave behind."""
    plan = PlanState()
    for step in steps:
        record = step.record
        if record is None or not record.role or step.undone:
            continue
        summary = str(record.arguments.get("summary", "")) if record.tool == "finish" else ""
        if record.role == "planner" and record.tool == "finish":
            plan._new_plan(parse_plan(summary))
        elif record.role == "coder":
            if any(note.startswith(SKIP_NOTE) for note in record.notes):
                plan.skip_current()
            if record.tool == "finish":
                index = plan.current
                if index is not None:
                    plan.subgoals[index].state = "done"
                if review == "subgoal":
                    plan.review_steps.append(step.sha)
                    plan.review_due = step.sha
            elif record.tool in CHANGING_TOOLS:
                plan.review_steps.append(step.sha)
                if review == "step":
                    plan.review_due = step.sha
        elif record.role == "reviewer" and record.tool == "finish":
            verdict = parse_verdict(summary)
            plan.last_verdict = verdict
            if review == "subgoal" and verdict is not None and verdict.value < 0:
                plan.replan = verdict.reason
            plan.review_due = None
            plan.review_steps = []
    return plan
