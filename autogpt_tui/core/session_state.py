"""What the step loop keeps between steps: the session's state, a step's outcome, and
the watch for an agent going round in circles."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from autogpt_tui.core.conversation import Conversation
from autogpt_tui.core.events import Outcome
from autogpt_tui.core.records import StepCommit

__all__ = ["LOOP_REPEATS", "LoopDetector", "SessionState", "StepOutcome", "new_session_id"]

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
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

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
        self.step = max(steps[-1].step if steps else 0, last_step)
        records = [s.record for s in steps if s.record is not None]
        self.prompt_tokens = sum(r.usage.prompt_tokens for r in records)
        self.completion_tokens = sum(r.usage.completion_tokens for r in records)
        self.cost_usd = sum(r.cost_usd for r in records)


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
