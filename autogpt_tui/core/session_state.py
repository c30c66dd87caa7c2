"""What the step loop keeps between steps: the session's state, a step's outcome, and
the watch for an agent going round in circles."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autogpt_tui.core.conversation import Conversation
from autogpt_tui.core.events import Outcome, SessionStarted
from autogpt_tui.core.records import StepCommit

if TYPE_CHECKING:
    from autogpt_tui.core.history import History

__all__ = [
    "LOOP_REPEATS",
    "LoopDetector",
    "NextSession",
    "SessionRequest",
    "SessionState",
    "SessionTotals",
    "StepOutcome",
    "new_session_id",
    "session_totals",
]

LOOP_REPEATS = 3
"""The same action with the same result this many times in a row is a loop."""


@dataclass
class SessionState:
    """What the loop knows of its session: id, goal, steps, usage, cost."""

    session: str
    conversation: Conversation
    """What the model is told: the goal, the steps, the notes for the next one."""
    step: int = 0
    """The highest step number the session has used; the next step is one more."""
    steps_in_force: int = 0
    """How many of the session's steps are in force (not undone): what the step budget
    counts, as the token and cost budgets count their usage, and the goal panel shows."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached_tokens: int = 0
    """Of ``prompt_tokens``, those the server read from its prompt cache."""
    arm: str | None = None
    """The policy arm the session's last step in force used (kept on a resume)."""

    @property
    def goal(self) -> str:
        """The session's goal."""
        return self.conversation.goal

    def rebuild(self, steps: list[StepCommit], last_step: int = 0) -> None:
        """Take the step number, usage and conversation from the session's live steps.

        ``last_step`` is the highest number the session ever used, undone steps
        included: the next step continues from it, so a number is never used twice.
        """
        self.conversation.rebuild(steps)
        if not self.conversation.goal and steps and steps[-1].record is not None:
            self.conversation.goal = steps[-1].record.goal  # resumed without a goal: its own
        self.step = max(steps[-1].step if steps else 0, last_step)
        self.steps_in_force = len(steps)
        totals = SessionTotals.of(steps)
        self.prompt_tokens = totals.prompt_tokens
        self.completion_tokens = totals.completion_tokens
        self.cost_usd = totals.cost_usd
        self.cached_tokens = totals.cached_tokens
        last = steps[-1].record if steps else None
        self.arm = last.policy if last is not None and last.policy else None

    def started(self, replaces: str | None) -> SessionStarted:
        """The event saying the loop works in this session now (``replaces``: the one
        before, if any)."""
        return SessionStarted(
            session=self.session,
            goal=self.goal,
            resumed=self.step > 0,
            steps=self.steps_in_force,
            last_step=self.step,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost_usd=self.cost_usd,
            replaces=replaces,
        )


@dataclass(frozen=True)
class SessionTotals:
    """What a session's steps in force (not undone) add up to: the goal panel's meters,
    and the usage a resumed loop starts from."""

    session: str | None = None
    """The session they belong to; None when there is none."""
    steps: int = 0
    """How many of its steps are in force."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached_tokens: int = 0
    """Of the prompt tokens, those the server read from its prompt cache."""

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def of(cls, steps: Sequence[StepCommit], session: str | None = None) -> SessionTotals:
        """The totals of ``steps`` (a session's live steps, with their records)."""
        records = [s.record for s in steps if s.record is not None]
        return cls(
            session=session if session is not None else (steps[0].session if steps else None),
            steps=len(steps),
            prompt_tokens=sum(r.usage.prompt_tokens for r in records),
            completion_tokens=sum(r.usage.completion_tokens for r in records),
            cost_usd=sum(r.cost_usd for r in records),
            cached_tokens=sum(r.usage.cached_tokens for r in records),
        )


def session_totals(history: History, session: str | None) -> SessionTotals:
    """The totals of ``session``'s steps in force on the branch (wherever they lie on
    it); without a session id, of the session the branch's latest step in force belongs
    to (the one a loop would resume). Counted from the steps, never from their numbers,
    which may skip."""
    from autogpt_tui.core.sessions import read_session

    if session is None:
        latest = next((s for s in history.steps_on_branch(expect=1) if not s.undone), None)
        if latest is None:
            return SessionTotals()
        session = latest.session
    steps, _ = read_session(history, session)
    return SessionTotals.of(steps, session)


@dataclass(frozen=True)
class SessionRequest:
    """A session the user asked the loop to work in from its next step on."""

    session: str | None
    """The session to resume; None: a new session."""
    goal: str
    """Its goal (a resumed session's own, as listed)."""


class NextSession:
    """The session the loop is to work in from its next step: a new one for a new goal,
    or one the user picked. Set from any thread; the loop takes it between steps, so a
    step never changes session half-way."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted: SessionRequest | None = None

    def new_goal(self, goal: str, current: str) -> None:
        """Ask for a new session with ``goal``, unless it is the goal already in force
        (``current``) or already asked for."""
        with self._lock:
            wanted = self._wanted
            if not goal or (wanted is not None and goal == wanted.goal):
                return
            # Back to the goal in force: nothing to change after all.
            self._wanted = None if goal == current else SessionRequest(None, goal)

    def resume(self, session: str, goal: str) -> None:
        """Ask to resume ``session`` (whose goal is ``goal``)."""
        with self._lock:
            self._wanted = SessionRequest(session, goal)

    def take(self) -> SessionRequest | None:
        """What was asked for since the last call, or None."""
        with self._lock:
            wanted, self._wanted = self._wanted, None
            return wanted


def new_session_id() -> str:
    """A short unique session id."""
    return uuid.uuid4().hex[:10]


@dataclass
class StepOutcome:
    """What one call of ``Agent.step`` did."""

    committed: bool = False
    finished: Outcome | None = None
    message: str = ""
    summary: str | None = None


class LoopDetector:
    """Notices the same action giving the same result again and again.

    At :data:`LOOP_REPEATS` in a row the model gets a nudge; one more and the run stops.
    """

    def __init__(self) -> None:
        self._repeats: list[str] = []
        self._nudged = False

    def check(self, tool: str, arguments: Any, output: str) -> tuple[str | None, str | None]:
        """(why the run stops, or None; the nudge to tell the model, or None)."""
        key = hashlib.sha1(json.dumps([tool, arguments, output], sort_keys=True).encode())
        digest = key.hexdigest()
        self._repeats = [*self._repeats[-LOOP_REPEATS:], digest]
        run = 0
        for k in reversed(self._repeats):
            if k != digest:
                break
            run += 1
        if run >= LOOP_REPEATS + 1 and self._nudged:
            return (
                f"Stopped: the agent repeated {tool} with the same result {run} times in a row.",
                None,
            )
        if run >= LOOP_REPEATS:
            self._nudged = True
            return None, (
                f"You have run {tool} with the same arguments {run} times and got the "
                "same result each time. That is a loop: change course, or call finish."
            )
        self._nudged = False
        return None, None
