"""What the workstation does with each event of the agent loop, dispatched by its type.

One handler per event type, registered in :data:`HANDLERS` with :func:`handles`;
:func:`dispatch` looks the event's type up. Two events have no handler on purpose:
``ApprovalWanted`` and ``QuestionAsked`` are followed by the runner's own messages
(``ApprovalNeeded`` with the preview, ``QuestionNeeded``), which the app handles.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from autogpt_tui.core.events import (
    ActionExecuted,
    ActionProposed,
    ActionRejected,
    CommandsNeedApproval,
    CostUnenforceable,
    DelegatedCall,
    DelegationEnded,
    DelegationStarted,
    ErrorOccurred,
    Event,
    Finished,
    Notice,
    ProjectNotesRead,
    Retrying,
    RuleAdded,
    SessionStarted,
    StatusChanged,
    StepCommitted,
    ThoughtDelta,
    ThoughtEnded,
    ThoughtReset,
    TokensStreamed,
    UsageUpdated,
    UserEditsCommitted,
    UserMessageRead,
)
from autogpt_tui.core.records import StepCommit, escape_surrogates
from autogpt_tui.core.session_state import SessionTotals
from autogpt_tui.ui.cost_warnings import first_warning
from autogpt_tui.ui.meters import count_commit, show_totals
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.goal_panel import GoalPanel
from autogpt_tui.ui.widgets.project_notes_line import ProjectNotesLine
from autogpt_tui.ui.widgets.step_history import StepHistory

if TYPE_CHECKING:
    from autogpt_tui.ui.app import WorkstationApp

E = TypeVar("E", bound=Event)
Handler = Callable[["WorkstationApp", Any], Awaitable[None]]
"""Shows one event on the workstation."""

HANDLERS: dict[type[Event], Handler] = {}
"""The handler of each event type."""
HISTORY_RELOAD_S = 5.0
"""Least time between two full reads of the history while the agent commits steps."""
_last_reload: WeakKeyDictionary[WorkstationApp, float] = WeakKeyDictionary()
QUIET_STATUSES = frozenset({"idle", "waiting", "paused", "done", "error", "budget"})
"""Statuses in which nothing streams: a moment for a full garbage collection."""
WORKING_STATUSES = frozenset({"thinking", "waiting", "running"})
"""Statuses that say the agent's worker is at work; none may outlast the worker."""
STOP_REASONS = frozenset({"error", "loop", "budget"})
"""Outcomes whose sentence stays in the goal panel (why the agent stopped)."""
VANISHED_SENTENCE = "The agent stopped unexpectedly; press s to try again."
"""The goal panel's reason when the worker ended without saying how the run ended."""


def handles(kind: type[E]) -> Callable[[Callable[[WorkstationApp, E], Awaitable[None]]], Handler]:
    """Register the decorated function as the handler of events of type ``kind``."""

    def register(handler: Callable[[WorkstationApp, E], Awaitable[None]]) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


async def dispatch(app: WorkstationApp, event: Event) -> None:
    """Show ``event`` on ``app`` with the handler of its type (or of a base type)."""
    for kind in type(event).__mro__:
        handler = HANDLERS.get(kind)
        if handler is not None:
            await handler(app, event)
            return


@handles(ThoughtDelta)
async def _thought_delta(app: WorkstationApp, event: ThoughtDelta) -> None:
    log = app.query_one(ActionLog)
    if event.reasoning:
        await log.append_reasoning(event.step, event.text)
    else:
        await log.append_thought(event.step, event.text)


@handles(ThoughtReset)
async def _thought_reset(app: WorkstationApp, event: ThoughtReset) -> None:
    await app.query_one(ActionLog).reset_thought(event.step)


@handles(ThoughtEnded)
async def _thought_ended(app: WorkstationApp, event: ThoughtEnded) -> None:
    await app.query_one(ActionLog).end_thought(event.step)


@handles(StatusChanged)
async def _status_changed(app: WorkstationApp, event: StatusChanged) -> None:
    goal = app.query_one(GoalPanel)
    goal.status = event.status
    if event.status in WORKING_STATUSES:
        goal.reason = ""  # the last run's error or budget no longer holds
    app.refresh_bindings()
    if event.status in QUIET_STATUSES:
        app.gc_pacer.quiet()


