"""``delegate(task)``: a read-only exploration by a sub-agent with a fresh context.

The step loop (``core/agent.py``) runs a ``delegate`` call through :func:`run_delegation`
once it is approved (it is a read: step mode asks once, for the whole delegation). The
sub-agent:

- has its own conversation: a short system prompt (explore read-only, end with finish),
  the task as its goal, and its own steps; nothing of the parent's conversation;
- may call only read_file, list_files and search, plus finish for its summary; any other
  call is refused and the sub-agent is told so;
- runs without asking, but under the user's permission rules: a ``deny`` refuses a read
  (the sub-agent is told), and so does an ``ask`` rule, since nobody is asked here;
- takes at most ``max_steps`` replies, on the session's model (or the configured
  delegate model); its requests count in the session's usage and budgets;
- stops at once on pause or cancel (the request in flight is abandoned).

Its summary is the delegate call's observation; its steps go into the parent step's
record (``StepRecord.delegation``), so the parent step stays one (empty) commit. Every
observation passes the Redactor, as the parent's do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autogpt_tui.core.collaborators import PolicyChoice
from autogpt_tui.core.conversation import (
    Conversation,
    Turn,
    assistant_calls,
    summarize_action,
    tool_message,
)
from autogpt_tui.core.errors import ToolError, UserError
from autogpt_tui.core.events import (
    DelegatedCall,
    DelegationEnded,
    DelegationStarted,
    PendingAction,
    Retrying,
)
from autogpt_tui.core.llm import ModelCancelled
from autogpt_tui.core.record_models import (
    CallRecord,
    DelegatedStep,
    DelegationOutcome,
    DelegationRecord,
    Usage,
)
from autogpt_tui.core.tool_calls import SUBAGENT_TOOLS, TOOLS, parse_call

if TYPE_CHECKING:
    from autogpt_tui.core.agent import Agent
    from autogpt_tui.core.llm import ToolCallRequest

DEFAULT_DELEGATE_STEPS = 8
"""Replies a delegated sub-agent may take when the config names no other number."""

DELEGATE_PROMPT = """\
You are a read-only explorer working for a coding agent, in a git repository (the
workspace). Your goal is the task the user message states. You cannot change anything:
your tools are read_file, list_files and search (several calls in one reply run
together), and finish. Paths are relative to the workspace root.

Explore only as far as the task needs; you have a few steps. End by calling finish
with a summary the coding agent can act on: what you found, with file paths and line
numbers, and what you could not find.
"""

NEED_A_CALL = "Reply with tool calls (read_file, list_files, search), or call finish."
LAST_STEP = "This is your last step: call finish now with your summary."
LEFT_OUT_BY_FINISH = "Not run: the same reply called finish."


def delegate_note(max_steps: int) -> str:
    """What approving a delegate call lets run, for the approval card."""
    plural = "s" if max_steps != 1 else ""
    return f"runs up to {max_steps} read-only step{plural} without asking"


@dataclass(frozen=True)
class DelegateConfig:
    """How delegations run: the sub-agent's step cap and model (None: the session's)."""

    max_steps: int = DEFAULT_DELEGATE_STEPS
    model: str | None = None


@dataclass
class DelegationResult:
    """What a delegation gives the parent step: its observation and its record."""

    observation: str
    ok: bool
    record: DelegationRecord
    cost_usd: float = 0.0


class _SubConversation(Conversation):
    """The sub-agent's own conversation: its prompt, its task, its steps (compacted as
    the parent's are)."""

    def system_prompt(self, policy: str = "default", instructions: str = "") -> str:
        """The delegate's prompt, whatever the parent's policy arm."""
        return DELEGATE_PROMPT


@dataclass
class _Run:
    """One delegation under way."""

    agent: Agent
    action: PendingAction
    policy: PolicyChoice
    usage: Usage
    """The parent step's usage: every sub-request adds to it."""
    config: DelegateConfig
    conversation: _SubConversation
    record: DelegationRecord
    cost: float = 0.0
    stopped_why: str = ""
    schemas: list[dict[str, Any]] = field(default_factory=list)


