"""The agent's tools with the MCP servers' tools added: a ToolBackend around ToolRunner.

:class:`McpToolbox` hands the built-in tools to the :class:`ToolRunner` it wraps and
carries out ``mcp__`` calls through the session's :class:`McpHub`, taking what the server
changed in the workspace into the step (``core/mcp/effects.py``). The loop asks it, by the
small functions below, which extra tools there are and how each is approved, so the loop
itself knows nothing of MCP.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from autogpt_tui.core.mcp.catalogue import NOT_UNDOABLE, McpTool, is_mcp_name
from autogpt_tui.core.mcp.config import McpServerConfig, MissingVariable, expand
from autogpt_tui.core.mcp.effects import WorkspaceState, changes_since
from autogpt_tui.core.mcp.hub import McpHub
from autogpt_tui.core.tool_calls import ToolSpec
from autogpt_tui.core.tools import FilePreview, ToolResult, ToolRunner

__all__ = [
    "NOT_UNDOABLE",
    "McpArguments",
    "McpToolbox",
    "extra_schemas",
    "extra_specs",
    "mcp_tool",
    "open_toolbox",
    "role_mcp_tools",
    "server_secrets",
]


class McpArguments(BaseModel):
    """An MCP tool's arguments: any JSON object (the server checks them against its schema)."""

    model_config = ConfigDict(extra="allow")


class McpToolbox:
    """The built-in tools (a :class:`ToolRunner`) and the MCP servers' tools."""

    def __init__(self, runner: ToolRunner, hub: McpHub) -> None:
        self.runner = runner
        self.hub = hub
        self.specs: dict[str, ToolSpec] = {
            name: ToolSpec(name, tool.description, McpArguments, tool.kind)
            for name, tool in hub.tools.items()
        }
        """The MCP tools as the loop parses calls to them."""

    @property
    def before_change(self) -> Callable[[list[str]], None] | None:
        """The runner's hook, called before a tool changes files (see ToolRunner)."""
        return self.runner.before_change

    @before_change.setter
    def before_change(self, hook: Callable[[list[str]], None] | None) -> None:
        self.runner.before_change = hook

    def preview(self, name: str, args: BaseModel) -> FilePreview | None:
        """A file edit's preview (the runner's); None for MCP tools."""
        return None if is_mcp_name(name) else self.runner.preview(name, args)

    def execute(self, name: str, args: Any, *, expected: Any = None) -> ToolResult:
        """Run a built-in tool (the runner) or an MCP tool (its server)."""
        if not is_mcp_name(name):
            return self.runner.execute(name, args, expected=expected)
        if name not in self.hub.tools:
            return ToolResult.failure(f"Unknown tool '{name}'.")
        arguments = args.model_dump() if isinstance(args, BaseModel) else dict(args)
        try:
            before = WorkspaceState(self.runner.root, keep=True)
        except (OSError, subprocess.SubprocessError):
            before = None  # not a repository (tests): the call's changes are not told apart
        ok, output = self.hub.call(name, arguments)
        changed: list[str] | None = []
        if before is not None:
            try:
                changed = changes_since(before, self.runner.before_change)
            except (OSError, subprocess.SubprocessError):
                changed = None  # git failed: the commit takes every change, as for a command
        return ToolResult(ok=ok, output=output, changed_paths=changed, error=None if ok else output)

    def close(self) -> None:
        """Stop the MCP servers."""
        self.hub.close()


def mcp_tool(tools: Any, name: str) -> McpTool | None:
    """The MCP tool offered as ``name`` by ``tools`` (the loop's ToolBackend), if any."""
    if isinstance(tools, McpToolbox):
        return tools.hub.tools.get(name)
    return None


def extra_specs(tools: Any) -> Mapping[str, ToolSpec]:
    """The tools ``tools`` offers beyond the built-in ones (the MCP tools), by name."""
    return tools.specs if isinstance(tools, McpToolbox) else {}


def extra_schemas(tools: Any) -> list[dict[str, Any]]:
    """The OpenAI function-calling entries of those tools."""
    if not isinstance(tools, McpToolbox):
        return []
    return [tool.schema() for tool in tools.hub.tools.values()]


def open_toolbox(
    runner: ToolRunner, servers: list[McpServerConfig], notice: Callable[[str], None]
) -> ToolRunner | McpToolbox:
    """``runner`` with the enabled ``servers``' tools added (``runner`` itself when there
    are none); each server that fails to start is told to ``notice`` in one sentence."""
    if not any(server.enabled for server in servers):
        return runner
    from autogpt_tui.core.tool_calls import TOOLS

    hub = McpHub(servers, runner.root, taken=tuple(TOOLS), max_chars=runner.max_read_chars)
    try:
        for failure in hub.start():
            notice(failure)
    except BaseException:
        hub.close()
        raise
    return McpToolbox(runner, hub)


def server_secrets(servers: list[McpServerConfig]) -> list[str]:
    """The values written in the servers' ``env`` and ``headers`` (tokens, often), so
    that they are masked wherever a step's text goes, as the API key is."""
    values: list[str] = []
    for server in servers:
        for value in [*server.env.values(), *server.headers.values()]:
            try:
                values += expand({"v": value}, "value").values()
            except MissingVariable:
                values.append(value)
    return values


def role_mcp_tools(tools: Any, role: str) -> frozenset[str]:
    """The MCP tools a team role may call: all of them for the coder (the one agent that
    changes things), the read-only ones for the planner and the reviewer."""
    if not isinstance(tools, McpToolbox):
        return frozenset()
    return frozenset(
        name for name, tool in tools.hub.tools.items() if role == "coder" or tool.kind == "read"
    )
