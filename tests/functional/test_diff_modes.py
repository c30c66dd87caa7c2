"""The split view (v) and the full-screen diff (z), from whatever has the focus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_layout import resize, shown
from tests.functional.test_tui import call, press, until
from tests.functional.test_tui import make_app as make_app  # a fixture
from tests.support.scripted_llm import ScriptedLLM

ALL_PANELS = {"#log", "#diff", "#history", "#files"}


def notices(app: WorkstationApp) -> list[str]:
    return [n.message for n in app._notifications]


async def pending_diff(app: WorkstationApp, pilot: Pilot[Any]) -> DiffViewer:
    await until(pilot, lambda: app.query_one(StepHistory).loaded)
    await press(app, "s")
    await until(pilot, lambda: app.runner.awaiting_approval)
    viewer = app.query_one(DiffViewer)
    await until(pilot, lambda: "hello.txt" in viewer.diff_title)
    return viewer


async def test_v_splits_the_diff_from_160_columns_whatever_has_the_focus(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM
) -> None:
    llm_server.script(call("write_file", path="hello.txt", content="hello\n"))
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        viewer = await pending_diff(app, pilot)
        await pilot.press("1")  # the log has the focus, not the diff
        await pilot.press("v")
        await pilot.pause()
        # Beside the other panels the diff is too narrow: it takes the screen to split.
        assert viewer.side_by_side and viewer.split_active
        assert app.full_diff and shown(app) == {"#diff"}
        assert viewer.region.width == 160
        assert not app.query_one("#goal").display
        await pilot.press("v")
        await pilot.pause()
        assert not viewer.split_active and not app.full_diff
        assert shown(app) == ALL_PANELS
        await press(app, "a")  # approving still works after all that
        await until(pilot, lambda: not app.runner.awaiting_approval)


async def test_v_on_a_narrower_terminal_says_why_it_cannot_split(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM
) -> None:
    llm_server.script(call("write_file", path="hello.txt", content="hello\n"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        viewer = await pending_diff(app, pilot)
        await pilot.press("1")
        await pilot.press("v")
        await until(
            pilot,
            lambda: any(
                "Split view needs 160 columns; the terminal has 120" in n for n in notices(app)
            ),
        )
        assert not viewer.side_by_side and not app.full_diff
        assert shown(app) == ALL_PANELS


async def test_z_shows_the_diff_full_screen_at_any_width_and_back(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM
) -> None:
    llm_server.script(call("write_file", path="hello.txt", content="hello\n"))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        viewer = await pending_diff(app, pilot)
        await pilot.press("1")  # on a narrow screen: the log in front
        assert shown(app) == {"#log"}
        await pilot.press("z")
        await pilot.pause()
        assert app.full_diff and shown(app) == {"#diff"}
        assert viewer.has_focus  # so the footer shows its keys (v, z)
        assert viewer.region.width == 80
        assert not app.query_one("#goal").display and not app.query_one("#panel-tabs").display
        await pilot.press("z")
        await pilot.pause()
        assert not app.full_diff and app.query_one("#goal").display

        await resize(pilot, 160, 45)
        await pilot.press("z")
        await pilot.pause()
        assert shown(app) == {"#diff"} and viewer.region.width == 160
        await pilot.press("3")  # asking for another panel puts the panels back
        await pilot.pause()
        assert not app.full_diff and shown(app) == ALL_PANELS
