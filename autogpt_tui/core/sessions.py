"""The sessions of a workspace's step history: listing them, and choosing one to resume.

A session is the steps sharing one ``Agent-Session`` id: those on the current branch (in
force, or undone by a revert commit) and those undo took off it. Listing reads what the
step index gives for every step (trailers and ratings, no records), and one record per
session only, for its goal: a history of thousands of steps is listed without parsing
thousands of records.

Which session a loop works in is chosen here, explicitly (DESIGN.md: ``--session ID``,
``--continue``); without either, the loop keeps its old rule (``conversation.
continues_session``): it resumes the branch's latest session when that is unfinished
and has the same goal (or none was given), else starts a new one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autogpt_tui.core.conversation import session_steps
from autogpt_tui.core.errors import SessionChoiceError
from autogpt_tui.core.records import StepCommit, one_line

if TYPE_CHECKING:
    from autogpt_tui.core.history import History

__all__ = [
    "SessionChoice",
    "SessionSummary",
    "choose_session",
    "current_session",
    "find_session",
    "list_sessions",
    "read_session",
]


@dataclass(frozen=True)
class SessionSummary:
    """One session as `autogpt-tui sessions` and the TUI's picker list it."""

    id: str
    goal: str
    """The goal of its newest step in force (of its newest step when all are undone)."""
    steps: int
    """Its steps in force."""
    undone: int
    """Its undone steps (reverted on the branch, or taken off it)."""
    last_step: int
    """The highest step number it used: its next step is one more."""
    last_activity: int
    """When its newest step was committed (seconds since the epoch)."""
    reward: float
    """The sum of the ratings in effect on its steps, undone ones included (the −1 an
    undo counted is a reward the agent learns from)."""
    rated_up: int
    rated_down: int
    finished: bool
    """Its newest step in force called ``finish``."""
    current: bool
    """The session ``--continue`` resumes."""

    def to_json(self) -> dict[str, Any]:
        """The session as `sessions --json` prints it."""
        return {
            "id": self.id,
            "goal": self.goal,
            "steps": self.steps,
            "undone": self.undone,
            "last_step": self.last_step,
            "last_activity": self.last_activity,
            "reward": self.reward,
            "rated_up": self.rated_up,
            "rated_down": self.rated_down,
            "finished": self.finished,
            "current": self.current,
        }

    @property
    def when(self) -> str:
        """The last activity in local time, to the minute."""
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.last_activity))

    @property
    def steps_text(self) -> str:
        """``4`` or ``4 +2 undone``."""
        return f"{self.steps}" + (f" +{self.undone} undone" if self.undone else "")

    @property
    def rewards_text(self) -> str:
        """``+1 (2+ 1−)``, or ``–`` when nothing was rated."""
        if not (self.rated_up or self.rated_down):
            return "–"
        return f"{self.reward:+g} ({self.rated_up}+ {self.rated_down}−)"


@dataclass
class _Tally:
    """What the listing adds up for one session while it reads the steps."""

    newest_live: StepCommit | None = None
    newest: StepCommit | None = None
    steps: int = 0
    undone: int = 0
    last_step: int = 0
    reward: float = 0.0
    up: int = 0
    down: int = 0

    def add(self, step: StepCommit) -> None:
        if step.undone:
            self.undone += 1
        else:
            self.steps += 1
            if self.newest_live is None:
                self.newest_live = step  # the branch is read newest first
        if self.newest is None or step.timestamp > self.newest.timestamp:
            self.newest = step
        self.last_step = max(self.last_step, step.step)
        if (value := step.reward) is not None:
            self.reward += value
            self.up += value > 0
            self.down += value < 0


def list_sessions(history: History) -> list[SessionSummary]:
    """Every session of the branch (steps in force and undone), newest activity first."""
    branch = list(history.steps_on_branch())
    taken_off = list(history.steps_taken_off())
    tallies: dict[str, _Tally] = {}
    for step in (*branch, *taken_off):
        if step.session:  # a hand-made commit with a step but no session: nothing to resume
            tallies.setdefault(step.session, _Tally()).add(step)
    current = _current_of(branch, tallies)
    goals = _goals(history, [t.newest_live or t.newest for t in tallies.values()])
    summaries = []
    for session, tally in tallies.items():
        shown = tally.newest_live or tally.newest
        assert shown is not None and tally.newest is not None
        summaries.append(
            SessionSummary(
                id=session,
                goal=goals.get(shown.sha, ""),
                steps=tally.steps,
                undone=tally.undone,
                last_step=tally.last_step,
                last_activity=tally.newest.timestamp,
                reward=tally.reward,
                rated_up=tally.up,
                rated_down=tally.down,
                finished=tally.newest_live is not None and tally.newest_live.tool == "finish",
                current=session == current,
            )
        )
    summaries.sort(key=lambda s: (s.last_activity, s.current), reverse=True)
    return summaries


