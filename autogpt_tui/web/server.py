"""The server behind ``autogpt-tui serve``: textual-serve's, bound before it says where,
guarded (``guard.py``), and ending every app process it started when it stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from asyncio.subprocess import Process
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from autogpt_tui.web.guard import allowed_hosts, guard_middleware

QUIT_GRACE_S = 10.0
"""How long an app process has to quit (and release the workspace) before it is ended."""
TEMPLATES = Path(__file__).parent / "templates"
APP_FPS = "30"
"""Frames a second for each browser's app: textual-serve asks for 60, every frame crosses
the network, and the terminal TUI runs at 30 too."""


class PortUnavailable(Exception):
    """The address and port cannot be bound (in use, or not this machine's)."""


class _WorkstationAppService(AppService):
    """One browser connection's app process, started in its own session so that Ctrl+C
    in the server's terminal reaches the server only, which then ends it in order."""

    def __init__(
        self, *args: object, argv: tuple[str, ...], running: set[AppProcess], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._argv = argv
        self._running = running

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment["TEXTUAL_FPS"] = APP_FPS
        # The server's terminal size is no business of the browser's terminal.
        environment.pop("LINES", None)
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        process = await asyncio.create_subprocess_exec(
            *self._argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,
        )
        self._process = process
        assert process.stdin is not None
        self._stdin = process.stdin
        self._running.add(AppProcess(process, self))
        return process


@dataclass(frozen=True, eq=False)
class AppProcess:
    """A running app process and the service that speaks to it."""

    process: Process
    service: AppService


class WorkstationServer(Server):
    """textual-serve's server for one command line (``argv``, run without a shell)."""

    def __init__(self, argv: list[str], *, host: str, port: int, title: str) -> None:
        super().__init__(" ".join(argv), host=host, port=port, title=title)
        self.argv = tuple(argv)
        self.processes: set[AppProcess] = set()
        """The app processes running now, one per open browser connection."""
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True
        )
        self._stopping = asyncio.Event()

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(guard_middleware(lambda: allowed_hosts(self.host, self.port)))
        return app

    async def on_startup(self, app: web.Application) -> None:
        """Print nothing: :meth:`run` says where the server is once it is bound."""

    async def on_shutdown(self, app: web.Application) -> None:
        """End every app process: ask each to quit, then end those that did not."""
        await stop_processes(self.processes)

    async def handle_index(self, request: web.Request) -> web.Response:
        """The page: the websocket's address is the one the browser reached us by."""
        scheme = "wss" if request.secure else "ws"
        html = self._templates.get_template("app_index.html").render(
            font_size=_font_size(request.query.get("fontsize", "16")),
            app_websocket_url=f"{scheme}://{request.host}/ws",
            config={"static": {"url": "/static/"}},
            application={"name": self.title},
            ping_url="",
        )
        return web.Response(text=html, content_type="text/html")

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's websocket handler, with our app service."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = _int(request.query.get("width", "80"), 80)
        height = _int(request.query.get("height", "24"), 24)
        service: _WorkstationAppService | None = None
        try:
            await websocket.prepare(request)
            service = _WorkstationAppService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
                argv=self.argv,
                running=self.processes,
            )
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # one browser's failure must not stop the server
            logging.getLogger("textual-serve").exception(error)
        finally:
            if service is not None:
                # The tab closed: its app quits (or is ended), so the workspace is free
                # for the next tab rather than held by an app nobody sees.
                mine = {app for app in self.processes if app.service is service}
                await stop_processes(mine)
                self.processes -= mine
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(service.stop(), QUIT_GRACE_S)
        return websocket

    def request_exit(self) -> None:
        """Ctrl+C or SIGTERM: stop serving (the processes are ended on the way out)."""
        self._stopping.set()

    async def run(self, started: Callable[[str], None]) -> None:
        """Bind, call ``started`` with the URL, and serve until :meth:`request_exit`.

        Raises PortUnavailable, before anything else, when the port cannot be bound.
        """
        runner = web.AppRunner(await self._make_app(), handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as err:
            await runner.cleanup()
            raise PortUnavailable(err.strerror or str(err)) from None
        # --port 0 asks for any free port: from now on, the one bound.
        self.port = _bound_port(runner) or self.port
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_exit)
        try:
            started(public_url(self.host, self.port))
            await self._stopping.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await runner.cleanup()
            await stop_processes(self.processes)


def public_url(host: str, port: int) -> str:
    """The address to open: a wildcard bind is reached through loopback on this machine."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


async def stop_processes(processes: set[AppProcess]) -> None:
    """End every app process in order: ask it to quit as the browser's closing does (the
    app exits and releases the workspace), then SIGTERM, then SIGKILL, each after
    :data:`QUIT_GRACE_S`."""
    running = [app for app in processes if app.process.returncode is None]
    for app in running:
        with contextlib.suppress(Exception):  # a process that is already going away
            await app.service.send_meta({"type": "quit"})
    for app in running:
        for hurry in (signal.SIGTERM, signal.SIGKILL):
            try:
                await asyncio.wait_for(asyncio.shield(app.process.wait()), QUIT_GRACE_S)
                break
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    app.process.send_signal(hurry)
        await app.process.wait()


def _bound_port(runner: web.AppRunner) -> int | None:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None


def _int(value: str, default: int) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def _font_size(value: str) -> int:
    # Anything else (a negative or huge size) would only break the page's layout.
    return min(max(_int(value, 16), 6), 64)
