"""``autogpt-tui serve``: the workstation in a browser, run as a user runs it (a
subprocess on a free loopback port), fetched over loopback, refused to other sites'
pages, and drawn in a real headless Chromium."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import git
from tests.functional.test_cli import assert_one_sentence, cli
from tests.support.serve import (
    API_KEY,
    CHROMIUM_FLAGS,
    READ_TERMINAL,
    TERMINAL_HOOK,
    ServeProcess,
    alive,
    require_chromium,
)
from tests.support.tmux import START_TIMEOUT_S, wait_for

pytestmark = pytest.mark.slow

GOAL = "Greet the user from the browser"


@pytest.fixture
def repo(workspace: Path) -> Path:
    """The workspace as a git repository with one commit of the user's."""
    git(workspace, "init", "-q")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "start")
    return workspace


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], str]:
    """GET ``url`` over loopback: status, headers, body."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


async def open_websocket(url: str, origin: str) -> int:
    """Open the workstation's websocket claiming ``origin``; the handshake's status
    (101 when accepted, then closed at once)."""
    async with aiohttp.ClientSession() as session:
        try:
            websocket = await session.ws_connect(url + "ws", origin=origin)
        except aiohttp.WSServerHandshakeError as err:
            return err.status
        await websocket.close()
        return 101


def test_the_page_is_served_over_loopback_without_the_api_key(repo: Path, tmp_path: Path) -> None:
    with ServeProcess(repo, tmp_path, "--goal", GOAL) as server:
        assert server.url.startswith("http://127.0.0.1:"), server.text()
        status, headers, page = fetch(server.url)
        assert status == 200
        assert "<title>autogpt-tui — ws</title>" in page
        port = server.url.rstrip("/").rsplit(":", 1)[1]
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in page
        # Nothing from other sites (the font is served from here), and no frames.
        assert "googleapis" not in page
        assert headers["X-Frame-Options"] == "DENY"
        assert fetch(server.url + "static/js/textual.js")[0] == 200
        # The key stays with the server's processes: not in the page nor its script.
        assert API_KEY not in page
        assert API_KEY not in fetch(server.url + "static/js/textual.js")[2]
        assert server.apps() == set()  # a page alone starts no agent
    assert server.process is not None and server.process.returncode == 0


def test_a_websocket_from_another_sites_page_is_refused(repo: Path, tmp_path: Path) -> None:
    with ServeProcess(repo, tmp_path, "--goal", GOAL) as server:
        for forged in ("http://evil.example", "null", "http://127.0.0.1.evil.example"):
            assert asyncio.run(open_websocket(server.url, forged)) == 403, forged
        # A page on another name for this address (DNS rebinding) is refused as a whole.
        port = server.url.rstrip("/").rsplit(":", 1)[1]
        status, _, body = fetch(server.url, Host=f"evil.example:{port}")
        assert status == 403 and "answers only to" in body
        assert server.apps() == set(), "a refused websocket must start no app"
        # The server's own page's origin is let in (and starts the workstation).
        assert asyncio.run(open_websocket(server.url, server.url.rstrip("/"))) == 101


def test_ctrl_c_ends_the_server_and_every_app_it_started(repo: Path, tmp_path: Path) -> None:
    async def hold_open(url: str, server: ServeProcess) -> set[int]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url + "ws", origin=url.rstrip("/")) as websocket,
        ):
            await websocket.send_json(["resize", {"width": 80, "height": 24}])
            for _ in range(int(START_TIMEOUT_S * 10)):
                if server.apps():
                    break
                await asyncio.sleep(0.1)
            apps = server.apps()
            assert apps, "the websocket started no app"
            # Ctrl+C while the browser is still connected.
            assert server.stop() == 0, server.text()
            return apps

    with ServeProcess(repo, tmp_path, "--goal", GOAL) as server:
        apps = asyncio.run(hold_open(server.url, server))
    assert not [pid for pid in apps if alive(pid)], "an app process outlived the server"
    assert "Traceback" not in server.text()


def test_bad_input_is_one_sentence_and_exit_2(workspace: Path, tmp_path: Path) -> None:
    # Not a git repository: refused, and not made one.
    result = cli("serve", str(workspace), "--port", "0")
    assert_one_sentence(result, 2, "not a git repository")
    assert not (workspace / ".git").exists()
    git(workspace, "init", "-q")
    result = cli("serve", str(workspace), "--mode", "reckless")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "invalid choice" in result.stderr
    assert_one_sentence(cli("serve", str(workspace), "--port", "70000"), 2, "65535")
    assert_one_sentence(cli("serve", str(workspace), "--session", "nosuch"), 2, "nosuch")
    # A new worktree session per tab is not what anyone means: serve one by its id instead.
    assert_one_sentence(cli("serve", str(workspace), "--worktree"), 2, "serve ID --continue")
    assert not (workspace / ".git" / "autogpt-tui" / "worktrees").exists()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = cli("serve", str(workspace), "--port", port)
    assert_one_sentence(result, 2, f"Cannot listen on 127.0.0.1 port {port}")


def test_another_address_needs_host_and_says_anyone_can_drive_the_agent(
    repo: Path, tmp_path: Path
) -> None:
    with ServeProcess(repo, tmp_path, "--host", "0.0.0.0") as server:
        assert server.url.startswith("http://127.0.0.1:")
        port = server.url.rstrip("/").rsplit(":", 1)[1]
        assert f"anyone who can reach port {port} " in server.text()  # the port bound
        assert "controls the agent" in server.text()
    with ServeProcess(repo, tmp_path) as server:
        assert "warning" not in server.text()


def test_the_workstation_draws_in_chromium_and_a_second_tab_is_told_the_workspace_is_in_use(
    repo: Path, tmp_path: Path
) -> None:
    chromium = require_chromium()
    from playwright.sync_api import Page, sync_playwright

    def shown(page: Page, text: str) -> str:
        found = wait_for(lambda: text in page.evaluate(READ_TERMINAL), START_TIMEOUT_S)
        screen = str(page.evaluate(READ_TERMINAL))
        assert found, f"{text!r} never appeared; the terminal showed:\n{screen}"
        return screen

    with (
        ServeProcess(repo, tmp_path, "--goal", GOAL) as server,
        tempfile.TemporaryDirectory() as profile,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1000, "height": 600},
        )
        try:
            browser.add_init_script(TERMINAL_HOOK)
            first = browser.new_page()
            first.goto(server.url)
            screen = shown(first, GOAL)
            assert "Step history" in screen and "q Quit" in screen
            assert API_KEY not in first.content()
            first.screenshot(path=str(tmp_path / "workstation.png"))
            # A second tab on the same workspace: the lock's sentence, not a second agent.
            second = browser.new_page()
            second.goto(server.url)
            screen = shown(second, "Another autogpt-tui (pid")
            assert "Close this tab" in screen
            assert shown(first, GOAL)  # the first tab's agent goes on
            # Closing the first tab ends its app, and the workspace is free for another.
            first.close()
            wait_for(lambda: len(server.apps()) <= 1, START_TIMEOUT_S)
            third = browser.new_page()
            third.goto(server.url)
            shown(third, GOAL)
        finally:
            browser.close()
    assert "Traceback" not in server.text()


def test_serve_help_lists_the_tuis_own_flags() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "autogpt_tui", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for flag in ("--host", "--port", "--goal", "--mode", "--model", "--base-url", "--agents"):
        assert flag in result.stdout
