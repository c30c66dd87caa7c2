"""Helpers for tests of the MCP client: the test server as a configured server."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from autogpt_tui.core.mcp.config import McpServerConfig

SERVER_SCRIPT = Path(__file__).with_name("mcp_server.py")
"""The stdio MCP server of the tests (tests/support/mcp_server.py)."""


def server_config(name: str = "tools", *, timeout: float = 10.0, **extra: Any) -> McpServerConfig:
    """The test server, started with this Python, as ``[[mcp.servers]]`` would declare it."""
    return McpServerConfig(
        name=name, command=sys.executable, args=[str(SERVER_SCRIPT)], timeout=timeout, **extra
    )


def server_toml(name: str = "tools", *, timeout: float = 10.0, extra: str = "") -> str:
    """The same as a TOML table."""
    return (
        f'[[mcp.servers]]\nname = "{name}"\ncommand = {sys.executable!r}\n'.replace("'", '"')
        + f'args = ["{SERVER_SCRIPT}"]\n'
        + f"timeout = {timeout}\n"
        + extra
    )


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        return "zombie" not in status.read_text().lower()
    return True
