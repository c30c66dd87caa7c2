"""Snapshots of the permission rules: the help screen's list, and "always allow" (A).

The helpers (fixed dates, HOME, clock and sandbox; the three-step workspace; ``settle``)
are those of the workstation's snapshots. The user's config lives under the fixed HOME,
so every path reads ``~/…`` whatever the machine.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.ui.screens.help import HelpScreen
from tests.snapshots.test_layout_snapshots import propose_an_edit, until_pending
from tests.snapshots.test_workstation_snapshots import SIZES, SnapCompare, make_app, settle
from tests.snapshots.test_workstation_snapshots import fixed as fixed  # a fixture
from tests.support.scripted_llm import ScriptedLLM

THEME = "autogpt-dark"


def rule(tool: str, pattern: str, action: str) -> str:
    return f'[[permissions]]\ntool = "{tool}"\npattern = "{pattern}"\naction = "{action}"\n'


@pytest.fixture
def user_config(fixed: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's config file, under the fixed HOME (``fixed`` is the workspace in it)."""
    path = fixed.parent / ".config" / "autogpt-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    monkeypatch.setenv("AUTOGPT_TUI_CONFIG", str(path))
    return path


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_help_lists_the_permission_rules(
    snap_compare: SnapCompare,
    fixed: Path,
    user_config: Path,
    llm_server: ScriptedLLM,
    size: tuple[int, int],
) -> None:
    """The help screen scrolled to its end: the rules in force with where each is written,
    then the untrusted workspace's allow rule, ignored, with why."""
    user_config.write_text(rule("run_command", "pytest *", "allow") + rule("*", "*.env", "deny"))
    (fixed / ".autogpt-tui.toml").write_text(
        rule("run_command", "git push*", "ask") + rule("run_command", "*", "allow")
    )
    app = make_app(fixed, llm_server, THEME)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("n")  # the workspace's config is not trusted
        app.clear_notifications()
        await pilot.press("question_mark")
        deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
        while not isinstance(app.screen, HelpScreen) and time.monotonic() < deadline:
            await pilot.pause(0.02)
        await pilot.press("end")
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x45"])
def test_always_allow_says_which_rule_it_wrote(
    snap_compare: SnapCompare,
    fixed: Path,
    user_config: Path,
    llm_server: ScriptedLLM,
    size: tuple[int, int],
) -> None:
    """A on a proposed edit: the step runs and the log says which rule went where."""
    propose_an_edit(llm_server)
    app = make_app(fixed, llm_server, THEME)

    async def run_before(pilot: Pilot[None]) -> None:
        await until_pending(pilot)
        await pilot.press("A")
        deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
        while (
            app.runner.awaiting_approval or app._agent_busy or not user_config.exists()
        ) and time.monotonic() < deadline:
            await pilot.pause(0.02)
        await pilot.press("1")  # on a narrow screen, show the log
        await settle(pilot)
        app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    assert "[[permissions]]" in user_config.read_text()
