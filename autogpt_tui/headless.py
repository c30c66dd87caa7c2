"""``autogpt-tui run``: the agent without the TUI, printing events as text or JSON lines."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from autogpt_tui.core.constants import EXIT_BUDGET, EXIT_ERROR, EXIT_OK
from autogpt_tui.core.errors import UserError
from autogpt_tui.core.events import (
    ActionExecuted,
    ActionProposed,
    ActionRejected,
    CostUnenforceable,
    DelegatedCall,
    ErrorOccurred,
    Event,
    Finished,
    Notice,
    Outcome,
    ProjectNotesRead,
    Retrying,
    SessionStarted,
    StepCommitted,
    ThoughtDelta,
    UserEditsCommitted,
)
from autogpt_tui.core.orchestra_events import PlanUpdated, ReviewGiven, RoleEvent
from autogpt_tui.core.records import escape_surrogates, escape_surrogates_in

if TYPE_CHECKING:
    from autogpt_tui.core.session import AgentSession
    from autogpt_tui.core.team_session import TeamSession

TEAM_EVENTS = (PlanUpdated, ReviewGiven)
"""A team's own events (the plan, the reviewer's verdicts), printed as such."""

EXIT_CODES: dict[Outcome, int] = {"finished": EXIT_OK, "budget": EXIT_BUDGET}
"""Exit status per outcome; every other outcome is ``EXIT_ERROR`` (DESIGN.md)."""


class EventPrinter:
    """Prints the loop's events: one JSON object a line, or short lines for people."""

    def __init__(self, out: TextIO, *, json_lines: bool, err: TextIO | None = None) -> None:
        self.out = out
        self.err = err or sys.stderr
        """Where warnings go in text mode (an unpriced model under a cost budget)."""
        self.json_lines = json_lines
        # Notices can come from the session's side thread: whole lines, never mixed.
        self._lock = threading.Lock()
        self._thought_shown: tuple[int, str] | None = None
        # A team's roles each start (or resume) the one session: said once, not per role.
        self._sessions_shown: set[str] = set()

    def __call__(self, event: Event) -> None:
        inner = event.event if isinstance(event, RoleEvent) else event
        if isinstance(inner, CostUnenforceable):
            # A warning, on stderr whatever the format; --json also gets its event.
            with self._lock:
                self.err.write(f"autogpt-tui: warning: {escape_surrogates(inner.message)}\n")
                self.err.flush()
            if not self.json_lines:
                return
        if self.json_lines:
            line: str | None = json.dumps(
                escape_surrogates_in(event.to_json()), ensure_ascii=False, default=str
            )
        elif isinstance(inner, SessionStarted):
            if inner.session in self._sessions_shown:
                return
            self._sessions_shown.add(inner.session)
            line = self._text(inner)  # the team's session, whoever opened it first
        else:
            line = self._team_text(event) if isinstance(event, TEAM_EVENTS) else self._text(inner)
            if line is not None and isinstance(event, RoleEvent):
                # Each line of a team says who speaks (a thought's lines included).
                line = "\n".join(f"[{event.role}] {part}" for part in line.split("\n"))
        if line is not None:
            # A non-UTF-8 file name or a lone surrogate from the model cannot be written.
            line = escape_surrogates(line)
            with self._lock:
                self.out.write(line + "\n")
                self.out.flush()

    @staticmethod
    def _team_text(event: Event) -> str | None:
        if isinstance(event, PlanUpdated):
            marks = {"open": " ", "done": "x", "skipped": "~"}
            items = [f"  - [{marks.get(state, ' ')}] {text}" for text, state in event.subgoals]
            return "\n".join([f"plan ({event.phase} next):", *items]) if items else None
        if isinstance(event, ReviewGiven):
            return f"[reviewer] rated {event.sha[:8]} {event.value:+d}: {event.reason}"
        return None

    def _text(self, event: Event) -> str | None:
        if isinstance(event, ThoughtDelta):
            return None  # the whole thought is shown with its action
        if isinstance(event, SessionStarted):
            if event.resumed:
                steps = f"{event.steps} step{'s' if event.steps != 1 else ''} in force"
                return f"Resuming session {event.session} ({steps}): {event.goal}"
            return f"Session {event.session}: {event.goal}"
        if isinstance(event, ActionProposed):
            a = event.action
            # Several reads of one reply share its thought: shown once, with the first.
            said = (a.step, a.thought) == self._thought_shown
            self._thought_shown = (a.step, a.thought)
            thought = f"  {a.thought.strip()}\n" if a.thought.strip() and not said else ""
            args = json.dumps(a.arguments, ensure_ascii=False)
            if len(args) > 200:
                args = args[:197] + "..."
            return f"{thought}step {a.step}: {a.tool} {args}"
        if isinstance(event, ActionRejected):
            return f"  refused: {event.reason}"
        if isinstance(event, ActionExecuted):
            first = event.output.strip().splitlines()[0] if event.output.strip() else ""
            mark = "ok" if event.ok else "error"
            return f"  {mark}: {first[:200]}"
        if isinstance(event, DelegatedCall):
            # The sub-agent's calls, indented under the delegate call they belong to.
            args = json.dumps(event.arguments, ensure_ascii=False)
            args = args if len(args) <= 200 else args[:197] + "..."
            mark = "" if event.ok else " (refused or failed)"
            return f"  delegated step {event.sub_step}: {event.tool} {args}{mark}"
        if isinstance(event, StepCommitted):
            return f"  committed {event.sha[:8]}: {event.summary}"
        if isinstance(event, UserEditsCommitted):
            names = ", ".join(escape_surrogates(p) for p in event.paths)
            return f"committed your version of {names} first, as yours ({event.sha[:8]})"
        if isinstance(event, Retrying):
            return f"  retrying in {event.delay_s:.1f}s (attempt {event.attempt}): {event.reason}"
        if isinstance(event, ErrorOccurred):
            return f"error: {event.message}"
        if isinstance(event, Notice):
            return f"note: {event.message}"
        if isinstance(event, ProjectNotesRead):
            cut = " (cut to fit)" if event.truncated else ""
            names = ", ".join(event.files) or "none"
            return "\n".join([f"project notes: {names}{cut}", *event.skipped])
        if isinstance(event, Finished):
            steps = f"{event.steps} step{'s' if event.steps != 1 else ''}"
            if event.outcome == "finished":
                return f"Finished after {steps}: {event.summary or event.message}"
            return f"Stopped ({event.outcome}) after {steps}: {event.message}"
        return None