def run_delegation(
    agent: Agent, action: PendingAction, policy: PolicyChoice, usage: Usage
) -> DelegationResult:
    """Run the sub-agent of the approved ``action`` (a delegate call) to its end.

    ``usage`` is the parent step's: the sub-requests' tokens are added to it, and to the
    session's through the agent's accounting. Never raises for what the model does; a
    model that keeps failing ends the delegation with an error observation.
    """
    from autogpt_tui.core.tools import tool_schemas

    config = agent.delegation
    task = str(action.arguments.get("task", ""))
    model = config.model or policy.model
    run = _Run(
        agent=agent,
        action=action,
        policy=PolicyChoice(policy.name, policy.temperature, "", model),
        usage=usage,
        config=config,
        conversation=_SubConversation(task, context_window=agent.profile.context_window),
        record=DelegationRecord(
            task=agent.redactor.text(task),
            model=model or agent.profile.name,
            max_steps=config.max_steps,
        ),
        schemas=[s for s in tool_schemas() if s["function"]["name"] in SUBAGENT_TOOLS],
    )
    agent.emit(
        DelegationStarted(step=action.step, task=run.record.task, max_steps=config.max_steps)
    )
    outcome = _loop(run)
    run.record.outcome = outcome
    agent.emit(
        DelegationEnded(
            step=action.step,
            sub_steps=len(run.record.steps),
            outcome=outcome,
            summary=run.record.summary,
        )
    )
    return DelegationResult(
        observation=_observation(run, outcome),
        ok=outcome == "finished",
        record=run.record,
        cost_usd=run.cost,
    )


def _loop(run: _Run) -> DelegationOutcome:
    agent = run.agent
    for number in range(1, run.config.max_steps + 1):
        if agent._cancel.is_set() or agent._pause.is_set():
            return "stopped"
        over = agent._over_budget()
        if over:
            run.stopped_why = over
            return "budget"
        extra = [{"role": "user", "content": LAST_STEP}] if number == run.config.max_steps else []
        try:
            completion = agent.model.complete(
                run.conversation.messages() + extra,
                run.schemas,
                temperature=run.policy.temperature,
                model=run.policy.model,
                on_retry=lambda attempt, delay, reason: _retrying(agent, attempt, delay, reason),
            )
        except ModelCancelled:
            return "stopped"
        except UserError as err:  # the model kept failing: the parent is told, and goes on
            run.stopped_why = str(err)
            return "error"
        sub_usage = Usage()
        run.cost += agent._account(completion, run.policy, sub_usage)
        for name in ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens"):
            setattr(run.usage, name, getattr(run.usage, name) + getattr(sub_usage, name))
        run.usage.estimated = run.usage.estimated or sub_usage.estimated
        step = DelegatedStep(thought=agent.redactor.text(completion.text or ""), usage=sub_usage)
        run.record.steps.append(step)
        if not completion.tool_calls:
            run.conversation.turns.append(
                Turn(
                    sha="",
                    step=number,
                    messages=[
                        {"role": "assistant", "content": completion.text or ""},
                        {"role": "user", "content": NEED_A_CALL},
                    ],
                    observations=[],
                )
            )
            continue
        if _take_reply(run, number, step, completion.text or "", completion.tool_calls):
            return "finished"
        if agent._cancel.is_set() or agent._pause.is_set():
            return "stopped"
    return "step_cap"


