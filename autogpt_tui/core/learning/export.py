"""Ratings as fine-tuning data: OpenAI chat (SFT) and preference (DPO) JSONL.

Approved and not rated-down steps export as chat fine-tuning lines (:func:`export_sft`);
rejected proposals and rated-down steps, against what was done (or rated up) in their
place at the same point of the conversation, as preference pairs (:func:`export_dpo`).
Every line is validated against its pydantic model (:class:`SFTLine`, :class:`DPOLine`)
before it is written.

Each example says which source of ratings it rests on, in a top-level ``"metadata":
{"source": "user" | "reviewer"}``: ``user`` for the user's approval, ratings, undos and
rejections (and the configured check), ``reviewer`` when a reviewer agent's rating of a
step the user did not rate decides it. ``source`` picks which are written: ``user`` (the
default: a reviewer model's opinions never become training data unasked, and the
examples are those written before reviewers existed), ``reviewer``, or ``all`` (every
rating counts, the user's first). OpenAI's documented line format lists no ``metadata``
key; other fine-tuning services take one (a string-to-string map), and it is one
``jq -c 'del(.metadata)'`` away from the bare format.

Exports never carry a secret: every string is scrubbed of the given secrets, of
``$OPENAI_API_KEY``, of the parent environment's other values and of anything that looks
like a credential (:mod:`autogpt_tui.core.redact`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autogpt_tui.core.conversation import SYSTEM_PROMPT, step_messages
from autogpt_tui.core.history import UNDONE_REFS, History
from autogpt_tui.core.records import TRAILER_REDO, TRAILER_UNDO, RejectedProposal, StepCommit
from autogpt_tui.core.redact import Redactor
from autogpt_tui.core.tools import tool_schemas

ExportSource = Literal["user", "reviewer", "all"]
"""Which ratings an export rests on: the user's, a reviewer agent's, or both."""
EXPORT_SOURCES: tuple[ExportSource, ...] = ("user", "reviewer", "all")

_SECRET_ENV = ("OPENAI_API_KEY",)
"""Environment variables whose values are scrubbed from exports even if not passed in."""


# ------------------------------------------------------------ export formats


class FunctionCall(BaseModel):
    """The function a tool call names, with its arguments as a JSON string."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    arguments: str

    @model_validator(mode="after")
    def _arguments_are_json(self) -> FunctionCall:
        try:
            json.loads(self.arguments)
        except ValueError as err:
            raise ValueError(f"arguments of {self.name} are not JSON: {err}") from None
        return self


class ToolCall(BaseModel):
    """One tool call of an assistant turn."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    type: Literal["function"]
    function: FunctionCall


class ChatMessage(BaseModel):
    """One chat message of a fine-tuning example (Chat Completions shape)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    weight: Literal[0, 1] | None = None
    """Assistant turns only: 0 keeps the turn out of training (it is context)."""

    @model_validator(mode="after")
    def _fields_fit_role(self) -> ChatMessage:
        if self.role in ("system", "user") and (
            self.content is None or self.tool_calls or self.tool_call_id
        ):
            raise ValueError(f"a {self.role} message has text content only")
        if self.role == "tool" and (self.content is None or not self.tool_call_id):
            raise ValueError("a tool message needs content and tool_call_id")
        if self.role == "assistant":
            if self.content is None and not self.tool_calls:
                raise ValueError("an assistant message needs content or tool_calls")
            if self.tool_call_id:
                raise ValueError("an assistant message has no tool_call_id")
        elif self.weight is not None:
            raise ValueError("only assistant messages have a weight")
        return self


class FunctionSpec(BaseModel):
    """A function the model may call."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any]
    strict: bool | None = None


class ToolSpec(BaseModel):
    """A tool entry of the ``tools`` list."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["function"]
    function: FunctionSpec


def _check_conversation(messages: Sequence[ChatMessage]) -> None:
    """The conversation starts with system or user, and every tool reply answers a call."""
    if not messages or messages[0].role not in ("system", "user"):
        raise ValueError("the conversation starts with a system or user message")
    open_calls: set[str] = set()
    for message in messages:
        if message.role == "assistant":
            open_calls |= {call.id for call in message.tool_calls or []}
        elif message.role == "tool":
            if message.tool_call_id not in open_calls:
                raise ValueError(f"tool message answers unknown call {message.tool_call_id!r}")
            open_calls.discard(message.tool_call_id)


