"""Typed events the agent loop emits.

The loop never imports the UI: it calls one ``emit(event)`` callback with these plain
dataclasses. The TUI turns them into Textual messages; ``autogpt-tui run --json`` prints
``event.to_json()`` one per line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

Status = Literal["idle", "thinking", "waiting", "running", "paused", "done", "error", "budget"]
"""What the agent is doing: the goal panel's status line.

A run that ends leaves a status saying how: ``done`` (the agent called finish),
``error`` (the model kept failing, git refused, the agent went round in circles),
``budget`` (a budget ran out), ``paused`` (the user paused it) or ``idle`` (it took
the steps it was asked for, or the user stopped it)."""

Outcome = Literal["finished", "stepped", "budget", "cancelled", "paused", "error", "loop"]
"""Why a run stopped ("stepped": it took the number of steps it was asked for)."""


@dataclass(frozen=True)
class Event:
    """Base of every event; ``type`` names it in JSON output."""

    type: ClassVar[str] = "event"

    def to_json(self) -> dict[str, Any]:
        """The event as one JSON object with its ``type``."""
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class PendingAction:
    """One action the model proposed: a tool call waiting to be approved or run."""

    step: int
    tool: str
    arguments: dict[str, Any]
    call_id: str
    thought: str = ""
    needs_approval: bool = False
    """True when the approval mode makes this action wait for the user."""
    kind: str = ""
    """The tool's kind: read, edit, command, ask or finish."""
    preview: Any = None
    """For write_file and edit_file, the change as proposed (a ``FilePreview``): what the
    user approves, and what the file must still hold when the action runs."""
    permission: str = ""
    """What a permission rule decided: allow, ask or deny ("" when none matched)."""
    rule: str = ""
    """That rule and where it is written, in words ("" when none matched)."""
    note: str = ""
    """What approving it lets run beyond the call itself, in words ("" for most tools;
    a delegation: "runs up to 8 read-only steps without asking")."""
    not_undoable: bool = False
    """The tool acts outside the workspace (an MCP tool): undo cannot take that back."""


@dataclass(frozen=True)
class StatusChanged(Event):
    """The agent's status changed."""

    type: ClassVar[str] = "status"
    status: Status


@dataclass(frozen=True)
class Notice(Event):
    """Something the user should know that is not an error (e.g. no sandbox)."""

    type: ClassVar[str] = "notice"
    message: str


@dataclass(frozen=True)
class CommandsNeedApproval(Notice):
    """Every command waits for the user's approval, whatever the mode; ``message`` says
    why (no sandbox here can keep the API key from a command)."""

    type: ClassVar[str] = "commands_need_approval"


@dataclass(frozen=True)
class RuleAdded(Notice):
    """The user chose "always allow": ``message`` says which rules went into which file."""

    type: ClassVar[str] = "rule_added"


@dataclass(frozen=True)
class ProjectNotesRead(Event):
    """The project's instruction files now in the prompt (AGENTS.md, …), in prompt
    order; sent at start and whenever they change. ``skipped`` says, a sentence each,
    which files were left out and why (not UTF-8, ignored by git, …)."""

    type: ClassVar[str] = "project_notes"
    files: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    truncated: bool = False


@dataclass(frozen=True)
class CostUnenforceable(Notice):
    """A cost budget is set but the model has no known price: the budget cannot stop
    anything and the cost reads $0. ``message`` says so in one sentence."""

    type: ClassVar[str] = "cost_unenforceable"
    model: str = ""


@dataclass(frozen=True)
class ThoughtDelta(Event):
    """A piece of the model's text as it streams in.

    ``reasoning`` marks the model's reasoning (sent apart from its answer by reasoning
    models): shown muted, never part of the thought that goes with the action.
    """

    type: ClassVar[str] = "thought_delta"
    step: int
    text: str
    reasoning: bool = False


@dataclass(frozen=True)
class ThoughtReset(Event):
    """The streamed text so far is void (the stream was cut short and is retried)."""

    type: ClassVar[str] = "thought_reset"
    step: int


@dataclass(frozen=True)
class ThoughtEnded(Event):
    """The model's reply for step ``step`` is complete: the text it streams next (after
    a rejection, a malformed call or a reply without a call) is a thought of its own."""

    type: ClassVar[str] = "thought_end"
    step: int


@dataclass(frozen=True)
class ActionProposed(Event):
    """The model proposed an action."""

    type: ClassVar[str] = "action_proposed"
    action: PendingAction


