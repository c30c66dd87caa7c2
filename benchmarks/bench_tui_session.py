"""Benchmark of a long TUI session: the real app in tmux, running on its own for 1,000 steps.

The issue's row: "The TUI running on its own (auto mode, ``p``) for 1,000 steps in tmux"
should take 1,000 steps within 300 s and hold at most 150 MB (RSS) at the end.

How it is measured: a 100-file workspace (as ``bench_agent`` builds it) and the scripted
OpenAI-compatible server in its own process (``python -m tests.support.scripted_llm
--responder writes``: every request is answered with a ``write_file`` of a new file, so
the agent takes steps for ever). A private tmux server (its own socket, no config) runs
``python -m autogpt_tui WORKSPACE --goal ... --mode auto`` in a 160x45 pane, with a user
config whose step budget is exactly the steps asked for. Once the step history shows,
``p`` is pressed (run on its own) and the clock starts. Every half second the step
commits on the branch are counted (``git rev-list --count``) and the app's RSS read from
``/proc/PID/status``; the run ends when the budget's steps are committed, or at the time
limit. The RSS at the end is read once the agent is idle again (the budget ran out), and
the peak (``VmHWM``) with it.

Results go to ``benchmarks/results/tui_session.json`` with the protocol's ``rows``::

    .venv/bin/python -m benchmarks.bench_tui_session            # 1,000 steps (~5 min)
    .venv/bin/python -m benchmarks.bench_tui_session --quick    # 100 steps, a smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.bench_agent import Shape, prepare, server_process
from benchmarks.protocol import print_verdicts, write_results

RESULTS = Path(__file__).resolve().parent / "results" / "tui_session.json"
"""Where the results are written (the folder is git-ignored)."""
REPO_ROOT = Path(__file__).resolve().parents[1]
"""The project folder (the app runs from here)."""

STEPS = 1000
"""Steps the full run takes (the issue's)."""
QUICK_STEPS = 100
"""Steps of a ``--quick`` run."""
TIME_LIMIT_S = 300.0
"""The issue's time for 1,000 steps; a quick run is allowed the same rate."""
RSS_LIMIT_MB = 150.0
"""Most the app may hold at the end of the run."""
PANE = (160, 45)
"""Columns and rows of the tmux pane."""
START_TIMEOUT_S = 60.0
"""How long the app may take to show its step history."""
POLL_S = 0.5
"""How often the steps and the RSS are read."""
IDLE_TIMEOUT_S = 30.0
"""How long the agent may take to stop once its budget's steps are committed."""


@dataclass
class Sample:
    """One reading during the run."""

    at_s: float
    steps: int
    rss_mb: float


@dataclass
class Session:
    """What one run measured."""

    steps_asked: int
    steps_done: int = 0
    seconds: float = 0.0
    rss_idle_mb: float = 0.0
    rss_end_mb: float = 0.0
    peak_mb: float = 0.0
    finished: bool = False
    samples: list[Sample] = field(default_factory=list)
    screen_at_end: str = ""


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of process ``pid`` in MB (empty once it has gone)."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


def commits(root: Path) -> int:
    """How many commits the workspace's branch holds."""
    result = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return int(result.stdout.strip() or 0)


class Tmux:
    """A private tmux server (own socket, no config file) with one session."""

    def __init__(self, env: dict[str, str]) -> None:
        exe = shutil.which("tmux")
        if exe is None:
            raise SystemExit("tmux is not installed; this benchmark drives the app in tmux.")
        self.base = [exe, "-L", f"bench-tui-{uuid.uuid4().hex[:10]}", "-f", os.devnull]
        self.env = env
        self.session = "bench"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one tmux command on this server."""
        return subprocess.run(
            [*self.base, *args], env=self.env, capture_output=True, text=True, check=False
        )

    def screen(self) -> str:
        """The pane's text now."""
        return self.run("capture-pane", "-p", "-t", self.session).stdout

    def pane_pid(self) -> int:
        """The pid of the pane's process (the app: the shell ``exec``s it)."""
        out = self.run("display-message", "-p", "-t", self.session, "#{pane_pid}").stdout
        return int(out.strip())

    def alive(self) -> bool:
        """True while the session exists."""
        return self.run("has-session", "-t", self.session).returncode == 0

    def kill(self) -> None:
        """End the server and everything in it."""
        self.run("kill-server")


@contextlib.contextmanager
def app_in_tmux(workspace: Path, config: Path, url: str, goal: str) -> Iterator[Tmux]:
    """The app on ``workspace`` in a fresh tmux pane; the server is killed afterwards."""
    # pytest (and some shells) export COLUMNS and LINES, which Textual believes over
    # the pane's real size.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        {
            "AUTOGPT_TUI_CONFIG": str(config),
            "OPENAI_BASE_URL": url,
            "OPENAI_API_KEY": "k",
            "TERM": "xterm-256color",
        }
    )
    # For a stuck run: SIGUSR1 makes the app write every thread's stack to stacks.txt,
    # SIGUSR2 its event loop's tasks to tasks.txt; notices.txt gets every toast.
    stacks = workspace.parent / "stacks.txt"
    tasks = workspace.parent / "tasks.txt"
    launcher = (
        "import asyncio, faulthandler, runpy, signal, sys; "
        f"faulthandler.register(signal.SIGUSR1, file=open({str(stacks)!r}, 'w'), "
        "all_threads=True); "
        "signal.signal(signal.SIGUSR2, lambda *_: [t.print_stack(file=open("
        f"{str(tasks)!r}, 'a')) for t in asyncio.all_tasks(asyncio.get_event_loop())]); "
        "from textual.app import App; _notify = App.notify; "
        f"_log = open({str(workspace.parent / 'notices.txt')!r}, 'a', buffering=1); "
        "App.notify = lambda self, message, **kw: (_log.write(repr(message) + '\\n'), "
        "_notify(self, message, **kw))[1]; "
        "sys.argv[0] = 'autogpt_tui'; runpy.run_module('autogpt_tui', run_name='__main__')"
    )
    command = shlex.join(
        [sys.executable, "-c", launcher, str(workspace), "--goal", goal, "--mode", "auto"]
    )
    tmux = Tmux(env)
    width, height = PANE
    started = tmux.run(
        "new-session", "-d", "-x", str(width), "-y", str(height), "-s", tmux.session,
        "-c", str(REPO_ROOT), f"exec {command}",
    )  # fmt: skip
    if started.returncode != 0:
        raise SystemExit(f"tmux did not start: {started.stderr.strip()}")
    try:
        yield tmux
    finally:
        tmux.kill()


