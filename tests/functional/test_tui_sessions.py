"""Sessions in the workstation: the picker (S) switches the agent to another session, and
a new goal (g) starts a new session. Pilot against the scripted server, real git."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import DataTable

from autogpt_tui.core.history import History
from autogpt_tui.core.sessions import list_sessions
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.app_sessions import BUSY_SENTENCE
from autogpt_tui.ui.screens.session_picker import SessionPicker
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.goal_panel import GoalPanel
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.conftest import git
from tests.functional.test_sessions_cli import NEW, OLD, two_sessions  # noqa: F401 (fixture)
from tests.functional.test_tui import call, press, prompt_open, settings_for, until
from tests.support.scripted_llm import ScriptedLLM

SIZE = (160, 45)


@pytest.fixture
def apps() -> Iterator[list[WorkstationApp]]:
    """Apps to stop and close after the test, whatever happened."""
    made: list[WorkstationApp] = []
    yield made
    for app in made:
        app.runner.stop()
        app.runner.close()


def trailers(workspace: Path) -> tuple[str, str]:
    """HEAD's Agent-Session and Agent-Step trailers."""
    session = git(workspace, "log", "-1", "--format=%(trailers:key=Agent-Session,valueonly)")
    step = git(workspace, "log", "-1", "--format=%(trailers:key=Agent-Step,valueonly)")
    return session.strip(), step.strip()


def notified(seen: list[Message], text: str) -> bool:
    return any(isinstance(m, Notify) and text in m.notification.message for m in seen)


async def open_picker(app: WorkstationApp, pilot: Pilot[None]) -> SessionPicker:
    await press(app, "S")
    # Pushed first, composed and mounted after: wait for its table to hold the rows and
    # the focus (given once the cursor is on the session in use).
    await until(
        pilot,
        lambda: (
            isinstance(app.screen, SessionPicker)
            and isinstance(app.screen.focused, DataTable)
            and app.screen.focused.row_count > 0
        ),
    )
    assert isinstance(app.screen, SessionPicker)
    return app.screen


async def test_the_picker_switches_the_agent_to_the_older_session(
    two_sessions: Path,  # noqa: F811
    llm_server: ScriptedLLM,
    apps: list[WorkstationApp],
) -> None:
    llm_server.script(call("write_file", path="docs.md", content="# Docs\n"))
    app = WorkstationApp(two_sessions, settings=settings_for(two_sessions, llm_server, "auto"))
    apps.append(app)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(GoalPanel)
        # Without flags the branch's session is resumed, as before: its goal and meters.
        await until(pilot, lambda: panel.goal == "Add the tests" and panel.steps_used == 2)
        picker = await open_picker(app, pilot)
        table = picker.query_one(DataTable)
        assert table.row_count == 2
        assert [table.get_row_at(n)[1] for n in range(2)] == [NEW, OLD]
        assert table.get_row_at(0)[0] == "▶" and table.cursor_row == 0
        await pilot.press("down", "enter")
        await until(pilot, lambda: not isinstance(app.screen, SessionPicker))
        await until(pilot, lambda: panel.meters_session == OLD and panel.steps_used == 3)
        assert panel.goal == "Write the docs" and app.runner.session_choice == OLD
        # The next step is the older session's: numbered after its step 3, its goal sent.
        await press(app, "s")
        await until(pilot, lambda: panel.steps_used == 4 and not app._agent_busy)
        assert trailers(two_sessions) == (OLD, "4")
        first = llm_server.requests[0].messages
        assert {"role": "user", "content": "Goal: Write the docs"} in first
        assert len([m for m in first if m.get("tool_calls")]) == 3
        assert any("Resumed session " + OLD in n.text for n in app.query_one(ActionLog)._notices)


async def test_choosing_a_session_while_the_agent_works_is_refused(
    two_sessions: Path,  # noqa: F811
    llm_server: ScriptedLLM,
    apps: list[WorkstationApp],
) -> None:
    llm_server.script(call("write_file", path="t.py", content="assert True\n"))
    seen: list[Message] = []
    app = WorkstationApp(two_sessions, settings=settings_for(two_sessions, llm_server, "step"))
    apps.append(app)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await until(pilot, lambda: app.query_one(GoalPanel).goal == "Add the tests")
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await open_picker(app, pilot)
        await pilot.press("down", "enter")
        await until(pilot, lambda: notified(seen, BUSY_SENTENCE))
        assert app.runner.session_choice is None
        assert app.query_one(GoalPanel).goal == "Add the tests"


async def test_a_new_goal_starts_a_new_session_and_the_old_one_stays_listed(
    workspace: Path, llm_server: ScriptedLLM, apps: list[WorkstationApp]
) -> None:
    llm_server.script(
        call("write_file", path="hello.txt", content="hello\n"),
        call("write_file", path="bye.txt", content="bye\n"),
    )
    History.open(workspace).close()
    app = WorkstationApp(
        workspace, goal="Say hello.", settings=settings_for(workspace, llm_server, "auto")
    )
    apps.append(app)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(GoalPanel)
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: panel.steps_used == 1 and not app._agent_busy)
        first, step = trailers(workspace)
        assert step == "1"
        await press(app, "g")
        await until(pilot, lambda: prompt_open(app))
        await pilot.press("ctrl+u", *"Say bye.", "enter")
        await until(pilot, lambda: panel.goal == "Say bye.")
        await press(app, "s")
        await until(
            pilot,
            lambda: (
                panel.meters_session not in (None, first)
                and panel.steps_used == 1
                and not app._agent_busy
            ),
        )
        second, step = trailers(workspace)
        # A session of its own: numbered from 1, meters from nothing, the log says so.
        assert step == "1" and panel.meters_session == second and panel.steps_used == 1
        assert any(
            f"New session {second}: Say bye." in n.text for n in app.query_one(ActionLog)._notices
        )
        goal_sent = llm_server.requests[-1].messages
        assert {"role": "user", "content": "Goal: Say bye."} in goal_sent
        assert not [m for m in goal_sent if m.get("tool_calls")]  # not the old conversation
    with History.open(workspace) as history:
        listed = {s.id: (s.goal, s.steps) for s in list_sessions(history)}
    assert listed == {first: ("Say hello.", 1), second: ("Say bye.", 1)}


async def test_a_session_chosen_on_the_command_line_shows_its_goal_and_meters(
    two_sessions: Path,  # noqa: F811
    llm_server: ScriptedLLM,
    apps: list[WorkstationApp],
) -> None:
    llm_server.script(call("finish", summary="docs done"))
    app = WorkstationApp(
        two_sessions,
        goal="Write the docs",
        session=OLD,
        settings=settings_for(two_sessions, llm_server, "auto"),
    )
    apps.append(app)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(GoalPanel)
        await until(pilot, lambda: panel.meters_session == OLD and panel.steps_used == 3)
        assert panel.goal == "Write the docs"
        await press(app, "s")
        await until(pilot, lambda: panel.steps_used == 4 and not app._agent_busy)
        assert trailers(two_sessions) == (OLD, "4")
