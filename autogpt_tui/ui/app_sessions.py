"""Picking a session in the workstation: the picker (key ``S``, or the palette), and
switching the agent to the session chosen.

The sessions are read on a thread worker; choosing one while the agent works is refused
in one sentence (a step never changes session half-way). The switch itself is the
runner's: the agent resumes that session with its next step, its conversation rebuilt
from the session's records, and the goal panel shows its goal and meters at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App

from autogpt_tui.core.errors import UserError
from autogpt_tui.core.history import History
from autogpt_tui.ui.messages import HistoryFailed
from autogpt_tui.ui.meters import show_totals
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.goal_panel import GoalPanel

if TYPE_CHECKING:
    from autogpt_tui.core.session_state import SessionTotals
    from autogpt_tui.core.sessions import SessionSummary
    from autogpt_tui.ui.agent_runner import AgentRunner

BUSY_SENTENCE = "The agent is working: pause it (p) or let the step end before switching sessions."
"""Why a session cannot be chosen now."""


class SessionPicking(App[None]):
    """The session picker's part of the workstation (see the module)."""

    workspace: Path
    """The folder the agent works in."""
    runner: AgentRunner
    """The agent's session."""

    if TYPE_CHECKING:

        @property
        def _agent_busy(self) -> bool: ...

    def action_sessions(self) -> None:
        """List the workspace's sessions to pick one to resume."""
        self.load_sessions()

    @work(thread=True, exclusive=True, exit_on_error=False, group="sessions")
    def load_sessions(self) -> None:
        """Read the sessions off the UI thread, then open the picker."""
        from autogpt_tui.core.sessions import list_sessions

        try:
            with History.open(self.workspace) as history:
                sessions = list_sessions(history)
        except UserError as err:
            self.post_message(HistoryFailed(str(err)))
            return
        self.call_from_thread(self._open_picker, sessions)

    def _open_picker(self, sessions: list[SessionSummary]) -> None:
        from autogpt_tui.ui.screens.session_picker import SessionPicker

        if not sessions:
            self.notify("No sessions yet: the agent has taken no step here.", markup=False)
            return
        in_use = self.runner.session_choice or self.runner.session_id
        if in_use is None:
            in_use = next((s.id for s in sessions if s.current), None)
        self.push_screen(SessionPicker(sessions, in_use), self._session_chosen)

    def _session_chosen(self, chosen: SessionSummary | None) -> None:
        if chosen is None:
            return
        if self._agent_busy:
            self.notify(BUSY_SENTENCE, severity="warning", markup=False)
            return
        if chosen.id == (self.runner.session_choice or self.runner.session_id):
            self.notify(f"Session {chosen.id} is the one in use.", markup=False)
            return
        self.runner.switch_session(chosen.id, chosen.goal)
        self.query_one(GoalPanel).goal = chosen.goal or None
        # Said in the log at once (the agent takes the session up with its next step).
        self.run_worker(
            self.query_one(ActionLog).notice(f"Resumed session {chosen.id}: {chosen.goal}"),
            exit_on_error=False,
        )
        self.notify(f"Session {chosen.id}: the agent resumes it with its next step.", markup=False)
        self.load_session_totals(chosen.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="session-totals")
    def load_session_totals(self, session: str) -> None:
        """What the chosen session's steps in force add up to, for the meters."""
        from autogpt_tui.core.session_state import session_totals

        try:
            with History.open(self.workspace) as history:
                totals = session_totals(history, session)
        except UserError as err:
            self.post_message(HistoryFailed(str(err)))
            return
        self.call_from_thread(self._show_session_totals, totals)

    def _show_session_totals(self, totals: SessionTotals) -> None:
        if totals.session == self.runner.session_choice:  # not chosen away meanwhile
            for panel in self.query(GoalPanel).results(GoalPanel):  # none while closing
                show_totals(panel, totals)
