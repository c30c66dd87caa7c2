"""The real app in a real terminal: tmux runs ``python -m autogpt_tui`` and we read the screen."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from autogpt_tui.core.history import History, StepRecord

pytestmark = pytest.mark.tmux

START_TIMEOUT_S = 20.0
"""How long the app may take to show the history (a cold start imports a lot)."""
EXIT_TIMEOUT_S = 10.0
"""How long the app may take to end after ``q``."""


def require_tmux() -> str:
    """The tmux executable; skips without it, except in CI, where its absence is a failure."""
    found = shutil.which("tmux")
    if found is not None:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("tmux is not installed, and CI=true requires this end-to-end test to run.")
    pytest.skip("tmux is not installed; this test drives the app in a real terminal.")


def wait_for(check: Callable[[], bool], timeout: float) -> bool:
    """Poll ``check`` until it is true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def write_steps(workspace: Path) -> None:
    """Two steps, the first one rated up."""
    with History.open(workspace) as history:
        first = ""
        for number, name in enumerate(["alpha.txt", "beta.txt"], start=1):
            (workspace / name).write_text(f"{name}\n")
            step = history.commit_step(
                session="s1",
                step=number,
                tool="write_file",
                policy="default",
                summary=f"Write {name}",
                record=StepRecord(tool="write_file", arguments={"path": name}),
                paths=[name],
            )
            first = first or step.sha
        history.rate(first, 1)


def test_app_shows_history_and_quits_on_q(workspace: Path, tmp_path: Path) -> None:
    tmux_exe = require_tmux()
    write_steps(workspace)
    status_file = tmp_path / "exit-status"
    # Our own tmux server (-L) with no config file (-f), so neither a running tmux of the
    # user's nor their ~/.tmux.conf can change the environment or the pane's behaviour.
    socket = f"autogpt-tui-test-{uuid.uuid4().hex[:12]}"
    session = "app"
    tmux = [tmux_exe, "-L", socket, "-f", os.devnull]
    env = {
        **os.environ,
        "AUTOGPT_TUI_CONFIG": str(tmp_path / "no-such-config.toml"),
        "TERM": "xterm-256color",
    }
    app_command = shlex.join([sys.executable, "-m", "autogpt_tui", str(workspace)])
    # The shell records the app's exit status once it ends, so we can check it was clean.
    shell_command = f"{app_command}; echo $? > {shlex.quote(str(status_file))}"

    def run_tmux(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*tmux, *args], env=env, capture_output=True, text=True, check=False, timeout=10
        )

    def screen() -> str:
        return run_tmux("capture-pane", "-p", "-t", session).stdout

    def session_alive() -> bool:
        return run_tmux("has-session", "-t", session).returncode == 0

    try:
        started = run_tmux(
            "new-session", "-d", "-x", "100", "-y", "30", "-s", session, shell_command
        )
        assert started.returncode == 0, started.stderr

        shown = wait_for(
            lambda: "Write beta.txt" in screen() and "Write alpha.txt" in screen(),
            START_TIMEOUT_S,
        )
        text = screen()
        assert shown, f"the history never appeared; the screen was:\n{text}"
        lines = text.splitlines()
        newest = next(i for i, line in enumerate(lines) if "Write beta.txt" in line)
        oldest = next(i for i, line in enumerate(lines) if "Write alpha.txt" in line)
        assert newest < oldest, text
        assert "s1#1" in lines[oldest] and "+" in lines[oldest], text
        assert "No goal yet" in text, text

        sent = run_tmux("send-keys", "-t", session, "q")
        assert sent.returncode == 0, sent.stderr
        ended = wait_for(lambda: not session_alive(), EXIT_TIMEOUT_S)
        assert ended, f"the app did not quit on q; the screen was:\n{screen()}"
        assert status_file.read_text().strip() == "0"
    finally:
        run_tmux("kill-server")
