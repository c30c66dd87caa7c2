"""Import the MCP SDK while the user reads the workstation, not at their first step.

A session starts its MCP servers when it opens, at the first ``s``; importing the SDK
for that costs this process about a second (``benchmarks/bench_mcp.py``: the first start
in a process against the next ones). When the config declares servers, the import runs
on a thread after the first frame, as the price lookup does (``cost_warnings``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autogpt_tui.ui.app import WorkstationApp

WARMUP_GROUP = "mcp-warmup"
"""The worker group of the import (none when no server is declared)."""


def warm_mcp_at_launch(app: WorkstationApp) -> None:
    """Import the MCP SDK off the event loop when any enabled server is declared."""
    if not any(server.enabled for server in app.settings.mcp.servers):
        return

    def warm() -> None:
        from autogpt_tui.core.mcp.hub import import_sdk

        import_sdk()

    app.run_worker(warm, thread=True, group=WARMUP_GROUP, exit_on_error=False)
