"""The goal panel's status says how each run ended, and what the agent is doing now.

Driven by Pilot against the scripted loopback server (or a closed port, for a model
server that is not there): the status after a failed connection, a finish, a budget,
a pause and a single step each reads differently.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.widgets import Static

from autogpt_tui.core.events import ActionExecuted
from autogpt_tui.core.history import History
from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.messages import AgentEventMessage
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from autogpt_tui.ui.widgets.goal_panel import GoalPanel, GoalState
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import call, press, until
from tests.support.scripted_llm import Fault, Reply, ScriptedLLM, ToolCall
from tests.ui.test_goal_activity import FakeClock

MakeApp = Callable[..., WorkstationApp]


def closed_port_url() -> str:
    """The base URL of a loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def make_app(workspace: Path, llm_server: ScriptedLLM) -> Iterator[MakeApp]:
    apps: list[WorkstationApp] = []

    def make(mode: str = "step", base_url: str | None = None, **agent: Any) -> WorkstationApp:
        History.open(workspace).close()
        settings = load_settings(
            workspace,
            overrides={
                "model": {
                    "base_url": base_url or llm_server.base_url,
                    "api_key": "sk-test-status",
                    "max_retries": 1,
                },
                "agent": {"mode": mode, **agent},
            },
        )
        app = WorkstationApp(workspace, goal="Write a greeting.", settings=settings)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.runner.stop()
        app.runner.close()


def state_line(app: WorkstationApp) -> str:
    return app.query_one("#goal-state", GoalState).plain


async def test_a_model_server_that_is_not_there_ends_in_error_not_done(
    make_app: MakeApp,
) -> None:
    """Issue 12, item 2: the run failed, so the panel must not say done."""
    app = make_app(base_url=closed_port_url())
    seen: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(GoalPanel)
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")

        def stopped() -> bool:
            seen.append(panel.status)  # every status on the way, to show none was "done"
            return panel.reason != ""

        await until(pilot, stopped)
        assert "done" not in seen
        assert state_line(app).startswith("✗ error")
        assert panel.has_class("-status-error") and panel.has_class("-has-reason")
        assert panel.reason.startswith("The model server failed 2 times")
        reason_line = app.query_one("#goal-reason")
        await until(pilot, lambda: reason_line.region.height == 1)  # laid out, one line
        # The next step starts afresh: the old reason goes as soon as the agent works.
        await press(app, "s")
        await until(pilot, lambda: panel.reason == "")
        await until(pilot, lambda: panel.reason != "")
        assert panel.status == "error"


async def test_finishing_reads_done(make_app: MakeApp, llm_server: ScriptedLLM) -> None:
    llm_server.script(call("finish", summary="Greeted."))
    app = make_app(mode="auto")
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(GoalPanel)
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: panel.status == "done" and not app._agent_busy)
        assert state_line(app).startswith("✓ done")
        assert panel.reason == "" and not panel.has_class("-has-reason")


async def test_a_spent_budget_reads_out_of_budget_with_the_reason(
    make_app: MakeApp, llm_server: ScriptedLLM
) -> None:
    llm_server.script(call("write_file", path="a.txt", content="a\n"))
    app = make_app(mode="auto", max_steps=1)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(GoalPanel)
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "p")  # run on its own: one step, then the budget stops it
        await until(pilot, lambda: panel.status == "budget" and panel.reason != "")
        assert state_line(app).startswith("⊘ out of budget")
        assert panel.reason == "The step budget (1) ran out."
        assert panel.has_class("-has-reason")


async def test_a_pause_by_the_user_reads_paused_and_a_single_step_idle(
    make_app: MakeApp, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        call("write_file", path="a.txt", content="a\n"),
        call("write_file", path="b.txt", content="b\n"),
    )
    app = make_app(mode="step")
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(GoalPanel)
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await press(app, "a")
        await until(pilot, lambda: panel.status == "idle" and not app._agent_busy)
        assert state_line(app).startswith("○ idle") and panel.reason == ""
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await press(app, "p")  # the user stops the agent while the action waits
        await until(pilot, lambda: panel.status == "paused" and not app._agent_busy)
        assert state_line(app).startswith("‖ paused") and panel.reason == ""


def card_line(app: WorkstationApp, step: int) -> str:
    """The state line of step ``step``'s latest card, as drawn."""
    (*_, card) = app.query_one(ActionLog).cards(step)
    return card.render().plain.splitlines()[1]


def diff_text(app: WorkstationApp) -> str:
    return "\n".join(text for _kind, text in app.query_one(DiffViewer).model.lines)


