"""The bridge between the app and the agent loop running on a worker thread.

The loop is plain, blocking code: it calls ``emit`` with events, ``approve`` when an
action waits for the user and ``ask`` for ``ask_user``. Here those become Textual
messages (posting is thread-safe), and the loop's blocking calls wait on futures the UI
resolves when the user answers — the UI never reaches into the loop.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from autogpt_tui.ui.messages import AgentEventMessage, ApprovalNeeded, QuestionNeeded

# The loop, its session and the watcher are imported where first used (on a worker, once
# the first frame is up): the app's first frame needs none of them.
if TYPE_CHECKING:
    from textual.app import App

    from autogpt_tui.core.agent import Approval
    from autogpt_tui.core.events import Event, Finished, PendingAction
    from autogpt_tui.core.lock import WorkspaceLock
    from autogpt_tui.core.orchestra import Orchestra
    from autogpt_tui.core.permissions import Permissions
    from autogpt_tui.core.session import AgentSession
    from autogpt_tui.core.settings import Settings
    from autogpt_tui.core.tools import FilePreview
    from autogpt_tui.core.watcher import WorkspaceWatcher

T = TypeVar("T")

STOPPED_REASON = "The user stopped the agent before this action ran."
"""What a pending action's rejection says when the user pauses or quits."""


