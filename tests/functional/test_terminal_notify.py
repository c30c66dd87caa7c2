"""The terminal is told once per wait for the user: the bell, and OSC 9 when asked for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autogpt_tui.core.history import History
from autogpt_tui.core.settings import load_settings
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.functional.test_layout import resize
from tests.functional.test_tui import call, press, prompt_open, until
from tests.support.scripted_llm import ScriptedLLM


class Terminal:
    """What the app told the terminal: bells, and the OSC notifications it wrote."""

    def __init__(self, app: WorkstationApp, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bells = 0
        self.written: list[str] = []
        driver = app._driver
        assert driver is not None
        original_bell = app.bell
        original_write = driver.write

        def bell() -> None:
            self.bells += 1
            original_bell()

        def write(data: str) -> None:
            self.written.append(data)
            original_write(data)

        monkeypatch.setattr(app, "bell", bell)
        monkeypatch.setattr(driver, "write", write)

    @property
    def notifications(self) -> list[str]:
        return [data for data in self.written if data.startswith("\x1b]9;")]


@pytest.fixture
def apps() -> Iterator[list[WorkstationApp]]:
    made: list[WorkstationApp] = []
    yield made
    for app in made:
        app.runner.stop()
        app.runner.close()


def make(
    apps: list[WorkstationApp], workspace: Path, server: ScriptedLLM, notify: str, mode: str
) -> WorkstationApp:
    History.open(workspace).close()
    settings = load_settings(
        workspace,
        overrides={
            "model": {"base_url": server.base_url, "api_key": "sk-test", "max_retries": 1},
            "agent": {"mode": mode},
            "ui": {"notify": notify},
        },
    )
    app = WorkstationApp(workspace, goal="Write a greeting.", settings=settings)
    apps.append(app)
    return app


async def started(app: WorkstationApp, pilot: Pilot[None]) -> None:
    await until(pilot, lambda: app.query_one(StepHistory).loaded)


async def test_each_wait_for_approval_rings_once_however_often_the_screen_refreshes(
    apps: list[WorkstationApp],
    workspace: Path,
    llm_server: ScriptedLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_server.script(
        call("write_file", path="hello.txt", content="hi\n"),
        call("write_file", path="greeting.txt", content="hi\n"),
    )
    app = make(apps, workspace, llm_server, "osc", "step")
    async with app.run_test(size=(160, 45)) as pilot:
        await started(app, pilot)
        terminal = Terminal(app, monkeypatch)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        await until(pilot, lambda: terminal.bells == 1)
        # The keys refresh, the terminal resizes, focus moves: still the one wait.
        for _ in range(5):
            app.refresh_bindings()
        await resize(pilot, 120, 40)
        await resize(pilot, 160, 45)
        await pilot.press("tab", "tab")
        await pilot.pause()
        assert terminal.bells == 1
        assert terminal.notifications == ["\x1b]9;Step 1: write_file waits for your approval\x07"]

        await press(app, "r")  # the next proposal is a new wait: it rings again
        await until(pilot, lambda: prompt_open(app))
        await pilot.press(*"Call it greeting.txt", "enter")
        await until(pilot, lambda: len(llm_server.requests) == 2 and app.runner.awaiting_approval)
        await until(pilot, lambda: terminal.bells == 2)
        assert len(terminal.notifications) == 2


async def test_a_question_rings_the_bell_and_off_says_nothing(
    apps: list[WorkstationApp],
    workspace: Path,
    llm_server: ScriptedLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_server.script(call("ask_user", question="Which greeting?"))
    app = make(apps, workspace, llm_server, "bell", "auto")
    async with app.run_test(size=(160, 45)) as pilot:
        await started(app, pilot)
        terminal = Terminal(app, monkeypatch)
        await press(app, "s")
        await until(pilot, lambda: prompt_open(app))
        await until(pilot, lambda: terminal.bells == 1)
        await pilot.pause()
        assert terminal.bells == 1 and terminal.notifications == []  # bell: no OSC


async def test_off_neither_rings_nor_writes(
    apps: list[WorkstationApp],
    workspace: Path,
    llm_server: ScriptedLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm_server.script(call("write_file", path="hello.txt", content="hi\n"))
    app = make(apps, workspace, llm_server, "off", "step")
    async with app.run_test(size=(160, 45)) as pilot:
        await started(app, pilot)
        terminal = Terminal(app, monkeypatch)
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        viewer = app.query_one(DiffViewer)
        await until(pilot, lambda: "hello.txt" in viewer.diff_title)  # the wait is shown
        await pilot.pause()
        assert terminal.bells == 0 and terminal.notifications == []
