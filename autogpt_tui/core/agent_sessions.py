"""The sessions side of the step loop: which session the agent works in, its
conversation, switching between sessions, and the policy arm each one keeps.

``SessionKeeping`` is a part of ``Agent`` (core/agent.py), split out so that the loop's
own module stays about the step; it uses the agent's attributes declared below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autogpt_tui.core.collaborators import ModelProfile, PolicyChoice, PolicySource
from autogpt_tui.core.conversation import Conversation, continues_session
from autogpt_tui.core.events import Event, ProjectNotesRead
from autogpt_tui.core.instructions import ProjectInstructions, ProjectNotes
from autogpt_tui.core.session_state import (
    LoopDetector,
    NextSession,
    SessionState,
    new_session_id,
)
from autogpt_tui.core.sessions import read_session

if TYPE_CHECKING:
    from collections.abc import Callable

    from autogpt_tui.core.history import History
    from autogpt_tui.core.step_calls import ReplyPlan


class SessionKeeping:
    """The agent's session: resuming or starting one, its conversation, and moving to
    another between steps (a new goal, a session picked)."""

    if TYPE_CHECKING:
        history: History
        profile: ModelProfile
        policy: PolicySource
        instructions: ProjectInstructions
        emit: Callable[[Event], None]
        state: SessionState
        _arm: tuple[str, PolicyChoice] | None
        _known_head: str | None
        _deferred: ReplyPlan | None
        _next_session: NextSession
        _loops: LoopDetector
        _no_action: int
        role: str | None

    def _resume_or_start(self, goal: str, session: str | None) -> SessionState:
        """Resume ``session`` when named (wherever its steps lie on the branch); else
        continue the branch's session if it is unfinished with this goal, else start one."""
        if session:
            return self._resume(session, goal)
        latest = next((s for s in self.history.steps_on_branch(records=True) if not s.undone), None)
        if latest is not None and continues_session(latest, goal=goal, session=None):
            assert latest.record is not None  # continues_session checked it
            return self._resume(latest.session, goal or latest.record.goal)
        return SessionState(new_session_id(), self._conversation(goal))

    def _resume(self, session: str, goal: str) -> SessionState:
        """``session`` rebuilt from its records (without ``goal``, with its latest one)."""
        state = SessionState(session, self._conversation(goal))
        self._rebuild(state)
        return state

    def _conversation(self, goal: str) -> Conversation:
        return Conversation(
            goal,
            context_window=self.profile.context_window,
            lessons=self.policy.lessons,
            project_notes=lambda paths: self.instructions.notes(paths).section,
        )

    def _notes_changed(self, notes: ProjectNotes) -> None:
        self.emit(ProjectNotesRead(notes.files, notes.skipped, notes.truncated))

    def _session_arm(self) -> PolicyChoice:
        """The policy arm of this session: chosen once, at its first request.

        One arm a session keeps the system prompt byte-identical from request to request
        (prompt caching); the bandit still learns, from the ratings of each session's
        steps. A resumed session keeps the arm its last step recorded, while configured.
        """
        if self._arm is None or self._arm[0] != self.state.session:
            choice = self.policy.resume(self.state.arm) if self.state.arm else None
            self._arm = (self.state.session, choice or self.policy.choose())
        return self._arm[1]

    def _rebuild(self, state: SessionState) -> None:
        """Rebuild the conversation from the records of the session's live steps."""
        # Undone steps keep their numbers: the next step goes on after the highest.
        steps, last = read_session(self.history, state.session)
        if self.role:  # a team shares a session (and its numbers); each role its turns
            steps = [s for s in steps if s.record is not None and s.record.role == self.role]
        state.rebuild(steps, last)
        self._known_head = self.history.head()
        self._deferred = None  # a reply from before the undo no longer fits

    def _take_next_session(self) -> None:
        """Between steps: move to the session asked for (a new goal, a pick). The user's
        messages not yet recorded go along; the loop's notes to the old conversation not."""
        wanted = self._next_session.take()
        if wanted is None or wanted.session == self.state.session:
            return
        old = self.state
        if wanted.session is None:
            self.state = SessionState(new_session_id(), self._conversation(wanted.goal))
        else:
            self.state = self._resume(wanted.session, wanted.goal)
        self.state.conversation.user_messages = list(old.conversation.user_messages)
        self._loops = LoopDetector()
        self._no_action = 0
        self._deferred = None  # the old session's reply is not the new one's
        self.emit(self.state.started(replaces=old.session))

    @property
    def conversation(self) -> Conversation:
        """What the model is told at its next request."""
        return self.state.conversation

    def set_goal(self, goal: str) -> None:
        """Work toward ``goal`` from the next step: a goal other than the session's starts
        a new session (the old one stays resumable). Safe from any thread."""
        self._next_session.new_goal(goal, current=self.state.goal)

    def switch_session(self, session: str, goal: str) -> None:
        """Resume ``session`` (its goal ``goal``) from the next step. Safe from any thread."""
        self._next_session.resume(session, goal)

    def messages(self, policy: PolicyChoice | None = None) -> list[dict[str, Any]]:
        """The conversation the next request sends under ``policy``."""
        policy = policy or PolicyChoice()
        return self.conversation.messages(policy.name, policy.instructions)