class AgentRunner:
    """Holds the agent's session for the app and answers it on the user's behalf."""

    def __init__(
        self,
        app: App[Any],
        workspace: Path,
        settings: Settings,
        *,
        lock: WorkspaceLock | None = None,
    ) -> None:
        self.app = app
        self.workspace = workspace
        self._settings = settings
        self.mode: str = settings.agent.mode
        """The approval mode the next action is judged by."""
        self.goal: str | None = None
        """The goal; the session starts (or resumes) with it on the first step."""
        self.session: AgentSession | None = None
        self.session_choice: str | None = None
        """The session the user chose (``--session``, ``--continue``, the picker): the
        agent resumes it; None: the loop's own rule, or a new session for a new goal."""
        self._lock = threading.Lock()
        self._approval: Future[Approval] | None = None
        self._pending: PendingAction | None = None
        self._answer: Future[str] | None = None
        self._unsent: list[str] = []
        """The user's messages sent before the session opened, oldest first."""
        self._stopping = threading.Event()
        self.closing = False
        """Set once the app is ending: no new session, and the last worker closes it."""
        self._worker_active = False
        self._watcher: WorkspaceWatcher | None = None
        self._closed = False
        # The workspace lock: handed over by the caller (who releases it), or taken by
        # claim_workspace (released by close).
        self._workspace_lock = lock
        self._owns_workspace_lock = False
        self.team_names: list[str] | None = None
        """``--agents``: the team's agents (None: the single agent, the default)."""
        self.orchestra: Orchestra | None = None
        """The team's orchestra, once the session is open (None for a single agent)."""
        self.output_columns: int | None = None
        """The width the log shows a command's output at; commands get it as COLUMNS."""

    def claim_workspace(self) -> None:
        """Hold the workspace lock from now until the app ends (a no-op once held).

        Raises WorkspaceLocked, naming the other agent, when someone else holds it: the
        app then neither starts its agent nor moves history. Call it off the UI thread.
        """
        from autogpt_tui.core.history import History
        from autogpt_tui.core.lock import WorkspaceLock

        with self._lock:
            if self._workspace_lock is not None:
                return
        with History.open(self.workspace) as history:
            lock = WorkspaceLock.acquire(history.common_dir, command="tui")
        with self._lock:
            if self._workspace_lock is None and not self._closed:
                self._workspace_lock, self._owns_workspace_lock = lock, True
                return
        lock.release()  # claimed twice at once, or the app ended meanwhile

    @property
    def watcher(self) -> WorkspaceWatcher | None:
        """The session's watcher (the agent drains it, the file tree subscribes), once made."""
        with self._lock:
            return self._watcher

    def watcher_for(self, root: Path) -> WorkspaceWatcher:
        """The session's one watcher, made (not started) for the repository at ``root`` on
        the first call; later calls return the same one."""
        from autogpt_tui.core.watcher import WorkspaceWatcher

        with self._lock:
            if self._watcher is None:
                self._watcher = WorkspaceWatcher(root)
            return self._watcher

    def start_watching(self, root: Path) -> WorkspaceWatcher | None:
        """Start the session's watcher (blocking: call it off the UI thread); None when
        the runner was closed meanwhile (the watcher is then stopped again)."""
        watcher = self.watcher_for(root)
        watcher.start()
        with self._lock:
            closed = self._closed
        if closed:
            watcher.stop()  # close() may have run before start(): no thread may outlive it
            return None
        return watcher

    # -------------------------------------------------------------- UI thread

    @property
    def awaiting_approval(self) -> bool:
        """True while an action waits for approve or reject."""
        with self._lock:
            return self._approval is not None and not self._approval.done()

    @property
    def session_id(self) -> str | None:
        """The id of the agent's session, once it is open."""
        session = self.session
        return session.agent.state.session if session is not None else None

    @property
    def settings(self) -> Settings:
        """The configuration the agent runs with."""
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        # Read again (the user trusted the workspace's file): an open session judges by
        # the new rules from its next proposal on. The user's file is read afresh too,
        # so the rules ``A`` wrote are among them.
        self._settings = settings
        session = self.session
        if session is not None:
            from autogpt_tui.core.settings import permissions_for

            session.agent.gate.permissions = permissions_for(settings, self.workspace)

    @property
    def permissions(self) -> Permissions:
        """The permission rules in force: the session's (with those ``A`` added), or
        before the session opens, the settings'."""
        session = self.session
        if session is not None:
            return session.agent.gate.permissions
        from autogpt_tui.core.settings import permissions_for

        return permissions_for(self.settings, self.workspace)

    @property
    def pending_action(self) -> PendingAction | None:
        """The action that waits for approve or reject, or None."""
        with self._lock:
            waiting = self._approval is not None and not self._approval.done()
            return self._pending if waiting else None

    def answer_approval(self, approval: Approval) -> bool:
        """Resolve the pending action; False when none is pending."""
        with self._lock:
            pending, self._approval = self._approval, None
            self._pending = None
        if pending is None or pending.done():
            return False
        pending.set_result(approval)
        return True

    def answer_question(self, answer: str) -> bool:
        """Answer the agent's question; False when it asked none."""
        with self._lock:
            pending, self._answer = self._answer, None
        if pending is None or pending.done():
            return False
        pending.set_result(answer)
        return True

    def set_mode(self, mode: str) -> None:
        """Change the approval mode (takes effect at the next action)."""
        self.mode = mode
        if self.session is not None:
            self.session.agent.set_mode(mode)

    def set_goal(self, goal: str) -> None:
        """Work toward ``goal``: a goal other than the session's starts a new session
        with the agent's next step (the old one stays resumable)."""
        if self.goal is not None and goal != self.goal:
            self.session_choice = None  # a new goal: the chosen session is left for a new one
        self.goal = goal
        if self.session is not None:
            self.session.agent.set_goal(goal)

    def switch_session(self, session: str, goal: str) -> None:
        """Resume ``session`` (whose goal is ``goal``) with the agent's next step; call
        it only while the agent is not working."""
        self.session_choice = session
        self.goal = goal
        if self.session is not None:
            self.session.agent.switch_session(session, goal)

    def tell(self, text: str) -> None:
        """Pass the user's message to the agent: it reads it with its next request.

        Before the first step there is no session yet: the message waits here, and the
        session gets it when it opens.
        """
        with self._lock:  # against the session opening at this moment on the worker
            session = self.session
            if session is None:
                self._unsent.append(text)
                return
        session.agent.tell(text)

    def pause(self) -> None:
        """Stop after the step in progress; a pending action is rejected, not run."""
        if self.orchestra is not None:
            self.orchestra.pause()  # whichever role is at work
        elif self.session is not None:
            self.session.agent.pause()
        self._release_waiters()

    @property
    def has_plan(self) -> bool:
        """Whether a team works on a plan (the keys that steer it apply)."""
        return self.orchestra is not None and bool(self.orchestra.plan.subgoals)

    def skip_subgoal(self) -> bool:
        """Skip a team's current subgoal from its next step; False before there is a plan."""
        if self.orchestra is None or not self.orchestra.plan.subgoals:
            return False
        self.orchestra.skip()
        return True

    def replan(self) -> bool:
        """Have a team's planner plan again at its next step; False before there is a plan."""
        if self.orchestra is None or not self.orchestra.plan.subgoals:
            return False
        self.orchestra.replan()
        return True

    def stop(self) -> None:
        """Stop as soon as possible (quitting); a step already executing still commits."""
        self._stopping.set()
        if self.orchestra is not None:
            self.orchestra.cancel()
        elif self.session is not None:
            self.session.agent.cancel()
        self._release_waiters()

    def _release_waiters(self) -> None:
        with self._lock:
            waiting = self._approval is not None
        if waiting:  # else the loop was never imported, and quitting need not import it
            from autogpt_tui.core.agent import Approval

            self.answer_approval(Approval.reject(STOPPED_REASON))
        self.answer_question("The user stopped the agent; do not wait for an answer.")

    # ---------------------------------------------------------- worker thread

    def run(self, steps: int | None) -> Finished | None:
        """Take ``steps`` steps (None: until finish, a budget or a pause).

        Runs on the agent worker's thread. The session is opened here, on first use, so
        its git objects belong to the worker side and the UI thread never waits on them.
        """
        from autogpt_tui.core.history import History

        with self._lock:
            if self.closing:
                return None  # the app ended before this worker got going
            self._worker_active = True
        self._stopping.clear()
        self.claim_workspace()
        if self.watcher is None:
            # The step came before the app read the history: find the repository here,
            # so that the session and the file tree still share one watcher.
            with History.open(self.workspace) as history:
                self.watcher_for(history.root)
        session = self._ensure_session()
        agent = session.agent
        if self.orchestra is not None:
            # A team keeps the goal it was given; its agents take the mode.
            self.orchestra.set_mode(self.mode)
            return self.orchestra.run(max_steps=steps)
        agent.set_mode(self.mode)
        if self.goal:
            agent.set_goal(self.goal)
        return agent.run(max_steps=steps)

    def close(self) -> None:
        """Release the session and stop the watcher (on the worker thread that used the
        session, or at exit)."""
        with self._lock:
            session, self.session = self.session, None
            watcher = self._watcher
            self._closed = True
            lock = self._workspace_lock if self._owns_workspace_lock else None
            self._owns_workspace_lock = False
        if session is not None:
            session.close()
        if watcher is not None:
            watcher.stop()
        if lock is not None:
            lock.release()  # last: the session's last commit is in

    def shutdown(self) -> None:
        """The app is ending: stop the agent and release the session.

        When the agent's worker is still running it releases the session itself as it
        ends (``worker_done``), so nothing is closed under a step that is committing.
        """
        self.stop()
        with self._lock:
            self.closing = True
            active = self._worker_active
        if not active:
            self.close()

    def worker_done(self) -> None:
        """Called by the agent's worker as it ends (on its thread)."""
        with self._lock:
            self._worker_active = False
            close_now = self.closing
        if close_now:
            self.close()

    def set_output_columns(self, columns: int) -> None:
        """Tell commands to format their output for ``columns`` (the log's width), from
        the next command on. Plain data for the core: the runner knows nothing of widgets."""
        self.output_columns = columns
        session = self.session
        if session is not None:
            session.commands.columns = columns

    def _ensure_session(self) -> AgentSession:
        from autogpt_tui.core.agent import UserChannel
        from autogpt_tui.core.session import open_session

        if self.session is not None:
            return self.session
        user = UserChannel(approve=self._approve, ask=self._ask)
        if self.team_names is not None:
            from autogpt_tui.core.team_session import open_team

            team = open_team(
                self.workspace, self.settings, self.team_names, goal=self.goal or "",
                mode=self.mode, emit=self._emit, user=user, watcher=self.watcher,
                lock=self._workspace_lock,
            )  # fmt: skip
            session, self.orchestra = team.session, team.orchestra
        else:
            session = open_session(
                self.workspace,
                self.settings,
                goal=self.goal or "",
                mode=self.mode,
                emit=self._emit,
                user=user,
                watcher=self.watcher,
                lock=self._workspace_lock,
                session=self.session_choice,
            )
        session.commands.columns = self.output_columns
        with self._lock:
            self.session = session
            unsent, self._unsent = self._unsent, []
        for text in unsent:
            session.agent.tell(text)
        if not self.goal:
            self.goal = session.agent.state.goal or None
        return session

    def _emit(self, event: Event) -> None:
        self.app.post_message(AgentEventMessage(event))

    def _approve(self, action: PendingAction) -> Approval:
        from autogpt_tui.core.agent import Approval

        future: Future[Approval] = Future()
        with self._lock:
            self._approval = future
            self._pending = action
        self.app.post_message(ApprovalNeeded(action, self._preview(action)))
        return self._wait(future, Approval.reject(STOPPED_REASON))

    def _ask(self, question: str) -> str:
        future: Future[str] = Future()
        with self._lock:
            self._answer = future
        self.app.post_message(QuestionNeeded(question))
        return self._wait(future, "The user stopped the agent; do not wait for an answer.")

    def _wait(self, future: Future[T], default: T) -> T:
        """Block the worker until the user answers (or the agent is stopped)."""
        while True:
            try:
                return future.result(timeout=0.25)
            except FutureTimeout:
                if self._stopping.is_set():
                    return default

    def _preview(self, action: PendingAction) -> FilePreview | None:
        """The change a file edit would make, computed before it is approved."""
        if action.preview is not None:
            shown: FilePreview = action.preview  # made with the proposal; the agent binds to it
            return shown
        if action.tool not in ("write_file", "edit_file") or self.session is None:
            return None
        from autogpt_tui.core.tools import ToolError, parse_call

        preview = getattr(self.session.agent.tools, "preview", None)
        if preview is None:
            return None
        try:
            args = parse_call(action.tool, json.dumps(action.arguments))
            result: FilePreview | None = preview(action.tool, args)
        except (ToolError, ValueError, OSError):
            return None
        return result
