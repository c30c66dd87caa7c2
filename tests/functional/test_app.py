"""The placeholder workstation driven through Textual's Pilot."""

from __future__ import annotations

import gc
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.text import Text
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from autogpt_tui.core.events import StepCommitted
from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepRecord
from autogpt_tui.ui.app import FAILED_HINT, SWITCH_INTERVAL_S, WorkstationApp
from autogpt_tui.ui.gc_pacing import FULL_THRESHOLD, QUIET_AFTER
from autogpt_tui.ui.messages import AgentEventMessage
from autogpt_tui.ui.screens.prompt import TextPrompt
from autogpt_tui.ui.widgets.goal_panel import NO_GOAL_HINT, GoalPanel
from autogpt_tui.ui.widgets.step_history import DISPLAY_ORDER, EMPTY_HINT
from autogpt_tui.ui.widgets.workspace_tree import WorkspaceTree
from tests.support.steps import write_file_steps

SIZE = (100, 30)


def write_steps(workspace: Path) -> None:
    """Give ``workspace`` three steps: #1 rated up, #2 rated down, #3 undone."""
    shas = write_file_steps(workspace, {f"file{n}.txt": f"content {n}\n" for n in (1, 2, 3)})
    with History.open(workspace) as history:
        history.rate(shas[0], 1, "good")
        history.rate(shas[1], -1, "wrong file")
        history.undo(1)


async def settle(pilot: Pilot[None]) -> None:
    """Wait until the history has been read and the file tree shows its first level."""
    app = pilot.app
    # Only the history worker: the DirectoryTree's loader worker runs for the app's life.
    await app.workers.wait_for_complete([w for w in app.workers if w.group == "history"])
    await pilot.pause()
    deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
    while time.monotonic() < deadline:
        trees = app.query(WorkspaceTree)
        if trees and trees.first().root.children:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def table_rows(app: WorkstationApp) -> list[list[str]]:
    """The step table's rows as plain text, in the logical order of COLUMNS."""
    table: DataTable[Text] = app.query_one("#steps-table", DataTable)
    out = []
    for i in range(table.row_count):
        shown = table.get_row_at(i)
        cells = [shown[DISPLAY_ORDER.index(j)] for j in range(len(DISPLAY_ORDER))]
        out.append([cell.plain if isinstance(cell, Text) else str(cell) for cell in cells])
    return out


def tree_names(app: WorkstationApp) -> list[str]:
    """The names shown at the top level of the file tree."""
    return [str(node.label) for node in app.query_one(WorkspaceTree).root.children]


async def test_history_lists_steps_newest_first(workspace: Path) -> None:
    write_steps(workspace)
    app = WorkstationApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = table_rows(app)
    # Columns: commit, step, tool, rating, state, summary.
    assert [row[1] for row in rows] == ["#3", "#2", "#1"]  # one session: not named
    assert [row[5] for row in rows] == ["Write file3.txt", "Write file2.txt", "Write file1.txt"]
    assert [row[4] for row in rows] == ["undone", "", ""]
    # The undone step carries the undo's implicit -1.
    assert [row[3] for row in rows] == ["-", "-", "+"]
    assert all(row[2] == "write_file" and len(row[0]) == 8 for row in rows)


async def test_summary_with_brackets_is_shown_as_written(workspace: Path) -> None:
    with History.open(workspace) as history:
        (workspace / "x.txt").write_text("x\n")
        history.commit_step(
            session="s1",
            step=1,
            tool="write_file",
            policy="default",
            summary="Fix [bold]x[/bold] in [x.txt]",
            record=StepRecord(tool="write_file"),
            paths=["x.txt"],
        )
    app = WorkstationApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert table_rows(app)[0][5] == "Fix [bold]x[/bold] in [x.txt]"


async def test_q_quits(workspace: Path) -> None:
    app = WorkstationApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_folder_that_is_not_a_repository_is_initialised(workspace: Path) -> None:
    assert not (workspace / ".git").exists()
    app = WorkstationApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        hint = app.query_one("#steps-hint", Static)
        assert hint.display
        assert str(hint.render()) == EMPTY_HINT
    assert (workspace / ".git").is_dir()
    head = subprocess.run(
        ["git", "log", "-1", "--format=%s"], cwd=workspace, capture_output=True, text=True
    )
    assert head.returncode == 0
    # The first commit keeps the files that were already there.
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=workspace, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(tracked) == ["README.md", "src/app.py"]


async def test_initialising_a_folder_keeps_secrets_out_and_says_so(workspace: Path) -> None:
    (workspace / ".env").write_text("TOKEN=do-not-commit\n")
    (workspace / "deploy.key").write_text("key\n")
    seen: list[Message] = []
    app = WorkstationApp(workspace)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await settle(pilot)
        warnings = [
            m.notification.message
            for m in seen
            if isinstance(m, Notify) and m.notification.severity == "warning"
        ]
    kept = [w for w in warnings if "look like secrets" in w]
    assert len(kept) == 1 and ".env" in kept[0] and "deploy.key" in kept[0]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=workspace, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(tracked) == ["README.md", "src/app.py"]
    assert (workspace / ".env").read_text() == "TOKEN=do-not-commit\n"
    exclude = (workspace / ".git" / "info" / "exclude").read_text().splitlines()
    assert {"/.env", "/deploy.key"} <= set(exclude)


