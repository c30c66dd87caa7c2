"""``autogpt-tui acp``: this agent as an Agent Client Protocol server on stdio.

An editor (Zed, Toad, …) starts the process and speaks JSON-RPC with it over stdin and
stdout. Nothing else may reach stdout: before anything else runs, the protocol takes
private copies of the two descriptors, stdout itself is pointed at stderr (so a stray
print, a library's warning or a child process's output goes to the editor's log, not
into the protocol) and stdin at /dev/null (so no command can eat the editor's messages).

Sessions: ``session/new`` with the workspace as ``cwd`` (an existing git repository:
this command never makes one), ``session/prompt`` (see ``acp/session.py``: the first
prompt is the goal, later ones are messages to the agent), ``session/cancel``,
``session/load`` (resume a session by its id, as ``autogpt-tui sessions`` lists them)
and ``session/set_mode`` (the approval modes step, edits and auto).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from acp import PROTOCOL_VERSION, run_agent
from acp.exceptions import RequestError
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    Implementation,
    InitializeResponse,
    LoadSessionResponse,
    McpCapabilities,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    SessionMode,
    SessionModeState,
    SetSessionModeResponse,
)

from autogpt_tui import __version__
from autogpt_tui.acp.mcp_servers import with_editor_servers
from autogpt_tui.acp.prompt import prompt_text
from autogpt_tui.acp.replay import replay
from autogpt_tui.acp.session import INVALID_PARAMS, AcpSession
from autogpt_tui.core.constants import MODE_MEANINGS, MODES
from autogpt_tui.core.errors import UserError

if TYPE_CHECKING:
    from acp.interfaces import Agent

    from autogpt_tui.core.settings import Settings

log = logging.getLogger(__name__)

STDIO_LIMIT = 50 * 1024 * 1024
"""The longest message read (a big prompt, a file's content in an answer)."""


def session_modes(current: str) -> SessionModeState:
    """The approval modes as ACP session modes."""
    return SessionModeState(
        current_mode_id=current,
        available_modes=[
            SessionMode(id=mode, name=mode, description=MODE_MEANINGS[mode]) for mode in MODES
        ],
    )


class AutogptAgent:
    """The ACP agent: sessions by id, each on its workspace (``acp.interfaces.Agent``)."""

    def __init__(self, load_settings: Callable[[Path], Settings]) -> None:
        """``load_settings`` reads a workspace's settings with the command's flags."""
        self._load_settings = load_settings
        self._client: Client | None = None
        self.sessions: dict[str, AcpSession] = {}

    def on_connect(self, conn: Client) -> None:
        """The editor's side of the connection: updates and permission requests."""
        self._client = conn

    @property
    def client(self) -> Client:
        """The connected editor."""
        assert self._client is not None  # run_agent connects before any request
        return self._client

    async def initialize(self, protocol_version: int, **_: Any) -> InitializeResponse:
        """What this agent does: text and file links in prompts, session/load, modes."""
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True,
                # The editor's own MCP servers join the user's (acp/mcp_servers.py).
                mcp_capabilities=McpCapabilities(http=True, sse=False),
                # Text and resource links only (the ACP baseline): an image or a file's
                # embedded content is refused rather than silently dropped.
                prompt_capabilities=PromptCapabilities(
                    image=False, audio=False, embedded_context=False
                ),
            ),
            agent_info=Implementation(name="autogpt-tui", title="autogpt-tui", version=__version__),
        )

    async def authenticate(self, method_id: str, **_: Any) -> None:
        """No authentication: the model's key comes from the environment or the config."""
        return None

    async def new_session(
        self, cwd: str, mcp_servers: list[Any] | None = None, **_: Any
    ) -> NewSessionResponse:
        """A new session on the repository at ``cwd`` (nothing is written yet), with the
        editor's MCP servers besides the user's own."""
        from autogpt_tui.core.agent import new_session_id

        root, settings = await asyncio.to_thread(self._workspace, cwd)
        session = self._add(
            new_session_id(), root, settings.agent.mode, goal=None, mcp_servers=mcp_servers
        )
        return NewSessionResponse(session_id=session.session_id, modes=session_modes(session.mode))

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: list[Any] | None = None, **_: Any
    ) -> LoadSessionResponse:
        """Resume ``session_id`` (an id `autogpt-tui sessions` lists) on ``cwd``'s
        repository; its steps in force are replayed to the editor first."""
        root, settings = await asyncio.to_thread(self._workspace, cwd)
        try:
            goal, updates = await asyncio.to_thread(replay, root, session_id)
        except UserError as error:
            raise RequestError(INVALID_PARAMS, str(error)) from None
        session = self._add(
            session_id, root, settings.agent.mode, goal=goal or None, mcp_servers=mcp_servers
        )
        for update in updates:
            await self.client.session_update(session_id=session_id, update=update)
        return LoadSessionResponse(modes=session_modes(session.mode))

    async def set_session_mode(
        self, mode_id: str, session_id: str, **_: Any
    ) -> SetSessionModeResponse:
        """Change the session's approval mode (from the next action on)."""
        if mode_id not in MODES:
            raise RequestError(
                INVALID_PARAMS, f"There is no mode {mode_id!r}; the modes are step, edits and auto."
            )
        self._session(session_id).set_mode(mode_id)
        return SetSessionModeResponse()

    async def prompt(self, prompt: list[Any], session_id: str, **_: Any) -> PromptResponse:
        """One prompt turn (``AcpSession.prompt``)."""
        session = self._session(session_id)
        try:
            text = prompt_text(prompt, session.root)
        except ValueError as error:
            raise RequestError(INVALID_PARAMS, str(error)) from None
        return PromptResponse(stop_reason=await session.prompt(text))

    async def cancel(self, session_id: str, **_: Any) -> None:
        """``session/cancel``: stop the session's turn promptly."""
        session = self.sessions.get(session_id)
        if session is not None:
            session.cancel()

    def cancel_all(self) -> None:
        """The editor went away: stop every turn under way (their steps still commit)."""
        for session in self.sessions.values():
            session.cancel()

    def _session(self, session_id: str) -> AcpSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise RequestError(
                INVALID_PARAMS, f"There is no session {session_id!r} on this connection."
            )
        return session

    def _add(
        self,
        session_id: str,
        root: Path,
        mode: str,
        *,
        goal: str | None,
        mcp_servers: list[Any] | None = None,
    ) -> AcpSession:
        existing = self.sessions.get(session_id)
        if existing is not None and existing.working:
            raise RequestError(INVALID_PARAMS, f"Session {session_id} is working on a prompt.")
        session = AcpSession(
            session_id=session_id,
            root=root,
            client=self.client,
            load_settings=lambda root: with_editor_servers(
                self._load_settings(root), mcp_servers or []
            ),
            mode=mode,
            goal=goal,
        )
        self.sessions[session_id] = session
        return session

    def _workspace(self, cwd: str) -> tuple[Path, Settings]:
        """The repository at ``cwd`` and its settings; a bad one is one sentence."""
        from autogpt_tui.core.history import History
        from autogpt_tui.core.session import NO_MODEL_SENTENCE

        if not cwd or not os.path.isabs(cwd):
            raise RequestError(INVALID_PARAMS, f"The cwd must be an absolute path, not {cwd!r}.")
        try:
            # Never made here: an editor's folder that is not a repository is refused.
            with History.open(Path(cwd), create=False) as history:
                root = history.root
            settings = self._load_settings(root)
        except UserError as error:
            raise RequestError(INVALID_PARAMS, str(error)) from None
        for warning in settings.warnings:
            log.warning("%s", warning)
        if not settings.has_model():
            raise RequestError(INVALID_PARAMS, NO_MODEL_SENTENCE)
        return root, settings


