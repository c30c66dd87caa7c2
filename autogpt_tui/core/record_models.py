"""The step record and the rating event: the pydantic models stored as git notes.

They live apart from :mod:`autogpt_tui.core.records` (which re-exports them) because
importing pydantic and building these models costs about a fifth of a second, which
`autogpt-tui log` and `--help` need not pay: listing steps reads trailers and ratings
only (see ``records.effective_rating_of_note``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from autogpt_tui.core.records import RatingSource


class Usage(BaseModel):
    """Token usage of one model request (or a step's sum of them)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated: bool = False
    """True when the server sent no usage and the counts are our estimate."""
    cached_tokens: int = 0
    """Prompt tokens the server read from its prompt cache (part of ``prompt_tokens``)."""


class RejectedProposal(BaseModel):
    """A proposal the user rejected, kept in the record of the step approved after it."""

    model_config = ConfigDict(extra="ignore")

    tool: str = ""
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    thought: str = ""
    call_id: str | None = None
    reason: str = ""


class RejectedHunk(BaseModel):
    """A hunk of a file edit the user left out when approving the rest of it."""

    model_config = ConfigDict(extra="ignore")

    index: int = 0
    """Its place among the proposal's hunks, from 0."""
    header: str = ""
    """Its ``@@ -a,b +c,d @@`` line."""
    diff: str = ""
    """The hunk as unified diff text (header and body), as the model was shown it."""


CallOutcome = Literal["ran", "rejected", "error", "left_out"]
"""What became of one call of a reply: it ran; the user rejected it; its arguments were
refused before it could run; or it was not run (one write or command a step, or an
earlier call of the reply was rejected)."""


class CallRecord(BaseModel):
    """One tool call of a step's reply, when the step's reply held several, and what the
    model was told about it (its tool message)."""

    model_config = ConfigDict(extra="ignore")

    tool: str = ""
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    """The parsed arguments, or the raw text when they were not a JSON object."""
    call_id: str = ""
    observation: str = ""
    """The tool message the model got back for this call."""
    ok: bool = True
    outcome: CallOutcome = "ran"


DelegationOutcome = Literal["finished", "step_cap", "stopped", "budget", "error"]
"""How a delegation ended: the sub-agent called finish; it used its steps without; the
user paused or cancelled; a budget ran out; the model failed."""


class DelegatedStep(BaseModel):
    """One step of a delegated sub-agent: its reply's thought and every call of it."""

    model_config = ConfigDict(extra="ignore")

    thought: str = ""
    calls: list[CallRecord] = Field(default_factory=list)
    """Each call of the reply with what the sub-agent was told of it (empty: the reply
    held no call, and the sub-agent was asked for one)."""
    usage: Usage = Field(default_factory=Usage)
    """The request's tokens (also counted in the parent step's usage)."""


class DelegationRecord(BaseModel):
    """A ``delegate`` step's sub-agent: its task, its steps, and how it ended."""

    model_config = ConfigDict(extra="ignore")

    task: str = ""
    model: str = ""
    max_steps: int = 0
    steps: list[DelegatedStep] = Field(default_factory=list)
    outcome: DelegationOutcome = "finished"
    summary: str = ""
    """The sub-agent's own summary ("" when it gave none)."""


class StepRecord(BaseModel):
    """What the agent thought, did and saw in one step; stored as a git note."""

    # Every field is declared; a field this version does not know (a newer writer's)
    # is dropped on read rather than failing the whole record.
    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    thought: str = ""
    tool: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)
    tool_call_id: str | None = None
    observation: str = ""
    usage: Usage = Field(default_factory=Usage)
    session: str = ""
    """The session the step belongs to (also in the commit's trailers)."""
    goal: str = ""
    """The goal the agent worked on when it took the step."""
    policy: str = ""
    """The policy arm that proposed the action."""
    model: str = ""
    """The model that proposed the action."""
    ok: bool = True
    """Whether the tool reported success."""
    not_undoable: bool = False
    """The tool acts outside the workspace (an MCP tool that is not closed-world): undoing
    the step reverts its files only, not what it did elsewhere."""
    cost_usd: float = 0.0
    """What the step's model requests cost."""
    rejected: list[RejectedProposal] = Field(default_factory=list)
    """Proposals the user rejected before approving this step's action, oldest first."""
    user_edits: list[str] = Field(default_factory=list)
    """Files the user changed since the previous step (the agent was told)."""
    notes: list[str] = Field(default_factory=list)
    """Messages the loop gave the model before the step (user edits, goal changes, nudges)."""
    user_messages: list[str] = Field(default_factory=list)
    """What the user told the agent in their own words (the TUI's message box) before
    the step's action, oldest first; the model got each as a user message."""
    rejected_hunks: list[RejectedHunk] = Field(default_factory=list)
    """The hunks of the step's file edit the user rejected; the commit holds the others
    (empty when the whole change was approved)."""
    role: str = ""
    """The role of the agent that took the step when several work together (planner,
    coder, reviewer); empty for the single agent."""
    calls: list[CallRecord] = Field(default_factory=list)
    """Every call of the step's reply, in the model's order, when it held more than one
    (several reads, or calls not run); empty for a one-call step (older records too).
    ``tool``, ``arguments``, ``tool_call_id`` and ``observation`` then describe the
    first read, so that a reader that knows only them still sees a valid step."""
    delegation: DelegationRecord | None = None
    """A ``delegate`` step's sub-agent steps (None for every other step, older records
    too); the parent's own conversation holds only the call and its summary."""


class RatingEvent(BaseModel):
    """One rating given to a step; a step's events are kept, the latest one wins."""

    value: float
    comment: str | None = None
    source: RatingSource = "user"
    """Who rated: the user explicitly, an implicit signal (reject, undo, check), or a
    reviewer agent (kept beside the user's rating, never in its place)."""
    model: str | None = None
    """The model that gave the rating (a reviewer's); absent from older notes."""
    at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