@handles(ActionProposed)
async def _action_proposed(app: WorkstationApp, event: ActionProposed) -> None:
    a = event.action
    # A rule that let it run unasked, or made it wait, is named on its card: the user
    # sees why this action did not follow the mode.
    rule = a.rule if a.permission in ("allow", "ask") else ""
    await app.query_one(ActionLog).show_action(
        a.step, a.tool, a.arguments, waiting=a.needs_approval, rule=rule, note=a.note
    )


# A delegation's sub-agent is folded into its delegate card: its events never start
# entries or cards of their own, so its steps are not taken for the parent's.
@handles(DelegationStarted)
async def _delegation_started(app: WorkstationApp, event: DelegationStarted) -> None:
    app.query_one(ActionLog).delegation_update(event.step)


@handles(DelegatedCall)
async def _delegated_call(app: WorkstationApp, event: DelegatedCall) -> None:
    app.query_one(ActionLog).delegation_update(
        event.step, call=(event.sub_step, event.tool, event.arguments, event.ok)
    )


@handles(DelegationEnded)
async def _delegation_ended(app: WorkstationApp, event: DelegationEnded) -> None:
    app.query_one(ActionLog).delegation_update(
        event.step, sub_steps=event.sub_steps, ended=event.outcome
    )


@handles(ActionRejected)
async def _action_rejected(app: WorkstationApp, event: ActionRejected) -> None:
    app.query_one(ActionLog).action_rejected(event.action.step, event.reason)


@handles(ActionExecuted)
async def _action_executed(app: WorkstationApp, event: ActionExecuted) -> None:
    app.query_one(ActionLog).action_executed(event.action.step, event.ok, event.output)


@handles(StepCommitted)
async def _step_committed(app: WorkstationApp, event: StepCommitted) -> None:
    app.query_one(ActionLog).action_committed(event.step, event.sha, event.summary)
    goal = app.query_one(GoalPanel)
    count_commit(goal, event.session)
    goal.policy = event.policy
    # The new step goes straight into the history panel: reading hundreds of steps back
    # from git after every step made a long run in auto mode slower and slower. The full
    # reload (ratings, undone marks) comes now and then, and when the run ends.
    app.query_one(StepHistory).add_step(
        StepCommit(
            sha=event.sha,
            parent=None,
            session=event.session,
            step=event.step,
            tool=event.tool,
            policy=event.policy,
            summary=event.summary,
            timestamp=int(time.time()),
        )
    )
    now = time.monotonic()
    if now - _last_reload.get(app, -HISTORY_RELOAD_S) >= HISTORY_RELOAD_S:
        _last_reload[app] = now
        app.load_history()
    app.gc_pacer.quiet()  # between two steps' streams: a full collection shows no stall


@handles(UserEditsCommitted)
async def _user_edits_committed(app: WorkstationApp, event: UserEditsCommitted) -> None:
    names = ", ".join(escape_surrogates(p) for p in event.paths)
    await app.query_one(ActionLog).notice(
        f"The agent is changing {names}: your uncommitted version was committed first, "
        "as your commit, so undo brings it back."
    )
    app.mark_files(event.paths, "user")


@handles(UserMessageRead)
async def _user_message_read(app: WorkstationApp, event: UserMessageRead) -> None:
    # Shown where the model read it, which is where it sits in the conversation.
    await app.query_one(ActionLog).notice(f"You: {event.text}", severity="user")


@handles(SessionStarted)
async def _session_started(app: WorkstationApp, event: SessionStarted) -> None:
    # The meters and budgets are the session's: a new one starts from nothing.
    totals = SessionTotals(
        event.session, event.steps, event.prompt_tokens, event.completion_tokens, event.cost_usd
    )
    goal = app.query_one(GoalPanel)
    show_totals(goal, totals)
    goal.goal = event.goal or goal.goal
    if event.replaces is not None and not event.resumed:
        # A new goal took effect: the log says where the new session starts (a session
        # picked said so as it was picked).
        await app.query_one(ActionLog).notice(f"New session {event.session}: {event.goal}")