async def _protocol_streams(
    stdin: int, stdout: int
) -> tuple[asyncio.StreamWriter, asyncio.StreamReader]:
    """Asyncio streams on the protocol's own copies of stdin and stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STDIO_LIMIT)
    try:
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(stdin, "rb", buffering=0)
        )
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(stdout, "wb", buffering=0)
        )
    except ValueError:  # asyncio takes pipes, sockets and terminals only
        raise UserError(
            "acp talks to an editor through pipes: its stdin and stdout must be "
            "pipes (an editor starts it), not files."
        ) from None
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    return writer, reader


def _take_stdio() -> tuple[int, int]:
    """Keep stdin and stdout for the protocol alone; see the module's docstring."""
    sys.stdout.flush()
    stdin, stdout = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return stdin, stdout


def serve_stdio(load_settings: Callable[[Path], Settings]) -> int:
    """Serve ACP on stdin and stdout until the editor closes them; returns 0."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="autogpt-tui: %(message)s")
    stdin, stdout = _take_stdio()
    agent = AutogptAgent(load_settings)

    async def main() -> None:
        writer, reader = await _protocol_streams(stdin, stdout)
        try:
            # Only the methods it has are routed (the others: "method not found").
            await run_agent(cast("Agent", agent), writer, reader)
        finally:
            # Every turn stops (its step still commits) before the process ends.
            agent.cancel_all()

    asyncio.run(main())
    return 0
