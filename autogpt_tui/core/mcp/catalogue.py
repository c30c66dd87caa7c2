"""What the model is offered of the MCP servers' tools: names, kinds and schemas.

A tool ``search`` of the server ``docs`` is offered as ``mcp__docs__search``. OpenAI's
function names must match ``^[a-zA-Z0-9_-]{1,64}$``, so any other character becomes ``_``
and a long name is cut, ending in a short hash of the full name; two tools that come out
the same are told apart by ``_2``, ``_3``, … in the order their servers are declared and
their tools listed, so the names stay the same from one session to the next.

The tool's annotations decide how it is approved (MCP's defaults when a hint is absent:
readOnlyHint false, destructiveHint true, openWorldHint true):

* ``readOnlyHint`` → **read**;
* ``destructiveHint`` false and ``openWorldHint`` false (it only changes the workspace)
  → **edit**;
* anything else → **command** (asks in step and edits modes).

A tool that is not read-only and not closed-world acts outside the workspace: undoing its
step cannot take that back, so it is marked *not undoable*.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from autogpt_tui.core.constants import ToolKind

__all__ = ["NOT_UNDOABLE", "PREFIX", "McpTool", "is_mcp_name", "kind_of", "offered_names"]

PREFIX = "mcp__"
"""What every MCP tool's offered name starts with."""
NOT_UNDOABLE = "not undoable: it acts outside the workspace, where undo cannot reach"
"""What the approval card and ``show`` say of a step whose tool acts outside the workspace."""
_MAX_NAME = 64
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")


def is_mcp_name(name: str) -> bool:
    """Whether ``name`` is an MCP tool's offered name."""
    return name.startswith(PREFIX)


def kind_of(
    read_only: bool | None, destructive: bool | None, open_world: bool | None
) -> tuple[ToolKind, bool]:
    """The approval kind of a tool with these hints (None: absent), and whether it is not
    undoable (acts outside the workspace)."""
    if read_only is True:
        return "read", False
    outside = open_world is not False  # absent means open-world
    if destructive is False and not outside:
        return "edit", False
    return "command", outside


@dataclass(frozen=True)
class McpTool:
    """One tool of one server, as the model is offered it."""

    server: str
    tool: str
    """The tool's name on its server."""
    name: str
    """The name offered to the model (``mcp__SERVER__TOOL``, sanitised)."""
    description: str
    input_schema: dict[str, Any] = field(default_factory=dict)
    kind: ToolKind = "command"
    not_undoable: bool = True

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-calling entry for this tool."""
        parameters = copy.deepcopy(self.input_schema) or {"type": "object", "properties": {}}
        parameters.pop("title", None)  # noise for the model, as for the built-in tools
        parameters.setdefault("type", "object")
        if parameters.get("type") == "object":
            parameters.setdefault("properties", {})
        description = self.description or f"The {self.tool} tool of the MCP server {self.server}."
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": f"[MCP server {self.server}] {description}",
                "parameters": parameters,
            },
        }


def _sanitised(server: str, tool: str) -> str:
    raw = f"{PREFIX}{server}__{tool}"
    name = _NOT_ALLOWED.sub("_", raw)
    if len(name) > _MAX_NAME:
        tag = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:8]
        name = f"{name[: _MAX_NAME - 9]}_{tag}"
    return name


def offered_names(pairs: Iterable[tuple[str, str]], taken: Iterable[str] = ()) -> list[str]:
    """The offered name of each (server, tool), in order, unique and OpenAI-valid.

    ``taken`` are names already in use (the built-in tools)."""
    used = set(taken)
    names: list[str] = []
    for server, tool in pairs:
        base = _sanitised(server, tool)
        name, n = base, 1
        while name in used:
            n += 1
            suffix = f"_{n}"
            name = base[: _MAX_NAME - len(suffix)] + suffix
        used.add(name)
        names.append(name)
    return names