class SFTLine(BaseModel):
    """One line of OpenAI chat fine-tuning JSONL: a conversation ending in the target."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=2)
    tools: list[ToolSpec] | None = None
    parallel_tool_calls: bool | None = None
    metadata: dict[str, str] | None = None
    """Where the example comes from: ``{"source": "user" | "reviewer"}``."""

    @model_validator(mode="after")
    def _ends_with_the_target(self) -> SFTLine:
        _check_conversation(self.messages)
        last = self.messages[-1]
        if last.role != "assistant" or last.weight == 0:
            raise ValueError("the last message is the assistant turn trained on")
        return self


class DPOInput(BaseModel):
    """The prompt of a preference pair."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[ToolSpec] | None = None
    parallel_tool_calls: bool | None = None

    @model_validator(mode="after")
    def _is_a_conversation(self) -> DPOInput:
        _check_conversation(self.messages)
        if self.messages[-1].role == "assistant":
            raise ValueError("the input ends where the assistant is to answer")
        if any(m.weight is not None for m in self.messages):
            raise ValueError("preference inputs carry no weights")
        return self


def _one_assistant_turn(messages: list[ChatMessage]) -> list[ChatMessage]:
    if len(messages) != 1 or messages[0].role != "assistant" or messages[0].weight is not None:
        raise ValueError("an output is exactly one assistant message, without weight")
    return messages


class DPOLine(BaseModel):
    """One line of OpenAI preference (DPO) fine-tuning JSONL."""

    model_config = ConfigDict(extra="forbid")

    input: DPOInput
    preferred_output: list[ChatMessage]
    non_preferred_output: list[ChatMessage]
    metadata: dict[str, str] | None = None
    """Where the pair comes from: ``{"source": "user" | "reviewer"}``."""

    @model_validator(mode="after")
    def _outputs_are_assistant_turns(self) -> DPOLine:
        _one_assistant_turn(self.preferred_output)
        _one_assistant_turn(self.non_preferred_output)
        if self.preferred_output == self.non_preferred_output:
            raise ValueError("the two outputs are the same")
        return self


# ------------------------------------------------------------------ export


def _scrubber(secrets: Sequence[str]) -> Redactor:
    """The secrets named, ``$OPENAI_API_KEY`` and the parent environment's other values,
    plus everything that looks like a credential."""
    named = [*secrets, *(os.environ.get(name) for name in _SECRET_ENV)]
    return Redactor(named, environ=os.environ)


class _Link:
    """A cell of an immutable list of step shas, newest first (shared between commits)."""

    __slots__ = ("next", "sha")

    def __init__(self, sha: str, next: _Link | None) -> None:
        self.sha = sha
        self.next = next


@dataclass
class _Point:
    """The conversation state at a commit: its steps (newest first) less undone ones."""

    chain: _Link | None = None
    removed: frozenset[str] = frozenset()


@dataclass
class _Timeline:
    """Every step with its record, and the conversation each was taken in."""

    steps: dict[str, StepCommit] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    """Step shas, oldest first (parents before children)."""
    position: dict[str, int] = field(default_factory=dict)
    points: dict[str, _Point] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    session_start: dict[str, int] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)
    """Steps in effect at HEAD (on the branch and not undone)."""

    @classmethod
    def read(cls, history: History) -> _Timeline:
        """One ``git log`` over the branch and the undone steps, records included."""
        line = cls()
        entries = list(
            history.log_entries("--topo-order", "HEAD", f"--glob={UNDONE_REFS}/*", records=True)
        )
        entries.reverse()  # parents first
        for pos, entry in enumerate(entries):
            parent = entry.parents[0] if entry.parents else None
            line.parents[entry.sha] = parent
            line.position[entry.sha] = pos
            base = line.points.get(parent, _Point()) if parent else _Point()
            point = base
            step = entry.as_step(undone=False)
            if step is not None:
                line.steps[step.sha] = step
                line.order.append(step.sha)
                line.session_start.setdefault(step.session, pos)
                point = _Point(_Link(step.sha, base.chain), base.removed)
            elif undo := entry.trailers.get(TRAILER_UNDO):
                point = _Point(base.chain, base.removed | {undo})
            elif redo := entry.trailers.get(TRAILER_REDO):
                point = _Point(base.chain, base.removed - {redo})
            line.points[entry.sha] = point
        head = line.points.get(history.head(), _Point())
        line.live = {sha for sha in _walk(head.chain) if sha not in head.removed}
        return line

    def undone(self, sha: str) -> bool:
        return sha not in self.live

    def prefix(self, step: StepCommit) -> list[StepCommit]:
        """The earlier steps of ``step``'s session in its conversation, oldest first.

        As the agent rebuilds its conversation: the nearest run of the session's steps
        before it, without the ones undone by then.
        """
        point = self.points.get(step.parent or "", _Point())
        start = self.session_start.get(step.session, 0)
        found: list[StepCommit] = []
        for sha in _walk(point.chain):
            if self.position[sha] < start:
                break
            other = self.steps[sha]
            if other.session != step.session:
                if found:
                    break
                continue
            if sha not in point.removed:
                found.append(other)
        found.reverse()
        return found


