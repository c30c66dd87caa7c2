"""The ``autogpt-tui`` command line (contract: DESIGN.md, "Command line").

``autogpt-tui [WORKSPACE]`` opens the TUI; the subcommands work on a workspace's step
history without it, one module per group of them (each lists its ``Command``s). Every
error a user can cause prints one sentence and exits non-zero; nothing here prints a
traceback for bad input.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from autogpt_tui import __version__
from autogpt_tui.cli import (
    acp_command,
    history_commands,
    init_command,
    learning_commands,
    mcp_command,
    permission_commands,
    run_command,
    serve_command,
    session_commands,
    workspace_commands,
    worktree_commands,
)
from autogpt_tui.cli.common import Command, Parser, UsageError
from autogpt_tui.cli.tui_options import team_names, tui_arguments
from autogpt_tui.core.constants import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from autogpt_tui.core.errors import NotAnAgentStep, NotARepository, SessionChoiceError, UserError

if TYPE_CHECKING:
    from autogpt_tui.core.history import History
    from autogpt_tui.core.lock import WorkspaceLock
    from autogpt_tui.core.sessions import SessionChoice

__all__ = ["COMMANDS", "SUBCOMMANDS", "UsageError", "entry", "main"]

COMMANDS: dict[str, Command] = {
    command.name: command
    for group in (
        run_command,
        history_commands,
        session_commands,
        learning_commands,
        workspace_commands,
        permission_commands,
        init_command,
        serve_command,
        acp_command,
        mcp_command,
        worktree_commands,
    )
    for command in group.COMMANDS
}
"""Every subcommand by name, in the order ``--help`` lists them."""
SUBCOMMANDS = tuple(COMMANDS)


def _tui_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="autogpt-tui",
        description=(
            "A terminal workstation for an autonomous coding agent: every action is a git "
            "commit you can review, rate, undo and redo. Subcommands: "
            + ", ".join(SUBCOMMANDS)
            + " (autogpt-tui SUBCOMMAND --help)."
        ),
    )
    parser.add_argument(
        "workspace", nargs="?", default=".", help="the workspace folder (default: .)"
    )
    tui_arguments(parser)
    parser.add_argument("--version", action="version", version=f"autogpt-tui {__version__}")
    return parser


def entry() -> int:
    """The ``autogpt-tui`` program: run the command line, then get out of the way.

    The process ends right after: the interpreter's last garbage collection over every
    object the imports made (openai's types, mostly) takes about 0.15 s and frees
    nothing anyone needs, so those objects are frozen out of it. Everything of ours
    (git processes, the lock, the HTTP pool) was closed by the command itself.
    """
    code = main()
    gc.freeze()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            name = args[0]
            command = COMMANDS[name]
            parser = Parser(prog=f"autogpt-tui {name}")
            command.arguments(parser)
            return command.run(parser.parse_args(args[1:]))
        return _run_tui(_tui_parser().parse_args(args))
    except (UsageError, NotARepository, NotAnAgentStep, SessionChoiceError) as err:
        # A REV that names no agent step is a usage error too (the contract's status 2), and
        # so is a --session that names no session (or several).
        print(f"autogpt-tui: {err}", file=sys.stderr)
        return EXIT_USAGE
    except UserError as err:
        print(f"autogpt-tui: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `autogpt-tui log | head` closed the pipe early; that's not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _run_tui(options: argparse.Namespace) -> int:
    from autogpt_tui.core.history import History
    from autogpt_tui.core.lock import WorkspaceLock

    if options.worktree and options.agents is not None:
        raise UsageError("--agents and --worktree do not go together yet: a team works in place.")
    # Open (and if need be initialise) the workspace and read the configuration before
    # the screen takes over, so a bad path or a broken config file is one sentence on
    # the terminal rather than an error inside the app.
    from autogpt_tui.core.worktree import resolve_workspace

    # A worktree session's id names its worktree (to go on with it: --continue).
    folder = resolve_workspace(options.workspace) or Path(options.workspace)
    with History.open(folder, create=True) as history:
        workspace = history.root
        notices = [n for n in (history.recovered_notice, history.kept_out_notice) if n]
        # The TUI is an agent's workstation: it holds the workspace for as long as it runs
        # (its own undo and redo included), and a second one is refused here, in one
        # sentence, before the screen takes over.
        lock = WorkspaceLock.acquire(history.common_dir, command="tui")
        try:
            choice = _choose_session(history, options)
            if options.worktree:
                workspace, choice = _enter_worktree(history, choice, notices)
        except BaseException:
            lock.release()
            raise
    try:
        return _open_tui(options, workspace, notices, lock, choice)
    finally:
        if options.worktree:  # quit before any step: no empty worktree is left behind
            from autogpt_tui.core.worktree import drop_if_unused

            drop_if_unused(workspace)
        lock.release()


def _choose_session(history: History, options: argparse.Namespace) -> SessionChoice:
    """``--session``/``--continue`` made explicit before the screen takes over, so that
    one naming no session is one sentence on the terminal (exit 2)."""
    from autogpt_tui.core.sessions import choose_session

    return choose_session(
        history, session=options.session, resume_latest=options.resume_latest, goal=options.goal
    )


def _enter_worktree(
    history: History, choice: SessionChoice, notices: list[str]
) -> tuple[Path, SessionChoice]:
    """``--worktree``: the new session's worktree, made before the screen takes over."""
    from autogpt_tui.core.worktree import enter_worktree

    inside, choice, notice = enter_worktree(history, choice)
    inside.close()  # the app opens its own
    notices.append(notice)
    return inside.root, choice


def _open_tui(
    options: argparse.Namespace,
    workspace: Path,
    notices: list[str],
    lock: WorkspaceLock,
    choice: SessionChoice,
) -> int:
    from autogpt_tui.core.settings import load_settings

    overrides = {
        "model": {"model": options.model, "base_url": options.base_url},
        "agent": {"mode": options.mode},
        "ui": {"theme": options.theme},
    }
    settings = load_settings(workspace, overrides=overrides)
    agents = team_names(options, settings)
    for warning in settings.warnings:
        print(f"autogpt-tui: {warning}", file=sys.stderr)
    # 30 frames a second, not Textual's 60: every frame renders what changed, and in a
    # long auto-mode session the UI thread spent most of its time painting (the
    # agent's thread waits on the same interpreter lock). A user's TEXTUAL_FPS wins.
    os.environ.setdefault("TEXTUAL_FPS", "30")
    from autogpt_tui.ui.app import run_app

    return run_app(
        workspace,
        goal=choice.goal or None,
        session=choice.session,
        agents=agents,
        theme_name=settings.ui.theme,
        settings=settings,
        notices=notices,
        lock=lock,
        # Read again, with the same flags, once the user trusts the workspace's file.
        reload_settings=lambda: load_settings(workspace, overrides=overrides),
    )
