"""One agent per workspace, as a user meets it: two real `autogpt-tui run` processes, the
CLI's undo/redo/rate beside a working agent, a stale lock, and the TUI's refusal."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autogpt_tui.core.lock import LockHolder, lock_path
from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from tests.conftest import git
from tests.functional.test_tui import press, until
from tests.support.scripted_llm import Reply, ScriptedLLM, Stall, ToolCall

KEY = "sk-test-lock-0001"
HELD = "is working in this workspace"


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autogpt_tui", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, OPENAI_API_KEY=KEY),
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def call(name: str, **arguments: Any) -> Reply:
    return Reply(f"Next: {name}.", tool_calls=[ToolCall(name, arguments)])


def snapshot(root: Path) -> tuple[str, str, str, dict[str, bytes]]:
    """Refs (notes included), status and every file outside .git."""
    files: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            full = Path(dirpath) / name
            files[full.relative_to(root).as_posix()] = full.read_bytes()
    return (
        git(root, "for-each-ref", "--format=%(refname) %(objectname)"),
        git(root, "rev-parse", "HEAD"),
        git(root, "status", "--porcelain=v1", "--untracked-files=all", "--ignored"),
        files,
    )


class StalledRun:
    """A real `autogpt-tui run` held mid-session: its first model request stalls."""

    def __init__(self, workspace: Path, server: ScriptedLLM) -> None:
        server.script(Stall(after_chunks=1, seconds=120))
        stalls_before = len(server.requests)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autogpt_tui",
                "run",
                str(workspace),
                "--goal",
                "Hold the workspace",
                "--base-url",
                server.base_url,
                "--json",
            ],
            env=dict(os.environ, OPENAI_API_KEY=KEY),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server.wait_for_requests(stalls_before + 1, timeout=60)

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def stalled(workspace: Path, llm_server: ScriptedLLM) -> Iterator[StalledRun]:
    run = StalledRun(workspace, llm_server)
    llm_server.wait_for_stalls(1)
    yield run
    run.kill()


def refusal_prefix(pid: int) -> str:
    return f"Another autogpt-tui (pid {pid} on {socket.gethostname()}, since "


def test_a_second_run_says_who_holds_the_workspace_and_changes_nothing(
    workspace: Path, llm_server: ScriptedLLM, stalled: StalledRun
) -> None:
    before = snapshot(workspace)
    llm_server.script(call("write_file", path="second.txt", content="no\n"))
    second = cli(
        "run", str(workspace), "--goal", "Also work here", "--base-url", llm_server.base_url
    )
    assert second.returncode == 1
    assert second.stdout == ""
    assert second.stderr.startswith("autogpt-tui: " + refusal_prefix(stalled.pid))
    assert HELD in second.stderr and len(second.stderr.strip().splitlines()) == 1
    assert len(llm_server.requests) == 1  # the second run never asked the model
    assert snapshot(workspace) == before
    # SIGKILL: the kernel drops the lock with the process; the next run just works.
    stalled.kill()
    llm_server.script(call("finish", summary="done"))
    third = cli(
        "run", str(workspace), "--goal", "Also work here", "--base-url", llm_server.base_url
    )
    assert third.returncode == 0, third.stderr
    assert (workspace / "second.txt").read_text() == "no\n"


def test_the_tui_refuses_to_open_on_a_held_workspace(workspace: Path, stalled: StalledRun) -> None:
    before = snapshot(workspace)
    result = cli(str(workspace))
    assert result.returncode == 1
    assert result.stderr.startswith("autogpt-tui: " + refusal_prefix(stalled.pid))
    assert snapshot(workspace) == before


def test_rate_works_but_undo_and_redo_refuse_while_an_agent_works(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        call("write_file", path="a.txt", content="a\n"),
        call("write_file", path="b.txt", content="b\n"),
        call("finish", summary="two files"),
    )
    done = cli("run", str(workspace), "--goal", "Two files", "--base-url", llm_server.base_url)
    assert done.returncode == 0, done.stderr
    assert cli("undo", str(workspace)).returncode == 0  # free: undo works (finish undone)
    (workspace / "README.md").write_text("# the user's work in progress\n")
    run = StalledRun(workspace, llm_server)
    try:
        llm_server.wait_for_stalls(1)  # its snapshot of the user's work is taken by now
        before = snapshot(workspace)
        for command, *args in (("undo",), ("redo",), ("recover", "1")):
            refused = cli(command, str(workspace), *args)
            assert refused.returncode == 1, refused.stderr
            assert refused.stderr.startswith("autogpt-tui: " + refusal_prefix(run.pid))
            assert f"`{command}` must wait until it ends" in refused.stderr
        assert snapshot(workspace) == before
        step = json.loads(cli("log", str(workspace), "--json").stdout)[-1]
        rated = cli("rate", str(workspace), step["sha"], "+1", "--comment", "good start")
        assert rated.returncode == 0, rated.stderr
        log = json.loads(cli("log", str(workspace), "--json").stdout)
        assert log[-1]["reward"] == 1
    finally:
        run.kill()
    assert cli("redo", str(workspace)).returncode == 0  # free again


def test_a_run_takes_over_a_stale_lock_left_by_a_dead_process(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    git(workspace, "init", "-q")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "init")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = lock_path(workspace / ".git")
    path.parent.mkdir(parents=True)
    path.write_text(LockHolder(dead.pid, socket.gethostname(), 1_000_000_000.0, "run").to_json())
    llm_server.script(
        call("write_file", path="a.txt", content="a\n"), call("finish", summary="done")
    )
    result = cli("run", str(workspace), "--goal", "Work", "--base-url", llm_server.base_url)
    assert result.returncode == 0, result.stderr
    assert (workspace / "a.txt").read_text() == "a\n"
    assert path.read_text() == ""  # released: it names nobody


async def test_the_tui_shows_the_refusal_and_starts_no_agent(
    workspace: Path, llm_server: ScriptedLLM, stalled: StalledRun
) -> None:
    before = snapshot(workspace)
    settings = load_settings(
        workspace,
        overrides={"model": {"base_url": llm_server.base_url, "api_key": KEY}},
    )
    app = WorkstationApp(workspace, goal="Work too", settings=settings)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await press(app, "s")
            await until(
                pilot,
                lambda: any(
                    n.message.startswith(refusal_prefix(stalled.pid)) for n in app._notifications
                ),
            )
            await until(pilot, lambda: not app._agent_busy)
            await press(app, "u")
            await until(
                pilot,
                lambda: (
                    sum(
                        n.message.startswith(refusal_prefix(stalled.pid))
                        for n in app._notifications
                    )
                    >= 2
                ),
            )
    finally:
        app.runner.stop()
        app.runner.close()
    assert len(llm_server.requests) == 1  # only the stalled run's
    assert snapshot(workspace) == before


def test_the_tui_holds_the_workspace_while_it_runs_and_gives_it_up_after(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import autogpt_tui.ui.app as app_module
    from autogpt_tui import cli as cli_module
    from autogpt_tui.core.errors import WorkspaceLocked
    from autogpt_tui.core.lock import WorkspaceLock

    seen: dict[str, Any] = {}

    def fake_run_app(_workspace: Path, **kwargs: Any) -> int:
        seen["lock"] = kwargs["lock"]
        try:
            WorkspaceLock.acquire(workspace / ".git", doing="`undo`")
        except WorkspaceLocked as err:
            seen["refusal"] = str(err)
        return 0

    monkeypatch.setattr(app_module, "run_app", fake_run_app)
    assert cli_module.main([str(workspace)]) == 0
    assert seen["lock"].holder.command == "tui"
    assert seen["refusal"].startswith(refusal_prefix(os.getpid()))
    with WorkspaceLock.acquire(workspace / ".git"):  # released when the app ended
        pass
