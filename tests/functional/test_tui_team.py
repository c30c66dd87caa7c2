"""A team in the workstation (``--agents``), driven by Pilot against the scripted server
playing each role: the log badges each step with its role, the goal panel shows the plan
with check marks, ``n`` skips the current subgoal; the single agent shows none of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.content import Content

from autogpt_tui.core.history import History
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.log_entries import header_content
from autogpt_tui.ui.widgets.plan_checklist import PlanChecklist
from tests.functional.test_tui import press, settings_for, until
from tests.support.role_play import RolePlay, call
from tests.support.scripted_llm import ScriptedLLM

TEAM = ["planner", "coder", "reviewer"]


@pytest.fixture
def make_app(workspace: Path, llm_server: ScriptedLLM) -> Iterator[Callable[..., WorkstationApp]]:
    apps: list[WorkstationApp] = []

    def make(agents: list[str] | None = TEAM) -> WorkstationApp:
        History.open(workspace).close()
        app = WorkstationApp(
            workspace,
            goal="Write a and b.",
            settings=settings_for(workspace, llm_server, "auto"),
            agents=agents,
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.runner.stop()
        app.runner.close()


def headers(app: WorkstationApp) -> list[str]:
    log = app.query_one(ActionLog)
    return [
        header_content(entry).plain.split("  ")[0]
        for entry in log._steps  # the entries' headers, mounted or not
    ]


def plan_line(app: WorkstationApp) -> str:
    rendered = app.query_one(PlanChecklist).render()
    return rendered.plain if isinstance(rendered, Content) else str(rendered)


async def test_the_team_shows_roles_the_plan_and_skips_a_subgoal(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM
) -> None:
    play = RolePlay(llm_server)
    play.script("planner", [call("finish", summary="- [ ] Write a.txt\n- [ ] Write b.txt")])
    play.script(
        "coder",
        [
            call("write_file", path="a.txt", content="a\n"),
            call("write_file", path="b.txt", content="b\n"),
        ],
    )
    play.script("reviewer", [call("finish", summary="+1 fine")])
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        checklist = app.query_one(PlanChecklist)
        assert not checklist.display  # no plan yet: the line is hidden
        assert not app.check_action("skip_subgoal", ())
        await press(app, "s")
        await until(pilot, lambda: checklist.has_class("-shown") and not app._agent_busy)
        assert plan_line(app) == "plan 0/2  ▶ Write a.txt  ☐ Write b.txt"
        assert app.check_action("skip_subgoal", ())
        await press(app, "s")  # the coder writes a.txt
        await until(pilot, lambda: len(headers(app)) == 2 and not app._agent_busy)
        await press(app, "s")  # the reviewer rates it
        await until(pilot, lambda: len(headers(app)) == 3 and not app._agent_busy)
        assert headers(app) == ["step 1 · planner", "step 2 · coder", "step 3 · reviewer"]
        await press(app, "n")  # skip "Write a.txt": the coder goes on with b
        await press(app, "s")
        await until(pilot, lambda: len(headers(app)) == 4 and not app._agent_busy)
        assert plan_line(app) == "plan 1/2  ~ Write a.txt  ▶ Write b.txt"
        assert (app.runner.workspace / "b.txt").read_text() == "b\n"
        coder = [r for r in llm_server.requests if "You are the coder" in r.system_prompt][-1]
        assert "The user skipped the subgoal 1 (Write a.txt)" in str(coder.messages)
        # Undo takes back the step that recorded the skip: the plan line rewinds at once.
        await press(app, "u")
        await until(pilot, lambda: plan_line(app) == "plan 0/2  ▶ Write a.txt  ☐ Write b.txt")


async def test_the_single_agent_has_no_badges_and_no_plan(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM
) -> None:
    llm_server.script(call("write_file", path="a.txt", content="a\n"))
    app = make_app(agents=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(app, "s")
        await until(pilot, lambda: len(headers(app)) == 1 and not app._agent_busy)
        assert headers(app) == ["step 1"]
        assert not app.query_one(PlanChecklist).display
        assert not app.check_action("skip_subgoal", ())
    assert "You are the" not in llm_server.requests[0].system_prompt