def wait_for(check: Any, timeout: float, what: str, tmux: Tmux) -> None:
    """Poll ``check`` until it holds; give up with the screen after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}; the screen was:\n{tmux.screen()}")
        time.sleep(0.1)


def run_session(base: Path, steps: int, time_limit: float, seed: int) -> Session:
    """Run the app on its own for ``steps`` steps (at most ``time_limit`` s); the readings."""
    workspace = prepare(base, Shape("small", 100), seed)
    config = base / "config.toml"
    config.write_text(f'[agent]\nmode = "auto"\nmax_steps = {steps}\n')
    before = commits(workspace)
    session = Session(steps_asked=steps)
    goal = f"bench session {uuid.uuid4().hex[:8]}"
    with server_process("writes") as url, app_in_tmux(workspace, config, url, goal) as tmux:
        wait_for(lambda: "Step history" in tmux.screen(), START_TIMEOUT_S, "the app", tmux)
        pid = tmux.pane_pid()
        # At rest: the history read and the file tree shown.
        wait_for(
            lambda: "Reading the history" not in tmux.screen(), START_TIMEOUT_S, "history", tmux
        )
        time.sleep(1.0)
        session.rss_idle_mb = proc_status(pid).get("VmRSS", 0.0)
        tmux.run("send-keys", "-t", tmux.session, "p")
        start = time.monotonic()
        last_report = 0
        while True:
            time.sleep(POLL_S)
            now = time.monotonic() - start
            done = commits(workspace) - before
            status = proc_status(pid)
            if not status:
                session.screen_at_end = tmux.screen()
                raise SystemExit(
                    f"the app ended after {done} steps; the screen was:\n{session.screen_at_end}"
                )
            session.samples.append(Sample(now, done, status.get("VmRSS", 0.0)))
            if done // 100 > last_report:
                last_report = done // 100
                print(
                    f"  {done} steps in {now:.0f} s, RSS {status.get('VmRSS', 0):.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
            if done >= steps:
                session.steps_done, session.seconds, session.finished = done, now, True
                break
            if now > time_limit:
                session.steps_done, session.seconds = done, now
                break
        # The budget ends the run: wait until the app says so, then read the RSS at rest.
        if session.finished:
            with contextlib.suppress(SystemExit):
                wait_for(
                    lambda: "budget" in tmux.screen().lower(), IDLE_TIMEOUT_S, "the stop", tmux
                )
            time.sleep(1.0)
        status = proc_status(pid)
        session.rss_end_mb = status.get("VmRSS", 0.0)
        session.peak_mb = status.get("VmHWM", 0.0)
        session.screen_at_end = tmux.screen()
        tmux.run("send-keys", "-t", tmux.session, "q")
        with contextlib.suppress(SystemExit):
            wait_for(lambda: not proc_status(pid), 15.0, "the exit", tmux)
    return session


def rows(session: Session, time_limit: float) -> list[dict[str, Any]]:
    """The protocol's rows for one run."""
    rate = session.steps_done / session.seconds if session.seconds else 0.0
    on_time = session.finished and session.seconds <= time_limit
    speeds = [
        (b.steps - a.steps) / (b.at_s - a.at_s)
        for a, b in zip(session.samples, session.samples[20:], strict=False)
        if b.at_s > a.at_s
    ]
    spread = (
        f", p10-p90 {quantile(speeds, 0.1):.1f}-{quantile(speeds, 0.9):.1f}/s" if speeds else ""
    )
    return [
        {
            "measure": f"TUI on its own (auto, p) in tmux: {session.steps_asked:,} steps",
            "value": f"{session.steps_done:,} steps in {session.seconds:.0f} s "
            f"({rate:.2f} steps/s{spread})",
            "baseline": "",
            "goal": f"{session.steps_asked:,} steps <= {time_limit:.0f} s",
            "pass": on_time,
        },
        {
            "measure": f"TUI RSS after {session.steps_done:,} steps (at rest)",
            "value": f"{session.rss_end_mb:.0f} MB (peak {session.peak_mb:.0f} MB)",
            "baseline": f"idle before p: {session.rss_idle_mb:.0f} MB",
            "goal": f"<= {RSS_LIMIT_MB:g} MB",
            "pass": 0 < session.rss_end_mb <= RSS_LIMIT_MB,
        },
    ]


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_tui_session",
        description="The TUI on its own for 1,000 steps in tmux: its speed and memory.",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps only")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the workspace in DIR")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if args.steps is None:
        args.steps = QUICK_STEPS if args.quick else STEPS
    if args.steps < 1:
        parser.error("--steps must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the session; exit status 1 when a row fails."""
    args = parse_args(argv)
    time_limit = TIME_LIMIT_S * args.steps / STEPS
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        session = run_session(args.keep.resolve(), args.steps, time_limit, args.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-tui-session-") as tmp:
            session = run_session(Path(tmp).resolve(), args.steps, time_limit, args.seed)
    table = rows(session, time_limit)
    print()
    print_verdicts(table)
    samples = session.samples
    marks = [s for s in samples if s.steps and s.steps % 100 < 5]
    by_hundred: dict[int, Sample] = {}
    for sample in marks:
        by_hundred.setdefault(sample.steps // 100, sample)
    if by_hundred:
        print(
            "  RSS by 100 steps (MB): "
            + ", ".join(f"{k * 100}: {s.rss_mb:.0f}" for k, s in sorted(by_hundred.items()))
        )
    report = {
        "rows": table,
        "steps": session.steps_done,
        "seconds": session.seconds,
        "rss_idle_mb": session.rss_idle_mb,
        "rss_end_mb": session.rss_end_mb,
        "peak_mb": session.peak_mb,
        "rss_median_mb": statistics.median(s.rss_mb for s in samples) if samples else 0.0,
        "samples": [vars(s) for s in samples],
        "screen_at_end": session.screen_at_end,
        "quick": args.quick,
    }
    write_results(args.output, report)
    return 0 if all(row["pass"] for row in table) else 1


if __name__ == "__main__":
    raise SystemExit(main())
