"""What the step loop is given: the model and tools it drives, and who it answers to.

``Agent`` (``core/agent.py``) takes these few named pieces instead of loose callables:
the model and the tools (protocols, so tests can stand in for them), a ``UserChannel``
to approve and ask (None when headless), a ``PolicySource`` for how to work, a
``ModelProfile`` for the model's name, context and price, a ``Budget``, and the
``StepHooks`` the session runs around each step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from autogpt_tui.core.conversation import Lessons
from autogpt_tui.core.events import PendingAction
from autogpt_tui.core.llm import Completion
from autogpt_tui.core.records import StepCommit


class ModelBackend(Protocol):
    """What the loop needs of a model client (``ModelClient`` in production)."""

    def complete(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]] | None = None,
        *,
        temperature: float | None = None,
        model: str | None = None,
        on_text: Callable[[str], None] | None = None,
        on_retry: Callable[[int, float, str], None] | None = None,
        on_reasoning: Callable[[str], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> Completion:
        """Stream one model turn; ``on_progress`` is told the tokens streamed so far."""
        ...

    def cancel(self) -> None:
        """Abort the request in flight."""
        ...

    def reset_cancel(self) -> None:
        """Allow requests again after a cancel."""
        ...


class ToolBackend(Protocol):
    """What the loop needs of the tools (``ToolRunner`` in production)."""

    def execute(self, name: str, args: Any, *, expected: Any = None) -> Any:
        """Run a tool; returns a ToolResult. ``expected`` is the approved preview of a
        file edit (passed only when the backend gave one)."""
        ...


@dataclass(frozen=True)
class Approval:
    """The user's answer to a pending action."""

    approved: bool
    reason: str = ""
    hunks: frozenset[int] | None = None
    """For a file edit, the hunks the user accepted (numbered from 0, as
    ``core/hunks.ProposedChange`` splits the preview); None approves the whole change."""
    remember: bool = False
    """Approved with "always allow": an allow rule for ones like it goes in the user's
    config (``core/permissions.py``)."""

    @classmethod
    def approve(cls) -> Approval:
        """Run the action."""
        return cls(True)

    @classmethod
    def partial(cls, accepted: Iterable[int]) -> Approval:
        """Apply only the ``accepted`` hunks of a file edit (none accepted: a rejection)."""
        return cls(True, hunks=frozenset(accepted))

    @classmethod
    def always(cls) -> Approval:
        """Run the action, and from now on ones like it without asking."""
        return cls(True, remember=True)

    @classmethod
    def reject(cls, reason: str) -> Approval:
        """Do not run it; tell the model why."""
        return cls(False, reason)


@dataclass
class Budget:
    """Limits of one run; None means no limit."""

    max_steps: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None


@dataclass
class PolicyChoice:
    """How the agent works this step: the arm's name, temperature, extra instructions."""

    name: str = "default"
    temperature: float | None = None
    instructions: str = ""
    model: str | None = None


@dataclass(frozen=True)
class UserChannel:
    """How the loop reaches the user; an agent without one runs headless.

    Both calls block the loop's thread until the user answers.
    """

    approve: Callable[[PendingAction], Approval]
    """Approve or reject an action the mode makes wait."""
    ask: Callable[[str], str]
    """The user's answer to the agent's question (``ask_user``)."""


def _no_arm(_name: str) -> PolicyChoice | None:
    return None


@dataclass(frozen=True)
class PolicySource:
    """How the agent works: the policy arm of each session and the lessons it is shown."""

    choose: Callable[[], PolicyChoice] = PolicyChoice
    """A new arm (drawn once per session, at its first request)."""
    resume: Callable[[str], PolicyChoice | None] = _no_arm
    """The arm of this name, to resume a session with; None when it is not configured."""
    lessons: Lessons | None = None
    """The prompt's lessons for the goal and the recent actions (None: no lessons)."""


PriceOf = Callable[[str, int, int, int], float]
"""The cost in USD of one request: (model, prompt tokens, completion tokens, cached prompt
tokens); the cached tokens are part of the prompt tokens."""


def _free(_model: str, _prompt_tokens: int, _completion_tokens: int, _cached: int) -> float:
    return 0.0


@dataclass(frozen=True)
class ModelProfile:
    """What the loop knows of the model: its name, its context window and its price."""

    name: str = ""
    """The model's name, recorded in each step (a policy arm may name another)."""
    context_window: int = 128_000
    """Tokens the model reads; the conversation is compacted to fit."""
    price: PriceOf = _free
    """The cost in USD of a request: (model, prompt, completion, cached prompt tokens)."""


@dataclass(frozen=True)
class StepHooks:
    """What the session does around each step; every hook is optional."""

    changed_by_user: Callable[[], list[str] | None] | None = None
    """Files the user changed since the last step (None from it: scan the whole tree)."""
    on_first_request: Callable[[], None] | None = None
    """Called once, when the first model request is on its way (start side work)."""
    after_step: Callable[[StepCommit, list[str] | None], None] | None = None
    """Called with each step's commit and the paths it changed (e.g. run the check)."""