def _walk(chain: _Link | None) -> Iterator[str]:
    while chain is not None:
        yield chain.sha
        chain = chain.next


def _clean(message: dict[str, Any]) -> dict[str, Any]:
    """A chat message without null fields (the export formats omit them)."""
    return {k: v for k, v in message.items() if v is not None}


def _goal_of(step: StepCommit) -> str:
    return step.record.goal if step.record is not None else ""


def _opening(goal: str) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Goal: {goal}"},
    ]


def _history_messages(steps: Sequence[StepCommit]) -> list[dict[str, Any]]:
    # A step without a record (a foreign commit with our trailers) said nothing.
    return [_clean(m) for s in steps if s.record is not None for m in step_messages(s)]


def _note_count(step: StepCommit) -> int:
    return len(step.record.notes) if step.record is not None else 0


def _rejected(step: StepCommit) -> list[RejectedProposal]:
    return list(step.record.rejected) if step.record is not None else []


Basis = tuple[float | None, str]
"""The reward an example rests on, and its source (``user`` or ``reviewer``)."""


def _basis(step: StepCommit, source: ExportSource) -> Basis:
    """What ``step``'s example rests on in an export of ``source``.

    The reviewer decides only a step the user did not rate, clear or undo, and only with
    a +1 or -1 (its 0 says nothing to train on); otherwise the user's signals do.
    """
    review = step.review
    if source != "user" and step.review_counts and review is not None and review.value:
        return review.value, "reviewer"
    return step.reward, "user"


def _approved_for_training(step: StepCommit, line: _Timeline, basis: Basis) -> bool:
    """A step to learn from: not rated down; if undone, rated up by the user; its call
    approved whole.

    A step whose edit the user approved only in part (some hunks rejected) committed
    less than its tool call says: trained on, the call would teach the very hunks the
    user refused, so it is left out whatever its rating. An undone step the user did
    not rate up stays out, whatever a reviewer thought of it.
    """
    if step.record is not None and step.record.rejected_hunks:
        return False
    reward, source = basis
    if reward is not None and reward < 0:
        return False
    if not line.undone(step.sha):
        return True
    return source == "user" and reward is not None and reward > 0


def _wanted(label: str, source: ExportSource) -> bool:
    return source == "all" or label == source


def _write(out: TextIO, data: dict[str, Any]) -> None:
    out.write(json.dumps(data, ensure_ascii=False) + "\n")


def export_sft(
    history: History,
    out: TextIO,
    *,
    secrets: Sequence[str] = (),
    source: ExportSource = "user",
) -> int:
    """Write OpenAI chat fine-tuning JSONL: one line per approved step not rated down.

    Every committed step was approved. Steps rated down are left out, and so are
    undone steps unless rated up (an undo with no rating counts as the user's no), and
    steps whose edit was approved only in part (their call holds hunks the user refused).
    Each line is the conversation up to the step — the system prompt, the goal, the
    session's earlier steps (``conversation.step_messages``) and the notes and rejected
    proposals before it — ending in the step's own assistant tool call, the only turn
    trained on (earlier assistant turns carry ``weight: 0``). Oldest step first.
    Every string is scrubbed of ``secrets``, of ``$OPENAI_API_KEY`` and of anything that
    looks like an API key (each becomes ``[redacted]``). ``source`` picks the examples
    by the ratings they rest on (see the module's docstring). Returns the number of lines.
    """
    scrub = _scrubber(secrets)
    tools = tool_schemas()
    line = _Timeline.read(history)
    count = 0
    for sha in line.order:
        step = line.steps[sha]
        basis = _basis(step, source)
        if not _wanted(basis[1], source):
            continue
        if step.record is None or not _approved_for_training(step, line, basis):
            continue
        messages = _opening(_goal_of(step)) + _history_messages(line.prefix(step))
        own = [_clean(m) for m in step_messages(step)]
        messages += own[: _action_at(own) + 1]  # not its tool results
        for message in messages:
            if message["role"] == "assistant":
                message["weight"] = 0
        messages[-1]["weight"] = 1
        data = scrub.value({"messages": messages, "tools": tools, "metadata": {"source": basis[1]}})
        SFTLine.model_validate(data)
        _write(out, data)
        count += 1
    return count


