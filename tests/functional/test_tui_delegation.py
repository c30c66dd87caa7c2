"""A delegation in the workstation, driven by Pilot against the scripted server: the
delegate card asks once, the sub-agent's steps fold into it ("N steps · enter to
expand") without entries of their own, and enter opens every sub-step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import make_app, press, steps_in, until
from tests.functional.test_tui_transcript import transcript_loaded, transcript_text
from tests.snapshots.test_delegation_snapshots import SCRIPT, TASK
from tests.support.scripted_llm import ScriptedLLM
from tests.ui.test_action_log import shown

__all__ = ["make_app"]  # the fixture, shared with the TUI tests


async def test_the_delegation_folds_into_its_card_and_enter_expands_it(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    (workspace / "tests.py").write_text("from src.app import main\n\nassert main() == 0\n")
    llm_server.script(*SCRIPT)
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        log = app.query_one(ActionLog)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval and len(log.cards(1)) == 1)
        (waiting,) = log.cards(1)
        assert waiting.data.note == "runs up to 8 read-only steps without asking"
        await until(pilot, lambda: "runs up to 8 read-only steps" in shown(waiting))
        await press(app, "a")  # asked once: the sub-agent's reads run unasked
        await until(pilot, lambda: len(steps_in(app)) == 1 and not app._agent_busy)
        assert len(llm_server.requests) == 4
        # One entry, one card: the sub-agent's steps are not the parent's.
        assert log.step_count == 1 and log.entry_count(1) == 1
        (card,) = log.cards(1)
        assert card.data.tool == "delegate" and card.data.summary == TASK
        delegation = card.data.delegation
        assert delegation is not None
        assert delegation.sub_steps == 3 and delegation.ended == "finished"
        assert delegation.calls == [
            "search  /main/ in .",
            "list_files  .",
            "read_file  tests.py",
            "finish  tests.py imports main and asserts main() == 0 (line 3).",
        ]
        await until(pilot, lambda: "▸ 3 steps · enter to expand" in shown(card))
        assert "runs up to 8" not in shown(card)  # said while it waited; the steps say it now
        assert card.data.output[-1] == "tests.py imports main and asserts main() == 0 (line 3)."
        log.focus()
        await press(app, "enter")
        await until(pilot, lambda: transcript_loaded(app))
        full = transcript_text(app)
        assert "Delegated: 3 steps of at most 8, read-only" in full
        for n in (1, 2, 3):
            assert f"Sub-step {n} of 3" in full
        assert "Reading the test." in full
        assert "assert main() == 0" in full  # the read's whole output
