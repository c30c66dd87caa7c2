"""``autogpt-tui serve``: the workstation in a browser.

Each browser connection starts the TUI (``serve_child``) with the flags given here; the
workspace lock lets only one of them work at a time, and a second tab shows the lock's
own sentence instead of a second agent. Everything a user can get wrong (not a git
repository, a bad flag or config, a busy port) is said in one sentence before the
server binds anything.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autogpt_tui.cli.common import Command, UsageError, open_history, workspace_argument
from autogpt_tui.cli.tui_options import team_names, tui_arguments, tui_flags

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Serve the workstation to a web browser: each browser tab starts the TUI on the"
        " workspace (one agent at a time). Binds to 127.0.0.1 unless --host says otherwise;"
        " anyone who can reach the port controls the agent."
    )
    workspace_argument(parser)
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="the address to bind (default: 127.0.0.1, this machine only)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="the port to listen on (default: 8000; 0 picks a free one)",
    )
    tui_arguments(parser)


def cmd_serve(options: argparse.Namespace) -> int:
    """``serve [WORKSPACE] [--host H] [--port P]`` plus the TUI's flags."""
    import asyncio  # here, not at the top: every other subcommand would pay for it

    from autogpt_tui.web.guard import is_loopback
    from autogpt_tui.web.server import PortUnavailable, WorkstationServer

    if not 0 <= options.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {options.port}.")
    if options.goal is not None and not options.goal.strip():
        raise UsageError("The goal must not be empty.")
    if options.worktree:
        # Each tab starts the TUI afresh: --worktree would make a new session (and worktree)
        # per tab. One made beforehand is served by its id, which names its worktree.
        raise UsageError(
            "serve starts the TUI for each browser tab, so --worktree would start a new"
            " session in each: start one with `autogpt-tui run --worktree` (or the TUI), then"
            " serve it by its id with `autogpt-tui serve ID --continue`."
        )
    workspace = _checked_workspace(options)
    argv = [sys.executable, "-m", "autogpt_tui.cli.serve_child", str(workspace)]
    argv += tui_flags(options)
    server = WorkstationServer(
        argv, host=options.host, port=options.port, title=f"autogpt-tui — {workspace.name}"
    )

    def started(url: str) -> None:
        if not is_loopback(options.host):
            print(
                f"autogpt-tui: warning: serving on {options.host}: anyone who can reach port"
                f" {server.port} controls the agent, and through it this workspace and the"
                " model's API key.",
                file=sys.stderr,
                flush=True,
            )
        print(f"autogpt-tui serving {workspace} at {url}", flush=True)
        print("Open it in a browser; Ctrl+C stops the server and its apps.", flush=True)

    try:
        asyncio.run(server.run(started))
    except PortUnavailable as err:
        raise UsageError(f"Cannot listen on {options.host} port {options.port}: {err}.") from None
    return 0


def _checked_workspace(options: argparse.Namespace) -> Path:
    """The workspace, checked as the TUI would check it before every connection: a git
    repository (serve never makes one), a readable config, agents and a session that
    exist. Raises the error the TUI would print."""
    from autogpt_tui.core.sessions import choose_session
    from autogpt_tui.core.settings import load_settings

    with open_history(options.workspace) as history:
        workspace = history.root
        choose_session(
            history,
            session=options.session,
            resume_latest=options.resume_latest,
            goal=options.goal,
        )
    settings = load_settings(
        workspace,
        overrides={
            "model": {"model": options.model, "base_url": options.base_url},
            "agent": {"mode": options.mode},
            "ui": {"theme": options.theme},
        },
    )
    team_names(options, settings)
    return workspace


COMMANDS = (Command("serve", _serve_arguments, cmd_serve),)
