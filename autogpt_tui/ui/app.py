"""The workstation: watch the agent think, approve its actions, review and rate its steps.

Layout (``app.tcss``): the goal panel on top; below it the step history and the file
tree, the live thought/action log, and the diff viewer. Wide terminals show them side
by side; at 80 columns one panel shows at a time (keys 1–4 or tab between them).

Nothing here blocks on the model, git or the file system: the agent runs on a thread
worker (``AgentRunner``), history operations on their own thread workers, and every
result comes back as a message.

The first frame waits for nothing: the panels mount empty (the file tree at once when
the workspace is a repository's top), and only once the frame with the footer's keys is
on screen do the history, the watcher and the rest start filling them in. What the
first frame does not need (the agent loop, the learning code, the watcher) is imported
on first use.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import MountError
from textual.widgets import Header, Static

from autogpt_tui.core.worktree import describe_worktree
from autogpt_tui.ui import endpoint
from autogpt_tui.ui import textual_fixes as textual_fixes
from autogpt_tui.ui.actions import ACTIONS, Action, When, bindings_for, when_of
from autogpt_tui.ui.agent_runner import AgentRunner
from autogpt_tui.ui.app_history import FAILED_HINT as FAILED_HINT
from autogpt_tui.ui.app_history import HISTORY_LIMIT as HISTORY_LIMIT
from autogpt_tui.ui.app_history import HistoryPanes
from autogpt_tui.ui.app_hunks import HunkKeys
from autogpt_tui.ui.app_sessions import SessionPicking
from autogpt_tui.ui.app_steering import APPROVAL_TOAST as APPROVAL_TOAST
from autogpt_tui.ui.app_steering import Steering, clean
from autogpt_tui.ui.app_team import TeamKeys
from autogpt_tui.ui.app_transcript import TranscriptPanes
from autogpt_tui.ui.cost_warnings import warn_unpriced_at_launch
from autogpt_tui.ui.diff_modes import DiffModes
from autogpt_tui.ui.gc_pacing import CollectionPacer
from autogpt_tui.ui.mcp_warmup import warm_mcp_at_launch
from autogpt_tui.ui.messages import (
    AgentEventMessage,
    AgentIdle,
    ApprovalNeeded,
    QuestionNeeded,
)
from autogpt_tui.ui.screens.help import HelpScreen
from autogpt_tui.ui.screens.prompt import TextPrompt
from autogpt_tui.ui.terminal_notify import ring
from autogpt_tui.ui.themes import DEFAULT_THEME, choose_theme, register_themes
from autogpt_tui.ui.toasts import Toasts
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from autogpt_tui.ui.widgets.goal_panel import GoalPanel
from autogpt_tui.ui.widgets.keys_footer import KeysFooter
from autogpt_tui.ui.widgets.step_history import StepHistory
from autogpt_tui.ui.widgets.workspace_tree import MarkKind, WorkspaceTree

if TYPE_CHECKING:
    from autogpt_tui.core.lock import WorkspaceLock
    from autogpt_tui.core.settings import Settings

OPENING_HINT = "Opening the workspace…"
"""What the files panel says until the workspace is a repository we can read."""
PANELS = ("log", "diff", "history", "files")
"""The panels, in the order keys 1–4 and tab cycle through them on a narrow screen."""
NARROW_BELOW = 110
"""Terminals narrower than this show one panel at a time."""
WIDE_FROM = 150
"""Terminals at least this wide show the log and the diff side by side."""
SWITCH_INTERVAL_S = 0.0002
"""How long the UI thread may hold the interpreter lock while the agent's thread waits for
it (Python's default is 5 ms). The agent's worker waits on git and the model's socket many
times a step, and each time it wakes it needs the lock back: with the default, a busy UI
made every one of those waits up to 5 ms longer, and an auto-mode session took 2.6 steps a
second where 0.2 ms lets it take 8.6 (benchmarks/bench_tui_session.py)."""
FIRST_FRAME_WAIT_S = 1.0
"""Longest the app waits for the first frame (its footer's keys on screen) before it lets
the background work start anyway: a signal that never comes must not hold the history."""


def breakpoint_classes(width: int) -> dict[str, bool]:
    """The screen's layout classes for a terminal ``width`` columns wide."""
    narrow, wide = width < NARROW_BELOW, width >= WIDE_FROM
    return {"-narrow": narrow, "-medium": not narrow and not wide, "-wide": wide}


def is_repository_top(folder: Path) -> bool:
    """Whether ``folder`` is the top of a git working tree (it holds ``.git``, a folder or
    a worktree's file): cheap, no git process, so the file tree can mount at once."""
    return (folder / ".git").exists()


def display_path(path: Path) -> str:
    """``path`` for people: the home folder shortened to ``~``."""
    home = Path.home()
    try:
        return "~" + ("/" + str(path.relative_to(home)) if path != home else "")
    except ValueError:
        return str(path)


class WorkstationApp(
    Toasts, DiffModes, HunkKeys, TranscriptPanes, HistoryPanes, SessionPicking, Steering, TeamKeys
):
    """The terminal workstation for an autonomous coding agent."""

    CSS_PATH = "app.tcss"
    TITLE = "autogpt-tui"
    # The log is what the user watches; keys like s and q must reach the app.
    AUTO_FOCUS = "StepHistory DataTable"
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_for("app")]
    # Textual classes each screen for its width as it lays it out after a resize; an
    # ``on_resize`` of ours ran before the app had taken the new size, one resize behind.
    # (Textual types it as a list, hence no ClassVar and no tuple.)
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (NARROW_BELOW, "-medium"),
        (WIDE_FROM, "-wide"),
    ]

    def __init__(
        self,
        workspace: Path,
        goal: str | None = None,
        theme_name: str | None = None,
        settings: Settings | None = None,
        notices: Sequence[str] = (),
        lock: WorkspaceLock | None = None,
        reload_settings: Callable[[], Settings] | None = None,
        session: str | None = None,
        agents: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if settings is None:
            from autogpt_tui.core.settings import Settings as _Settings

            settings = _Settings()
        self.workspace = workspace.expanduser().resolve()
        """The folder the agent works in."""
        self.settings = settings
        """The configuration the agent runs with."""
        # ``lock``: the workspace lock `autogpt-tui` took before the screen; without one
        # the runner takes it when the agent first starts or history first moves.
        self.runner = AgentRunner(self, self.workspace, settings, lock=lock)
        self.runner.session_choice = session  # --session / --continue: resumed explicitly
        """The agent's session, driven on a worker thread."""
        self.runner.team_names = list(agents) if agents else None  # --agents: a team
        self._initial_goal = clean(goal)
        self._theme_name = theme_name
        self._notices = list(notices)
        self.cost_warned: set[str] = set()
        """The models already warned about: a cost budget they cannot keep."""
        self._reload_settings = reload_settings
        self._panel = "log"
        """The panel in front: the one a narrow screen shows."""
        self._step_history: StepHistory | None = None
        """The history panel, once composed: asked about on every refresh of the keys."""
        self.sub_title = display_path(self.workspace)
        # The theme is chosen now, before any widget is styled: chosen once the screen is
        # up, it re-parses every style sheet and restyles every widget (a second start's
        # worth of CSS work). Its warnings wait for the screen.
        self._theme_warnings = register_themes(self)
        fallback = choose_theme(self, self._theme_name or DEFAULT_THEME)
        if fallback:
            self._theme_warnings.append(fallback)
        self._first_frame = threading.Event()
        """Set once the first frame, footer keys and all, is on screen (or it took longer
        than ``FIRST_FRAME_WAIT_S``): the background loaders wait for it."""
        self._switch_interval = sys.getswitchinterval()
        """The interpreter's switch interval before the app set its own (put back on unmount)."""
        self.gc_pacer = CollectionPacer()
        """Full garbage collections at quiet moments while mounted (see `gc_pacing`)."""
        # The file tree needs the workspace to be a repository (git decides what it hides):
        # when it plainly is one, it mounts with the first frame; else after the history
        # worker made it one.
        self._tree_at_once = is_repository_top(self.workspace)

    @property
    def first_frame_shown(self) -> bool:
        """Whether the first frame is on screen and the background work has started."""
        return self._first_frame.is_set()

    # ------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        # Everything the first frame shows is set as the widgets are made (the layout's
        # classes, titles, the mode and budgets), so that their first styling is their
        # last: each class or value set after mounting restyles or re-lays out again.
        self._set_screen_classes(self.size.width)
        yield Header()
        goal = GoalPanel(self._initial_goal, id="goal")
        agent = self.settings.agent
        goal.set_reactive(GoalPanel.mode, self.runner.mode)
        goal.set_reactive(GoalPanel.steps_max, agent.max_steps)
        goal.set_reactive(GoalPanel.tokens_max, agent.max_tokens)
        goal.set_reactive(GoalPanel.cost_max, agent.max_cost_usd)
        goal.set_reactive(GoalPanel.endpoint, self._endpoint_label())
        goal.worktree = describe_worktree(self.workspace)  # a --worktree session's own
        yield goal
        # Shown only on a narrow screen (app.tcss), so it is always up to date.
        yield Static(self._tabs_markup(), id="panel-tabs")
        with Horizontal(id="main"):
            with Vertical(id="sidebar", classes=self._active("history", "files")):
                self._step_history = StepHistory(id="history", classes=self._active("history"))
                yield self._step_history
                files = Vertical(id="files", classes=self._active("files"))
                files.border_title = "Files"
                with files:
                    if self._tree_at_once:
                        yield WorkspaceTree(self.workspace, id="files-tree")
                    else:
                        yield Static(OPENING_HINT, id="files-hint")
            log = ActionLog(id="log", classes=self._active("log"))
            log.border_title = "Thoughts & actions"
            yield log
            yield DiffViewer(id="diff", classes=self._active("diff"))
        yield KeysFooter()

    def on_mount(self) -> None:
        # For as long as the workstation runs (see SWITCH_INTERVAL_S); put back on unmount.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.gc_pacer.start()
        for warning in self._theme_warnings:
            self.notify(warning, severity="warning", markup=False)
        # Told before the screen took over (e.g. the files kept out of a first commit).
        for notice in self._notices:
            self.notify(notice, severity="warning", markup=False, timeout=15)
        if self.settings.untrusted is not None:
            self._ask_trust()
        if self._initial_goal:
            self.runner.set_goal(self._initial_goal)
        self.query_one(DiffViewer).show_message("Select a step to see its diff.")
        # Started now, so that it is there to wait for, but it reads nothing before the
        # first frame is up: its git processes and parsing would compete with it.
        self.load_history()
        self._main_screen = self.screen
        self._main_screen.bindings_updated_signal.subscribe(self, self._bindings_shown)
        self._first_frame_timer = self.set_timer(FIRST_FRAME_WAIT_S, self._after_first_frame)

    def _bindings_shown(self, _screen: Screen[Any]) -> None:
        """The screen reported its bindings, after its first refresh: once the footer's
        recompose for them (queued after the next refresh) is painted too, the first full
        frame is surely on screen."""
        if not self._first_frame.is_set():
            self.call_after_refresh(self.call_after_refresh, self._after_first_frame)

    def _after_first_frame(self) -> None:
        """The first frame is on screen: let the loaders fill in the panels."""
        if self._first_frame.is_set():
            return
        self._first_frame.set()
        self._first_frame_timer.stop()
        self._main_screen.bindings_updated_signal.unsubscribe(self)
        if self._tree_at_once and not self.runner.closing:
            self.start_watching(self.workspace)
        warn_unpriced_at_launch(self)
        warm_mcp_at_launch(self)

    def _set_screen_classes(self, width: int) -> None:
        """Class the screen for ``width`` before it is first styled, as the breakpoints will.

        Later resizes are Textual's (``HORIZONTAL_BREAKPOINTS``): it classes every screen,
        the one in front and those beneath a dialog, with the new width as it lays them out.
        """
        for name, on in breakpoint_classes(width).items():
            self.screen.set_class(on, name, update=False)

    def _active(self, *names: str) -> str:
        """The class of a panel holding ``names``: ``-active`` when one of them shows."""
        return "-active" if self._panel in names else ""

    def _tabs_markup(self) -> str:
        labels = [
            f"[reverse] {n + 1} {p} [/]" if p == self._panel else f" {n + 1} {p} "
            for n, p in enumerate(PANELS)
        ]
        return "  ".join(labels) + "   [dim]1–4 switch panels[/]"

    def _show_active_panel(self) -> None:
        """Mark the panel in front (the one a narrow screen shows) and its tab."""
        for name in PANELS:
            self.query_one(f"#{name}").set_class(name == self._panel, "-active")
        # The sidebar holds two panels; on a narrow screen it shows when one of them does.
        self.query_one("#sidebar").set_class(self._panel in ("history", "files"), "-active")
        self.query_one("#panel-tabs", Static).update(self._tabs_markup())

    @property
    def is_narrow(self) -> bool:
        """Whether the terminal is narrow enough to show one panel at a time."""
        return self.size.width < NARROW_BELOW

    def action_show_panel(self, name: str) -> None:
        """Show one panel (on a narrow screen the others are hidden)."""
        if name in PANELS:
            if name != "diff":
                self.leave_full_diff()
            if name != self._panel:
                self._panel = name
                self._show_active_panel()
            target = self.query_one(f"#{name}")
            for widget in [target, *target.query("*")]:
                if widget.focusable:
                    widget.focus()
                    break

    # -------------------------------------------------------- key actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the keys that do not apply now, so the footer shows what does."""
        return self._applies(when_of(action))

    def _applies(self, when: When) -> bool:
        """Whether an action that applies ``when`` applies now."""
        if when is When.PENDING:
            return self.runner.awaiting_approval
        if when is When.HUNKS:
            return self.choosing_hunks
        if when is When.IDLE:
            return not self._agent_busy
        if when is When.HAS_STEPS:
            # Held, not queried: a query walks every widget (each card of a long log), and
            # the keys are checked dozens of times per refresh: opening the reject dialog
            # in a long session took half a second. (The footer asks as it first composes,
            # before the history is mounted; its steps are then still empty.)
            panel = self._step_history
            return panel is not None and bool(panel.steps)
        if when is When.TEAM:
            return self.runner.has_plan
        return True  # ALWAYS; DIFF_FOCUSED is the diff viewer's own binding

    def refresh_bindings(self) -> None:
        """Redraw the footer's keys; nothing to do while the app closes (no screen is left,
        and the agent's thread may still report the step it was finishing)."""
        if self.screen_stack:
            super().refresh_bindings()

    def action_help(self) -> None:
        """Show the keys and how the workstation works."""
        self.push_screen(HelpScreen(permissions=self.runner.permissions))

    def on_unmount(self) -> None:
        self._first_frame.set()  # no worker waits for a frame that will never come
        # However the app ends, the agent's thread must not wait for an answer that can
        # no longer come (a thread worker waiting forever would keep the process alive),
        # and the session's watcher and git processes must not outlive the app.
        self.runner.shutdown()
        sys.setswitchinterval(self._switch_interval)
        self.gc_pacer.stop()

    async def action_quit(self) -> None:
        """Quit; a step already executing is committed first, so nothing is half-done.

        While an action awaits approval, ask first: quitting loses the proposal.
        """
        pending = self.runner.pending_action
        if pending is None:
            await self._quit_now()
            return
        from autogpt_tui.ui.screens.quit_confirm import quit_prompt

        async def then(yes: bool | None) -> None:
            if yes:
                await self._quit_now()

        self.push_screen(quit_prompt(pending), then)

    async def _quit_now(self) -> None:
        self.runner.stop()
        await super().action_quit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action in the command palette (ctrl+p), with the built-in ones."""
        yield from super().get_system_commands(screen)
        for entry in ACTIONS:
            if entry.palette:
                yield SystemCommand(
                    entry.palette_title,
                    f"{entry.description} ({entry.key})",
                    self._palette_action(entry),
                )

    def _palette_action(self, entry: Action) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            panel_only = entry.owner == "diff" and not entry.anywhere
            target = self.query_one(DiffViewer) if panel_only else self
            await self.run_action(entry.action, target)

        return run

    # -------------------------------------------------- agent messages

    async def on_agent_event_message(self, message: AgentEventMessage) -> None:
        # Imported with the first event (the loop's events come with it), not before the
        # first frame.
        from autogpt_tui.ui.agent_events import dispatch

        try:
            await dispatch(self, message.event)
        except (NoMatches, MountError):
            # The panels live as long as the app (and the log awaits its own mounts): they
            # are gone, or half-removed, only while it closes and the agent's thread still
            # reports the step it was finishing. Nobody is left to see it.
            return

    def on_approval_needed(self, message: ApprovalNeeded) -> None:
        preview = message.preview
        try:
            diff = self.query_one(DiffViewer)
        except NoMatches:
            return  # the app is closing (the agent's thread asked meanwhile)
        if preview is not None and preview.error is None:
            diff.show_proposed(preview.path, preview.old_text, preview.new_text)
        else:
            a = message.action
            # An MCP server's changes are known only once it has run: no "changes no file".
            mcp = a.tool.startswith("mcp__")
            what = "shows its changes once it has run" if mcp else "changes no file"
            diff.show_message(f"{a.tool} {what}; approve (a) or reject (r).", proposal=True)
        if self.is_narrow and preview is not None:
            self.action_show_panel("diff")
        self.refresh_bindings()
        self.notify_while(
            APPROVAL_TOAST,
            f"Step {message.action.step}: {message.action.tool} waits — a approve, r reject.",
        )
        # Once per wait: this message comes once for each proposal shown for approval.
        ring(
            self,
            self.settings.ui.notify,
            f"Step {message.action.step}: {message.action.tool} waits for your approval",
        )

    def on_question_needed(self, message: QuestionNeeded) -> None:
        def then(answer: str | None) -> None:
            self.runner.answer_question(answer or "(no answer)")

        self.push_screen(TextPrompt("The agent asks", message.question, allow_empty=True), then)
        ring(self, self.settings.ui.notify, f"The agent asks: {message.question}")

    def on_agent_idle(self, _message: AgentIdle) -> None:
        from autogpt_tui.ui.agent_events import worker_ended
        from autogpt_tui.ui.approval_view import leave_proposal

        self.withdraw(APPROVAL_TOAST)  # paused or stopped: nothing waits any more
        with suppress(NoMatches):  # the panels are gone while the app closes
            worker_ended(self)
            leave_proposal(self)
        self.refresh_bindings()

    def _ask_trust(self) -> None:
        """Ask whether the workspace's own config file may steer the agent."""
        untrusted = self.settings.untrusted
        assert untrusted is not None
        from autogpt_tui.ui.screens.confirm import ConfirmPrompt

        question = (
            f"{display_path(untrusted.path)} sets {', '.join(untrusted.keys)}. "
            "A repository's config can put instructions into the agent's prompt and choose "
            "the models your key pays for. Trust this file? (You will be asked again if it "
            "changes.)"
        )

        def then(yes: bool | None) -> None:
            if not yes:
                self.notify(
                    "The workspace's policy arms, model and allow rules stay ignored; "
                    "`autogpt-tui trust` changes that.",
                    markup=False,
                )
                return
            from autogpt_tui.core.settings import ConfigError, load_settings, trust_workspace

            try:
                trust_workspace(self.workspace)
                reload = self._reload_settings or (lambda: load_settings(self.workspace))
                settings = reload()
            except ConfigError as error:
                self.notify(str(error), severity="error", markup=False)
                return
            self.settings = settings
            self.runner.settings = settings
            self.query_one(GoalPanel).endpoint = self._endpoint_label()
            self.notify(f"Trusted {display_path(untrusted.path)}.", markup=False)

        self.push_screen(ConfirmPrompt("Trust this workspace's config?", question), then)

    def _endpoint_label(self) -> str:
        """The model and its endpoint's host, for the goal panel."""
        return endpoint.endpoint_label(self.settings.model.model, self.settings.model.base_url)

    def mark_files(self, paths: Sequence[str], by: MarkKind) -> None:
        """Mark ``paths`` in the file tree as changed by the agent or the user."""
        for tree in self.query(WorkspaceTree).results(WorkspaceTree):
            tree.mark_changed(paths, by)


def run_app(
    workspace: Path,
    goal: str | None = None,
    theme_name: str | None = None,
    settings: Settings | None = None,
    notices: Sequence[str] = (),
    lock: WorkspaceLock | None = None,
    reload_settings: Callable[[], Settings] | None = None,
    session: str | None = None,
    agents: Sequence[str] | None = None,
) -> int:
    """Run the workstation on ``workspace`` until the user quits; returns the exit status.

    ``notices`` are sentences to show once the screen is up (said before it took over);
    ``lock`` is the workspace lock the caller took (it stays the caller's to release);
    ``agents`` (``--agents``) runs a team of those ``[[agents]]``.
    """
    app = WorkstationApp(
        workspace,
        goal=goal,
        theme_name=theme_name,
        settings=settings,
        notices=notices,
        lock=lock,
        reload_settings=reload_settings,
        session=session,
        agents=agents,
    )
    app.run()
    return app.return_code or 0
