"""Several tool calls in one reply: which run in this step, which wait, what is recorded.

A model asked for parallel tool calls may answer with several. The step loop
(``core/agent.py``) makes a :class:`ReplyPlan` of every reply and:

- runs all the *reads* (read_file, list_files, search) of a reply as one step: each is
  proposed, approved (the mode decides, as ever) and run in turn, and the step is one
  (empty) commit whose record lists every call with its result (:func:`run_reads`);
- keeps the reply's first write, edit, command, question or finish for the *next* step,
  proposed without a new request, as a one-call reply would be (:class:`Deferred`);
  further ones of the same reply are not run, and the model is told so;
- answers every call of the reply's assistant turn with a tool message (a result, an
  error, a rejection, or "not run"): the API refuses a conversation that leaves a call
  unanswered, and the records rebuild exactly these messages on resume and undo.

A reply that mixes reads and a write is thus split in two turns of the conversation: the
reads (and any malformed calls) with the reply's text, then the write on its own.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from autogpt_tui.core.collaborators import Approval, PolicyChoice
from autogpt_tui.core.conversation import (
    assistant_calls,
    calls_summary,
    rejection_text,
    tool_message,
)
from autogpt_tui.core.errors import ToolError
from autogpt_tui.core.events import (
    ActionExecuted,
    ActionProposed,
    ActionRejected,
    ErrorOccurred,
    PendingAction,
)
from autogpt_tui.core.llm import ToolCallRequest
from autogpt_tui.core.mcp.catalogue import is_mcp_name
from autogpt_tui.core.record_models import CallRecord, RejectedProposal, StepRecord, Usage
from autogpt_tui.core.session_state import StepOutcome
from autogpt_tui.core.tool_calls import LOOP_READS, TOOLS, ToolSpec, parse_call

if TYPE_CHECKING:
    from autogpt_tui.core.agent import Agent

LEFT_OUT = (
    "Not run: a step runs one write, edit, command, question or finish, and this reply's "
    "first one was taken. Call it again if it is still needed."
)
"""What the model is told of a write (or command …) its reply held beyond the first."""
AFTER_REJECTION = "Not run: the user rejected an earlier call of this reply."
"""What the model is told of the calls after one the user rejected."""


@dataclass
class ParsedCall:
    """One call of a reply, validated: its argument model and kind, or why it is refused."""

    request: ToolCallRequest
    args_model: BaseModel | None = None
    arguments: dict[str, Any] | str = field(default_factory=dict)
    """The arguments as recorded: parsed (defaults left out), or the raw text when the
    call was refused before they could be parsed as an object."""
    kind: str = ""
    error: str | None = None

    @classmethod
    def of(
        cls,
        request: ToolCallRequest,
        allowed: Collection[str] | None = None,
        extra: Mapping[str, ToolSpec] | None = None,
    ) -> ParsedCall:
        """Validate ``request``; a bad call keeps the sentence the model gets.

        ``allowed`` (a team role's tools): any other tool is refused like an unknown one.
        ``extra``: the tools offered beyond the built-in ones (MCP servers')."""
        try:
            if request.error is not None:
                raise ToolError(request.error)  # refused while streaming (too big)
            if allowed is not None and request.name not in allowed:
                raise ToolError(
                    f"The tool '{request.name}' is not yours in this role; your tools are: "
                    f"{', '.join(sorted(allowed))}."
                )
            model = parse_call(request.name, request.arguments, extra)
        except ToolError as err:
            return cls(request, arguments=_loads_or_raw(request.arguments), error=str(err))
        arguments = model.model_dump(exclude_none=True)
        spec = TOOLS.get(request.name) or (extra or {})[request.name]
        return cls(request, model, arguments, spec.kind)

    @property
    def is_read(self) -> bool:
        """A well-formed read (read_file, list_files, search) that runs with the reply's
        other reads (a delegation takes a step of its own)."""
        # An MCP tool takes a step of its own too: its server may change files after all.
        name = self.request.name
        return (
            self.error is None
            and self.kind == "read"
            and name not in LOOP_READS
            and not is_mcp_name(name)
        )

    def record(self, observation: str, *, ok: bool, outcome: str) -> CallRecord:
        """This call as a step record keeps it, with what the model was told of it."""
        return CallRecord(
            tool=self.request.name,
            arguments=self.arguments,
            call_id=self.request.id,
            observation=observation,
            ok=ok,
            outcome=outcome,  # type: ignore[arg-type]  # one of CallOutcome
        )


@dataclass
class ReplyPlan:
    """A reply's calls, sorted into what this step runs and what waits for the next."""

    thought: str
    calls: list[ParsedCall]
    policy: PolicyChoice

    @classmethod
    def of(
        cls,
        thought: str,
        calls: Sequence[ToolCallRequest],
        policy: PolicyChoice,
        allowed: Collection[str] | None = None,
        extra: Mapping[str, ToolSpec] | None = None,
    ) -> ReplyPlan:
        """The plan of a reply with ``thought`` and tool ``calls``, proposed under ``policy``
        (``allowed``: the only tools the agent may call; None: all; ``extra``: tools
        beyond the built-in ones)."""
        return cls(thought, [ParsedCall.of(c, allowed, extra) for c in calls], policy)

    @property
    def valid(self) -> list[ParsedCall]:
        """The well-formed calls, in the model's order."""
        return [c for c in self.calls if c.error is None]

    @property
    def actions(self) -> list[ParsedCall]:
        """The well-formed calls that are not reads (writes, commands, ask, finish)."""
        return [c for c in self.valid if not c.is_read]

    @property
    def reads_first(self) -> bool:
        """Whether this step runs the reply's reads as one step: several reads, or reads
        alongside a write or command (which then waits for the next step)."""
        reads = sum(1 for c in self.calls if c.is_read)
        return reads > 1 or (reads == 1 and bool(self.actions))

    @property
    def primary(self) -> ParsedCall:
        """The call a one-action step proposes: the first well-formed one."""
        return self.valid[0]

    def error_messages(self) -> list[dict[str, Any]]:
        """The reply, every call of it refused: the assistant turn and each refusal."""
        messages = [assistant_calls(self.thought, [_triple(c) for c in self.calls])]
        messages += [tool_message(c.request.id, f"Error: {c.error}") for c in self.calls]
        return messages

    def sibling_records(self, primary: CallRecord) -> list[CallRecord]:
        """The records of a one-action step's reply: ``primary`` in its place, the other
        calls as errors or not run; empty when the reply was that one call."""
        if len(self.calls) == 1:
            return []
        out: list[CallRecord] = []
        for call in self.calls:
            if call is self.primary:
                out.append(primary)
            elif call.error is not None:
                out.append(call.record(f"Error: {call.error}", ok=False, outcome="error"))
            else:
                out.append(call.record(LEFT_OUT, ok=False, outcome="left_out"))
        return out

    def deferred(self) -> ReplyPlan | None:
        """The reply's writes and commands, for the next step (None when it had none)."""
        actions = self.actions
        return ReplyPlan("", actions, self.policy) if actions else None


@dataclass
class ReadBatch:
    """What running a reply's reads did."""

    thought: str = ""
    """The reply's text: the step's thought."""
    records: list[CallRecord] = field(default_factory=list)
    """Every call of the step's assistant turn, in the model's order."""
    rejected: tuple[PendingAction, Approval] | None = None
    """The read the user rejected before any read ran: the step is then a rejection,
    handled as a one-call rejection is, and nothing is committed."""
    stopped: bool = False
    """A read was rejected after others ran: the rest of the reply was not run."""

    @property
    def ran(self) -> list[CallRecord]:
        """The calls that ran."""
        return [r for r in self.records if r.outcome == "ran"]


def run_reads(agent: Agent, plan: ReplyPlan, step: int) -> ReadBatch:
    """Propose, approve and run each read of ``plan`` in order, as step ``step``.

    Malformed calls are answered with their error. A read the user rejects stops the
    reply: if nothing ran yet, the batch is that rejection; else the calls after it
    (the write too) are recorded as not run. The batch's records are the step's.
    """
    batch = ReadBatch(thought=plan.thought)
    for call in plan.calls:
        if call.error is not None:
            agent.emit(ErrorOccurred(f"Tool call rejected: {call.error}"))
            batch.records.append(call.record(f"Error: {call.error}", ok=False, outcome="error"))
            continue
        if batch.stopped or not call.is_read:
            if batch.stopped:
                batch.records.append(call.record(AFTER_REJECTION, ok=False, outcome="left_out"))
            continue  # a write waits for the next step
        action, decision = _propose(agent, plan, call, step)
        if not decision.approved:
            if not batch.ran:
                batch.rejected = (action, decision)
                return batch
            agent.emit(ActionRejected(action, decision.reason))
            batch.records.append(
                call.record(rejection_text(decision.reason), ok=False, outcome="rejected")
            )
            batch.stopped = True
            continue
        agent._set_status("running")
        assert call.args_model is not None  # a read is well-formed
        result = agent.tools.execute(call.request.name, call.args_model)
        output = agent.redactor.text(result.output)  # the backstop, as for one action
        agent.emit(ActionExecuted(action, ok=result.ok, output=output, changed_paths=[]))
        batch.records.append(call.record(output, ok=result.ok, outcome="ran"))
    return batch


def _propose(
    agent: Agent, plan: ReplyPlan, call: ParsedCall, step: int
) -> tuple[PendingAction, Approval]:
    assert call.args_model is not None and isinstance(call.arguments, dict)
    action = agent.gate.propose(
        step=step,
        tool=call.request.name,
        arguments=call.arguments,
        args_model=call.args_model,
        call_id=call.request.id,
        thought=plan.thought,
        kind=call.kind,  # type: ignore[arg-type]  # a ToolKind, from TOOLS
    )
    agent.emit(ActionProposed(action))
    decision, action = agent.gate.decide(action, call.args_model)
    return action, decision


def commit_reads(
    agent: Agent,
    batch: ReadBatch,
    policy: PolicyChoice,
    rejected: list[RejectedProposal],
    usage: Usage,
    cost: float,
) -> StepOutcome:
    """Commit a reply's reads as one step (an empty commit) whose record lists every
    call of the reply with what the model was told of it.

    The commit's ``Agent-Tool`` is the first read's tool, its subject names every read.
    """
    first = batch.ran[0]
    step = agent.state.step + 1
    action = PendingAction(
        step=step,
        tool=first.tool,
        arguments=first.arguments if isinstance(first.arguments, dict) else {},
        call_id=first.call_id,
        thought=batch.thought,
    )
    ok = all(r.ok for r in batch.ran)
    record = step_record(
        agent, action, first.observation, ok, policy, rejected, usage, cost, batch.records
    )
    summary_line = calls_summary(
        [(r.tool, r.arguments) for r in batch.ran if isinstance(r.arguments, dict)]
    )
    agent._commit(step, first.tool, summary_line, record, [], policy)
    loop, nudge = agent._loops.check(*loop_key(batch.ran))
    return agent._after_step(loop, nudge, None, None)


def step_record(
    agent: Agent,
    action: PendingAction,
    output: str,
    ok: bool,
    policy: PolicyChoice,
    rejected: list[RejectedProposal],
    usage: Usage,
    cost: float,
    calls: list[CallRecord],
) -> StepRecord:
    """A step's record: its action (the reply's first call that ran), every call of its
    reply when it held several, and all that the model was told before it."""
    redactor = agent.redactor
    return StepRecord(
        thought=redactor.text(action.thought),
        tool=action.tool,
        arguments=redactor.value(action.arguments),
        tool_call_id=action.call_id,
        observation=output,
        usage=usage,
        session=agent.state.session,
        goal=agent.state.goal,
        policy=policy.name,
        model=policy.model or agent.profile.name,
        ok=ok,
        not_undoable=action.not_undoable,
        cost_usd=cost,
        rejected=rejected,
        user_edits=list(agent._committed_for_user),
        notes=list(agent.conversation.notes),
        user_messages=list(agent.conversation.user_messages),
        calls=[
            # An error may quote the model's arguments: masked like everything recorded.
            c.model_copy(
                update={
                    "arguments": redactor.value(c.arguments),
                    "observation": redactor.text(c.observation),
                }
            )
            for c in calls
        ],
    )


def loop_key(records: Sequence[CallRecord]) -> tuple[str, Any, str]:
    """(tool, arguments, output) standing for a batch, for the loop detector."""
    return (
        "+".join(r.tool for r in records),
        [[r.tool, r.arguments] for r in records],
        "\n".join(r.observation for r in records),
    )


def _triple(call: ParsedCall) -> tuple[str, str, Any]:
    return (call.request.id, call.request.name, call.arguments)


def _loads_or_raw(text: str) -> dict[str, Any] | str:
    """The arguments as an object when they are one, else the raw text the model sent."""
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        return text
    return data if isinstance(data, dict) else text
