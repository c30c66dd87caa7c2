"""The log's cards for a step of several reads: one card per read in the step's entry,
and the commit shown on the last read that ran, not on a read rejected after it."""

from __future__ import annotations

from autogpt_tui.ui.widgets.action_log import ActionLog
from tests.ui.test_action_log import LogApp, shown


async def test_a_reads_step_shows_a_card_per_read_and_its_commit_on_the_last_that_ran() -> None:
    app = LogApp()
    async with app.run_test() as pilot:
        log = app.query_one(ActionLog)
        await log.append_thought(1, "Looking around.")
        await log.end_thought(1)
        for tool, arguments in (("read_file", {"path": "a.py"}), ("list_files", {"path": "."})):
            await log.show_action(1, tool, arguments, waiting=False)
            log.action_executed(1, True, f"{tool} output")
        await log.show_action(1, "search", {"pattern": "x"}, waiting=True)
        log.action_rejected(1, "No search.")
        log.action_committed(1, "ab" * 20, "Read a.py; List .")
        await pilot.pause()
        cards = log.cards(1)
        assert [c.tool for c in cards] == ["read_file", "list_files", "search"]
        assert [c.committed for c in cards] == [False, True, False]
        assert "committed abababab Read a.py; List ." in shown(cards[1])
        assert "rejected: No search." in shown(cards[2])
