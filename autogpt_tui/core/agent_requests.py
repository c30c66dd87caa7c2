"""The model side of the step loop: one request for a step's action, streamed as
events, and what it used (tokens, cost) added to the step's and the session's.

``ModelRequests`` is a part of ``Agent`` (core/agent.py), split out so that the loop's
own module stays about the step; it uses the agent's attributes declared below.
"""

from __future__ import annotations

import queue
from typing import TYPE_CHECKING, Any

from autogpt_tui.core.collaborators import (
    ModelBackend,
    ModelProfile,
    PolicyChoice,
    ToolBackend,
)
from autogpt_tui.core.events import (
    Event,
    Retrying,
    Status,
    ThoughtDelta,
    ThoughtEnded,
    ThoughtReset,
    TokensStreamed,
    UsageUpdated,
    UserMessageRead,
)
from autogpt_tui.core.llm import Completion
from autogpt_tui.core.records import Usage

if TYPE_CHECKING:
    from collections.abc import Callable

    from autogpt_tui.core.conversation import Conversation
    from autogpt_tui.core.redact import Redactor
    from autogpt_tui.core.session_state import SessionState


class ModelRequests:
    """Asking the model for an action, streaming its thought, and accounting for it."""

    if TYPE_CHECKING:
        model: ModelBackend
        tools: ToolBackend
        profile: ModelProfile
        redactor: Redactor
        emit: Callable[[Event], None]
        state: SessionState
        _tool_schemas: list[dict[str, Any]] | None
        allowed_tools: frozenset[str] | None
        _on_first_request: Callable[[], None] | None
        _inbox: queue.SimpleQueue[str]

        @property
        def conversation(self) -> Conversation: ...
        def messages(self, policy: PolicyChoice | None = None) -> list[dict[str, Any]]: ...
        def _set_status(self, status: Status) -> None: ...

    def tell(self, text: str) -> None:
        """Pass the user's own message to the model with its next request.

        Safe from any thread. It is recorded in the next step's record, so that a resume
        or an undo rebuilds it with that step; a message sent while the model is
        answering waits for the next request (a rejection's retry or the next step).
        """
        self._inbox.put(text)

    def _read_inbox(self, step_no: int) -> None:
        """Move the user's messages into the conversation, masking any secret in them."""
        while True:
            try:
                text = self._inbox.get_nowait()
            except queue.Empty:
                return
            text = self.redactor.text(text)
            self.conversation.say(text)
            self.emit(UserMessageRead(step_no, text))

    def _request(
        self, step_no: int, policy: PolicyChoice, extra_messages: list[dict[str, Any]]
    ) -> Completion:
        """Ask the model for step ``step_no``'s action, streaming its thought as events.

        ``extra_messages`` are this step's exchanges so far (rejections, bad calls).
        Raises ModelCancelled when a pause or cancel abandons the request.
        """
        from autogpt_tui.core.mcp.toolbox import extra_schemas
        from autogpt_tui.core.tools import tool_schemas

        if self._tool_schemas is None:
            # Made once per loop: a fresh deep copy per request cost ~2 ms a step, and
            # nothing changes them (the client only serialises them).
            allowed = self.allowed_tools  # a team's role sees only its own tools
            self._tool_schemas = [
                s
                for s in tool_schemas() + extra_schemas(self.tools)  # + the MCP servers'
                if allowed is None or s["function"]["name"] in allowed
            ]
        self._read_inbox(step_no)
        self._set_status("thinking")

        def on_text(text: str) -> None:
            self._request_started()  # text streaming back: the request is on its way
            self.emit(ThoughtDelta(step_no, text))

        def on_reasoning(text: str) -> None:
            self._request_started()
            self.emit(ThoughtDelta(step_no, text, reasoning=True))

        completion = self.model.complete(
            self.messages(policy) + extra_messages,
            self._tool_schemas,
            temperature=policy.temperature,
            model=policy.model,
            on_text=on_text,
            on_retry=lambda attempt, delay, reason: self._on_retry(step_no, attempt, delay, reason),
            on_reasoning=on_reasoning,
            on_progress=lambda tokens: self.emit(TokensStreamed(step_no, tokens)),
        )
        self._request_started()
        self.emit(ThoughtEnded(step_no))
        return completion

    def _request_started(self) -> None:
        """Run the one-time hook that waits for the first request to be under way."""
        hook, self._on_first_request = self._on_first_request, None
        if hook is not None:
            hook()

    def _account(self, completion: Completion, policy: PolicyChoice, total: Usage) -> float:
        """Add a request's usage to the step's and the session's; returns its cost."""
        u = completion.usage
        total.prompt_tokens += u.prompt_tokens
        total.completion_tokens += u.completion_tokens
        total.total_tokens += u.total_tokens
        total.cached_tokens += u.cached_tokens
        total.estimated = total.estimated or u.estimated
        model = policy.model or self.profile.name
        cost = self.profile.price(model, u.prompt_tokens, u.completion_tokens, u.cached_tokens)
        self.state.cached_tokens += u.cached_tokens
        self.state.prompt_tokens += u.prompt_tokens
        self.state.completion_tokens += u.completion_tokens
        self.state.cost_usd += cost
        self.emit(
            UsageUpdated(
                prompt_tokens=self.state.prompt_tokens,
                completion_tokens=self.state.completion_tokens,
                total_tokens=self.state.prompt_tokens + self.state.completion_tokens,
                cost_usd=self.state.cost_usd,
                estimated=u.estimated,
                cached_tokens=self.state.cached_tokens,
            )
        )
        return cost

    def _on_retry(self, step: int, attempt: int, delay: float, reason: str) -> None:
        self.emit(ThoughtReset(step))
        # The client's retry limit, when it has one: a UI can then say "attempt 2/5".
        retries = getattr(self.model, "max_retries", None)
        total = retries + 1 if isinstance(retries, int) else None
        self.emit(Retrying(attempt=attempt, delay_s=delay, reason=reason, max_attempts=total))
