"""``autogpt-tui serve`` as a user runs it: a subprocess on a free loopback port, read
back through its printed URL, and stopped with Ctrl+C (SIGINT).

Also: finding Debian's chromium for the browser test (skipped where it is absent, except
under CI=true, where its absence is a failure), and reading what xterm.js shows.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

import pytest

from tests.support.tmux import START_TIMEOUT_S, wait_for

STOP_TIMEOUT_S = 30.0
"""How long the server may take to end its apps and itself after Ctrl+C."""
API_KEY = "sk-test-serve-0123456789abcdef"
"""The key the server's apps get from the environment; it must never reach the page."""
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TERMINAL_HOOK = """
// textual.js keeps its xterm.js Terminal in a local object's `terminal` property; catch
// it as it is set, so that the test reads what the terminal holds (it draws on a canvas).
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {
      value, writable: true, configurable: true, enumerable: true,
    });
    (window.__terminals = window.__terminals || []).push(value);
  },
});
"""
READ_TERMINAL = """() => {
  // The first object set as a `terminal` that has a buffer is xterm.js's Terminal.
  const terminal = (window.__terminals || []).find((t) => t && t.buffer && t.buffer.active);
  if (!terminal) return "";
  const buffer = terminal.buffer.active, rows = [];
  for (let y = 0; y < terminal.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
}"""
"""JavaScript that returns the text the page's terminal shows, row by row."""


def require_chromium() -> str:
    """Debian's chromium; skips without it, except in CI, where its absence is a failure."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is not None:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed, and CI=true requires the browser test to run.")
    pytest.skip("chromium is not installed (apt-get install chromium); this test uses it.")


def children(pid: int) -> set[int]:
    """The processes ``pid`` started, and theirs, now (from /proc)."""
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = {int(k) for k in (task / "children").read_text().split()}
            except OSError:
                continue
            pending += sorted(kids - found)
            found |= kids
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class ServeProcess:
    """``autogpt-tui serve WORKSPACE --port 0 ARGS`` until the block ends (then Ctrl+C)."""

    def __init__(self, workspace: Path, tmp_path: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env |= {
            "AUTOGPT_TUI_CONFIG": str(tmp_path / "no-such-config.toml"),
            "OPENAI_API_KEY": API_KEY,
        }
        self.argv = [sys.executable, "-m", "autogpt_tui", "serve", str(workspace)]
        self.argv += ["--port", "0", *args]
        self._env = env
        self._lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.url = ""
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServeProcess:
        self.process = subprocess.Popen(
            self.argv,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        assert wait_for(self._started, START_TIMEOUT_S), f"serve did not start: {self.output}"
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)

    def _started(self) -> bool:
        self._drain()
        for line in self.output:
            if " at http://" in line:
                self.url = line.split(" at ", 1)[1].strip()
                return True
        return self.process is not None and self.process.poll() is not None

    def _drain(self) -> None:
        while not self._lines.empty():
            self.output.append(self._lines.get())

    def text(self) -> str:
        """Everything the server printed so far."""
        self._drain()
        return "".join(self.output)

    def apps(self) -> set[int]:
        """The app processes the server runs now."""
        assert self.process is not None
        return {pid for pid in children(self.process.pid) if alive(pid)}

    def stop(self) -> int:
        """Ctrl+C, as in the server's terminal; returns its exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
