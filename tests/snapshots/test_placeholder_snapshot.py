"""Snapshot of the placeholder workstation on a workspace with a few steps."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.core.history import History, StepRecord
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.workspace_tree import WorkspaceTree

SnapCompare = Callable[..., bool]

# Commit ids hash the author, committer and their dates: fixing all of them makes the
# short shas in the picture the same on every run and every machine.
FIXED_GIT_ENV = {
    "GIT_AUTHOR_DATE": "2024-01-02T03:04:05+00:00",
    "GIT_COMMITTER_DATE": "2024-01-02T03:04:05+00:00",
    "GIT_COMMITTER_NAME": "Snapshot User",
    "GIT_COMMITTER_EMAIL": "snapshot@example.com",
}


def make_workspace(root: Path) -> Path:
    """A workspace with three steps: #1 rated up, #2 unrated, #3 undone; and some files."""
    workspace = root / "workspace"
    workspace.mkdir()
    (workspace / "README.md").write_text("# demo\n")
    (workspace / ".gitignore").write_text("build/\n")
    (workspace / "build").mkdir()
    (workspace / "build" / "x.o").write_bytes(b"\0")
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("def main() -> int:\n    return 1\n")
    steps = [
        ("src/app.py", "Make main return 0"),
        ("tests.py", "Add a test for [main]"),
        ("notes.txt", "Write notes"),
    ]
    with History.open(workspace) as history:
        shas: list[str] = []
        for number, (path, summary) in enumerate(steps, start=1):
            (workspace / path).write_text(f"step {number}\n")
            step = history.commit_step(
                session="s1",
                step=number,
                tool="write_file",
                policy="default",
                summary=summary,
                record=StepRecord(thought="", tool="write_file", arguments={"path": path}),
                paths=[path],
            )
            shas.append(step.sha)
        history.rate(shas[0], 1, "right fix")
        history.undo(1)
    return workspace


async def settle(pilot: Pilot[None]) -> None:
    """Wait for the history worker, then for the file tree's first level."""
    app = pilot.app
    # Only the history worker: the DirectoryTree's loader worker runs for the app's life.
    await app.workers.wait_for_complete([w for w in app.workers if w.group == "history"])
    await pilot.pause()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        trees = app.query(WorkspaceTree)
        if trees and trees.first().root.children:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def test_placeholder_screen(
    snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Goal hint, three steps (newest first, #1 rated +, #3 undone) and the file tree.

    The header shows the workspace as ``~/workspace`` because HOME is the test folder.
    """
    for name, value in FIXED_GIT_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    workspace = make_workspace(tmp_path)
    assert snap_compare(WorkstationApp(workspace), terminal_size=(100, 30), run_before=settle)
