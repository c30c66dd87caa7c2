"""The session's connections to its MCP servers, on one event-loop thread of their own.

The SDK is asyncio and the agent loop runs on a worker thread, so a :class:`McpHub` owns a
private event loop on a daemon thread; each server's connection is one task on it that
holds the SDK's ``Client`` open (its context must be entered and left in one task) until
the hub closes. The agent's thread hands calls over with ``run_coroutine_threadsafe``.

Failures are sentences, never exceptions: a server that does not start is left out (its
tools are not offered) and said once; a call to a server that crashed, hung past its
``timeout`` or closed the connection fails with one sentence naming the server, and the
server is stopped. It is started again at its next call, so a server that crashed once
does not take its tools away for the rest of the session.

A stdio server's stderr goes to a temporary file, not the terminal (it would draw over
the TUI); its last line explains a failed start. It gets the SDK's safe environment
(HOME, LOGNAME, PATH, SHELL, TERM, USER) plus its own ``env``, never the whole
environment, so the model's API key does not reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from autogpt_tui.core.mcp.catalogue import McpTool, kind_of, offered_names
from autogpt_tui.core.mcp.config import DEFAULT_TIMEOUT_S, McpServerConfig, MissingVariable, expand
from autogpt_tui.core.mcp.results import observation

__all__ = ["McpHub", "ServerState", "import_sdk"]

_T = TypeVar("_T")
_GRACE_S = 10.0
"""Beyond a server's own timeout, how long the agent's thread waits for the hub."""


_SDK_IMPORT = threading.Lock()
"""Held while the SDK is imported: two threads importing its packages at once (a front
end's warm-up and a session starting) can each hold a module the other waits for, and
one of them then sees a half-initialised module."""


def import_sdk() -> None:
    """Import the parts of the ``mcp`` SDK a session's servers use (about a second: its
    package pulls in the client, the server and their types), once, whichever thread asks
    first. The hub calls it before it starts a server; a front end may call it ahead, off
    its event loop, so the first step does not wait for it."""
    with _SDK_IMPORT:
        import mcp
        import mcp.client.stdio
        import mcp.client.streamable_http
        import mcp.shared._httpx_utils
        import mcp.types  # noqa: F401


@dataclass
class ServerState:
    """One server: its config, its tools once listed, and why it failed if it did."""

    config: McpServerConfig
    tools: list[Any] = field(default_factory=list)
    """The SDK's ``Tool`` entries it listed at session start."""
    error: str | None = None
    """One sentence: why it is not available (None: it started)."""
    client: Any = None
    stop: asyncio.Event | None = None
    task: asyncio.Task[None] | None = None
    errlog: TextIO | None = None


