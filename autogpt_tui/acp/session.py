"""One ACP session: the core's step loop on a worker thread, answered from the editor.

Each prompt turn opens the core session (``core/session.py`` ``open_session``, as the
TUI and ``run`` do) with this session's id, runs the loop until it finishes, is
cancelled, stops for the user or runs out of budget, and closes it again. So every
action is one step commit, the conversation is rebuilt from the step records each
turn, and between turns the workspace is not locked: ``autogpt-tui undo`` (or ``log``,
``rate``) works from a terminal while the editor waits for the next prompt.

What the loop says goes out in order through one ``Outbox``; what it asks (approval)
becomes an ACP permission request whose answer the loop's thread waits for.

The first prompt is the session's goal. A later prompt is a message to the agent, as
the TUI's ``i`` key sends one: the agent reads it with its next request, in the same
session and toward the same goal.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acp.exceptions import RequestError
from acp.schema import StopReason

from autogpt_tui.acp.updates import (
    ALLOW_ALWAYS,
    ALLOW_ONCE,
    PERMISSION_OPTIONS,
    SessionUpdate,
    ToolCallTracker,
    finish_text,
)
from autogpt_tui.core.collaborators import Approval, UserChannel
from autogpt_tui.core.conversation import summarize_action
from autogpt_tui.core.errors import ToolError, UserError
from autogpt_tui.core.events import Event, Finished, PendingAction

if TYPE_CHECKING:
    from acp.interfaces import Client

    from autogpt_tui.core.agent import Agent
    from autogpt_tui.core.settings import Settings

log = logging.getLogger(__name__)

INVALID_PARAMS = -32602
"""JSON-RPC: the request itself is wrong (a bad cwd, an unknown session, a busy one)."""
FAILED = -32603
"""JSON-RPC: the request was right but the work failed (the model, git, the lock)."""

REJECTED_REASON = (
    "The user rejected this action in their editor. Stop here: they will say what to do "
    "instead in their next message."
)
"""What the model is told of a rejection (ACP's reject carries no reason)."""
STOPPED_REASON = "The user stopped the agent before this action ran."
QUESTION_PASSED_ON = (
    "Your question was shown to the user in their editor; their answer comes as their "
    "next message. Do not guess it: stop here."
)
"""The ``ask_user`` observation: ACP has no question request, so the turn ends and the
user's next prompt is the answer."""


class Outbox:
    """Sends session updates to the editor one at a time, in the order they were put.

    ``put`` is called from the loop's thread; the sending runs on the event loop. A
    send that fails (the editor went away) is logged to stderr and the rest go on.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._task = loop.create_task(self._pump(), name="acp-outbox")

    def put(self, send: Callable[[], Awaitable[None]]) -> None:
        """Queue ``send`` (thread-safe); dropped once the event loop has closed."""
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, send)
        except RuntimeError:
            log.warning("The editor connection closed; an update was not sent.")

    async def flush(self) -> None:
        """Wait until everything put so far has been sent."""
        await self._queue.join()

    async def _pump(self) -> None:
        while True:
            send = await self._queue.get()
            try:
                await send()
            except Exception as error:  # the editor went away: say so, keep going
                log.warning("An update to the editor failed: %s", error)
            finally:
                self._queue.task_done()


@dataclass
class TurnState:
    """What the loop's thread and the event loop share during one prompt turn."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    agent: Agent | None = None
    waiting: concurrent.futures.Future[Approval] | None = None
    stopped_for_user: str | None = None
    """Why the turn ends for the user (a rejection, a question), said as it ends."""
    out_of_tokens: bool = False
    """The token budget is what ran out (ACP's ``max_tokens``; the others end the turn
    as ``max_turn_requests``)."""
    lock: threading.Lock = field(default_factory=threading.Lock)


class AcpSession:
    """An editor's session on one workspace: its id is the core session's id."""

    def __init__(
        self,
        *,
        session_id: str,
        root: Path,
        client: Client,
        load_settings: Callable[[Path], Settings],
        mode: str,
        goal: str | None = None,
    ) -> None:
        self.session_id = session_id
        self.root = root
        self.client = client
        self.mode = mode
        """The approval mode of the next action (ACP session modes: step, edits, auto)."""
        self.goal = goal
        """The goal; None until the first prompt gives it."""
        self._load_settings = load_settings
        self._turn: TurnState | None = None
        self._outbox: Outbox | None = None
        self._tracker = ToolCallTracker(root)
        self._asking: set[asyncio.Future[None]] = set()
        self._rejected: str | None = None
        """The proposal the user rejected last, told to the model with the next prompt."""

    @property
    def working(self) -> bool:
        """Whether a prompt turn is under way."""
        return self._turn is not None

    def set_mode(self, mode: str) -> None:
        """Judge the next action by ``mode`` (a turn under way too)."""
        self.mode = mode
        turn = self._turn
        if turn is not None and turn.agent is not None:
            turn.agent.set_mode(mode)

    async def prompt(self, text: str) -> StopReason:
        """Run one prompt turn; returns why it stopped (errors as ``RequestError``)."""
        if self._turn is not None:
            raise RequestError(
                INVALID_PARAMS, "This session is still working on a prompt; cancel it or wait."
            )
        loop = asyncio.get_running_loop()
        if self._outbox is None:
            self._outbox = Outbox(loop)
        turn = self._turn = TurnState()
        try:
            finished = await asyncio.to_thread(self._run_turn, turn, text)
        except UserError as error:
            await self._outbox.flush()
            raise RequestError(FAILED, str(error)) from None
        except asyncio.CancelledError:
            # The editor went away mid-turn: the loop's thread must end too (its step
            # still commits), or the process could not exit.
            self._stop(turn)
            raise
        finally:
            self._turn = None
        await self._outbox.flush()
        if turn.cancelled.is_set():
            return "cancelled"
        return await self._stop_reason(turn, finished)

    async def _stop_reason(self, turn: TurnState, finished: Finished) -> StopReason:
        if finished.outcome == "error":
            raise RequestError(FAILED, finished.message)
        text = turn.stopped_for_user if finished.outcome == "paused" else None
        if finished.outcome == "finished":
            await self._send(finish_text(finished.summary, finished.message))
        elif text is not None:
            await self._send(finish_text(None, text))
        elif finished.outcome != "cancelled":
            await self._send(finish_text(None, f"Stopped: {finished.message}"))
        if finished.outcome == "cancelled":
            return "cancelled"
        if finished.outcome == "budget":
            return "max_tokens" if turn.out_of_tokens else "max_turn_requests"
        return "end_turn"

    def cancel(self) -> None:
        """Stop the turn under way as soon as possible (a step already running still
        commits); an approval waiting is answered "no"."""
        if self._turn is not None:
            self._stop(self._turn)

    @staticmethod
    def _stop(turn: TurnState) -> None:
        with turn.lock:
            turn.cancelled.set()
            agent, waiting = turn.agent, turn.waiting
        if agent is not None:
            agent.cancel()
        if waiting is not None:
            _answer(waiting, Approval.reject(STOPPED_REASON))

    async def _send(self, update: SessionUpdate) -> None:
        await self.client.session_update(session_id=self.session_id, update=update)

    # ------------------------------------------------------------ loop's thread

    def _run_turn(self, turn: TurnState, text: str) -> Finished:
        from autogpt_tui.core.session import NO_MODEL_SENTENCE, open_session

        settings = self._load_settings(self.root)
        if not settings.has_model():
            raise UserError(NO_MODEL_SENTENCE)
        first = self.goal is None
        goal = text if self.goal is None else self.goal
        tracker = self._tracker  # one per session: tool call ids stay unique across turns
        session = open_session(
            self.root,
            settings,
            goal=goal,
            mode=self.mode,
            emit=lambda event: self._emit(tracker, event),
            user=UserChannel(approve=lambda a: self._approve(turn, tracker, a), ask=self._ask),
            session=self.session_id,
        )
        try:
            agent = session.agent
            tracker.preview = lambda action: _preview(agent, action)
            with turn.lock:
                turn.agent = agent
                cancelled = turn.cancelled.is_set()
            if cancelled:
                agent.cancel()
            self.goal = goal
            if not first:
                agent.tell(self._message(text))
            finished = agent.run()
            limit, state = agent.budget.max_tokens, agent.state
            turn.out_of_tokens = limit is not None and (
                state.prompt_tokens + state.completion_tokens >= limit
            )
            return finished
        finally:
            session.close()  # the lock too: the CLI may undo between prompts

    def _message(self, text: str) -> str:
        """A follow-up prompt as the agent reads it (with the rejection it answers)."""
        rejected, self._rejected = self._rejected, None
        if rejected is None:
            return text
        return f"(I rejected your proposal: {rejected}.)\n{text}"

    def _emit(self, tracker: ToolCallTracker, event: Event) -> None:
        for update in tracker.updates(event):
            self._put(update)

    def _put(self, update: SessionUpdate) -> None:
        if self._outbox is not None:
            self._outbox.put(lambda: self._send(update))

    def _approve(
        self, turn: TurnState, tracker: ToolCallTracker, action: PendingAction
    ) -> Approval:
        """Ask the editor (blocking the loop's thread until it answers or the turn is
        cancelled); a rejection ends the turn so the user can say what to do instead."""
        future: concurrent.futures.Future[Approval] = concurrent.futures.Future()
        with turn.lock:
            if turn.cancelled.is_set():
                return Approval.reject(STOPPED_REASON)
            turn.waiting = future
        call = tracker.permission_call(action)

        async def ask() -> None:
            # Its own task: the outbox goes on while the editor waits for the user (and
            # a cancel answers the loop without waiting for the editor). Held until done:
            # the event loop keeps only a weak reference to a task.
            task = asyncio.ensure_future(self._permission(call, future))
            self._asking.add(task)
            task.add_done_callback(self._asking.discard)

        assert self._outbox is not None
        self._outbox.put(ask)
        approval = future.result()
        with turn.lock:
            turn.waiting = None
        if not approval.approved and not turn.cancelled.is_set():
            self._rejected = summarize_action(action.tool, action.arguments)
            turn.stopped_for_user = (
                "You rejected the action, so the agent stopped: say what to do instead."
            )
            if turn.agent is not None:
                turn.agent.pause()
        return approval

    async def _permission(self, call: Any, future: concurrent.futures.Future[Approval]) -> None:
        try:
            response = await self.client.request_permission(
                session_id=self.session_id, tool_call=call, options=PERMISSION_OPTIONS
            )
        except Exception as error:  # the editor went away or refused the request
            log.warning("The permission request failed: %s", error)
            answer = Approval.reject(STOPPED_REASON)
        else:
            outcome = response.outcome
            chosen = getattr(outcome, "option_id", None) if outcome.outcome == "selected" else None
            if chosen == ALLOW_ONCE:
                answer = Approval.approve()
            elif chosen == ALLOW_ALWAYS:
                answer = Approval.always()
            elif chosen is None:
                answer = Approval.reject(STOPPED_REASON)
            else:
                answer = Approval.reject(REJECTED_REASON)
        _answer(future, answer)

    def _ask(self, question: str) -> str:
        """``ask_user``: the question went out as a message (``QuestionAsked``); the turn
        ends after this step, and the user's next prompt is the answer."""
        turn = self._turn
        if turn is not None:
            turn.stopped_for_user = "The agent asked you a question: your next message answers it."
            if turn.agent is not None:
                turn.agent.pause()
        return QUESTION_PASSED_ON


def _answer(future: concurrent.futures.Future[Approval], approval: Approval) -> None:
    """Answer the loop's question, unless it was answered already (cancel and the
    editor's answer may cross)."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_result(approval)


def _preview(agent: Agent, action: PendingAction) -> Any:
    """The change a file edit that runs without approval makes (for the editor's diff)."""
    from autogpt_tui.core.tool_calls import parse_call

    try:
        args = parse_call(action.tool, json.dumps(action.arguments))
        return agent.gate.preview(action.tool, args)
    except (ToolError, UserError, ValueError, OSError):
        return None