async def test_approving_changes_the_card_at_once_not_when_the_loop_reports(
    make_app: MakeApp, llm_server: ScriptedLLM
) -> None:
    """Issue 12, item 7: the card said "waiting for approval" until the action had run."""
    llm_server.script(call("write_file", path="a.txt", content="a\n"))
    app = make_app()
    # The card as it reads when the loop's report that the action ran comes in: by then
    # the key must long have changed it.
    at_report: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, AgentEventMessage) and isinstance(message.event, ActionExecuted):
            at_report.append(card_line(app, message.event.action.step))

    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await until(pilot, lambda: bool(app.query_one(ActionLog).cards(1)))
        assert card_line(app, 1).startswith("◌ waiting for approval")
        await press(app, "a")
        await until(pilot, lambda: bool(at_report))
        assert at_report[0].startswith("▶ approved · running…")
        await until(pilot, lambda: card_line(app, 1).startswith("✓ done"))


async def test_the_diff_panel_asks_for_an_answer_only_while_an_action_waits(
    make_app: MakeApp, llm_server: ScriptedLLM
) -> None:
    """Issue 12, item 7: "approve (a) or reject (r)" stayed after the run, through undo
    and resize."""
    llm_server.script(
        call("list_files", path="."),
        call("finish", summary="Listed."),
    )
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "p")  # run on: each action waits, then the agent finishes
        await until(pilot, lambda: app.runner.awaiting_approval)
        await until(pilot, lambda: "approve (a) or reject (r)" in diff_text(app))
        await press(app, "a")
        await until(pilot, lambda: "approve (a)" not in diff_text(app))  # at once
        await until(pilot, lambda: app.runner.awaiting_approval)  # finish waits
        await until(pilot, lambda: "finish changes no file; approve (a)" in diff_text(app))
        await press(app, "a")
        await until(pilot, lambda: app.query_one(GoalPanel).status == "done")
        await until(pilot, lambda: not app._agent_busy and "Step " in diff_text(app))
        assert "approve" not in diff_text(app)
        await press(app, "u")
        await until(pilot, lambda: app.query_one(StepHistory).steps[0].undone)
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: app.size.width == 80)
        assert "approve" not in diff_text(app)


def tokens_shown(app: WorkstationApp) -> int | None:
    """The streamed tokens the state line shows while thinking, or None."""
    match = re.search(r"thinking \S+(?: \(attempt \S+\))? · (\d+) tokens?", state_line(app))
    return int(match.group(1)) if match else None


async def test_tokens_count_up_live_while_a_paced_stream_comes_in(
    make_app: MakeApp, llm_server: ScriptedLLM
) -> None:
    """Issue 12, "always visible": the tokens of the request so far, as they stream."""
    text = "abcdefgh" * 6  # six chunks of two tokens each, half a second apart
    llm_server.script(
        Reply(
            text,
            tool_calls=[ToolCall("write_file", {"path": "a.txt", "content": "a\n"})],
            chunk_size=8,
            delay_s=0.5,
        )
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(GoalPanel)
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: (tokens_shown(app) or 0) > 0)
        first = tokens_shown(app)
        assert first is not None and panel.status == "thinking"
        # More arrives while the model is still answering: the count goes up live.
        await until(pilot, lambda: (tokens_shown(app) or 0) > first)
        assert panel.status == "thinking"
        await until(pilot, lambda: panel.status == "waiting")
        assert tokens_shown(app) is None  # the answer is in: the status is a word again


async def test_a_retry_counts_down_against_a_failing_server(
    make_app: MakeApp, llm_server: ScriptedLLM
) -> None:
    """The server answers 500 (retry after 2 s), then the reply: the panel counts down to
    the next attempt on a clock the test moves, then names the attempt under way."""
    llm_server.script(
        Fault(500, retry_after=2.0),
        Reply("ok", tool_calls=[ToolCall("finish", {"summary": "ok"})], delay_s=0.0),
    )
    clock = FakeClock()
    app = make_app(mode="auto")
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(GoalPanel)
        panel.clock = clock
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: "retrying in 2s (attempt 2/2)" in state_line(app))
        clock.now += 1.0
        await until(pilot, lambda: "retrying in 1s (attempt 2/2)" in state_line(app))
        await until(pilot, lambda: panel.status == "done")
        assert "Retrying in 2.0 s (attempt 2/2): HTTP 500" in log_text(app)


async def test_the_model_and_the_endpoints_host_show_never_its_secrets(
    make_app: MakeApp, llm_server: ScriptedLLM
) -> None:
    port = llm_server.base_url.split(":")[2].split("/")[0]
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        assert subtitle(app) == f"gpt-4o-mini · 127.0.0.1:{port}"
    app = make_app(base_url="http://alice:sk-in-url@127.0.0.1:9/keys/sk-in-path/v1?k=sk-q")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        assert subtitle(app) == "gpt-4o-mini · 127.0.0.1:9"


def subtitle(app: WorkstationApp) -> str:
    shown = app.query_one(GoalPanel)._border_subtitle
    return shown.plain if shown is not None else ""


def log_text(app: WorkstationApp) -> str:
    """The log's notices, as drawn."""
    notices = app.query_one(ActionLog).query(".notice").results(Static)
    return "\n".join(str(notice.render()) for notice in notices)
