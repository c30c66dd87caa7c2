"""``autogpt-tui mcp list [WORKSPACE] [--json]``: the MCP servers and the tools they offer.

Each enabled server is started, asked for its tools and stopped again, so what is listed
is what a session would offer the model: each tool's offered name, how it is approved,
whether undo can take back what it does, and its description. A server that fails is one
sentence; the exit status is still 0 when the config is valid (a bad config: 1).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from autogpt_tui.cli.common import Command, open_history, workspace_argument
from autogpt_tui.core.constants import EXIT_OK
from autogpt_tui.core.records import escape_surrogates


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "List the MCP servers of your config ([[mcp.servers]]; a workspace's own only once "
        "trusted) and the tools each offers the agent: the name the model sees, the approval "
        "kind (read, edit or command), whether undo can take it back, and its description."
    )
    parser.add_argument("action", choices=["list"], help="what to do (list)")
    workspace_argument(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object")


def cmd_mcp(options: argparse.Namespace) -> int:
    """``mcp list [WORKSPACE] [--json]``."""
    from autogpt_tui.core.mcp.hub import McpHub
    from autogpt_tui.core.settings import load_settings
    from autogpt_tui.core.tool_calls import TOOLS

    with open_history(options.workspace) as history:
        root = history.root
    settings = load_settings(root)
    servers = settings.mcp.servers
    with McpHub(servers, root, taken=tuple(TOOLS)) as hub:
        hub.start()
        listing = _listing(hub, servers)
    ignored = [w for w in settings.warnings if "mcp" in w]
    if options.json:
        print(json.dumps({"servers": listing, "ignored": ignored}, indent=2))
    else:
        print("\n".join(escape_surrogates(line) for line in _lines(listing, ignored)))
    return EXIT_OK


def _listing(hub: Any, servers: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for config in servers:
        state = hub.states.get(config.name)
        where = config.url if config.url is not None else " ".join([config.command, *config.args])
        entry: dict[str, Any] = {
            "name": config.name,
            "transport": config.transport,
            "target": where,  # header and env values are never shown: they hold tokens
            "enabled": config.enabled,
            "error": state.error if state is not None else None,
            "tools": [
                {
                    "name": tool.name,
                    "tool": tool.tool,
                    "kind": tool.kind,
                    "not_undoable": tool.not_undoable,
                    "description": tool.description,
                }
                for tool in hub.tools.values()
                if tool.server == config.name
            ],
        }
        out.append(entry)
    return out


def _lines(listing: list[dict[str, Any]], ignored: list[str]) -> list[str]:
    lines: list[str] = []
    if not listing:
        lines.append("No MCP servers are declared ([[mcp.servers]] in your config).")
    for server in listing:
        head = f"{server['name']} ({server['transport']}: {server['target']})"
        if not server["enabled"]:
            lines.append(f"{head}: disabled")
            continue
        if server["error"]:
            lines.append(f"{head}: {server['error']}")
            continue
        count = len(server["tools"])
        lines.append(f"{head}: {count} tool{'s' if count != 1 else ''}")
        width = max((len(t["name"]) for t in server["tools"]), default=0)
        for tool in server["tools"]:
            flag = "not undoable" if tool["not_undoable"] else ""
            first = (tool["description"].splitlines() or [""])[0]
            lines.append(
                f"  {tool['name']:<{width}}  {tool['kind']:<7}  {flag:<12}  {first}".rstrip()
            )
    lines += ignored
    return lines


COMMANDS = (Command("mcp", _arguments, cmd_mcp),)