def export_dpo(
    history: History,
    out: TextIO,
    *,
    secrets: Sequence[str] = (),
    source: ExportSource = "user",
) -> int:
    """Write OpenAI preference fine-tuning JSONL; returns the number of pairs.

    Pairs come from two places:

    - each proposal the user rejected, against the action approved in its place (if that
      step is not rated down, nor undone without being rated up); the input is the
      conversation up to the rejected proposal;
    - steps rated down against steps rated up at the same point: the same session and
      the same conversation before them (a step undone with -1 and the one taken in its
      place rated +1); the input is that conversation (with the steps' notes when both
      had the same).

    Pairs whose two outputs make the same tool call are skipped. Secrets are scrubbed as
    in :func:`export_sft`. A pair rests on the reviewer when either of its steps'
    ratings is a reviewer's; ``source`` picks the pairs as in :func:`export_sft`.
    """
    scrub = _scrubber(secrets)
    tools = tool_schemas()
    line = _Timeline.read(history)
    count = 0

    def emit(
        messages: list[dict[str, Any]],
        preferred: dict[str, Any],
        other: dict[str, Any],
        label: str,
    ) -> None:
        nonlocal count
        if not _wanted(label, source) or _same_action(preferred, other):
            return  # another source's, or nothing to prefer
        data = scrub.value(
            {
                "input": {"messages": messages, "tools": tools},
                "preferred_output": [preferred],
                "non_preferred_output": [other],
                "metadata": {"source": label},
            }
        )
        DPOLine.model_validate(data)
        _write(out, data)
        count += 1

    groups: dict[tuple[str, str], list[tuple[StepCommit, Basis]]] = {}
    for sha in line.order:
        step = line.steps[sha]
        rejected = _rejected(step)
        basis = _basis(step, source)
        reward = basis[0]
        if step.record is None or (reward is None and not rejected):
            continue
        prefix = line.prefix(step)
        base = _opening(_goal_of(step)) + _history_messages(prefix)
        own = [_clean(m) for m in step_messages(step)]
        if rejected and _approved_for_training(step, line, basis):
            notes = _note_count(step)
            for n in range(len(rejected)):
                at = notes + 2 * n
                # The user's rejection decides which is preferred: the user's pair.
                emit(base + own[:at], own[_action_at(own)], own[at], "user")
        if reward is not None:
            # The same point: the same session, and the same steps in its conversation.
            point = hashlib.sha1("".join(p.sha for p in prefix).encode()).hexdigest()
            key = (step.session, point)
            groups.setdefault(key, []).append((step, basis))

    for members in groups.values():
        good = [(s, b[1]) for s, b in members if b[0] is not None and b[0] > 0]
        bad = [(s, b[1]) for s, b in members if b[0] is not None and b[0] < 0]
        for preferred, preferred_by in good:
            base = _opening(_goal_of(preferred)) + _history_messages(line.prefix(preferred))
            ours = [_clean(m) for m in step_messages(preferred)]
            for other, other_by in bad:
                theirs = [_clean(m) for m in step_messages(other)]
                messages = list(base)
                notes = _note_count(preferred)
                if notes and ours[:notes] == theirs[: _note_count(other)]:
                    messages += ours[:notes]
                label = "reviewer" if "reviewer" in (preferred_by, other_by) else "user"
                emit(messages, ours[_action_at(ours)], theirs[_action_at(theirs)], label)
    return count


def _action_at(messages: Sequence[dict[str, Any]]) -> int:
    """Where a step's own assistant turn is in its messages: the last assistant turn (the
    tool results of each of its calls follow it)."""
    return max(i for i, m in enumerate(messages) if m["role"] == "assistant")


def _same_action(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when two assistant turns make the same tool calls with the same arguments."""

    def action(message: dict[str, Any]) -> list[tuple[Any, ...]]:
        out = []
        for call in message.get("tool_calls") or []:
            fn = call["function"]
            try:
                args = json.loads(fn.get("arguments", "null"))
            except ValueError:
                args = fn.get("arguments")
            out.append((fn.get("name"), json.dumps(args, sort_keys=True)))
        return out

    return action(a) == action(b)
