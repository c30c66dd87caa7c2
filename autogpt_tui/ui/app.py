"""The workstation app (placeholder): goal, step history and workspace files.

The full workstation (stepping, approvals, diffs, ratings) comes later; this screen
opens on a workspace and shows what is already there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from autogpt_tui.core.errors import UserError
from autogpt_tui.core.history import History, StepCommit
from autogpt_tui.ui.widgets.goal_panel import GoalPanel
from autogpt_tui.ui.widgets.step_history import StepHistory
from autogpt_tui.ui.widgets.workspace_tree import WorkspaceTree

HISTORY_LIMIT = 500
"""How many steps the history panel reads; older ones stay in git."""
OPENING_HINT = "Opening the workspace…"
"""What the files panel says until the workspace is a repository we can read."""
FAILED_HINT = "The workspace could not be opened."
"""What the files panel says when opening the workspace failed."""


def display_path(path: Path) -> str:
    """``path`` for people: the home folder shortened to ``~``."""
    home = Path.home()
    try:
        return "~" + ("/" + str(path.relative_to(home)) if path != home else "")
    except ValueError:
        return str(path)


class WorkstationApp(App[None]):
    """The terminal workstation: the goal, the agent's steps and the workspace's files."""

    CSS_PATH = "app.tcss"
    # The step list is what the user came to look at; keys like g and q must reach the app.
    AUTO_FOCUS = "#steps-table"
    TITLE = "autogpt-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "edit_goal", "Goal"),
        Binding("q", "quit", "Quit"),
    ]

    class HistoryLoaded(Message):
        """The history worker read the workspace's steps."""

        def __init__(self, root: Path, steps: Sequence[StepCommit]) -> None:
            super().__init__()
            self.root = root
            """The repository's top folder (the workspace, or a repository holding it)."""
            self.steps = list(steps)
            """The steps, newest first."""

    class HistoryFailed(Message):
        """The history worker could not open or read the workspace."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error
            """One sentence saying what went wrong."""

    def __init__(
        self, workspace: Path, goal: str | None = None, theme_name: str | None = None
    ) -> None:
        super().__init__()
        self.workspace = workspace.expanduser().resolve()
        """The folder the agent works in."""
        self._goal = goal
        self._theme_name = theme_name
        self.sub_title = display_path(self.workspace)

    def compose(self) -> ComposeResult:
        yield Header()
        yield GoalPanel(self._goal, id="goal")
        with Horizontal(id="main"):
            yield StepHistory(id="history")
            with Vertical(id="files"):
                yield Static(OPENING_HINT, id="files-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#files", Vertical).border_title = "Files"
        if self._theme_name:
            self._apply_theme(self._theme_name)
        self.load_history()

    def _apply_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name
        else:
            # An unknown theme is a typo, not a reason to refuse to start.
            self.notify(
                f"There is no theme named {name!r}; using {self.theme!r}.",
                severity="warning",
                markup=False,
            )

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="history",
        description="Read the step history",
    )
    def load_history(self) -> None:
        """Open the workspace (making it a repository if needed) and read its steps.

        Runs in a thread with its own History, since GitPython objects must not be
        shared between threads; the result comes back as a message.
        """
        try:
            history = History.open(self.workspace)
        except UserError as err:
            self.post_message(self.HistoryFailed(str(err)))
            return
        try:
            steps = history.steps(HISTORY_LIMIT)
            root = history.root
        except UserError as err:
            self.post_message(self.HistoryFailed(str(err)))
            return
        finally:
            history.close()
        if not get_current_worker().is_cancelled:
            self.post_message(self.HistoryLoaded(root, steps))

    async def on_workstation_app_history_loaded(self, message: HistoryLoaded) -> None:
        self.query_one(StepHistory).show_steps(message.steps)
        await self._show_files()

    def on_workstation_app_history_failed(self, message: HistoryFailed) -> None:
        self.notify(message.error, severity="error", markup=False)
        self._show_files_failed()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Errors the user can cause arrive as HistoryFailed; this catches the rest
        # (a missing git, a full disk) so they show as a sentence, not a silent blank.
        if event.worker.group == "history" and event.state == WorkerState.ERROR:
            self.notify(
                f"Could not read the history: {event.worker.error}",
                severity="error",
                markup=False,
            )
            self._show_files_failed()

    def _show_files_failed(self) -> None:
        # query(), not query_one(): the hint is gone if the tree was already shown.
        for hint in self.query("#files-hint").results(Static):
            hint.update(FAILED_HINT)

    async def _show_files(self) -> None:
        """Put the file tree in place once the workspace is surely a repository.

        Mounting it only now means its ignore filter never runs against a folder that
        ``History.open`` has not yet initialised.
        """
        files = self.query_one("#files", Vertical)
        if files.query(WorkspaceTree):
            return
        await files.query("#files-hint").remove()
        await files.mount(WorkspaceTree(self.workspace, id="files-tree"))

    async def action_edit_goal(self) -> None:
        """Open the goal input."""
        await self.query_one(GoalPanel).start_editing()


def run_app(workspace: Path, goal: str | None = None, theme_name: str | None = None) -> int:
    """Run the workstation on ``workspace`` until the user quits; returns the exit status."""
    app = WorkstationApp(workspace, goal=goal, theme_name=theme_name)
    app.run()
    return app.return_code or 0
