"""The workstation driven by Pilot against the scripted loopback model server."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from autogpt_tui.core.history import History
from autogpt_tui.core.learning import DPOLine, export_dpo
from autogpt_tui.core.settings import Settings, load_settings
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.screens.prompt import TextPrompt
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from autogpt_tui.ui.widgets.goal_panel import GoalPanel
from autogpt_tui.ui.widgets.step_history import StepHistory
from autogpt_tui.ui.widgets.workspace_tree import WorkspaceTree
from tests.conftest import git
from tests.support.scripted_llm import RecordedRequest, Reply, ScriptedLLM, ToolCall


def call(name: str, **arguments: Any) -> Reply:
    return Reply(f"Now **{name}**.", tool_calls=[ToolCall(name, arguments)])


def settings_for(workspace: Path, server: ScriptedLLM, mode: str = "step") -> Settings:
    return load_settings(
        workspace,
        overrides={
            "model": {"base_url": server.base_url, "api_key": "sk-test-tui", "max_retries": 1},
            "agent": {"mode": mode},
        },
    )


@pytest.fixture
def make_app(workspace: Path, llm_server: ScriptedLLM) -> Iterator[Callable[..., WorkstationApp]]:
    apps: list[WorkstationApp] = []

    def make(goal: str | None = "Write a greeting.", mode: str = "step") -> WorkstationApp:
        History.open(workspace).close()
        app = WorkstationApp(
            workspace, goal=goal, settings=settings_for(workspace, llm_server, mode)
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.runner.stop()
        app.runner.close()


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app run until ``condition`` holds (or fail after ``timeout`` seconds).

    Only the condition is waited for. ``pilot.pause()`` would also wait for every widget
    on the screen to empty its message queue, which a running agent keeps filling (events
    stream in faster than a loaded machine draws them): Pilot then gives up after 30 s
    with ``WaitForScreenTimeout`` although the condition held long before.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)  # the app runs meanwhile (same event loop)


async def press(app: WorkstationApp, *keys: str) -> None:
    """Press app keys as the user would, queued behind what the app has yet to handle.

    Unlike ``pilot.press`` this does not wait for the whole screen to go idle (see
    ``until``); the test waits for the key's effect instead.
    """
    for key in keys:
        app.simulate_key(key)
    await asyncio.sleep(0)


def prompt_open(app: WorkstationApp) -> bool:
    """A text prompt is on screen and its input has the focus (typing goes into it)."""
    return isinstance(app.screen, TextPrompt) and isinstance(app.screen.focused, Input)


def steps_in(app: WorkstationApp) -> list[int]:
    return [s.step for s in app.query_one(StepHistory).steps]


def last_tool_message(request: RecordedRequest) -> str:
    return [str(m.get("content")) for m in request.messages if m.get("role") == "tool"][-1]


async def test_step_shows_the_proposed_change_and_approve_commits_it(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(call("write_file", path="hello.txt", content="hello\n"))
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await until(pilot, lambda: app.query_one(GoalPanel).status == "waiting")
        assert not (workspace / "hello.txt").exists()  # nothing runs before approval
        viewer = app.query_one(DiffViewer)
        await until(pilot, lambda: "hello.txt" in viewer.diff_title)
        assert any("+hello" in text for _kind, text in viewer.model.lines)
        await press(app, "a")
        await until(pilot, lambda: steps_in(app) == [1])
        assert (workspace / "hello.txt").read_text() == "hello\n"
        assert git(workspace, "log", "-1", "--format=%s").strip() == "Write hello.txt"


async def test_an_edit_made_while_a_proposal_waits_is_shown_again_not_overwritten(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    """Issue 9, reproduction 1: approval sees one diff, the commit must hold that diff."""
    text = "".join(f"line {n}\n" for n in range(1, 16))
    (workspace / "textutil.py").write_text(text)
    History.open(workspace).close()  # the first commit takes it
    old = "".join(f"line {n}\n" for n in range(7, 14))
    llm_server.script(call("edit_file", path="textutil.py", old_text=old, new_text=old.upper()))
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        # The user saves line 5 (inside the diff's context) while the proposal waits,
        # then approves what they saw.
        (workspace / "textutil.py").write_text(text.replace("line 5\n", "line 5, the user's\n"))
        await press(app, "a")
        viewer = app.query_one(DiffViewer)
        await until(
            pilot,
            lambda: (
                app.runner.awaiting_approval
                and any("line 5, the user's" in line for _kind, line in viewer.model.lines)
            ),
        )
        assert steps_in(app) == []  # nothing was applied over the unseen change
        await press(app, "a")
        await until(pilot, lambda: steps_in(app) == [1])
    content = (workspace / "textutil.py").read_text()
    assert "line 5, the user's\n" in content and "LINE 7" in content
    diff = git(workspace, "show", "--format=", "--unified=0", "HEAD")
    assert "user's" not in diff and diff.count("\n+LINE") == 7
    assert git(workspace, "log", "-1", "--format=%s", "HEAD~1").strip() == "User edits: textutil.py"


async def test_reject_with_a_reason_reaches_the_agent(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(
        call("write_file", path="hello.txt", content="hi\n"),
        call("write_file", path="greeting.txt", content="hi\n"),
    )
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await press(app, "r")
        await until(pilot, lambda: prompt_open(app))
        await pilot.press(*"Call it greeting.txt")
        await pilot.press("enter")
        await until(pilot, lambda: len(llm_server.requests) == 2 and app.runner.awaiting_approval)
        assert "Call it greeting.txt" in last_tool_message(llm_server.requests[1])
        await press(app, "a")
        await until(pilot, lambda: steps_in(app) == [1])
        assert (workspace / "greeting.txt").exists() and not (workspace / "hello.txt").exists()
    # The rejected proposal and the action approved in its place are a preference pair.
    with History.open(workspace) as h:
        out = io.StringIO()
        assert export_dpo(h, out) == 1
        pair = DPOLine.model_validate_json(out.getvalue())
        assert "hello.txt" in json.dumps(pair.model_dump()["non_preferred_output"])
        assert "greeting.txt" in json.dumps(pair.model_dump()["preferred_output"])


async def test_undo_redo_and_rating_from_the_keyboard(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(call("write_file", path="a.txt", content="a\n"))
    app = make_app(mode="auto")
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: steps_in(app) == [1] and not app._agent_busy)
        await press(app, "u")
        await until(pilot, lambda: not (workspace / "a.txt").exists())
        await until(pilot, lambda: app.query_one(StepHistory).steps[0].undone)
        await press(app, "U")
        await until(pilot, lambda: (workspace / "a.txt").exists())
        await until(pilot, lambda: not app.query_one(StepHistory).steps[0].undone)
        await press(app, "minus")
        await until(pilot, lambda: app.query_one(StepHistory).steps[0].reward == -1)
        await press(app, "c")
        await until(pilot, lambda: prompt_open(app))
        await pilot.press(*"wrong file name")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: (
                (r := app.query_one(StepHistory).steps[0].rating) is not None
                and r.comment == "wrong file name"
            ),
        )
        await press(app, "plus")
        await until(pilot, lambda: app.query_one(StepHistory).steps[0].reward == 1)
    with History.open(workspace) as h:
        rated = h.steps()[0]
        assert rated.reward == 1


async def test_mode_cycles_and_the_next_action_follows_it(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    llm_server.script(call("write_file", path="a.txt", content="a\n"))
    app = make_app(mode="step")
    async with app.run_test(size=(160, 45)) as pilot:
        panel = app.query_one(GoalPanel)
        assert panel.mode == "step"
        await pilot.press("m")
        assert panel.mode == "edits" and app.runner.mode == "edits"
        await pilot.press("m")
        assert panel.mode == "auto"
        await pilot.press("m", "m")
        assert panel.mode == "edits"
        await press(app, "s")  # an edit in edits mode runs without asking
        await until(pilot, lambda: steps_in(app) == [1])
        assert (workspace / "a.txt").exists()


async def test_pause_stops_a_running_agent_after_the_current_step(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    counter = iter(range(1000))

    def responder(_request: RecordedRequest) -> Reply:
        n = next(counter)
        return Reply(
            f"step {n}",
            tool_calls=[ToolCall("write_file", {"path": f"f{n}", "content": str(n)})],
            # Still far faster than a real model, but not so fast that, on a loaded
            # machine, the app falls seconds behind the agent's events and the pause key
            # waits behind them.
            delay_s=0.2,
        )

    llm_server.responder = responder
    app = make_app(mode="auto")
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "p")  # run on its own
        await until(pilot, lambda: len(steps_in(app)) >= 2)
        await press(app, "p")  # pause
        await until(pilot, lambda: not app._agent_busy)
        await until(pilot, lambda: app.query_one(GoalPanel).status == "paused")
        settled = len(History.open(workspace).steps())
        await pilot.pause(0.3)
        assert len(History.open(workspace).steps()) == settled
        assert git(workspace, "status", "--porcelain") == ""


async def test_ask_user_opens_an_input_and_the_answer_goes_back(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM
) -> None:
    llm_server.script(call("ask_user", question="Which greeting?"), call("finish", summary="ok"))
    app = make_app(mode="auto")
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: prompt_open(app))
        await pilot.press(*"Say hello")
        await pilot.press("enter")
        await until(pilot, lambda: steps_in(app) == [1])
        await press(app, "s")
        await until(pilot, lambda: len(llm_server.requests) == 2)
        assert "Say hello" in last_tool_message(llm_server.requests[1])


async def test_an_external_edit_shows_up_in_the_file_tree(
    make_app: Callable[..., WorkstationApp], workspace: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: bool(app.query(WorkspaceTree)))
        tree = app.query_one(WorkspaceTree)
        await until(pilot, lambda: len(tree.root.children) > 0)
        # The session's watcher starts off the UI thread; a write before it runs is missed.
        await until(pilot, lambda: tree.watcher is not None and tree.watcher.running)
        (workspace / "made-outside.txt").write_text("from my editor\n")

        def shown() -> bool:
            return any(
                n.data is not None and n.data.path.name == "made-outside.txt"
                for n in tree.root.children
            )

        await until(pilot, shown)


async def test_a_model_failure_is_a_notification_not_a_traceback(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM
) -> None:
    from tests.support.scripted_llm import Fault

    llm_server.script(Fault(500), Fault(500))
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: not app._agent_busy and len(llm_server.requests) == 2)
        await until(pilot, lambda: any("failed 2 times" in n.message for n in app._notifications))


async def test_without_a_model_stepping_says_how_to_set_one(workspace: Path) -> None:
    History.open(workspace).close()
    app = WorkstationApp(workspace, goal="x", settings=load_settings(workspace))
    async with app.run_test(size=(120, 40)) as pilot:
        await press(app, "s")
        await until(
            pilot, lambda: any("No model is configured" in n.message for n in app._notifications)
        )
        assert not app._agent_busy


async def test_narrow_terminals_show_one_panel_at_a_time(
    make_app: Callable[..., WorkstationApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("-narrow")
        assert app.query_one("#log").display and not app.query_one("#diff").display
        await pilot.press("2")
        assert app.query_one("#diff").display and not app.query_one("#log").display
        await pilot.press("3")
        assert app.query_one("#history").display


async def test_the_command_palette_lists_every_action(
    make_app: Callable[..., WorkstationApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Step", "Approve", "Reject", "Undo", "Redo", "Rate +1", "Comment"):
            assert title in titles
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"


async def test_the_rewards_view_draws_the_arms_and_the_lessons(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    from autogpt_tui.ui.screens.rewards import RewardsScreen

    llm_server.script(call("write_file", path="a.txt", content="a\n"))
    app = make_app(mode="auto")
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: steps_in(app) == [1] and not app._agent_busy)
        await press(app, "minus")
        await until(pilot, lambda: app.query_one(StepHistory).steps[0].reward == -1)
        await press(app, "R")
        await until(pilot, lambda: isinstance(app.screen, RewardsScreen))
        screen = app.screen
        assert isinstance(screen, RewardsScreen)
        assert [a.name for a in screen.arms] == ["default"] and screen.arms[0].rated == 1
        assert screen.lessons and screen.lessons[0].kind == "avoid"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, RewardsScreen))
