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
    Conversation,
    assistant_call,
    continues_session,
    rejection_text,
    session_steps,
    summarize_action,
    tool_message,
    user_edits_message,
)
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
    Retrying,
    Status,
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
from autogpt_tui.core.history import History
from autogpt_tui.core.llm import Completion, ModelCancelled
from autogpt_tui.core.records import RejectedProposal, StepCommit, StepRecord, Usage
from autogpt_tui.core.redact import Redactor
from autogpt_tui.core.session_state import (
    LoopDetector,
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
HEADLESS_REFUSALS = 3
"""Proposals refused in a row, headless, before the run stops."""


class Agent:
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
    ) -> None:
        """Resume the branch's session (``session``, or one with this goal) or start one.

        ``user`` None runs headless: what the mode would ask about is refused, and the
        agent's questions get no answer.
        """
        self.history = history
        self.model = model
        self.tools = tools
        self.emit: Callable[[Event], None] = emit or (lambda _event: None)
        self.gate = ApprovalGate(
            mode=mode, tools=tools, user=user, emit=self.emit, set_status=self._set_status
        )
        """Decides which proposals wait for the user, and asks."""
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
        if hasattr(tools, "before_change"):
            # The tools call back before they change files, so the user's version of a
            # file the agent is about to change is committed as theirs first.
            tools.before_change = self._before_change
        self.state = self._resume_or_start(goal, session)

    # ----------------------------------------------------------------- state

    def _resume_or_start(self, goal: str, session: str | None) -> SessionState:
        """Continue the session on the branch if it has this goal, else start one."""
        latest = next((s for s in self.history.steps_on_branch(records=True) if not s.undone), None)
        if latest is not None and continues_session(latest, goal=goal, session=session):
            assert latest.record is not None  # continues_session checked it
            state = SessionState(latest.session, self._conversation(goal or latest.record.goal))
            self._rebuild(state)
            return state
        if not session:
            return SessionState(new_session_id(), self._conversation(goal))
        # A session named by id whose steps were all undone (or lie under another's):
        # its numbering goes on where it stopped, so no SESSION#N names two steps.
        return SessionState(
            session, self._conversation(goal), step=self.history.last_step_number(session)
        )

    def _conversation(self, goal: str) -> Conversation:
        return Conversation(
            goal, context_window=self.profile.context_window, lessons=self.policy.lessons
        )

    def _rebuild(self, state: SessionState) -> None:
        """Rebuild the conversation from the records of the session's live steps."""
        state.rebuild(
            session_steps(self.history.steps_on_branch(records=True), state.session),
            # Undone steps keep their numbers: the next step goes on after the highest.
            last_step=self.history.last_step_number(state.session),
        )
        self._known_head = self.history.head()
        self._deferred = None  # a reply from before the undo no longer fits

    @property
    def conversation(self) -> Conversation:
        """What the model is told at its next request."""
        return self.state.conversation

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

    def set_goal(self, goal: str) -> None:
        """Change the goal of this session (the model is told at its next request)."""
        self.conversation.set_goal(goal)

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

    def pause(self) -> None:
        """Stop after the step in progress (a model request is abandoned)."""
        self._pause.set()
        self.model.cancel()

    def cancel(self) -> None:
        """Stop as soon as possible; a step already executing is still committed."""
        self._cancel.set()
        self.model.cancel()

    def messages(self, policy: PolicyChoice | None = None) -> list[dict[str, Any]]:
        """The conversation the next request sends under ``policy``."""
        policy = policy or PolicyChoice()
        return self.conversation.messages(policy.name, policy.instructions)

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
                policy = self.policy.choose()
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
                plan = ReplyPlan.of(completion.text, completion.tool_calls, policy)
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
                        action, args_model, policy, rejected, usage_total, cost_total, plan
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
            if self.user is None and len(rejected) >= HEADLESS_REFUSALS:
                # Nobody can approve anything: the mode refuses whatever comes next.
                return StepOutcome(
                    finished="error",
                    message=f"The {self.mode} mode refused the agent's last "
                    f"{len(rejected)} proposals and no user is there to approve them; "
                    "run with --mode auto or use the TUI.",
                )

    def _take_deferred(self) -> ReplyPlan | None:
        """The last reply's write or command, kept for this step, unless the user has said
        or changed something since (then the model is asked afresh)."""
        deferred, self._deferred = self._deferred, None
        if deferred is None or self.conversation.notes or self.conversation.user_messages:
            return None
        if not self._inbox.empty():
            return None
        return deferred

    def _request(
        self, step_no: int, policy: PolicyChoice, extra_messages: list[dict[str, Any]]
    ) -> Completion:
        """Ask the model for step ``step_no``'s action, streaming its thought as events.

        ``extra_messages`` are this step's exchanges so far (rejections, bad calls).
        Raises ModelCancelled when a pause or cancel abandons the request.
        """
        from autogpt_tui.core.tools import tool_schemas

        if self._tool_schemas is None:
            # Made once per loop: a fresh deep copy per request cost ~2 ms a step, and
            # nothing changes them (the client only serialises them).
            self._tool_schemas = tool_schemas()
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
        total.estimated = total.estimated or u.estimated
        model = policy.model or self.profile.name
        cost = self.profile.price(model, u.prompt_tokens, u.completion_tokens)
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
            )
        )
        return cost

    def _on_retry(self, step: int, attempt: int, delay: float, reason: str) -> None:
        self.emit(ThoughtReset(step))
        # The client's retry limit, when it has one: a UI can then say "attempt 2/5".
        retries = getattr(self.model, "max_retries", None)
        total = retries + 1 if isinstance(retries, int) else None
        self.emit(Retrying(attempt=attempt, delay_s=delay, reason=reason, max_attempts=total))

    def _execute_and_commit(
        self,
        action: PendingAction,
        args_model: Any,
        policy: PolicyChoice,
        rejected: list[RejectedProposal],
        usage: Usage,
        cost: float,
        plan: ReplyPlan,
    ) -> StepOutcome:
        self._set_status("running")
        changed: list[str] | None = []
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
        summary_line = summarize_action(action.tool, action.arguments)
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
        commit = self.history.commit_step(
            session=self.state.session,
            step=step,
            tool=tool,
            policy=policy.name,
            summary=summary_line,
            record=record,
            paths=changed,
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