@handles(UsageUpdated)
async def _usage_updated(app: WorkstationApp, event: UsageUpdated) -> None:
    goal = app.query_one(GoalPanel)
    goal.tokens_used = event.total_tokens
    goal.tokens_cached = event.cached_tokens
    goal.cost_used = event.cost_usd


@handles(TokensStreamed)
async def _tokens_streamed(app: WorkstationApp, event: TokensStreamed) -> None:
    app.query_one(GoalPanel).show_tokens(event.tokens)


@handles(Retrying)
async def _retrying(app: WorkstationApp, event: Retrying) -> None:
    # The loop counts retries; the user is told which attempt comes next, of how many.
    attempt = event.attempt + 1
    app.query_one(GoalPanel).show_retry(event.delay_s, attempt, event.max_attempts)
    of = f"/{event.max_attempts}" if event.max_attempts is not None else ""
    await app.query_one(ActionLog).notice(
        f"Retrying in {event.delay_s:.1f} s (attempt {attempt}{of}): {event.reason}",
        severity="warning",
    )


@handles(ErrorOccurred)
async def _error_occurred(app: WorkstationApp, event: ErrorOccurred) -> None:
    await app.query_one(ActionLog).notice(event.message, severity="error")
    app.notify(event.message, severity="error", markup=False)


@handles(CommandsNeedApproval)
async def _commands_need_approval(app: WorkstationApp, event: CommandsNeedApproval) -> None:
    app.query_one(GoalPanel).commands_ask = True
    await _notice(app, event)


@handles(RuleAdded)
async def _rule_added(app: WorkstationApp, event: RuleAdded) -> None:
    await app.query_one(ActionLog).notice(event.message)
    app.notify(event.message, markup=False)


@handles(Notice)
async def _notice(app: WorkstationApp, event: Notice) -> None:
    await app.query_one(ActionLog).notice(event.message, severity="warning")
    app.notify(event.message, severity="warning", markup=False)


@handles(CostUnenforceable)
async def _cost_unenforceable(app: WorkstationApp, event: CostUnenforceable) -> None:
    # Warned when the workstation opened, and again by the session: once is enough.
    if first_warning(app.cost_warned, event):
        await _notice(app, event)


@handles(ProjectNotesRead)
async def _project_notes_read(app: WorkstationApp, event: ProjectNotesRead) -> None:
    line = app.query_one(ProjectNotesLine)
    line.show(event.files, event.truncated)
    for sentence in event.skipped:
        if sentence not in line.told:  # said once: the event comes again at each change
            line.told.add(sentence)
            await app.query_one(ActionLog).notice(f"Project notes: {sentence}", severity="warning")


@handles(Finished)
async def _finished(app: WorkstationApp, event: Finished) -> None:
    log = app.query_one(ActionLog)
    await log.end_thoughts()  # a step the run abandoned starts afresh when taken again
    await log.notice(finished_sentence(event))
    if event.outcome in STOP_REASONS:
        app.query_one(GoalPanel).reason = event.message
    _last_reload[app] = time.monotonic()
    app.load_history()  # the whole history as git has it, once the run is over


def finished_sentence(event: Finished) -> str:
    """What the log says when a run ends, with the keys that carry on."""
    if event.outcome == "finished":
        return f"Finished: {event.summary or event.message}"
    if event.outcome == "paused":
        return "Paused. Press s to step or p to run on."
    if event.outcome == "stepped":
        return f"{event.message} Press s for another step, or p to let it run."
    return f"Stopped ({event.outcome}): {event.message}"


def worker_ended(app: WorkstationApp) -> None:
    """The agent's worker ended: a status that says it works is no longer true.

    The loop always reports how a run ends; if the worker died without (an unexpected
    exception), the panel must not keep saying ``thinking`` for ever.
    """
    goal = app.query_one(GoalPanel)
    if goal.status in WORKING_STATUSES:
        goal.status = "error"
        goal.reason = VANISHED_SENTENCE


# A team's events register their handlers here too (they use `handles` and `dispatch`).
from autogpt_tui.ui import team_events as team_events  # noqa: E402
