"""The action table: every key declared once, and the footer, help and palette drawn from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding

from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.actions import ACTIONS, SECTIONS, When, action_name, bindings_for, when_of
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.screens.help import KEY_SECTIONS
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer

CONTRACT_KEYS = {"s", "a", "r", "m", "p", "u", "U", "+", "-", "c", "g", "?", "ctrl+p", "q"}
"""DESIGN.md, "Keys in the TUI"."""
README_KEYS = {"v", "z", "1", "2", "3", "4"}
"""The README's table adds the split and full-screen diff and the panels' keys."""


def test_every_contract_key_is_declared_once() -> None:
    keys = [a.key for a in ACTIONS]
    assert set(keys) >= CONTRACT_KEYS | README_KEYS
    assert len(keys) == len(set(keys))
    assert {a.section for a in ACTIONS} <= set(SECTIONS)


def test_the_app_and_the_diff_viewer_bind_what_the_table_declares() -> None:
    def triples(bindings: list[Binding]) -> list[tuple[str, str, str]]:
        return [(b.key, b.action, b.description) for b in bindings]

    app_bindings = [b for b in WorkstationApp.BINDINGS if isinstance(b, Binding)]
    assert triples(app_bindings) == triples(bindings_for("app"))
    viewer_bindings = [b for b in DiffViewer.BINDINGS if isinstance(b, Binding)]
    assert triples(viewer_bindings) == [
        ("v", "app.toggle_split", "Split view"),
        ("z", "app.toggle_full_diff", "Full screen"),
    ]
    # They work whatever has the focus: the app binds them too, out of the footer.
    hidden = [(b.key, b.action) for b in app_bindings if not b.show]
    assert ("v", "toggle_split") in hidden and ("z", "toggle_full_diff") in hidden
    # Textual binds tab and ctrl+p itself; the table lists them for the help screen.
    assert {a.key for a in ACTIONS if a.owner == "textual"} == {"tab", "ctrl+p"}


def test_the_help_screen_covers_every_key() -> None:
    rows = {key for _, section in KEY_SECTIONS for key, _ in section}
    assert {"u / U", "+ / -", "1–4", "v", "z", "tab", "ctrl+p", "?", "q", "R", "[ / ]"} <= rows
    assert rows == {a.help_key or a.key for a in ACTIONS if a.in_help}
    # The keys without a row of their own are covered by a shared one.
    assert {a.key for a in ACTIONS if not a.in_help} == {"U", "-", "2", "3", "4", "[", "N"}


@pytest.mark.parametrize(
    ("action", "when"),
    [
        ("approve", When.PENDING),
        ("reject", When.PENDING),
        ("toggle_hunk", When.HUNKS),
        ("next_hunk", When.HUNKS),
        ("previous_hunk", When.HUNKS),
        ("step", When.IDLE),
        ("undo", When.IDLE),
        ("rate(1)", When.HAS_STEPS),
        ("comment", When.HAS_STEPS),
        ("skip_subgoal", When.TEAM),
        ("replan", When.TEAM),
        ("help", When.ALWAYS),
        ("no_such_action", When.ALWAYS),
    ],
)
def test_when_an_action_applies(action: str, when: When) -> None:
    assert when_of(action) is when


async def test_the_palette_and_the_footer_follow_the_table(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    app = WorkstationApp(workspace, settings=load_settings(workspace))
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {a.palette_title for a in ACTIONS if a.palette} <= titles
        assert "Split view" in titles
        # Nothing waits and there is no step: those keys are hidden from the footer.
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "approve" not in shown and "reject" not in shown
        assert "comment" not in shown
        assert {"step", "cycle_mode", "quit"} <= {action_name(a) for a in shown}
    app.runner.close()
