"""The real app in a real terminal: a private tmux server running ``python -m autogpt_tui``.

The end-to-end tests drive it with keys and read the screen back; everything they share
(finding tmux, a server no user configuration can reach, the app's environment, waiting
on what the screen shows) lives here.
"""

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
from types import TracebackType

import pytest

START_TIMEOUT_S = 60.0
"""How long the app may take to show something: a cold start imports a lot, and under a
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


class TmuxApp:
    """The app on ``workspace`` in its own tmux server, as a context manager.

    Our own server (``-L``) with no config file (``-f``), so neither a running tmux of
    the user's nor their ~/.tmux.conf can change the environment or the pane's
    behaviour. The shell records the app's exit status once it ends (:attr:`exit_status`).
    """

    SESSION = "app"

    def __init__(
        self,
        workspace: Path,
        tmp_path: Path,
        base_url: str,
        *,
        size: tuple[int, int],
        goal: str = "Greet the user",
    ) -> None:
        self._tmux = [require_tmux(), "-L", f"autogpt-tui-test-{uuid.uuid4().hex[:12]}"]
        self._tmux += ["-f", os.devnull]
        self._status_file = tmp_path / "exit-status"
        # pytest-xdist's workers export COLUMNS=80 and LINES=24, and Textual (through
        # shutil.get_terminal_size) believes them over the pane's real size.
        self._env = {
            **{k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")},
            "AUTOGPT_TUI_CONFIG": str(tmp_path / "no-such-config.toml"),
            "OPENAI_BASE_URL": base_url,
            "OPENAI_API_KEY": "sk-test-tmux",
            "TERM": "xterm-256color",
        }
        app = shlex.join([sys.executable, "-m", "autogpt_tui", str(workspace), "--goal", goal])
        self._command = f"{app}; echo $? > {shlex.quote(str(self._status_file))}"
        self._size = size

    def __enter__(self) -> TmuxApp:
        width, height = self._size
        # The pane runs the command (through the shell) and closes when it ends.
        started = self.tmux(
            "new-session", "-d", "-x", str(width), "-y", str(height), "-s", self.SESSION,
            self._command,
        )  # fmt: skip
        if started.returncode != 0:
            self.close()
        assert started.returncode == 0, started.stderr
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a tmux command against this server."""
        return subprocess.run(
            [*self._tmux, *args], env=self._env, capture_output=True, text=True, timeout=10
        )

    def close(self) -> None:
        """End the server and the app in it."""
        self.tmux("kill-server")

    def screen(self) -> str:
        """What the pane shows now."""
        return self.tmux("capture-pane", "-p", "-t", self.SESSION).stdout

    def press(self, *keys: str) -> None:
        """Send keys as the user types them."""
        self.tmux("send-keys", "-t", self.SESSION, *keys)

    def resize(self, width: int, height: int) -> None:
        """Resize the terminal, as the user drags its window."""
        done = self.tmux("resize-window", "-t", self.SESSION, "-x", str(width), "-y", str(height))
        assert done.returncode == 0, done.stderr

    def expect(
        self, check: str | Callable[[str], bool], what: str, timeout: float = START_TIMEOUT_S
    ) -> str:
        """Wait until the screen holds ``check`` (a text, or a test of the screen) and
        return it; fail saying ``what`` went wrong, with the screen, after ``timeout``."""
        test = (lambda text: check in text) if isinstance(check, str) else check
        assert wait_for(lambda: test(self.screen()), timeout), (
            f"{what}; the screen was:\n{self.screen()}"
        )
        return self.screen()

    def alive(self) -> bool:
        """Whether the app's pane is still there."""
        return self.tmux("has-session", "-t", self.SESSION).returncode == 0

    def quit(self) -> str:
        """Press q and wait for the app to end; returns its exit status."""
        self.press("q")
        ended = wait_for(lambda: not self.alive(), EXIT_TIMEOUT_S)
        assert ended, f"the app did not quit on q; the screen was:\n{self.screen()}"
        assert wait_for(self._status_file.exists, EXIT_TIMEOUT_S)
        return self._status_file.read_text().strip()