class McpHub:
    """The MCP servers of one session: start them, offer their tools, call them, stop them."""

    def __init__(
        self,
        servers: list[McpServerConfig],
        workspace: Path,
        *,
        taken: tuple[str, ...] = (),
        max_chars: int = 20000,
    ) -> None:
        self.workspace = workspace
        self.max_chars = max_chars
        self.states = {s.name: ServerState(s) for s in servers if s.enabled}
        """The enabled servers by name, in the order declared."""
        self.tools: dict[str, McpTool] = {}
        """The tools offered, by offered name."""
        self._taken = taken
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="mcp-client", daemon=True
        )
        self._thread.start()
        self._closed = False

    # ------------------------------------------------------------------ public

    def start(self) -> list[str]:
        """Connect to every server at once and list its tools; one sentence per server that
        failed (its tools are left out)."""
        if self.states:
            import_sdk()  # here, before the loop's thread imports any part of it
            longest = max(max(s.config.timeout, DEFAULT_TIMEOUT_S) for s in self.states.values())
            self._run(self._start_all(), longest)
        pairs = [(n, t) for n, s in self.states.items() if s.error is None for t in s.tools]
        names = offered_names([(n, t.name) for n, t in pairs], self._taken)
        for offered, (server, tool) in zip(names, pairs, strict=True):
            hints = tool.annotations
            kind, outside = kind_of(
                hints.read_only_hint if hints else None,
                hints.destructive_hint if hints else None,
                hints.open_world_hint if hints else None,
            )
            self.tools[offered] = McpTool(
                server=server,
                tool=tool.name,
                name=offered,
                description=(tool.description or "").strip(),
                input_schema=dict(tool.input_schema or {}),
                kind=kind,
                not_undoable=outside,
            )
        return [s.error for s in self.states.values() if s.error is not None]

    def call(self, name: str, arguments: dict[str, Any]) -> tuple[bool, str]:
        """Call the offered tool ``name``: whether it succeeded, and the observation."""
        tool = self.tools[name]
        state = self.states[tool.server]
        try:
            # A call may have to start its server again first.
            allowance = state.config.timeout + max(state.config.timeout, DEFAULT_TIMEOUT_S)
            return self._run(self._call(state, tool, arguments), allowance)
        except TimeoutError:
            return False, _timed_out(tool, state.config.timeout)

    def close(self) -> None:
        """Stop every server (their processes end) and the hub's thread; safe to repeat."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._run(self._stop_all(), 0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_GRACE_S)
        if not self._thread.is_alive():
            self._loop.close()
        for state in self.states.values():
            if state.errlog is not None:
                state.errlog.close()

    def __enter__(self) -> McpHub:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the loop's side

    def _run(self, coro: Coroutine[Any, Any, _T], timeout: float) -> _T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout=timeout + _GRACE_S)
        except TimeoutError:
            future.cancel()
            raise

    async def _start_all(self) -> None:
        await asyncio.gather(*(self._connect(state) for state in self.states.values()))

    async def _stop_all(self) -> None:
        await asyncio.gather(*(self._disconnect(state) for state in self.states.values()))

    async def _connect(self, state: ServerState) -> bool:
        """Start ``state``'s server and list its tools; False (with ``state.error``) if not."""
        config = state.config
        ready: asyncio.Future[list[Any]] = self._loop.create_future()
        state.stop = asyncio.Event()
        state.error = None
        try:
            transport = self._transport(state)
        except (MissingVariable, OSError, ValueError) as error:
            state.error = f"The MCP server {config.name!r} was not started: {error}."
            return False
        state.task = asyncio.create_task(self._hold(state, transport, ready))
        # Starting (a process, an interpreter, perhaps a download) is given at least the
        # default allowance even when calls are held to a shorter timeout.
        allowance = max(config.timeout, DEFAULT_TIMEOUT_S)
        try:
            state.tools = await asyncio.wait_for(asyncio.shield(ready), allowance)
        except TimeoutError:
            state.error = (
                f"The MCP server {config.name!r} did not answer within {allowance:g} s "
                "of starting; its tools are left out."
            )
        except Exception as error:
            state.error = (
                f"The MCP server {config.name!r} failed to start: {_reason(error, state)}; "
                "its tools are left out."
            )
        if state.error is not None:
            await self._disconnect(state)
            return False
        return True

    def _transport(self, state: ServerState) -> Any:
        from mcp.client.stdio import StdioServerParameters, stdio_client
        from mcp.client.streamable_http import streamable_http_client

        config = state.config
        if config.command is not None:
            cwd = Path(config.cwd).expanduser() if config.cwd else Path(".")
            params = StdioServerParameters(
                command=config.command,
                args=list(config.args),
                # Merged over the SDK's safe few (get_default_environment), not os.environ.
                env=expand(config.env, "env"),
                cwd=str(self.workspace / cwd),
            )
            if state.errlog is None:
                # Kept open while the server may write to it; closed by close().
                state.errlog = tempfile.TemporaryFile(  # noqa: SIM115
                    "w+", encoding="utf-8", errors="replace"
                )
            return stdio_client(params, errlog=state.errlog)
        assert config.url is not None
        headers = expand(config.headers, "headers")
        return (streamable_http_client, config.url, headers)

    async def _hold(
        self, state: ServerState, transport: Any, ready: asyncio.Future[list[Any]]
    ) -> None:
        """The task that keeps one server's connection open until ``state.stop`` is set."""
        from mcp import Client
        from mcp.shared._httpx_utils import create_mcp_http_client

        assert state.stop is not None
        try:
            async with contextlib.AsyncExitStack() as stack:
                if isinstance(transport, tuple):
                    make, url, headers = transport
                    http = await stack.enter_async_context(create_mcp_http_client(headers=headers))
                    transport = make(url, http_client=http)
                client = await stack.enter_async_context(
                    Client(transport, read_timeout_seconds=state.config.timeout)
                )
                listed = await _list_tools(client)
                state.client = client
                ready.set_result(listed)
                await state.stop.wait()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(
                    error if isinstance(error, Exception) else RuntimeError(str(error))
                )
            if isinstance(error, asyncio.CancelledError):
                raise
        finally:
            state.client = None

    async def _disconnect(self, state: ServerState) -> None:
        if state.stop is not None:
            state.stop.set()
        task, state.task = state.task, None
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), _GRACE_S)
            except (TimeoutError, Exception):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    async def _call(
        self, state: ServerState, tool: McpTool, arguments: dict[str, Any]
    ) -> tuple[bool, str]:
        from mcp.shared.exceptions import MCPError

        name = state.config.name
        # Crashed or hung at an earlier call (or never started): start it again.
        if state.client is None and not await self._connect(state):
            return False, f"{state.error}"
        try:
            result = await state.client.call_tool(
                tool.tool, arguments, read_timeout_seconds=state.config.timeout
            )
        except MCPError as error:
            await self._disconnect(state)
            if "timed out" in str(error.error.message):
                return False, _timed_out(tool, state.config.timeout)
            what = (
                "closed the connection (it may have crashed)"
                if "closed" in str(error.error.message).lower()
                else f"failed ({error.error.message})"
            )
            return False, (
                f"The MCP server {name!r} {what} during {tool.tool}; it will be started "
                "again at its next call."
            )
        except Exception as error:
            await self._disconnect(state)
            return False, (
                f"The MCP server {name!r} failed during {tool.tool} "
                f"({type(error).__name__}: {error}); it will be started again at its next call."
            )
        ok, text = observation(result, self.max_chars)
        if not ok:
            text = f"The MCP tool {tool.tool} of {name!r} reported an error: {text}"
        return ok, text


async def _list_tools(client: Any) -> list[Any]:
    tools: list[Any] = []
    cursor: str | None = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools += page.tools
        cursor = page.next_cursor
        if not cursor:
            return tools


def _timed_out(tool: McpTool, timeout: float) -> str:
    return (
        f"The MCP server {tool.server!r} did not answer {tool.tool} within {timeout:g} s; "
        "it was stopped and will be started again at its next call."
    )


def _reason(error: BaseException, state: ServerState) -> str:
    """The most telling words for a failed start: the server's last stderr line, else the
    innermost error."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[-1]
    if state.errlog is not None:
        with contextlib.suppress(OSError, ValueError):
            state.errlog.seek(0)
            lines = [line.strip() for line in state.errlog.read().splitlines() if line.strip()]
            if lines:
                return lines[-1][:300].rstrip(".")
    text = str(error) or type(error).__name__
    if isinstance(error, FileNotFoundError):
        text = f"{state.config.command} was not found"
    return text.rstrip(".")
