"""The MCP servers an editor passes with ``session/new`` and ``session/load``.

Zed and other ACP clients hand the agent the MCP servers their user configured in the
editor. They join the servers of the user's own config for that session, as if declared
in ``[[mcp.servers]]``: started with the session, approved by their tools' annotations,
their env and header values masked like any secret. The user's own config wins a name
both declare. This agent speaks stdio and streamable HTTP to MCP servers, not the older
SSE transport, and says so in ``initialize``; an SSE server passed anyway is left out
with one line in the log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from acp.schema import HttpMcpServer, McpServerStdio

if TYPE_CHECKING:
    from autogpt_tui.core.mcp.config import McpServerConfig
    from autogpt_tui.core.settings import Settings

log = logging.getLogger(__name__)

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_NAME_MAX = 32


def editor_servers(servers: Iterable[Any], taken: Iterable[str] = ()) -> list[McpServerConfig]:
    """The editor's servers as ``[[mcp.servers]]`` entries, named to fit (an editor's
    "Context 7" becomes ``Context-7``) and unique; one named as one of ``taken`` (the
    user's own config's) is left out: the user's own declaration wins."""
    from autogpt_tui.core.mcp.config import McpServerConfig

    own = set(taken)
    used: set[str] = set()
    configs: list[McpServerConfig] = []
    for server in servers:
        fitted = _NOT_IN_NAME.sub("-", str(server.name)).strip("-")[:_NAME_MAX] or "editor"
        if fitted in own:
            log.warning(
                "Left out the editor's MCP server %r: your config declares %r already.",
                server.name,
                fitted,
            )
            continue
        name = _unique(fitted, used)
        if isinstance(server, McpServerStdio):
            config = McpServerConfig(
                name=name,
                command=server.command,
                args=list(server.args),
                env={variable.name: variable.value for variable in server.env},
            )
        elif isinstance(server, HttpMcpServer):
            config = McpServerConfig(
                name=name,
                url=server.url,
                headers={header.name: header.value for header in server.headers},
            )
        else:
            log.warning(
                "Left out the editor's MCP server %r: only stdio and streamable HTTP servers"
                " are spoken to, not SSE.",
                server.name,
            )
            continue
        used.add(name)
        configs.append(config)
    return configs


def with_editor_servers(settings: Settings, servers: list[Any]) -> Settings:
    """``settings`` with the editor's servers after the user's own (whose names win)."""
    if not servers:
        return settings
    from autogpt_tui.core.mcp.config import McpSettings

    own = settings.mcp.servers
    mine = {server.name for server in own}
    extra = editor_servers(servers, taken=mine)
    return settings.model_copy(update={"mcp": McpSettings(servers=[*own, *extra])})


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        suffix = f"_{n}"
        candidate = name[: _NAME_MAX - len(suffix)] + suffix
    return candidate
