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

from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepRecord
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

START_TIMEOUT_S = 60.0
"""How long the app may take to show the history: a cold start imports a lot, and under a
parallel suite on two cores it shares the machine with the other tests."""
EXIT_TIMEOUT_S = 30.0
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


def test_a_user_steps_approves_undoes_and_quits_in_a_real_terminal(
    workspace: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    tmux_exe = require_tmux()
    write_steps(workspace)
    llm_server.script(
        Reply(
            "I'll write the greeting.",
            tool_calls=[ToolCall("write_file", {"path": "hello.txt", "content": "hello\n"})],
        )
    )
    status_file = tmp_path / "exit-status"
    # Our own tmux server (-L) with no config file (-f), so neither a running tmux of the
    # user's nor their ~/.tmux.conf can change the environment or the pane's behaviour.
    socket = f"autogpt-tui-test-{uuid.uuid4().hex[:12]}"
    session = "app"
    tmux = [tmux_exe, "-L", socket, "-f", os.devnull]
    # pytest-xdist's workers export COLUMNS=80 and LINES=24, and Textual (through
    # shutil.get_terminal_size) believes them over the pane's real size.
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

    def expect(text: str, what: str, timeout: float = START_TIMEOUT_S) -> str:
        assert wait_for(lambda: text in screen(), timeout), f"{what}; the screen was:\n{screen()}"
        return screen()

    try:
        started = run_tmux(
            "new-session", "-d", "-x", "130", "-y", "36", "-s", session, shell_command
        )
        assert started.returncode == 0, started.stderr

        text = expect("Write alpha.txt", "the history never appeared")
        lines = text.splitlines()
        newest = next(i for i, line in enumerate(lines) if "Write beta.txt" in line)
        oldest = next(i for i, line in enumerate(lines) if "Write alpha.txt" in line)
        assert newest < oldest, text
        assert "#1" in lines[oldest] and "+" in lines[oldest], text
        assert "Greet the user" in text, text

        run_tmux("send-keys", "-t", session, "s")
        expect("waiting for approval", "the proposed action never waited for approval")
        assert not (workspace / "hello.txt").exists()
        expect("+hello", "the proposed change was not shown")

        run_tmux("send-keys", "-t", session, "a")
        expect("Write hello.txt", "the approved step never reached the history")
        assert wait_for(lambda: (workspace / "hello.txt").exists(), START_TIMEOUT_S)

        run_tmux("send-keys", "-t", session, "u")
        expect("undone", "undo did not mark the step")
        assert wait_for(lambda: not (workspace / "hello.txt").exists(), START_TIMEOUT_S)

        run_tmux("send-keys", "-t", session, "q")
        ended = wait_for(lambda: not session_alive(), EXIT_TIMEOUT_S)
        assert ended, f"the app did not quit on q; the screen was:\n{screen()}"
        assert status_file.read_text().strip() == "0"
    finally:
        run_tmux("kill-server")


def test_a_step_after_an_undo_is_a_new_branch_in_a_real_terminal(
    workspace: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    """Undo a step, take another: the log marks the undone one and starts a new branch,
    and the new step gets a number of its own (issue 12, item 4)."""
    tmux_exe = require_tmux()
    llm_server.script(
        Reply(
            "I'll write the greeting.",
            tool_calls=[ToolCall("write_file", {"path": "hello.txt", "content": "hello\n"})],
        ),
        Reply(
            "A farewell instead.",
            tool_calls=[ToolCall("write_file", {"path": "bye.txt", "content": "bye\n"})],
        ),
    )
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

    def run_tmux(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*tmux, *args], env=env, capture_output=True, text=True, check=False, timeout=10
        )

    def screen() -> str:
        return run_tmux("capture-pane", "-p", "-t", session).stdout

    def expect(check: Callable[[str], bool], what: str) -> str:
        assert wait_for(lambda: check(screen()), START_TIMEOUT_S), (
            f"{what}; the screen was:\n{screen()}"
        )
        return screen()

    def history_rows(text: str, label: str) -> list[str]:
        """The history panel's rows (the sidebar, left) naming step ``label``."""
        return [line[:58] for line in text.splitlines() if f"{label} " in line[:58]]

    try:
        started = run_tmux("new-session", "-d", "-x", "160", "-y", "45", "-s", session, app_command)
        assert started.returncode == 0, started.stderr
        expect(lambda s: "No steps yet" in s, "the empty history never appeared")

        run_tmux("send-keys", "-t", session, "s")
        expect(lambda s: "waiting for approval" in s, "the first proposal never waited")
        run_tmux("send-keys", "-t", session, "a")
        expect(lambda s: bool(history_rows(s, "#1")), "the first step never reached the history")
        assert wait_for(lambda: (workspace / "hello.txt").exists(), START_TIMEOUT_S)

        run_tmux("send-keys", "-t", session, "u")
        text = expect(lambda s: "↶ undone" in s, "the log never marked the undone step")
        expect(
            lambda s: "undone" in "".join(history_rows(s, "#1")),
            "the history never marked the undone step",
        )
        assert not (workspace / "hello.txt").exists()

        run_tmux("send-keys", "-t", session, "s")
        expect(lambda s: "waiting for approval" in s, "the second proposal never waited")
        run_tmux("send-keys", "-t", session, "a")
        text = expect(
            lambda s: bool(history_rows(s, "#2")), "the new step never reached the history"
        )
        assert wait_for(lambda: (workspace / "bye.txt").exists(), START_TIMEOUT_S)
        text = expect(
            lambda s: "── new branch after undoing #1 ──" in s,
            "the log never showed the new branch",
        )
        # The new step is #2 (#1 stays the undone one), and each is listed once.
        (new,) = history_rows(text, "#2")
        (old,) = history_rows(text, "#1")
        assert "undone" not in new and "undone" in old, text
    finally:
        run_tmux("kill-server")
