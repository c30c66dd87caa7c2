"""The workstation's history and files panes: the workers that fill them in.

:class:`HistoryPanes` is the part of the app that reads the step history, shows the file
tree and keeps it following the session's watcher, shows a step's diff, and undoes,
redoes and rates, each on a thread worker whose result comes back as a message. When
the file tree is up with the first frame, the history waits for that frame (its git
processes and parsing would compete with it).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState, get_current_worker

from autogpt_tui.core.errors import UserError
from autogpt_tui.core.history import History
from autogpt_tui.ui.messages import (
    AgentEventMessage,
    HistoryChanged,
    HistoryFailed,
    HistoryLoaded,
    StepDetails,
    WatcherStarted,
)
from autogpt_tui.ui.meters import show_totals
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from autogpt_tui.ui.widgets.goal_panel import GoalPanel
from autogpt_tui.ui.widgets.step_history import StepHistory
from autogpt_tui.ui.widgets.workspace_tree import WorkspaceTree

if TYPE_CHECKING:
    from autogpt_tui.core.records import StepCommit
    from autogpt_tui.core.session_state import SessionTotals
    from autogpt_tui.core.settings import Settings
    from autogpt_tui.core.watcher import WorkspaceWatcher
    from autogpt_tui.ui.agent_runner import AgentRunner

HISTORY_LIMIT = 500
"""How many steps the history panel reads; older ones stay in git."""
FAILED_HINT = "The workspace could not be opened."
"""What the files panel says when opening the workspace failed."""
WORKER_WAIT_S = 30.0
"""Longest a worker waits for the app to say the first frame is up (the app says so
within a second, or as it ends): a last resort only."""


class HistoryPanes(App[None]):
    """The history, file tree and diff workers of the workstation (see the module)."""

    workspace: Path
    """The folder the agent works in."""
    runner: AgentRunner
    """The agent's session."""
    _first_frame: threading.Event
    """Set once the first frame is on screen."""
    _tree_at_once: bool
    """Whether the file tree mounted with the first frame."""
    settings: Settings
    """The configuration the agent runs with."""
    _select_after_load: str | None = None
    """The step to select once the history is read again (the one an undo took back)."""

    if TYPE_CHECKING:
        # The workstation's own (app_steering); declared only for the type checker, so
        # that this part never shadows it.
        def _set_goal(self, goal: str) -> None: ...

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="history",
        description="Read the step history",
    )
    def load_history(self) -> None:
        """Open the workspace (making it a repository if needed) and read its steps.

        A thread worker with its own History: GitPython objects are not shared between
        threads. The result comes back as a message.

        When the file tree is up already, this waits for the first frame (its git
        processes and parsing would compete with it); when the tree waits for this (the
        folder may not be a repository yet), it starts at once.
        """
        if self._tree_at_once:
            self._first_frame.wait(WORKER_WAIT_S)
            if get_current_worker().is_cancelled or self.runner.closing:
                return  # the app ended before its first frame
        try:
            with History.open(self.workspace) as history:
                steps = history.steps(HISTORY_LIMIT)
                root = history.root
                kept_out = history.kept_out_notice
        except UserError as err:
            self.post_message(HistoryFailed(str(err)))
            return
        if kept_out:  # this worker made the folder a repository
            self.call_from_thread(
                self.notify, kept_out, severity="warning", markup=False, timeout=15
            )
        if not get_current_worker().is_cancelled:
            self.post_message(HistoryLoaded(root, steps))

    async def on_history_loaded(self, message: HistoryLoaded) -> None:
        try:
            history = self.query_one(StepHistory)
            # Closing removes children first: a panel can outlive its table for a moment.
            history.query_one("#steps-table")
        except NoMatches:
            return  # the app is closing: the worker's answer came after the panels went
        history.show_steps(message.steps)
        if self._select_after_load is not None:
            history.select(self._select_after_load)
            self._select_after_load = None
        # The log marks what was undone (and unmarks the redone) as git has it.
        self.query_one(ActionLog).sync_history(message.steps)
        goal = self.query_one(GoalPanel)
        if message.steps and (self.runner.goal is None or goal.meters_session is None):
            # The session on the branch: its goal, if none was given, and its meters.
            self.resume_goal()
        self.refresh_bindings()
        await self._show_files(message.root)

    def on_history_failed(self, message: HistoryFailed) -> None:
        self.notify(message.error, severity="error", markup=False)
        for hint in self.query("#files-hint").results(Static):
            hint.update(FAILED_HINT)

    @work(thread=True, exit_on_error=False, group="resume", description="Find the session")
    def resume_goal(self) -> None:
        """Show the goal of the session the branch holds (the agent resumes it), and what
        its steps in force add up to on the meters."""
        from autogpt_tui.core.session_state import session_totals

        chosen = self.runner.session_choice
        if chosen is not None:
            # A session chosen by id (--session, --continue): its own meters, wherever
            # its steps lie; its goal came with the choice.
            with History.open(self.workspace) as history:
                totals = session_totals(history, chosen)
            self.call_from_thread(self._resume, self.runner.goal or "", totals)
            return
        with History.open(self.workspace) as history:
            latest = next(
                (s for s in history.steps_on_branch(records=True, expect=1) if not s.undone),
                None,
            )
            if latest is None or latest.record is None:
                return
            goal = latest.record.goal or None
            if not goal or latest.tool == "finish":
                return
            totals = session_totals(history, latest.session)
        self.call_from_thread(self._resume, goal, totals)

    def _resume(self, goal: str, totals: SessionTotals) -> None:
        if self.runner.goal is None:
            self._set_goal(goal)
            self.notify(f"Resuming the session on the branch: {goal}", markup=False)
        panel = self.query_one(GoalPanel)
        # The loop resumes this session when the goal is the same: the meters start from
        # its steps in force (unless a loop or an undo counted them already).
        if self.runner.goal == goal and panel.meters_session is None:
            show_totals(panel, totals)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Errors the user can cause arrive as messages; this catches the rest (a missing
        # git, a full disk) so they show as a sentence, never a traceback.
        if event.state == WorkerState.ERROR:
            self.notify(
                f"Something went wrong ({event.worker.description}): {event.worker.error}",
                severity="error",
                markup=False,
            )
            if event.worker.group == "history":
                for hint in self.query("#files-hint").results(Static):
                    hint.update(FAILED_HINT)
        if event.worker.group == "agent":
            self.refresh_bindings()

    async def _show_files(self, root: Path) -> None:
        """Mount the file tree once the workspace is surely a repository, following the
        session's watcher (of the repository at ``root``), which starts off the UI thread."""
        files = self.query_one("#files", Vertical)
        if files.query(WorkspaceTree):
            return
        await files.query("#files-hint").remove()
        await files.mount(WorkspaceTree(self.workspace, id="files-tree"))
        self.start_watching(root)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="watcher",
        description="Start watching the workspace",
    )
    def start_watching(self, root: Path) -> None:
        """Make the session's watcher (importing it takes a while) for the file tree to
        follow; it is started once the tree follows it (``run_watcher``)."""
        watcher = self.runner.watcher_for(root)
        if not get_current_worker().is_cancelled:
            self.post_message(WatcherMade(root, watcher))

    def on_watcher_made(self, message: WatcherMade) -> None:
        for tree in self.query(WorkspaceTree).results(WorkspaceTree):
            tree.follow(message.watcher)
        self.run_watcher(message.root)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="watcher",
        description="Start watching the workspace",
    )
    def run_watcher(self, root: Path) -> None:
        """Start the session's watcher: adding a watch per folder takes a while."""
        try:
            started = self.runner.start_watching(root)
        except OSError as err:
            self.notify(
                f"Changes on disk will not show in the file tree: {err.strerror or err}",
                severity="warning",
                markup=False,
            )
            return
        if started is not None:
            self.post_message(WatcherStarted())

    def on_watcher_started(self, _message: WatcherStarted) -> None:
        for tree in self.query(WorkspaceTree).results(WorkspaceTree):
            tree.notify_if_polling()

    def on_step_history_step_selected(self, message: StepHistory.StepSelected) -> None:
        self.load_step_details(message.step.sha)

    @work(thread=True, exclusive=True, exit_on_error=False, group="details")
    def load_step_details(self, sha: str) -> None:
        """Read a step's record and diff off the UI thread."""
        try:
            with History.open(self.workspace) as history:
                step = history.resolve(sha)
                diff = history.diff(sha)
        except UserError as err:
            self.post_message(HistoryFailed(str(err)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(StepDetails(step, diff))

    def on_step_details(self, message: StepDetails) -> None:
        if self.runner.awaiting_approval:
            return  # the pending action's proposed change stays on screen
        step = message.step
        try:
            viewer = self.query_one(DiffViewer)
        except NoMatches:
            return  # the app is closing: the panels went before this worker's answer came
        title = f"step {step.step} · {step.tool} · {step.short_sha}"
        if message.diff.strip():
            viewer.show_diff(title, message.diff)
        else:
            viewer.show_message(f"Step {step.step} ({step.tool}) changed no file.")

    @work(thread=True, exit_on_error=False, group="history-op", description="Change history")
    def history_operation(
        self, op: str, rev: str = "", value: int = 0, comment: str | None = None
    ) -> None:
        """Undo, redo or rate on a worker thread; the history reloads afterwards."""
        from autogpt_tui.core.session_state import session_totals

        totals: SessionTotals | None = None
        try:
            if op in ("undo", "redo"):
                # Never under another agent's feet; once held, the app keeps the lock.
                self.runner.claim_workspace()
            with History.open(self.workspace) as history:
                select = None
                if op == "undo":
                    negative = self.settings.rewards.undo_is_negative
                    (step,) = history.undo(1, negative=negative)
                    summary = undo_summary(step)
                    select = step.sha  # so that 0 (and + and -) act on the step undone
                elif op == "redo":
                    (step,) = history.redo(1)
                    summary = f"Redid step {step.step}: {step.summary}"
                else:
                    step = history.rate(rev, value, comment)
                    summary = (
                        f"Rated step {step.step} {step.rating.glyph}"
                        if step.rating
                        else f"Cleared the rating of step {step.step}"
                    )
                    if comment:
                        summary += f": {comment}"
                if op in ("undo", "redo"):
                    # The meters count the steps in force: recounted, not decremented.
                    totals = session_totals(history, self.runner.session_id or step.session)
                    if (orchestra := self.runner.orchestra) is not None:  # a team's plan rewinds
                        self.post_message(AgentEventMessage(orchestra.plan_event(history)))
        except UserError as err:
            self.post_message(HistoryFailed(str(err)))
            return
        self.post_message(HistoryChanged(summary, select, totals))

    def on_history_changed(self, message: HistoryChanged) -> None:
        self.notify(message.summary, markup=False)
        self._select_after_load = message.select
        if message.totals is not None:
            for goal in self.query(GoalPanel).results(GoalPanel):  # none while closing
                show_totals(goal, message.totals)
        self.load_history()


def undo_summary(step: StepCommit) -> str:
    """The toast for an undo: what was undone, and whether it counted as a rating
    (``[rewards] undo_is_negative``) and how to take that back."""
    summary = f"Undid step {step.step}: {step.summary}"
    if step.rating is not None and step.rating.source == "undo":
        summary += " — counted as −1; press 0 to clear"
    return summary


class WatcherMade(Message):
    """From the watcher worker: the session's watcher exists (not started yet)."""

    def __init__(self, root: Path, watcher: WorkspaceWatcher) -> None:
        super().__init__()
        self.root = root
        """The repository it watches."""
        self.watcher = watcher
        """The watcher, for the file tree to follow before it starts."""
