"""The A key (always allow) and the help screen's permission rules, driven by Pilot."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Static

from autogpt_tui.core.permissions import tilde
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.screens.help import HelpScreen
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import call, make_app, press, steps_in, until
from tests.support.scripted_llm import ScriptedLLM

__all__ = ["make_app"]  # the fixture, shared with test_tui


def user_config() -> Path:
    return Path(os.environ["AUTOGPT_TUI_CONFIG"])


def help_text(app: WorkstationApp) -> str:
    return "\n".join(str(s.render()) for s in app.screen.query(Static))


async def test_always_allow_writes_the_rule_and_the_next_identical_proposal_runs(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    config = user_config()
    config.write_text('# my own settings\n[ui]\nnotify = "off"\n')
    llm_server.script(
        call("run_command", command="echo one >> out.txt"),
        call("run_command", command="echo two >> out.txt"),
        call("finish", summary="Both lines written."),
    )
    app = make_app(mode="edits")
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "p")  # run until done: commands wait in edits mode
        await until(pilot, lambda: app.runner.awaiting_approval)
        assert app.runner.pending_action is not None
        assert app.runner.pending_action.arguments["command"] == "echo one >> out.txt"
        await press(app, "A")
        await until(pilot, lambda: 1 in steps_in(app))
        # The second echo runs under the new rule: the run ends with no second question.
        done = {1, 2, 3}
        await until(pilot, lambda: set(steps_in(app)) == done or app.runner.awaiting_approval)
        assert not app.runner.awaiting_approval
        assert set(steps_in(app)) == done
        assert (workspace / "out.txt").read_text() == "one\ntwo\n"
        text = config.read_text()
        assert text.startswith('# my own settings\n[ui]\nnotify = "off"\n')
        assert tomllib.loads(text)["permissions"] == [
            {"tool": "run_command", "pattern": "echo *", "action": "allow"}
        ]
        shown = f"Always allowed: run_command `echo *` (written to {tilde(config)})."
        assert any(shown in n.message for n in app._notifications)
        log = app.query_one(ActionLog)
        await until(pilot, lambda: any(shown in str(e) for e in log._notices))
        # The second echo's card names the rule that let it run unasked; the first one
        # waited for the user, so no rule decided it.
        assert log._entries[2].cards[-1].rule.startswith("allow run_command `echo *` in your")
        assert log._entries[1].cards[-1].rule == ""
        # The help screen lists the rule, with where it is written.
        await press(app, "question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        row = f"run_command `echo *` — your config ({tilde(config)})"
        await until(pilot, lambda: row in help_text(app))
        assert "Permission rules" in help_text(app)


async def test_help_says_when_no_rule_is_in_force(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await until(pilot, lambda: "None: the mode alone decides." in help_text(app))
        assert "Permission rules" in help_text(app)
