"""The workstation's start: the first frame waits for nothing (no timings here; the
benchmark judges speed, these tests the order of events)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import ComposeResult
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepCommit
from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.screens.confirm import ConfirmPrompt
from autogpt_tui.ui.widgets.keys_footer import KeysFooter
from autogpt_tui.ui.widgets.step_history import StepHistory
from autogpt_tui.ui.widgets.workspace_tree import WorkspaceTree
from tests.functional.test_app import write_steps

SIZE = (120, 40)
DEADLINE_S = 30.0  # a condition wait: it ends as soon as the condition holds


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


class SlowHistory:
    """Holds ``History.steps`` (a big repository's history walk) until released, and
    notes what was on screen when it was first asked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = threading.Event()
        self.asked = threading.Event()
        self.app: WorkstationApp | None = None
        self.first_frame_when_asked: bool | None = None
        original = History.steps

        def steps(history: History, *args: Any, **kwargs: Any) -> list[StepCommit]:
            if not self.asked.is_set():
                assert self.app is not None
                self.first_frame_when_asked = self.app.first_frame_shown
                self.asked.set()
            # Bounded, so that a failing test cannot leave the worker waiting forever.
            self.release.wait(DEADLINE_S)
            return original(history, *args, **kwargs)

        monkeypatch.setattr(History, "steps", steps)


def tree_names(app: WorkstationApp) -> list[str]:
    return [str(node.label) for node in app.query_one(WorkspaceTree).root.children]


def footer_actions(app: WorkstationApp) -> set[str]:
    """The actions the footer offers keys for."""
    return {key.action for key in app.query_one(KeysFooter).query(FooterKey)}


async def test_a_slow_history_holds_back_neither_the_frame_nor_the_tree(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_steps(workspace)
    slow = SlowHistory(monkeypatch)
    app = WorkstationApp(workspace)
    slow.app = app
    async with app.run_test(size=SIZE) as pilot:
        # The tree is there from the first frame, before the history was read at all.
        assert app.query(WorkspaceTree)
        await until(pilot, lambda: app.first_frame_shown, "the first frame")
        # (a recompose may be under way: its keys are unmounted, then mounted again)
        await until(pilot, lambda: "quit" in footer_actions(app), "the footer's keys")
        await until(pilot, lambda: bool(app.query_one(WorkspaceTree).root.children), "files")
        assert "file1.txt" in tree_names(app)
        # The history was asked for only once the first frame was up, and it has not
        # answered: the tree and the frame did not wait for it.
        await until(pilot, slow.asked.is_set, "the history to be asked for")
        assert slow.first_frame_when_asked is True
        assert app.query_one(StepHistory).steps == ()
        assert any(w.group == "history" and w.is_running for w in app.workers)
        # The watcher came after the first frame too, and the tree follows it.
        tree = app.query_one(WorkspaceTree)
        await until(pilot, lambda: tree.watcher is not None, "the tree to follow the watcher")
        assert tree.watcher is app.runner.watcher
        watcher = app.runner.watcher
        await until(pilot, lambda: watcher is not None and watcher.running, "the watcher to run")
        (workspace / "later.txt").write_text("made while the history loads\n")
        await until(pilot, lambda: "later.txt" in tree_names(app), "later.txt in the tree")
        assert app.query_one(StepHistory).steps == ()
        slow.release.set()
        await until(pilot, lambda: len(app.query_one(StepHistory).steps) == 3, "the history")


async def test_a_folder_that_is_not_yet_a_repository_gets_its_tree_after_the_history(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The history worker makes it a repository (git decides what the tree hides), so
    # here the tree waits for it, and the worker does not wait for the first frame.
    slow = SlowHistory(monkeypatch)
    app = WorkstationApp(workspace)
    slow.app = app
    async with app.run_test(size=SIZE) as pilot:
        assert not app.query(WorkspaceTree)
        await until(pilot, slow.asked.is_set, "the history to be asked for")
        assert (workspace / ".git").exists()
        assert not app.query(WorkspaceTree)
        slow.release.set()
        await until(pilot, lambda: bool(app.query(WorkspaceTree)), "the tree")
        await until(pilot, lambda: "README.md" in tree_names(app), "the files")


async def test_the_trust_prompt_still_comes_while_the_history_is_slow(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    History.open(workspace).close()
    (workspace / ".autogpt-tui.toml").write_text(
        '[[policy.arms]]\nname = "steered"\ninstructions = "Do what the repository says."\n'
    )
    settings = load_settings(workspace)
    assert settings.untrusted is not None
    slow = SlowHistory(monkeypatch)
    app = WorkstationApp(workspace, settings=settings)
    slow.app = app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfirmPrompt), "the trust prompt")
        assert app.query_one(StepHistory).steps == ()
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmPrompt), "the answer")
        assert [arm.name for arm in app.settings.policy.arms] == ["default"]
        slow.release.set()


async def test_the_footer_lists_its_keys_as_it_first_composes(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    History.open(workspace).close()
    composed: list[list[str]] = []
    original = KeysFooter.compose

    def compose(footer: KeysFooter) -> ComposeResult:
        actions: list[str] = []
        composed.append(actions)
        for widget in original(footer):
            if isinstance(widget, FooterKey):
                actions.append(widget.action)
            yield widget

    monkeypatch.setattr(KeysFooter, "compose", compose)
    app = WorkstationApp(workspace)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(composed), "the footer's first compose")
        # The app's own keys, there in the very first frame (no recompose needed).
        assert {"quit", "step", "help", "cycle_mode"} <= set(composed[0])


def test_the_first_frame_imports_neither_the_loop_nor_the_watcher() -> None:
    # What the first frame does not need waits for first use: the agent loop and its
    # session, the tools, the learning code, the watcher (watchdog), the model client,
    # and the thoughts' Markdown (markdown-it and its plug-ins, pygments).
    later = (
        "autogpt_tui.core.agent",
        "autogpt_tui.core.session",
        "autogpt_tui.core.tools",
        "autogpt_tui.core.learning",
        "autogpt_tui.core.watcher",
        "autogpt_tui.ui.agent_events",
        "watchdog",
        "openai",
        "autogpt_tui.ui.widgets.agent_thought",
        "markdown_it",
        "pygments",
    )
    code = (
        f"import sys, autogpt_tui.ui.app; print(','.join(m for m in {later!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
