"""The real app in tmux, resized from 200 to 80 columns and back: each resize is laid out
at once, and at 80 columns the footer still shows help and quit (issue 12, items 1, 10)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.functional.test_tmux import (
    EXIT_TIMEOUT_S,
    START_TIMEOUT_S,
    require_tmux,
    wait_for,
    write_steps,
)
from tests.support.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

TABS = "1 log    2 diff    3 history    4 files"
"""The narrow layout's panel tabs."""


def side_by_side(text: str) -> bool:
    """The history, the log and the diff on one line: the wide layout."""
    return any(
        "Step history" in line and "Thoughts & actions" in line and "Write beta.txt" not in line
        for line in text.splitlines()
    )


def footer(text: str) -> str:
    """The screen's last line."""
    return text.rstrip("\n").splitlines()[-1] if text.strip() else ""


def test_resizing_from_200_to_80_columns_and_back_in_a_real_terminal(
    workspace: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    tmux_exe = require_tmux()
    write_steps(workspace)
    status_file = tmp_path / "exit-status"
    socket = f"autogpt-tui-test-{uuid.uuid4().hex[:12]}"
    session = "app"
    tmux = [tmux_exe, "-L", socket, "-f", os.devnull]
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")},
        "AUTOGPT_TUI_CONFIG": str(tmp_path / "no-such-config.toml"),
        "OPENAI_BASE_URL": llm_server.base_url,
        "OPENAI_API_KEY": "sk-test-tmux",
        "TERM": "xterm-256color",
    }
    app_command = shlex.join(
        [sys.executable, "-m", "autogpt_tui", str(workspace), "--goal", "Greet the user"]
    )
    shell_command = f"{app_command}; echo $? > {shlex.quote(str(status_file))}"

    def run_tmux(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*tmux, *args], env=env, capture_output=True, text=True, check=False, timeout=10
        )

    def screen() -> str:
        return run_tmux("capture-pane", "-p", "-t", session).stdout

    def resize(width: int, height: int) -> None:
        done = run_tmux("resize-window", "-t", session, "-x", str(width), "-y", str(height))
        assert done.returncode == 0, done.stderr

    def expect(check: Callable[[str], bool], what: str) -> str:
        assert wait_for(lambda: check(screen()), START_TIMEOUT_S), (
            f"{what}; the screen was:\n{screen()}"
        )
        return screen()

    try:
        started = run_tmux(
            "new-session", "-d", "-x", "200", "-y", "50", "-s", session, shell_command
        )
        assert started.returncode == 0, started.stderr
        expect(lambda s: "Write alpha.txt" in s and side_by_side(s), "no wide layout at 200")

        resize(80, 24)  # no key pressed: the narrow layout, one panel, at once
        text = expect(
            lambda s: TABS in s and "? Help  q Quit" in footer(s),
            "the narrow layout, help and quit in the footer, never came at 80 columns",
        )
        assert not side_by_side(text) and "Step history" not in text, text
        assert max(len(line) for line in text.splitlines()) <= 80, text

        resize(200, 50)  # and back: every panel again, at once
        text = expect(side_by_side, "the wide layout never came back at 200 columns")
        assert TABS not in text, text

        run_tmux("send-keys", "-t", session, "q")
        ended = wait_for(lambda: run_tmux("has-session", "-t", session).returncode != 0, 30)
        assert ended, f"the app did not quit on q; the screen was:\n{screen()}"
        assert wait_for(status_file.exists, EXIT_TIMEOUT_S)
        assert status_file.read_text().strip() == "0"
    finally:
        run_tmux("kill-server")
