"""Snapshots of the workstation's main states, at 80×24 and 160×45, in two themes.

Everything that would change between runs or machines is fixed: commit dates and
identities (so the short shas are stable), the session id, the clock in the log's step
headers, HOME (so the header shows ``~/workspace``), the terminal's size, the model's
replies (the scripted server) and its port, and whether commands can be sandboxed: a stand-in
``bwrap`` first on PATH answers the sandbox's probe, so the log never says "Commands run
without a sandbox" on a machine without bubblewrap and not on one with it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepRecord
from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui import app as app_module
from autogpt_tui.ui import endpoint
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets import action_log
from autogpt_tui.ui.widgets.workspace_tree import WorkspaceTree
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

SnapCompare = Callable[..., bool]

FIXED_GIT_ENV = {
    "GIT_AUTHOR_DATE": "2024-01-02T03:04:05+00:00",
    "GIT_COMMITTER_DATE": "2024-01-02T03:04:05+00:00",
    "GIT_COMMITTER_NAME": "Snapshot User",
    "GIT_COMMITTER_EMAIL": "snapshot@example.com",
}
GOAL = "Make main return 0 and test it"
SIZES = [(80, 24), (160, 45)]
THEMES = ["autogpt-dark", "autogpt-light"]
# Workers that run for the app's whole life (the tree's directory loader).
LONG_LIVED = {"_loader"}


def make_workspace(root: Path) -> Path:
    """Three steps of session "demo": #1 rated up, #2 unrated, #3 undone."""
    workspace = root / "workspace"
    workspace.mkdir()
    (workspace / "README.md").write_text("# demo\n")
    (workspace / ".gitignore").write_text("build/\n")
    (workspace / "build").mkdir()
    (workspace / "build" / "x.o").write_bytes(b"\0")
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("def main() -> int:\n    return 1\n")
    steps = [
        ("src/app.py", "def main() -> int:\n    return 0\n", "Edit src/app.py"),
        ("tests.py", "from src.app import main\n\nassert main() == 0\n", "Write tests.py"),
        ("notes.txt", "remember the [main] change\n", "Write notes.txt"),
    ]
    with History.open(workspace) as history:
        shas: list[str] = []
        for number, (path, text, summary) in enumerate(steps, start=1):
            (workspace / path).write_text(text)
            record = StepRecord(
                thought=f"Step {number}.", tool="write_file", arguments={"path": path}
            )
            record.goal = GOAL
            step = history.commit_step(
                session="demo",
                step=number,
                tool="write_file",
                policy="default",
                summary=summary,
                record=record,
                paths=[path],
            )
            shas.append(step.sha)
        history.rate(shas[0], 1, "right fix")
        history.undo(1)
    return workspace


STAND_IN_BWRAP = """#!/bin/sh
# The snapshot tests' bubblewrap: it answers the sandbox's probe (`bwrap ARGS... true`)
# and runs nothing else, so no command could ever run unconfined by mistake.
for last; do :; done
[ "$last" = true ] && exit 0
echo "the snapshot tests' stand-in for bwrap runs no command" >&2
exit 1
"""
"""Put first on PATH: the sandbox then counts as available wherever the tests run."""


def stand_in_bwrap(folder: Path) -> Path:
    """Write the stand-in ``bwrap`` into ``folder``; the folder to put on PATH."""
    folder.mkdir()
    bwrap = folder / "bwrap"
    bwrap.write_text(STAND_IN_BWRAP)
    bwrap.chmod(0o755)
    return folder


@pytest.fixture
def fixed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name, value in FIXED_GIT_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    bin_folder = stand_in_bwrap(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(action_log, "clock", lambda: "12:00:00")
    # The scripted server's port changes from run to run: the goal panel's endpoint shows
    # the real host, with the port as a word.
    host = endpoint.endpoint_host
    monkeypatch.setattr(endpoint, "endpoint_host", lambda url: re.sub(r":\d+$", ":PORT", host(url)))
    yield make_workspace(tmp_path)


async def settle(pilot: Pilot[None], also_ignore: frozenset[str] = frozenset()) -> None:
    """Wait for the history, the resumed goal and the file tree's first level."""
    app = pilot.app
    assert isinstance(app, WorkstationApp)
    deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
    while time.monotonic() < deadline:
        trees = app.query(WorkspaceTree)
        ready = trees and trees.first().root.children and app.runner.goal
        ignored = LONG_LIVED | also_ignore
        busy = [w for w in app.workers if w.is_running and w.group not in ignored]
        if ready and not busy:
            break
        await pilot.pause(0.02)
    await pilot.pause(0.1)


def make_app(workspace: Path, server: ScriptedLLM, theme: str) -> WorkstationApp:
    settings = load_settings(
        workspace, overrides={"model": {"base_url": server.base_url, "api_key": "sk-snap"}}
    )
    return WorkstationApp(workspace, theme_name=theme, settings=settings)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_idle_with_history(
    snap_compare: SnapCompare,
    fixed: Path,
    llm_server: ScriptedLLM,
    theme: str,
    size: tuple[int, int],
) -> None:
    """The resumed session's goal, three steps (#1 rated, #3 undone), files, diff of #2."""
    app = make_app(fixed, llm_server, theme)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("3")  # on a narrow screen, show the history panel
        await pilot.press("down")  # select step 2: its diff loads
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_waiting_for_approval(
    snap_compare: SnapCompare,
    fixed: Path,
    llm_server: ScriptedLLM,
    theme: str,
    size: tuple[int, int],
) -> None:
    """A proposed edit waits: its diff is on screen, the footer offers approve/reject."""
    llm_server.script(
        Reply(
            "The test imports `main`; I'll add a **docstring** so its purpose is clear.",
            tool_calls=[
                ToolCall(
                    "write_file",
                    {
                        "path": "src/app.py",
                        "content": 'def main() -> int:\n    """Exit status."""\n    return 0\n',
                    },
                )
            ],
        )
    )
    app = make_app(fixed, llm_server, theme)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("s")
        deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
        while not app.runner.awaiting_approval and time.monotonic() < deadline:
            await pilot.pause(0.02)
        await settle(pilot, also_ignore=frozenset({"agent"}))  # it waits for us, by design
        app.clear_notifications()  # toasts time out; the picture should not depend on when
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_module_constants_are_what_the_snapshots_assume() -> None:
    assert app_module.NARROW_BELOW > 80 and app_module.WIDE_FROM <= 160