def run_headless(
    workspace: Path,
    *,
    goal: str,
    mode: str | None,
    session: str | None = None,
    resume_latest: bool = False,
    max_steps: int | None,
    max_tokens: int | None,
    max_cost: float | None,
    model: str | None,
    base_url: str | None,
    json_output: bool,
    out: TextIO | None = None,
    agents: Sequence[str] | None = None,
    worktree: bool = False,
) -> int:
    """Run the agent on ``workspace`` until it stops; returns the exit status.

    ``mode`` is the ``--mode`` flag; None (not given) leaves the config's mode, else
    ``auto`` (:data:`~autogpt_tui.core.settings.RUN_DEFAULTS`). ``session`` (``--session``)
    or ``resume_latest`` (``--continue``) resume a session, with its goal when ``goal`` is
    empty (see core/sessions.py ``choose_session``). ``agents`` (``--agents``) runs a
    team of those ``[[agents]]`` instead of the single agent (core/orchestra.py).
    ``worktree`` (``--worktree``) runs a new session in its own worktree (core/worktree.py).
    """
    from autogpt_tui.core.history import History
    from autogpt_tui.core.lock import WorkspaceLock
    from autogpt_tui.core.session import NO_MODEL_SENTENCE, open_session
    from autogpt_tui.core.session import AgentSession as AgentSessionType
    from autogpt_tui.core.sessions import choose_session
    from autogpt_tui.core.settings import RUN_DEFAULTS, load_settings

    stream = out or sys.stdout
    history = History.open(workspace, create=True)
    lock: WorkspaceLock | None = None
    try:
        # First of all: another agent in this workspace means nothing is done here (the
        # open above writes nothing in a repository that already has a commit).
        lock = WorkspaceLock.acquire(history.common_dir, command="run")
        history.ensure_quiet()
        # Chosen before anything else is read: a --session that names nothing is one
        # sentence and exit 2, and no model is asked.
        choice = choose_session(history, session=session, resume_latest=resume_latest, goal=goal)
        notices = [history.recovered_notice, history.kept_out_notice]
        if worktree:
            from autogpt_tui.core.worktree import enter_worktree

            history, choice, place = enter_worktree(history, choice)
            notices.append(place)
        settings = load_settings(
            history.root,
            overrides={
                "model": {"model": model, "base_url": base_url},
                "agent": {
                    "mode": mode,
                    "max_steps": max_steps,
                    "max_tokens": max_tokens,
                    "max_cost_usd": max_cost,
                },
            },
            defaults=RUN_DEFAULTS,
        )
        printer = EventPrinter(stream, json_lines=json_output)
        for notice in notices:
            if notice:
                printer(Notice(notice))
        for warning in settings.warnings:
            printer(Notice(warning))
        if not settings.has_model():
            raise UserError(NO_MODEL_SENTENCE)
        # The `finished` event is the last line, always: it is held back until the
        # session has closed, so a notice from its side thread (the sandbox probe, which
        # runs while the first request is under way) still comes before it.
        held: list[Event] = []

        def emit(event: Event) -> None:
            if isinstance(event, Finished):
                held.append(event)
            else:
                printer(event)

        # Headless: no user channel, and the budget is the settings' (flags included).
        runner: AgentSession | TeamSession
        if agents:
            from autogpt_tui.core.team_session import open_team

            runner = open_team(
                history, settings, agents, goal=choice.goal, mode=settings.agent.mode,
                emit=emit, lock=lock,
            )  # fmt: skip
        else:
            runner = open_session(
                history,
                settings,
                goal=choice.goal,
                session=choice.session,
                mode=settings.agent.mode,
                emit=emit,
                lock=lock,
            )
        loop = runner.agent if isinstance(runner, AgentSessionType) else runner.orchestra
    except BaseException:
        history.close()
        if worktree:  # a worktree made for a run that never began (no model, ...)
            from autogpt_tui.core.worktree import drop_if_unused

            drop_if_unused(history.root)
        if lock is not None:
            lock.release()
        raise
    try:
        try:
            result = loop.run()
        except KeyboardInterrupt:
            loop.cancel()
            held.append(Finished(outcome="cancelled", message="Interrupted.", steps=0))
            return EXIT_ERROR
    finally:
        runner.close()
        if worktree:  # stopped before any step: no empty worktree is left behind
            from autogpt_tui.core.worktree import drop_if_unused

            drop_if_unused(history.root)
        for event in held:
            printer(event)
        lock.release()
    return EXIT_CODES.get(result.outcome, EXIT_ERROR)
