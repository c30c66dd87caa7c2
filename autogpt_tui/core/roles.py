"""The agents' roles: what ``[[agents]]`` tables say, validated.

Several agents work on one goal only when the user asks for them (``--agents``): a
planner writes a checklist of subgoals, a coder works on one subgoal at a time, and a
reviewer rates the coder's steps. Each role is an :class:`AgentRole`: a name, the role
it plays, its prompt, its model, the tools it may use and its own policy arms. Without
``[[agents]]`` in any config file the three defaults below apply.

The planner and the reviewer are read-only: their tools may only read (``finish`` is
always theirs, it is how they hand back a plan or a verdict). A workspace's config file
may narrow a role's tools, never widen them (``core/settings_trust.py``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from autogpt_tui.core.tool_calls import TOOLS

__all__ = [
    "READ_ONLY_TOOLS",
    "ROLES",
    "AgentRole",
    "RoleArm",
    "RoleName",
    "default_roles",
    "narrow_role_tools",
]

RoleName = Literal["planner", "coder", "reviewer"]
"""What an agent does in a team: plan, write code, or review."""

ROLES: tuple[RoleName, ...] = ("planner", "coder", "reviewer")

READ_ONLY_TOOLS: tuple[str, ...] = tuple(
    name for name, spec in TOOLS.items() if spec.kind == "read"
)
"""The tools that only read the workspace: all a planner or a reviewer may be given."""
DEFAULT_READER_TOOLS: tuple[str, ...] = tuple(t for t in READ_ONLY_TOOLS if t != "delegate")
"""The planner's and the reviewer's tools unless their config lists others: the reads,
without ``delegate`` (a sub-agent of a sub-agent's worth of requests, for a role that
only looks); a config may still give it to them."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

PLANNER_PROMPT = (
    "You are the planner of a team of agents. Read what you need of the workspace, then "
    "call finish with the plan as its summary: a checklist of small subgoals, one per "
    "line, each line starting with '- [ ] '. Do not change any file."
)
CODER_PROMPT = (
    "You are the coder of a team of agents. Work only on the current subgoal you are "
    "given; call finish with a one-line summary when that subgoal is done."
)
REVIEWER_PROMPT = (
    "You are the reviewer of a team of agents. Look at the change you are shown (read "
    "files if you need to), then call finish with a summary that starts with your rating, "
    "+1, 0 or -1, followed by a one-line reason. Do not change any file."
)


class RoleArm(BaseModel):
    """One of a role's own policy arms (like ``[[policy.arms]]``, for this role only)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """Short name, recorded in the step's Agent-Policy trailer."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature; None leaves the server's default."""
    instructions: str = ""
    """Extra instructions after the role's prompt."""

    @field_validator("name")
    @classmethod
    def _is_short_name(cls, value: str) -> str:
        return short_name(value)


def short_name(value: str) -> str:
    """``value`` when it can name an agent or an arm in a trailer; else ValueError."""
    if not _NAME.fullmatch(value):
        raise ValueError(
            "must be letters, digits, '.', '_' or '-', starting with a letter or digit"
            f" (got {value!r})"
        )
    return value


class AgentRole(BaseModel):
    """One ``[[agents]]`` table: an agent of the team and what it may do."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """What the user calls it (``--agents planner,coder,reviewer`` names these)."""
    role: RoleName
    """planner, coder or reviewer: what it does in the orchestration."""
    prompt: str = ""
    """The role's prompt, added to the system prompt; empty: the role's built-in prompt."""
    model: str | None = None
    """Model for this agent instead of model.model; None means model.model."""
    tools: list[str] | None = None
    """The tools it may use; None: all for a coder, the read-only ones otherwise."""
    arms: list[RoleArm] = Field(default_factory=list)
    """Its own policy arms; empty: one arm named after the agent."""

    @field_validator("name")
    @classmethod
    def _is_short_name(cls, value: str) -> str:
        return short_name(value)

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, tools: list[str] | None) -> list[str] | None:
        if tools is None:
            return None
        unknown = [name for name in tools if name not in TOOLS]
        if unknown:
            raise ValueError(f"names an unknown tool {unknown[0]!r} (known: {', '.join(TOOLS)})")
        return list(dict.fromkeys(tools))

    @model_validator(mode="after")
    def _read_only_roles(self) -> AgentRole:
        # A planner or reviewer that could write would commit changes nobody reviews.
        if self.role != "coder" and self.tools is not None:
            writes = [t for t in self.tools if t not in READ_ONLY_TOOLS and t != "finish"]
            if writes:
                raise ValueError(
                    f"a {self.role} may only use read-only tools ({', '.join(READ_ONLY_TOOLS)}),"
                    f" not {writes[0]!r}"
                )
        names = [arm.name for arm in self.arms]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise ValueError(f"arms must have unique names ({twice!r} appears twice)")
        return self

    def allowed_tools(self) -> tuple[str, ...]:
        """The tools this agent may call, ``finish`` always among them."""
        if self.tools is not None:
            chosen = self.tools
        elif self.role == "coder":
            chosen = list(TOOLS)
        else:
            chosen = list(DEFAULT_READER_TOOLS)
        return tuple(dict.fromkeys([*chosen, "finish"]))

    def role_prompt(self) -> str:
        """The text the system prompt gets for this role."""
        if self.prompt.strip():
            return self.prompt.strip()
        return {"planner": PLANNER_PROMPT, "coder": CODER_PROMPT, "reviewer": REVIEWER_PROMPT}[
            self.role
        ]


def default_roles() -> list[AgentRole]:
    """The three agents used when no config file has ``[[agents]]``."""
    return [
        AgentRole(name="planner", role="planner"),
        AgentRole(name="coder", role="coder"),
        AgentRole(name="reviewer", role="reviewer"),
    ]


def narrow_role_tools(
    theirs: list[AgentRole], mine: list[AgentRole]
) -> tuple[list[AgentRole], list[str]]:
    """A workspace's roles with no tool beyond what the user's own config allows.

    A role the user has (by name) keeps at most the user's tools for it; a new role gets
    at most the tools the user's agents of the same role have (read-only when none).
    Returns the narrowed roles and one sentence per tool taken away.
    """
    by_name = {role.name: role for role in mine}
    warnings: list[str] = []
    narrowed: list[AgentRole] = []
    for role in theirs:
        same = by_name.get(role.name)
        if same is not None and same.role == role.role:
            allowed = set(same.allowed_tools())
        else:
            kin = [r for r in mine if r.role == role.role]
            allowed = {t for r in kin for t in r.allowed_tools()} or {
                *READ_ONLY_TOOLS,
                "finish",
            }
        wanted = role.allowed_tools()
        extra = [t for t in wanted if t not in allowed]
        if extra:
            warnings.append(
                f"Ignored tools {', '.join(extra)} of agent {role.name!r} in the workspace's "
                "config: a workspace's config cannot give a role more tools than yours."
            )
            role = role.model_copy(update={"tools": [t for t in wanted if t in allowed]})
        narrowed.append(role)
    return narrowed, warnings
