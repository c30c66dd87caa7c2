"""The step loop: goal → propose → approve → execute → commit → observe, repeated.

One ``Agent`` drives one session on one workspace. It runs on a background thread (the
TUI's worker, or the main thread for ``autogpt-tui run``), talks to the UI only through
the ``emit`` callback and its ``UserChannel`` (approve, ask), and never imports the UI.
What else it is given comes in a few named pieces: the model's profile (name, context
window, price), the policy (how to work, lessons), and the hooks around each step.

The conversation (``core/conversation.py``) is not kept anywhere but in the repository:
every step's record holds its thought, tool call, observation and the proposals rejected
before it, so restarting rebuilds the conversation from the step records on the branch,
and undoing steps rewinds it (the loop notices HEAD moved and rebuilds).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from autogpt_tui.core.agent_requests import ModelRequests
from autogpt_tui.core.agent_sessions import SessionKeeping
from autogpt_tui.core.approval import ApprovalGate
from autogpt_tui.core.collaborators import (
    Approval,
    Budget,
    ModelBackend,
    ModelProfile,
    PolicyChoice,
    PolicySource,
    StepHooks,
    ToolBackend,
    UserChannel,
)
from autogpt_tui.core.conversation import (
    assistant_call,
    rejection_text,
    summarize_action,
    tool_message,
    user_edits_message,
)
from autogpt_tui.core.delegation import DelegateConfig, run_delegation
from autogpt_tui.core.errors import UserError
from autogpt_tui.core.events import (
    ActionExecuted,
    ActionProposed,
    ActionRejected,
    ErrorOccurred,
    Event,
    Finished,
    Outcome,
    PendingAction,
    QuestionAsked,
    Status,
    StatusChanged,
    StepCommitted,
    UserEditsCommitted,
)
from autogpt_tui.core.history import History
from autogpt_tui.core.instructions import ProjectInstructions
from autogpt_tui.core.llm import ModelCancelled
from autogpt_tui.core.mcp.toolbox import extra_specs
from autogpt_tui.core.partial_edit import PartialWrite, rejected_hunks
from autogpt_tui.core.permissions import Permissions
from autogpt_tui.core.records import RejectedProposal, StepCommit, StepRecord, Usage
from autogpt_tui.core.redact import Redactor
from autogpt_tui.core.session_state import (
    LoopDetector,
    NextSession,
    SessionState,
    StepOutcome,
    new_session_id,
)
from autogpt_tui.core.step_calls import ReplyPlan, commit_reads, run_reads, step_record

__all__ = [
    "Agent",
    "Approval",
    "Budget",
    "ModelBackend",
    "ModelProfile",
    "PolicyChoice",
    "PolicySource",
    "SessionState",
    "StepHooks",
    "StepOutcome",
    "ToolBackend",
    "UserChannel",
    "new_session_id",
]

NO_ACTION_LIMIT = 3
"""Replies without a tool call in a row before the run stops."""
MAINTAIN_EVERY = 100
"""Steps between two chances for git to pack loose objects."""


class Agent(SessionKeeping, ModelRequests):
    """The step loop for one session on one workspace."""

    def __init__(
        self,
        *,
        history: History,
        model: ModelBackend,
        tools: ToolBackend,
        goal: str,
        mode: str = "step",
        emit: Callable[[Event], None] | None = None,
        user: UserChannel | None = None,
        budget: Budget | None = None,
        profile: ModelProfile | None = None,
        policy: PolicySource | None = None,
        hooks: StepHooks | None = None,
        session: str | None = None,
        redactor: Redactor | None = None,
        permissions: Permissions | None = None,
        delegation: DelegateConfig | None = None,
    ) -> None:
        """Resume the branch's session (``session``, or one with this goal) or start one.

        ``user`` None runs headless: what the mode would ask about is refused, and the
        agent's questions get no answer.
        """
        self.history = history
        self.model = model
        self.tools = tools
        self.emit: Callable[[Event], None] = emit or (lambda _event: None)
        self.delegation = delegation or DelegateConfig()
        """How ``delegate`` calls run (core/delegation.py): the sub-agent's cap and model."""
        self.gate = ApprovalGate(
            mode=mode,
            tools=tools,
            user=user,
            emit=self.emit,
            set_status=self._set_status,
            permissions=permissions,
            delegate_steps=self.delegation.max_steps,
        )
        """Decides which proposals wait for the user (by mode and permission rules), and asks."""
        self.user = user
        self.budget = budget or Budget()
        self.profile = profile or ModelProfile()
        self.policy = policy or PolicySource()
        self.hooks = hooks or StepHooks()
        self.redactor = redactor or Redactor()
        """Masks secrets in what a step records, reports and tells the model."""
        self._on_first_request = self.hooks.on_first_request
        self._pause = threading.Event()
        self._cancel = threading.Event()
        self._status: Status = "idle"
        self._known_head: str | None = None
        self._loops = LoopDetector()
        self._no_action = 0
        self._committed_for_user: list[str] = []
        self._tool_schemas: list[dict[str, Any]] | None = None
        self._deferred: ReplyPlan | None = None
        """The write or command of the last reply whose reads were the last step."""
        # Filled by the UI thread at any time, emptied by the loop before each request.
        self._inbox: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._arm: tuple[str, PolicyChoice] | None = None
        self.instructions = ProjectInstructions(
            history.root, redactor=self.redactor, on_change=self._notes_changed
        )
        """The project's AGENTS.md (…) files: text for the model, never settings."""
        if hasattr(tools, "before_change"):
            # The tools call back before they change files, so the user's version of a
            # file the agent is about to change is committed as theirs first.
            tools.before_change = self._before_change
        self.role: str | None = None
        """The role this agent plays in a team (core/orchestra.py); None: the single agent."""
        self.allowed_tools: frozenset[str] | None = None
        """The tools this agent may call (its role's); None: every tool."""
        self._next_session = NextSession()
        self.state = self._resume_or_start(goal, session)
        self.emit(self.state.started(replaces=None))
        self.conversation.project_notes()  # the files in use are known (and told) at once

    # ----------------------------------------------------------------- state

    @property
    def status(self) -> Status:
        """What the agent is doing now."""
        return self._status

    def _set_status(self, status: Status) -> None:
        if status != self._status:
            self._status = status
            self.emit(StatusChanged(status))

    @property
    def mode(self) -> str:
        """The approval mode (``step``, ``edits`` or ``auto``)."""
        return self.gate.mode

    def set_mode(self, mode: str) -> None:
        """Change the approval mode; takes effect at the next action."""
        self.gate.set_mode(mode)

    def pause(self) -> None:
        """Stop after the step in progress (a model request is abandoned)."""
        self._pause.set()
        self.model.cancel()

    def cancel(self) -> None:
        """Stop as soon as possible; a step already executing is still committed."""
        self._cancel.set()
        self.model.cancel()

    # ------------------------------------------------------------------- run

    def run(self, max_steps: int | None = None) -> Finished:
        """Take steps until finish, a budget, a pause, a cancel, or an error.

        ``max_steps`` limits this call (the TUI's single step); the budget's step limit
        counts the session's steps in force, as its token and cost limits count theirs:
        a resumed session goes on from what it has used, and an undone step is given
        back (the goal panel's meter shows the same count).
        """
        self._pause.clear()
        taken = 0
        budget = self.budget.max_steps
        try:
            while True:
                if self._cancel.is_set():
                    return self._finish("cancelled", "Cancelled.", taken)
                if self._pause.is_set():
                    return self._finish("paused", "Paused.", taken)
                if max_steps is not None and taken >= max_steps:
                    plural = "s" if taken != 1 else ""
                    return self._finish("stepped", f"Took {taken} step{plural}.", taken)
                self._take_next_session()  # a new goal: the budgets are the new session's
                self._sync_with_repository()  # an undo since the last step gives back
                if budget is not None and self.state.steps_in_force >= budget:
                    return self._finish("budget", f"The step budget ({budget}) ran out.", taken)
                over = self._over_budget()
                if over:
                    return self._finish("budget", over, taken)
                outcome = self.step()
                if outcome.committed:
                    taken += 1
                if outcome.finished is not None:
                    return self._finish(
                        outcome.finished, outcome.message, taken, summary=outcome.summary
                    )
        except UserError as err:  # the model kept failing, or git refused: one sentence
            self.emit(ErrorOccurred(str(err)))
            return self._finish("error", str(err), taken)

    def _finish(
        self, outcome: Outcome, message: str, taken: int, summary: str | None = None
    ) -> Finished:
        # Each way of stopping has its own status, so a failed run never reads as done.
        statuses: dict[Outcome, Status] = {
            "finished": "done",
            "paused": "paused",
            "cancelled": "idle",
            "stepped": "idle",
            "budget": "budget",
            "error": "error",
            "loop": "error",
        }
        self._set_status(statuses[outcome])
        event = Finished(outcome=outcome, message=message, steps=taken, summary=summary)
        self.emit(event)
        return event

    def _over_budget(self) -> str | None:
        b = self.budget
        tokens = self.state.prompt_tokens + self.state.completion_tokens
        if b.max_tokens is not None and tokens >= b.max_tokens:
            return f"The token budget ({b.max_tokens:,}) ran out after {tokens:,} tokens."
        if b.max_cost_usd is not None and self.state.cost_usd >= b.max_cost_usd:
            return f"The cost budget (${b.max_cost_usd:.2f}) ran out at ${self.state.cost_usd:.4f}."
        return None

    def _sync_with_repository(self) -> None:
        """Rebuild the conversation when HEAD moved under us (undo, redo, git by hand)."""
        head = self.history.head()
        if self._known_head is not None and head != self._known_head:
            self._rebuild(self.state)
        self._known_head = head

    def _look_at_user_work(self) -> list[str]:
        """Snapshot the user's uncommitted work (nothing is committed); returns the
        files they changed since the last step."""
        changed_by_user = self.hooks.changed_by_user
        paths = changed_by_user() if changed_by_user is not None else None
        if paths is not None and not paths:
            return []  # the watcher saw nothing change: the last snapshot still holds
        return self.history.snapshot(f"before step {self.state.step + 1}", paths).changed

    def _before_change(self, paths: list[str]) -> None:
        """Right before an action changes ``paths``: commit the user's own changes to
        them first (as the user's commit), so the step's commit holds only the agent's."""
        commit = self.history.protect_user_work(paths)
        if commit is None:
            return
        self._committed_for_user += commit.paths
        self.emit(UserEditsCommitted(sha=commit.sha, paths=commit.paths))

    def step(self) -> StepOutcome:
        """One step: propose, approve, execute, commit, observe."""
        # Mid-merge (rebase, …) the tree holds the user's half-done work: RepositoryBusy
        # ends the run with the sentence that says how to finish, having touched nothing.
        self.history.ensure_quiet()
        self.model.reset_cancel()
        self._take_next_session()
        self._sync_with_repository()
        changed_by_user = self._look_at_user_work()
        if changed_by_user:
            self.conversation.note(user_edits_message(changed_by_user)["content"])
        self._committed_for_user = []
        self._known_head = self.history.head()
        step_no = self.state.step + 1
        rejected: list[RejectedProposal] = []
        extra_messages: list[dict[str, Any]] = []
        usage_total = Usage()
        cost_total = 0.0
        deferred = self._take_deferred()
        while True:
            if self._cancel.is_set() or self._pause.is_set():
                return StepOutcome(
                    finished="cancelled" if self._cancel.is_set() else "paused",
                    message="Stopped before the model answered.",
                )
            if deferred is not None:
                # The last reply's write (its reads were the last step): no new request.
                plan, deferred = deferred, None
                policy = plan.policy
            else:
                policy = self._session_arm()
                try:
                    completion = self._request(step_no, policy, extra_messages)
                except ModelCancelled:
                    outcome: Outcome = "cancelled" if self._cancel.is_set() else "paused"
                    return StepOutcome(
                        finished=outcome, message="Stopped while the model was answering."
                    )
                cost_total += self._account(completion, policy, usage_total)
                if not completion.tool_calls:
                    self._no_action += 1
                    if self._no_action >= NO_ACTION_LIMIT:
                        return StepOutcome(
                            finished="error",
                            message=f"The model answered {NO_ACTION_LIMIT} times without "
                            "a tool call.",
                        )
                    extra_messages += [
                        {"role": "assistant", "content": completion.text or ""},
                        {
                            "role": "user",
                            "content": "Reply with exactly one tool call (call finish when done).",
                        },
                    ]
                    continue
                self._no_action = 0
                plan = ReplyPlan.of(
                    completion.text,
                    completion.tool_calls,
                    policy,
                    self.allowed_tools,
                    extra_specs(self.tools),  # the MCP servers' tools, if any
                )
            if not plan.valid:
                # The model gets the errors as the tools' answers and tries again; a bad
                # call is not a step (nothing ran), so nothing is committed.
                extra_messages += plan.error_messages()
                for bad in plan.calls:
                    self.emit(ErrorOccurred(f"Tool call rejected: {bad.error}"))
                continue
            if plan.reads_first:
                batch = run_reads(self, plan, step_no)
                if batch.rejected is None:
                    self._deferred = None if batch.stopped else plan.deferred()
                    return commit_reads(self, batch, policy, rejected, usage_total, cost_total)
                action, decision = batch.rejected
                args_model: Any = None
            else:
                call = plan.primary
                args_model = call.args_model
                assert isinstance(call.arguments, dict)
                action = self.gate.propose(
                    step=step_no,
                    tool=call.request.name,
                    arguments=call.arguments,
                    args_model=args_model,
                    call_id=call.request.id,
                    thought=plan.thought,
                    kind=call.kind,  # type: ignore[arg-type]  # a ToolKind, from TOOLS
                )
                self.emit(ActionProposed(action))
                decision, action = self.gate.decide(action, args_model)
                if decision.approved:
                    return self._execute_and_commit(
                        action,
                        args_model,
                        policy,
                        rejected,
                        usage_total,
                        cost_total,
                        plan,
                        approval=decision,
                    )
            self.emit(ActionRejected(action, decision.reason))
            rejected.append(
                RejectedProposal(
                    tool=action.tool,
                    arguments=action.arguments,
                    thought=action.thought,
                    call_id=action.call_id,
                    reason=decision.reason,
                )
            )
            extra_messages += [
                assistant_call(action.thought, action.call_id, action.tool, action.arguments),
                tool_message(action.call_id, rejection_text(decision.reason)),
            ]
            if self._cancel.is_set() or self._pause.is_set():
                return StepOutcome(finished="paused", message="Stopped after a rejection.")
            give_up = self.gate.give_up(len(rejected))
            if give_up is not None:
                return StepOutcome(finished="error", message=give_up)

    def _take_deferred(self) -> ReplyPlan | None:
        """The last reply's write or command, kept for this step, unless the user has said
        or changed something since (then the model is asked afresh)."""
        deferred, self._deferred = self._deferred, None
        if deferred is None or self.conversation.notes or self.conversation.user_messages:
            return None
        if not self._inbox.empty():
            return None
        return deferred

    def _execute_and_commit(
        self,
        action: PendingAction,
        args_model: Any,
        policy: PolicyChoice,
        rejected: list[RejectedProposal],
        usage: Usage,
        cost: float,
        plan: ReplyPlan,
        *,
        approval: Approval | None = None,
    ) -> StepOutcome:
        self._set_status("running")
        # Some hunks of a file edit accepted: the step writes exactly those.
        partial = PartialWrite.of(action, approval) if approval is not None else None
        changed: list[str] | None = []
        delegated = None
        finished: Outcome | None = None
        summary: str | None = None
        if action.tool == "finish":
            summary = str(action.arguments.get("summary", ""))
            output, ok = "Finished.", True
            finished = "finished"
        elif action.tool == "ask_user":
            question = str(action.arguments.get("question", ""))
            self.emit(QuestionAsked(step=action.step, question=question))
            if self.user is None:
                answer = "No user is available (headless run); make a reasonable assumption."
            else:
                self._set_status("waiting")
                answer = self.user.ask(question)
                self._set_status("running")
            output, ok = f"The user answered: {answer}", True
        elif action.tool == "delegate":
            # A read-only sub-agent with its own context; its steps go into this record.
            delegated = run_delegation(self, action, policy, usage)
            output, ok, cost = delegated.observation, delegated.ok, cost + delegated.cost_usd
        elif partial is not None:
            result = self.tools.execute("write_file", partial.args, expected=partial.expected)
            output, ok, changed = result.output, result.ok, result.changed_paths
            output = partial.observation(output, ok)
        else:
            if action.preview is not None:
                # The approved change, bound to the content it was computed against.
                result = self.tools.execute(action.tool, args_model, expected=action.preview)
            else:
                result = self.tools.execute(action.tool, args_model)
            output, ok, changed = result.output, result.ok, result.changed_paths
        # Whatever a command printed or a file held, no secret goes on to the model, the
        # notes or the events (the sandbox should have kept it away; this is the backstop).
        output = self.redactor.text(output)
        self.emit(ActionExecuted(action, ok=ok, output=output, changed_paths=changed))
        # The reply's other calls (malformed, or writes beyond the first) are answered too.
        calls = plan.sibling_records(plan.primary.record(output, ok=ok, outcome="ran"))
        record = step_record(self, action, output, ok, policy, rejected, usage, cost, calls)
        record.rejected_hunks = rejected_hunks(partial, self.redactor.text)
        record.delegation = delegated.record if delegated is not None else None
        summary_line = summarize_action(action.tool, action.arguments)
        if partial is not None:
            summary_line += f" ({partial.summary})"
        self._commit(action.step, action.tool, summary_line, record, changed, policy)
        loop, nudge = self._loops.check(action.tool, action.arguments, output)
        return self._after_step(loop, nudge, finished, summary)

    def _commit(
        self,
        step: int,
        tool: str,
        summary_line: str,
        record: StepRecord,
        changed: list[str] | None,
        policy: PolicyChoice,
    ) -> StepCommit:
        """Make the step's commit with its record, and take it into the session."""
        if self.role:
            record.role = self.role
        commit = self.history.commit_step(
            session=self.state.session,
            step=step,
            tool=tool,
            policy=policy.name,
            summary=summary_line,
            record=record,
            paths=changed,
            role=self.role,
        )
        if self.hooks.after_step is not None:
            self.hooks.after_step(commit, changed)  # e.g. the workspace's check, for its reward
        if step % MAINTAIN_EVERY == 0:
            self.history.maintain(background=True)
        self._known_head = self.history.head()
        self.conversation.add(commit)  # the notes went into its record
        self.state.step = step
        self.state.steps_in_force += 1
        self.emit(
            StepCommitted(
                sha=commit.sha,
                step=step,
                session=self.state.session,
                tool=tool,
                policy=policy.name,
                summary=commit.summary,
            )
        )
        self._set_status("idle")
        return commit

    def _after_step(
        self,
        loop: str | None,
        nudge: str | None,
        finished: Outcome | None,
        summary: str | None,
    ) -> StepOutcome:
        if nudge:
            self.conversation.note(nudge)
        if finished is None and loop:
            finished, summary = "loop", None
        message = "The agent finished." if finished == "finished" else loop or ""
        return StepOutcome(committed=True, finished=finished, message=message, summary=summary)
