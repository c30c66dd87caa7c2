"""The workstation on a ``--worktree`` session: the goal panel names the branch and the
worktree, and the agent's steps go onto the session's branch while the user's checkout
stays as it was. Pilot against the scripted server, real git."""

from __future__ import annotations

from pathlib import Path

from autogpt_tui.core.history import History
from autogpt_tui.core.worktree import start_worktree
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.worktree_line import WorktreeLine
from tests.conftest import git
from tests.functional.test_tui import call, press, settings_for, until
from tests.functional.test_worktree import SESSION, checkout_state, repo  # noqa: F401
from tests.support.scripted_llm import ScriptedLLM


async def test_the_goal_panel_names_the_worktree_and_the_steps_go_on_its_branch(
    repo: Path,  # noqa: F811
    llm_server: ScriptedLLM,
) -> None:
    with History.open(repo, create=False) as history:
        worktree = start_worktree(history, SESSION)
    before = checkout_state(repo)
    llm_server.script(call("write_file", path="hello.py", content="print('hi')\n"))
    app = WorkstationApp(
        worktree.path,
        goal="Write hello.py",
        session=SESSION,
        settings=settings_for(worktree.path, llm_server, "auto"),
    )
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            line = app.query_one(WorktreeLine)
            assert line.has_class("-shown") and line.display
            text = str(line.render())
            assert f"branch autogpt-tui/{SESSION}" in text
            assert f"worktree .git/autogpt-tui/worktrees/{SESSION}" in text
            await press(app, "s")
            await until(pilot, lambda: (worktree.path / "hello.py").exists())
            tip = f"autogpt-tui/{SESSION}"
            await until(pilot, lambda: "hello.py" in git(repo, "show", "--stat", tip))
    finally:
        app.runner.stop()
        app.runner.close()
    trailers = git(repo, "log", "-1", "--format=%(trailers:key=Agent-Session,valueonly)", tip)
    assert trailers.strip() == SESSION
    assert checkout_state(repo) == before


async def test_the_worktree_line_is_hidden_in_an_ordinary_checkout(
    repo: Path,  # noqa: F811
    llm_server: ScriptedLLM,
) -> None:
    app = WorkstationApp(repo, settings=settings_for(repo, llm_server))
    try:
        async with app.run_test(size=(80, 24)):
            line = app.query_one(WorktreeLine)
            assert line.place is None and not line.has_class("-shown")
    finally:
        app.runner.stop()
        app.runner.close()