def _goals(history: History, steps: Sequence[StepCommit | None]) -> dict[str, str]:
    """The goal recorded on each of ``steps``, by sha: one `git log` for all of them,
    each record read as plain JSON (neither pydantic nor GitPython is loaded for it)."""
    shas = [s.sha for s in steps if s is not None]
    goals: dict[str, str] = {}
    for start in range(0, len(shas), 1000):  # a bounded command line
        batch = shas[start : start + 1000]
        for entry in history.log_entries("--no-walk=unsorted", *batch, records=True):
            line = next((x for x in entry.note.splitlines() if x.startswith("{")), "")
            try:
                goal = json.loads(line).get("goal") if line else None
            except (ValueError, AttributeError):
                goal = None
            if isinstance(goal, str) and goal:
                goals[entry.sha] = one_line(goal, 1000)
    return goals


def _current_of(branch: Sequence[StepCommit], tallies: dict[str, _Tally]) -> str | None:
    """The session of the branch's newest step in force; when no step is in force, the
    session active last."""
    latest = next((s for s in branch if not s.undone and s.session), None)
    if latest is not None:
        return latest.session
    newest = max(
        (t.newest for t in tallies.values() if t.newest is not None),
        key=lambda s: s.timestamp,
        default=None,
    )
    return newest.session if newest is not None else None


def current_session(history: History) -> tuple[str, str] | None:
    """The session ``--continue`` resumes and its goal, or None when there is none.

    The session of the branch's newest step in force (read through the step index: a
    step or two, not the whole history); when no step is in force, the session active
    last (then every session is read).
    """
    latest = next(
        (s for s in history.steps_on_branch(records=True, expect=1) if not s.undone), None
    )
    if latest is not None and latest.session:
        return latest.session, (latest.record.goal if latest.record else "")
    chosen = next((s for s in list_sessions(history) if s.current), None)
    return (chosen.id, chosen.goal) if chosen is not None else None


def find_session(sessions: Iterable[SessionSummary], text: str) -> SessionSummary:
    """The session ``text`` names: its id, or a prefix only one id has.

    Raises SessionChoiceError (one sentence) when it names none, or several.
    """
    text = text.strip()
    if not text:
        raise SessionChoiceError(
            "--session needs a session id (`autogpt-tui sessions` lists them)."
        )
    listed = list(sessions)
    exact = [s for s in listed if s.id == text]
    if exact:
        return exact[0]
    fitting = [s for s in listed if s.id.startswith(text)]
    if not fitting:
        raise SessionChoiceError(
            f"No session's id starts with {text!r}; `autogpt-tui sessions` lists them."
        )
    if len(fitting) > 1:
        ids = ", ".join(s.id for s in fitting[:5]) + (" …" if len(fitting) > 5 else "")
        raise SessionChoiceError(
            f"{text!r} fits {len(fitting)} sessions ({ids}); give more of the id."
        )
    return fitting[0]


@dataclass(frozen=True)
class SessionChoice:
    """The session a loop is to work in, chosen on the command line."""

    session: str | None
    """The session to resume; None: the loop's own rule (see the module)."""
    goal: str
    """The goal to work toward (the session's own when one is resumed without --goal)."""


def choose_session(
    history: History, *, session: str | None, resume_latest: bool, goal: str | None
) -> SessionChoice:
    """What ``--session ID`` / ``--continue`` and ``--goal`` ask for, made explicit.

    A ``goal`` other than the resumed session's is refused rather than guessed at: a new
    goal starts a new session, so asking for both is a contradiction (SessionChoiceError,
    nothing started). Neither flag: the goal as given, and the loop's own rule.
    """
    given = " ".join((goal or "").split())
    if session is None and not resume_latest:
        return SessionChoice(None, given)
    if session is not None:
        chosen = find_session(list_sessions(history), session)
        found: tuple[str, str] = (chosen.id, chosen.goal)
    else:
        latest = current_session(history)
        if latest is None:
            raise SessionChoiceError("There is no session to continue in this workspace yet.")
        found = latest
    session_id, session_goal = found
    if given and given != " ".join(session_goal.split()):
        raise SessionChoiceError(
            f"Session {session_id}'s goal is {session_goal!r}; a different --goal starts a "
            "new session: leave out --goal to resume it, or --session/--continue to start one."
        )
    return SessionChoice(session_id, session_goal or given)


def read_session(history: History, session: str) -> tuple[list[StepCommit], int]:
    """``session``'s steps in force on the branch with their records, oldest first, and
    the highest step number it ever used (undone steps included: the next is one more).

    Its steps need not lie together on the branch (a session resumed above another's).
    """
    taken_off = [s.step for s in history.steps_taken_off() if s.session == session]
    steps = session_steps(history.steps_on_branch(records=True), session, set(taken_off))
    return steps, history.last_step_number(session)