async def test_notices_given_to_the_app_are_shown(workspace: Path) -> None:
    seen: list[Message] = []
    app = WorkstationApp(workspace, notices=["Kept .env out of the first commit."])
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await settle(pilot)
    assert any(
        isinstance(m, Notify) and m.notification.message == "Kept .env out of the first commit."
        for m in seen
    )


async def test_file_tree_hides_git_and_ignored_files(workspace: Path) -> None:
    (workspace / ".gitignore").write_text("build/\n*.log\n")
    (workspace / "build").mkdir()
    (workspace / "build" / "x.o").write_bytes(b"\0")
    (workspace / "debug.log").write_text("noise\n")
    (workspace / "notes.txt").write_text("keep\n")
    app = WorkstationApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        names = tree_names(app)
    assert (workspace / ".git").is_dir()
    # Folders first, then files, case-insensitively by name (DirectoryTree's order).
    assert names == ["src", ".gitignore", "notes.txt", "README.md"]


async def test_goal_panel_shows_goal_mode_and_status(workspace: Path) -> None:
    app = WorkstationApp(workspace, goal="Add a  test\nsuite")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = app.query_one(GoalPanel)
        assert str(panel.query_one("#goal-text", Static).render()) == "Add a test suite"
        state = str(panel.query_one("#goal-state", Static).render())
        assert "step" in state and "idle" in state


async def test_g_sets_the_goal(workspace: Path) -> None:
    app = WorkstationApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = app.query_one(GoalPanel)
        assert str(panel.query_one("#goal-text", Static).render()) == NO_GOAL_HINT
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        # Typed into the input, "q" is text, not the quit key.
        await pilot.press(*"quick fix", "enter")
        await pilot.pause()
        assert app.is_running
        assert panel.goal == "quick fix" and app.runner.goal == "quick fix"
        assert str(panel.query_one("#goal-text", Static).render()) == "quick fix"


async def test_escape_cancels_goal_edit(workspace: Path) -> None:
    app = WorkstationApp(workspace, goal="keep me")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g", "ctrl+u", *"other", "escape")
        await pilot.pause()
        panel = app.query_one(GoalPanel)
        assert panel.goal == "keep me" and app.runner.goal == "keep me"
        assert not isinstance(app.screen, TextPrompt)


async def test_missing_workspace_is_reported_not_raised(tmp_path: Path) -> None:
    seen: list[Message] = []
    app = WorkstationApp(tmp_path / "no-such-folder")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "history"])
        await pilot.pause()
        errors = [
            m.notification.message
            for m in seen
            if isinstance(m, Notify) and m.notification.severity == "error"
        ]
        assert len(errors) == 1
        assert "does not exist" in errors[0]
        assert app.is_running
    assert not (tmp_path / "no-such-folder").exists()


async def test_unexpected_failure_is_a_notification(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_open(path: Path) -> History:
        raise OSError("the disk is on fire")

    monkeypatch.setattr(History, "open", broken_open)
    seen: list[Message] = []
    app = WorkstationApp(workspace)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "history"])
        await pilot.pause()
        errors = [
            m.notification.message
            for m in seen
            if isinstance(m, Notify) and m.notification.severity == "error"
        ]
        assert len(errors) == 1 and errors[0].endswith("the disk is on fire")
        assert str(app.query_one("#files-hint", Static).render()) == FAILED_HINT
        assert app.is_running


async def test_unknown_theme_falls_back_with_a_warning(workspace: Path) -> None:
    seen: list[Message] = []
    app = WorkstationApp(workspace, theme_name="no-such-theme")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await settle(pilot)
        warnings = [
            m.notification.message
            for m in seen
            if isinstance(m, Notify) and m.notification.severity == "warning"
        ]
        assert warnings and "no-such-theme" in warnings[0]
        assert app.theme == "textual-dark"


async def test_the_agent_thread_gets_the_interpreter_back_quickly_while_the_app_runs(
    workspace: Path,
) -> None:
    """A busy UI thread holds the interpreter lock for at most the app's switch interval;
    the interpreter's own comes back when the app ends."""
    before = sys.getswitchinterval()
    app = WorkstationApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S)
        assert before > SWITCH_INTERVAL_S
    assert sys.getswitchinterval() == pytest.approx(before)


async def test_full_garbage_collections_wait_for_a_quiet_moment(workspace: Path) -> None:
    """While the app runs, Python's full collections are rare; a committed step (a quiet
    moment between two streams) runs the one Python would have run by then."""
    before = gc.get_threshold()
    app = WorkstationApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert gc.get_threshold()[2] == FULL_THRESHOLD > before[2]
        for _ in range(QUIET_AFTER):
            gc.collect(1)  # each bumps the count of middle collections
        assert gc.get_count()[2] >= QUIET_AFTER
        event = StepCommitted(
            sha="0" * 40, step=1, session="s1", tool="write_file", policy="p", summary="Edit a"
        )
        app.post_message(AgentEventMessage(event))
        for _ in range(100):
            if app.gc_pacer.collections:
                break
            await pilot.pause()
        assert app.gc_pacer.collections == 1
        assert gc.get_count()[2] < QUIET_AFTER
        assert not app.gc_pacer.quiet()  # nothing to do until Python would collect again
    assert gc.get_threshold() == before