@dataclass(frozen=True)
class ApprovalWanted(Event):
    """The action waits for the user's approval (per the mode)."""

    type: ClassVar[str] = "approval_wanted"
    action: PendingAction


@dataclass(frozen=True)
class ActionRejected(Event):
    """The user (or the mode, headless) rejected an action; it was not executed."""

    type: ClassVar[str] = "action_rejected"
    action: PendingAction
    reason: str


@dataclass(frozen=True)
class ActionExecuted(Event):
    """An action ran; ``ok`` is False when the tool reported an error to the model."""

    type: ClassVar[str] = "executed"
    action: PendingAction
    ok: bool
    output: str
    changed_paths: list[str] | None = None


@dataclass(frozen=True)
class DelegationStarted(Event):
    """Step ``step``'s ``delegate`` call started a read-only sub-agent on ``task``.

    The sub-agent's own work comes as ``DelegatedCall`` events, never as the parent's
    step events: it is part of step ``step``, which stays one commit."""

    type: ClassVar[str] = "delegation_started"
    step: int
    task: str
    max_steps: int


@dataclass(frozen=True)
class DelegatedCall(Event):
    """A call of the sub-agent of step ``step`` (its ``sub_step``-th reply) ran or was
    refused; ``output`` is what the sub-agent was told."""

    type: ClassVar[str] = "delegated_call"
    step: int
    sub_step: int
    tool: str
    arguments: dict[str, Any]
    ok: bool
    output: str


@dataclass(frozen=True)
class DelegationEnded(Event):
    """The sub-agent of step ``step`` ended (``outcome``, see ``DelegationOutcome``)
    after ``sub_steps`` replies; its summary is the delegate call's result."""

    type: ClassVar[str] = "delegation_ended"
    step: int
    sub_steps: int
    outcome: str
    summary: str


@dataclass(frozen=True)
class StepCommitted(Event):
    """A step became a commit."""

    type: ClassVar[str] = "commit"
    sha: str
    step: int
    session: str
    tool: str
    policy: str
    summary: str


@dataclass(frozen=True)
class UserEditsCommitted(Event):
    """The user's own edits since the last step were committed before this step."""

    type: ClassVar[str] = "user_edits"
    sha: str
    paths: list[str]


@dataclass(frozen=True)
class QuestionAsked(Event):
    """The agent asked the user a question (``ask_user``) and waits for the answer."""

    type: ClassVar[str] = "question"
    step: int
    question: str


@dataclass(frozen=True)
class UserMessageRead(Event):
    """The user's own message went to the model, with the request for ``step``."""

    type: ClassVar[str] = "user_message"
    step: int
    text: str


@dataclass(frozen=True)
class UsageUpdated(Event):
    """Token use and cost so far in this session, after a model request."""

    type: ClassVar[str] = "usage"
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    estimated: bool = False
    cached_tokens: int = 0
    """Of the prompt tokens so far, those the server read from its prompt cache."""


@dataclass(frozen=True)
class Retrying(Event):
    """A model request failed in a way worth retrying; the loop waits ``delay_s`` seconds
    and tries again.

    ``attempt`` counts the retries (1 for the first), so the request about to be made is
    attempt ``attempt + 1`` of ``max_attempts`` (None when the client does not say)."""

    type: ClassVar[str] = "retrying"
    attempt: int
    delay_s: float
    reason: str
    max_attempts: int | None = None


@dataclass(frozen=True)
class TokensStreamed(Event):
    """The model's answer to step ``step`` is streaming in: about ``tokens`` tokens of
    it so far in this request (estimated from the text, reasoning and tool arguments
    received; reported as it grows, not for every piece)."""

    type: ClassVar[str] = "tokens"
    step: int
    tokens: int


@dataclass(frozen=True)
class ErrorOccurred(Event):
    """An error the user should see; the workspace stays consistent."""

    type: ClassVar[str] = "error"
    message: str


@dataclass(frozen=True)
class SessionStarted(Event):
    """The loop works in this session from now on: as it starts (a new session or one
    resumed), and after the user set a new goal or picked another session."""

    type: ClassVar[str] = "session"
    session: str
    goal: str
    resumed: bool
    """It has steps already (its numbering goes on after ``last_step``)."""
    steps: int
    """Its steps in force: what the step budget counts."""
    last_step: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    replaces: str | None = None
    """The session the loop worked in before (None as the loop starts)."""


@dataclass(frozen=True)
class Finished(Event):
    """The run stopped; ``outcome`` says why."""

    type: ClassVar[str] = "finished"
    outcome: Outcome
    message: str
    steps: int = 0
    summary: str | None = None