def _take_reply(
    run: _Run,
    number: int,
    step: DelegatedStep,
    thought: str,
    calls: list[ToolCallRequest],
) -> bool:
    """Run (or refuse) each call of a sub-agent's reply; True when it called finish."""
    agent = run.agent
    finish = next((c for c in calls if c.name == "finish"), None)
    messages: list[dict[str, Any]] = [
        assistant_calls(thought, [(c.id, c.name, c.arguments) for c in calls])
    ]
    observations: list[tuple[int, str]] = []
    for call in calls:
        # Masked once, for the record and the events alike.
        arguments = agent.redactor.value(_loads(call.arguments))
        if finish is not None and call is not finish:
            output, ok, outcome = LEFT_OUT_BY_FINISH, False, "left_out"
        else:
            output, ok, outcome = _run_call(run, call)
        if call is finish and ok:
            run.record.summary = output
            output = "Finished."
        observations.append((len(messages), output))
        messages.append(tool_message(call.id, output))
        step.calls.append(
            CallRecord(
                tool=call.name,
                arguments=arguments,
                call_id=call.id,
                observation=output,
                ok=ok,
                outcome=outcome,  # type: ignore[arg-type]  # one of CallOutcome
            )
        )
        agent.emit(
            DelegatedCall(
                step=run.action.step,
                sub_step=number,
                tool=call.name,
                arguments=arguments if isinstance(arguments, dict) else {},
                ok=ok,
                output=output,
            )
        )
    run.conversation.turns.append(Turn("", number, messages, observations))
    return finish is not None and bool(run.record.summary)


def _run_call(run: _Run, call: ToolCallRequest) -> tuple[str, bool, str]:
    """(what the sub-agent is told, ok, outcome) of one of its calls."""
    agent = run.agent
    if call.name not in SUBAGENT_TOOLS:
        what = "an unknown tool" if call.name not in TOOLS else "not one of them"
        return (
            f"Error: {call.name} is refused: a delegated sub-agent explores read-only, and "
            f"its tools are {', '.join(SUBAGENT_TOOLS)} ({call.name} is {what}).",
            False,
            "error",
        )
    try:
        if call.error is not None:
            raise ToolError(call.error)
        args = parse_call(call.name, call.arguments)
    except ToolError as err:
        return f"Error: {err}", False, "error"
    arguments = args.model_dump(exclude_none=True)
    if call.name == "finish":
        return agent.redactor.text(str(arguments.get("summary", ""))), True, "ran"
    verdict = agent.gate.permissions.judge(call.name, arguments)
    if verdict is not None and verdict.action in ("deny", "ask"):
        rule = f"{verdict.rule.rule.label()} in {verdict.rule.where}"
        why = (
            "refuse it"
            if verdict.action == "deny"
            else "make it wait for their approval, and a delegation runs without asking"
        )
        return (
            f"Refused: the user's permission rules ({rule}) {why}. Do without it.",
            False,
            "rejected",
        )
    result = agent.tools.execute(call.name, args)
    return agent.redactor.text(result.output), bool(result.ok), "ran"


def _observation(run: _Run, outcome: DelegationOutcome) -> str:
    """What the parent is told of the delegation: the summary, or why there is none."""
    record = run.record
    n = len(record.steps)
    steps = f"{n} step{'s' if n != 1 else ''}"
    if outcome == "finished":
        return f"The sub-agent's summary ({steps}):\n{record.summary}"
    lead = {
        "step_cap": f"The sub-agent used its {record.max_steps} steps without a summary.",
        "stopped": f"The user stopped the delegation after {steps}; it has no summary.",
        "budget": f"{run.stopped_why} The delegation stopped after {steps}.",
        "error": f"The sub-agent's model failed after {steps}: {run.stopped_why}",
    }[outcome]
    done = [
        summarize_action(c.tool, c.arguments)
        for s in record.steps
        for c in s.calls
        if c.outcome == "ran" and isinstance(c.arguments, dict)
    ]
    if done:
        lead += " It ran: " + "; ".join(done) + "."
    last = next((s.thought for s in reversed(record.steps) if s.thought), "")
    if last:
        lead += f"\nIts last thought: {last}"
    return lead


def _retrying(agent: Agent, attempt: int, delay: float, reason: str) -> None:
    retries = getattr(agent.model, "max_retries", None)
    total = retries + 1 if isinstance(retries, int) else None
    agent.emit(Retrying(attempt=attempt, delay_s=delay, reason=reason, max_attempts=total))


def _loads(text: str) -> dict[str, Any] | str:
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        return text
    return data if isinstance(data, dict) else text
