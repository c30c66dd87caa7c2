"""The workstation's layout follows the terminal's width at once, on every resize."""

from __future__ import annotations

from collections.abc import Callable

from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.keys_footer import KeysFooter
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_tui import call, press, steps_in, until
from tests.functional.test_tui import make_app as make_app  # a fixture
from tests.support.scripted_llm import ScriptedLLM

PANELS = ("#log", "#diff", "#history", "#files")


def layout(app: WorkstationApp) -> str:
    """The layout class the main screen carries."""
    screen = app.screen_stack[0]
    classes = [name for name in ("-narrow", "-medium", "-wide") if screen.has_class(name)]
    assert len(classes) == 1, classes
    return classes[0]


def shown(app: WorkstationApp) -> set[str]:
    """The panels that take room on screen."""
    return {selector for selector in PANELS if app.query_one(selector).region.area > 0}


async def resize(pilot: Pilot[None], width: int, height: int = 40) -> None:
    """Resize the terminal and let the screen lay itself out again (nothing else)."""
    await pilot.resize_terminal(width, height)
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def test_every_resize_lays_the_screen_out_for_its_new_width(
    make_app: Callable[..., WorkstationApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert layout(app) == "-medium"
        assert shown(app) == set(PANELS)
        tabs = app.query_one("#panel-tabs")
        assert not tabs.display

        await resize(pilot, 80)  # no key pressed: the narrow layout at once
        assert layout(app) == "-narrow"
        assert shown(app) == {"#log"}
        assert tabs.display and tabs.region.width == 80
        assert app.query_one("#log").region.width == 80

        await resize(pilot, 200)  # and back to every panel, side by side, at once
        assert layout(app) == "-wide"
        assert shown(app) == set(PANELS)
        assert not tabs.display
        log, diff = app.query_one("#log").region, app.query_one("#diff").region
        assert log.y == diff.y and log.right <= diff.x

        await resize(pilot, 120)
        assert layout(app) == "-medium"
        log, diff = app.query_one("#log").region, app.query_one("#diff").region
        assert log.x == diff.x and log.bottom <= diff.y  # the log above the diff


async def test_a_resize_under_a_dialog_lays_out_the_screen_beneath(
    make_app: Callable[..., WorkstationApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await resize(pilot, 80)
        assert layout(app) == "-narrow"
        await pilot.press("escape")
        await pilot.pause()
        assert shown(app) == {"#log"}


async def test_the_panel_chosen_on_a_narrow_screen_stays_in_front_across_resizes(
    make_app: Callable[..., WorkstationApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        assert shown(app) == {"#history"}
        tabs = app.query_one("#panel-tabs", Static).render()
        assert isinstance(tabs, Content)
        marked = [tabs.plain[span.start : span.end] for span in tabs.spans]
        assert " 3 history " in marked and " 1 log " not in marked
        await resize(pilot, 200, 50)
        assert shown(app) == set(PANELS)
        await resize(pilot, 80, 24)
        assert shown(app) == {"#history"}


def footer_keys(app: WorkstationApp) -> list[FooterKey]:
    return list(app.query_one(KeysFooter).query(FooterKey))


def footer_actions(app: WorkstationApp) -> list[str]:
    return [key.action for key in footer_keys(app)]


def assert_the_footer_shows_its_keys_whole(app: WorkstationApp) -> None:
    """Every key fits in the footer, none under the palette's key (docked on the right)
    but for the blank after the last."""
    footer = app.query_one(KeysFooter).region
    keys = footer_keys(app)
    palette = [key for key in keys if key.has_class("-command-palette")]
    for key in keys:
        assert key.region.width > 0 and key.region.right <= footer.right, key.action
        if palette and key is not palette[0]:
            assert key.region.right - 1 <= palette[0].region.x, key.action


async def test_at_80_columns_the_footer_keeps_help_and_quit_and_leaves_out_the_least_needed(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        call("write_file", path="a.txt", content="a\n"),
        call("write_file", path="b.txt", content="b\n"),
    )
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await press(app, "a")
        await until(pilot, lambda: steps_in(app) == [1] and not app._agent_busy)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        # Approve, reject, rate, comment and the diff's own keys all apply now: more
        # than 80 columns' worth.
        await until(pilot, lambda: "approve" in footer_actions(app))
        await pilot.pause()
        shown = footer_actions(app)
        assert {"help", "quit", "approve", "reject"} <= set(shown)
        assert "redo" not in shown and "command_palette" not in shown
        assert_the_footer_shows_its_keys_whole(app)

        await resize(pilot, 160, 45)  # room for all of them
        await until(pilot, lambda: "command_palette" in footer_actions(app))
        assert {"comment", "rate", "edit_goal", "cycle_mode"} <= {
            action.partition("(")[0] for action in footer_actions(app)
        }
        assert_the_footer_shows_its_keys_whole(app)

        await resize(pilot, 80, 24)
        await until(pilot, lambda: "command_palette" not in footer_actions(app))
        assert {"help", "quit"} <= set(footer_actions(app))
        assert_the_footer_shows_its_keys_whole(app)


async def test_a_panels_own_keys_show_while_it_has_the_focus(
    make_app: Callable[..., WorkstationApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await until(pilot, lambda: "app.toggle_split" in footer_actions(app))
        await pilot.press("1")
        await until(pilot, lambda: "app.toggle_split" not in footer_actions(app))
