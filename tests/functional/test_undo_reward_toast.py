"""Undo as a reward, visibly: the undo toast says when an undo counted as −1, and `0`
clears it; with ``[rewards] undo_is_negative = false`` nothing is rated nor said."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Static

from autogpt_tui.core.history import History
from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.screens.help import HelpScreen
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_cli import cli
from tests.functional.test_tui import press, until
from tests.support.steps import write_file_steps

COUNTED = "counted as −1; press 0 to clear"


def two_steps(workspace: Path) -> list[str]:
    """Steps 1 and 2 of session s1, each writing a file; returns their shas."""
    return write_file_steps(workspace, {f"file{n}.txt": f"content {n}\n" for n in (1, 2)})


def make_app(workspace: Path, *, negative: bool) -> WorkstationApp:
    settings = load_settings(workspace, overrides={"rewards": {"undo_is_negative": negative}})
    return WorkstationApp(workspace, settings=settings)


def toasts(app: WorkstationApp) -> list[str]:
    return [n.message for n in app._notifications]


def reward_of(app: WorkstationApp, sha: str) -> float | None:
    return next((s.reward for s in app.query_one(StepHistory).steps if s.sha == sha), None)


def undone(app: WorkstationApp, sha: str) -> bool:
    return any(s.sha == sha and s.undone for s in app.query_one(StepHistory).steps)


async def test_an_undo_that_counts_says_so_and_0_clears_it(workspace: Path) -> None:
    first, second = two_steps(workspace)
    app = make_app(workspace, negative=True)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            history = app.query_one(StepHistory)
            await until(pilot, lambda: history.loaded and len(history.steps) == 2)
            # The user looks at the older step, then undoes the last one.
            history.select(first)
            await until(pilot, lambda: history.selected_step is not None)
            await press(app, "u")
            await until(pilot, lambda: undone(app, second))
            assert f"Undid step 2: Write file2.txt — {COUNTED}" in toasts(app)
            assert reward_of(app, second) == -1
            # The step undone is selected, so 0 clears its −1, not the other step's.
            await until(pilot, lambda: (s := history.selected_step) is not None and s.sha == second)
            await press(app, "0")
            await until(pilot, lambda: reward_of(app, second) is None)
            assert "Cleared the rating of step 2" in toasts(app)
            assert reward_of(app, first) is None
    finally:
        app.runner.close()
    with History.open(workspace) as h:
        assert [e.source for e in h.ratings(second)] == ["undo", "user"]
        assert h.ratings(first) == []


async def test_an_undo_that_does_not_count_rates_nothing_and_says_nothing(
    workspace: Path,
) -> None:
    _, second = two_steps(workspace)
    app = make_app(workspace, negative=False)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            history = app.query_one(StepHistory)
            await until(pilot, lambda: history.loaded and len(history.steps) == 2)
            await press(app, "u")
            await until(pilot, lambda: undone(app, second))
            assert "Undid step 2: Write file2.txt" in toasts(app)
            assert not any("−1" in toast for toast in toasts(app))
            assert reward_of(app, second) is None
    finally:
        app.runner.close()
    with History.open(workspace) as h:
        assert h.ratings(second) == []


async def test_the_help_screen_and_the_palette_list_0(workspace: Path) -> None:
    two_steps(workspace)
    app = make_app(workspace, negative=True)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            history = app.query_one(StepHistory)
            await until(pilot, lambda: history.loaded and len(history.steps) == 2)
            titles = {c.title for c in app.get_system_commands(app.screen)}
            assert "Clear rating" in titles
            await press(app, "question_mark")
            await until(
                pilot,
                lambda: isinstance(app.screen, HelpScreen) and bool(app.screen.query(".help-key")),
            )
            keys = app.screen.query(".help-key").results(Static)
            texts = app.screen.query(".help-action").results(Static)
            rows = {(str(k.render()), str(t.render())) for k, t in zip(keys, texts, strict=True)}
            assert ("0", "Clear the selected step's rating (the −1 an undo counted too).") in rows
    finally:
        app.runner.close()


def test_the_cli_undo_says_when_it_counted(workspace: Path) -> None:
    two_steps(workspace)
    result = cli("undo", str(workspace))
    assert result.returncode == 0, result.stderr
    assert "Undid step 2 (" in result.stdout
    assert "Counted as -1 ([rewards] undo_is_negative): s1#2;" in result.stdout
    assert "rate REV 0" in result.stdout
    # Turned off in the workspace's own file (allowed: it only rates less).
    (workspace / ".autogpt-tui.toml").write_text("[rewards]\nundo_is_negative = false\n")
    result = cli("undo", str(workspace))
    assert result.returncode == 0, result.stderr
    assert "Undid step 1 (" in result.stdout and "Counted" not in result.stdout
    entries = json.loads(cli("log", str(workspace), "--json").stdout)
    assert [(e["step"], e["reward"]) for e in entries] == [(2, -1), (1, None)]
