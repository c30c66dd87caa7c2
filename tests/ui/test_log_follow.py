"""The log after the user scrolled up: a marker says new output came below, and the log
follows again at the end, or on End (issue 12, item 18)."""

from __future__ import annotations

from textual.pilot import Pilot

from autogpt_tui.ui.widgets.action_log import NEW_BELOW, ActionLog
from tests.ui.test_action_log import LogApp, shown, until


async def steps(log: ActionLog, first: int, count: int) -> None:
    for step in range(first, first + count):
        await log.append_thought(step, f"thought {step}\n\nmore text")
        await log.end_thought(step)
        await log.show_action(step, "read_file", {"path": f"f{step}.py"}, waiting=False)
        log.action_executed(step, True, f"contents of f{step}.py")


async def read_back(pilot: Pilot[None], log: ActionLog) -> None:
    """Scroll up, as the user does with the wheel or the keys."""
    log.scroll_home(animate=False)
    await pilot.pause()
    await pilot.pause()
    assert log.scroll_y < log.max_scroll_y


async def test_new_output_while_reading_back_is_marked_and_end_follows_again() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(ActionLog)
        await steps(log, 1, 15)
        await pilot.pause()
        assert not log.new_output_below  # following: nothing to mark
        await read_back(pilot, log)
        assert not log.new_output_below  # nothing new yet
        await steps(log, 16, 1)
        await pilot.pause()
        assert log.new_output_below
        marker = log.query_one("#log-new-below")
        assert shown(marker).strip() == NEW_BELOW
        assert marker.region.bottom == log.region.bottom  # at the bottom, in view
        log.focus()
        await until(pilot, lambda: app.focused is log)
        await pilot.press("end")
        await until(pilot, lambda: not log.new_output_below)
        assert log.following and log.entry_mounted(16)
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y
        # Following again: new output keeps the view at the end, unmarked.
        await steps(log, 17, 2)
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y and not log.new_output_below


async def test_scrolling_back_to_the_end_follows_again() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(ActionLog)
        await steps(log, 1, 60)  # more than the window: reading back pages entries out
        await pilot.pause()
        await read_back(pilot, log)
        await steps(log, 61, 1)
        await pilot.pause()
        assert log.new_output_below
        # The user scrolls down (the wheel) to the end: later entries page in as they go.
        for _ in range(200):
            if not log.new_output_below:
                break
            log.scroll_to(y=log.max_scroll_y, animate=False, immediate=True)
            await pilot.pause()
        assert not log.new_output_below and log.following
        await steps(log, 62, 1)
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y and not log.new_output_below


async def test_a_click_on_the_marker_goes_to_the_end() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(ActionLog)
        await steps(log, 1, 15)
        await pilot.pause()
        await read_back(pilot, log)
        await log.notice("Took 1 step.")
        await pilot.pause()
        assert log.new_output_below
        await pilot.click("#log-new-below")
        await until(pilot, lambda: not log.new_output_below)
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y
