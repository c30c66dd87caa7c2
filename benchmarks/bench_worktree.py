"""Benchmark of worktree sessions (``--worktree``, ``land``, ``discard``) on a big repository.

The repository holds ``--files`` tracked files (20,000 by default, in 100 folders) and a
dirty checkout: a few tracked files modified, a few untracked and a few ignored ones
(plus an ignored ``build/`` folder of ``--files / 10`` files). After every operation the
benchmark checks that each of them is still there, byte for byte, and still modified,
untracked or ignored as before; a change fails the run.

Timed, each the median of ``--runs`` runs (3 by default):

- entering a worktree session: what ``--worktree`` does before the first step (opening
  the checkout's History, then core/worktree.py's ``enter_worktree``, which adds the
  worktree and opens its History);
- ``land`` of a 10-step session as a fast-forward, as a replay (the user committed on
  their branch meanwhile), and ``--squash`` (also after the user moved on), each the
  whole command in-process (``cli.main``: the lock, finding the session, landing);
- ``discard`` of a landed 10-step session, in-process as well;
- ``log`` and ``sessions`` as the user runs them (a new process each, so start-up
  counts) with no worktree session and with the ``3 * --runs`` sessions above present.

Results also go to ``benchmarks/results/worktree.json`` (git-ignored). Run it by hand::

    .venv/bin/python -m benchmarks.bench_worktree            # 20,000 files, ~2 minutes
    .venv/bin/python -m benchmarks.bench_worktree --quick    # 2,000 files, smoke run

Where the time goes in git: ``GIT_TRACE_PERFORMANCE=1`` in the environment of the run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autogpt_tui.cli import main as cli_main
from autogpt_tui.core.history import History
from autogpt_tui.core.sessions import SessionChoice
from autogpt_tui.core.worktree import enter_worktree
from benchmarks.protocol import print_verdicts, write_results
from tests.support.steps import commit_write_step

RESULTS = Path(__file__).resolve().parent / "results" / "worktree.json"
"""Where the results are written as JSON (the folder is git-ignored)."""
STEPS = 10
"""Steps per landed session."""
CLI = Path(sys.executable).with_name("autogpt-tui")
"""The installed command, run as the user runs it for ``log`` and ``sessions``."""

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
"""No configuration of the machine's user; one identity for the user's own commits."""

DIRTY_MODIFIED = [f"src/pkg_{n:02}/mod_{n}.py" for n in (3, 41, 77)]
DIRTY_UNTRACKED = ["notes.txt", "src/pkg_05/draft.py"]
DIRTY_IGNORED = ["debug.log", ".env"]


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` as the user would; its output."""
    done = subprocess.run(
        ["git", *args],
        cwd=root,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def build_tree(root: Path, files: int) -> None:
    """``files`` tracked files in 100 folders, committed; then the dirty checkout."""
    for n in range(files):
        folder = root / "src" / f"pkg_{n % 100:02}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"def function_{n}_{k}(x):\n    return x + {k}\n" for k in range(10)]
        (folder / f"mod_{n}.py").write_text("".join(lines))
    (root / ".gitignore").write_text("*.log\n.env\nbuild/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "The user's tree")
    for path in DIRTY_MODIFIED:
        with (root / path).open("a") as handle:
            handle.write("# the user's uncommitted edit\n")
    for path in DIRTY_UNTRACKED + DIRTY_IGNORED:
        (root / path).write_text(f"the user's own {path}\nSECRET=do-not-touch\n")
    build = root / "build"
    build.mkdir()
    for n in range(max(files // 10, 1)):
        (build / f"out_{n}.o").write_text(f"object {n}\n")


def dirty_state(root: Path) -> dict[str, str]:
    """The user's uncommitted files hashed, with how git sees each (and the build
    folder's file count): what must survive every operation."""
    state = {
        path: hashlib.sha256((root / path).read_bytes()).hexdigest()
        for path in DIRTY_MODIFIED + DIRTY_UNTRACKED + DIRTY_IGNORED
    }
    porcelain = git(root, "status", "--porcelain", "--ignored", "-z")
    state["<status>"] = "\0".join(sorted(e for e in porcelain.split("\0") if e))
    state["<build files>"] = str(len(os.listdir(root / "build")))
    return state


def make_steps(worktree: Path, session: str, first: int) -> None:
    """Commit ``STEPS`` write_file steps in ``worktree``, as the agent would."""
    with History.open(worktree, create=False) as history:
        for n in range(first, first + STEPS):
            commit_write_step(
                history,
                session=session,
                step=n,
                path=f"src/pkg_{n % 100:02}/step_{session}_{n}.py",
                content=f"STEP = {n}\n",
                goal="Write the step files",
            )


def enter(root: Path) -> tuple[float, str, Path]:
    """What ``--worktree`` does before the first step, timed: milliseconds, the new
    session and its worktree."""
    started = time.perf_counter()
    history = History.open(root, create=False)
    inside, choice, _notice = enter_worktree(history, SessionChoice(None, "Bench goal"))
    inside.close()
    elapsed = (time.perf_counter() - started) * 1000
    assert choice.session is not None
    return elapsed, choice.session, inside.root


def in_process(*argv: str) -> tuple[float, str]:
    """``autogpt-tui ARGV`` run in this process (its output kept): milliseconds, output."""
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli_main(list(argv))
    elapsed = (time.perf_counter() - started) * 1000
    if code != 0:
        raise SystemExit(f"autogpt-tui {' '.join(argv)} failed ({code}): {out.getvalue()}")
    return elapsed, out.getvalue()


def as_user(root: Path, *argv: str) -> float:
    """``autogpt-tui ARGV`` in a new process, as the user runs it: milliseconds."""
    env = {**os.environ, **GIT_ENV, "AUTOGPT_TUI_CONFIG": os.devnull}
    started = time.perf_counter()
    done = subprocess.run([str(CLI), *argv], cwd=root, env=env, capture_output=True, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise SystemExit(f"autogpt-tui {' '.join(argv)} failed: {done.stderr.decode()}")
    return elapsed


def user_commits(root: Path, n: int) -> None:
    """The user moves their branch on: one commit of a new file (their dirty files are
    not staged, so they stay uncommitted)."""
    path = f"src/pkg_50/user_{n}.py"
    (root / path).write_text(f"USER = {n}\n")
    git(root, "add", "--", path)
    git(root, "commit", "-q", "-m", f"The user's commit {n}", "--", path)


def median_of(label: str, samples: list[float]) -> float:
    """The median, said as it is taken."""
    value = statistics.median(samples)
    shown = ", ".join(f"{s:.0f}" for s in samples)
    print(f"  {label}: median {value:.0f} ms ({shown})", flush=True)
    return value


def row(measure: str, ms: float, goal_ms: float, baseline: str = "") -> dict[str, Any]:
    """One verdict row: ``ms`` against a goal of at most ``goal_ms``."""
    return {
        "measure": measure,
        "value": f"{ms:.0f} ms",
        "baseline": baseline,
        "goal": f"under {goal_ms:,.0f} ms",
        "pass": ms <= goal_ms,
        "ms": round(ms, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Build the repository, time each operation, check the dirty files, print and write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 files, 2 runs")
    options = parser.parse_args(argv)
    files, runs = (2_000, 2) if options.quick else (options.files, options.runs)
    os.environ.update(GIT_ENV)  # in-process commands too: no user configuration of this machine
    folder = Path(tempfile.mkdtemp(prefix="bench-worktree-"))
    try:
        root = folder / "repo"
        root.mkdir()
        print(f"Building {files:,} tracked files and a dirty checkout …", flush=True)
        build_tree(root, files)
        with History.open(root, create=False):
            pass  # the project's own first-open bookkeeping, outside the timings
        before = dirty_state(root)
        problems: list[str] = []

        def check(after: str) -> None:
            if dirty_state(root) != before:
                problems.append(after)
                print(f"  !! the user's uncommitted files changed after {after}", flush=True)

        baseline_log = [as_user(root, "log", str(root)) for _ in range(runs)]
        baseline_sessions = [as_user(root, "sessions", str(root)) for _ in range(runs)]
        entering: list[float] = []
        landing: dict[str, list[float]] = {"fast-forward": [], "replayed": [], "squashed": []}
        sessions: list[str] = []
        step = 1
        for how in landing:
            for run in range(runs):
                ms, session, worktree = enter(root)
                entering.append(ms)
                check("entering a worktree")
                sessions.append(session)
                make_steps(worktree, session, step)
                step += STEPS
                if how != "fast-forward":
                    user_commits(root, step)
                before = dirty_state(root)  # the user's commit is theirs, not a change
                extra = ("--squash",) if how == "squashed" else ()
                ms, said = in_process("land", str(root), session, *extra)
                if f"({how}," not in said:
                    raise SystemExit(f"land was not a {how}: {said}")
                landing[how].append(ms)
                check(f"land ({how}, run {run + 1})")
        present = len(sessions)
        log_with = [as_user(root, "log", str(root)) for _ in range(runs)]
        sessions_with = [as_user(root, "sessions", str(root)) for _ in range(runs)]
        discarding = []
        for session in sessions:
            ms, _said = in_process("discard", str(root), session)
            discarding.append(ms)
            check("discard")
        leftovers = git(root, "worktree", "list", "--porcelain").count("worktree ")

        print(f"\n{files:,} files, {runs} runs; load average {os.getloadavg()}")
        enter_ms = median_of("enter a worktree session", entering)
        rows = [row(f"enter a worktree session, {files:,} files (median of {present})", enter_ms,
                    2000)]  # fmt: skip
        for how, samples in landing.items():
            ms = median_of(f"land {how}", samples)
            rows.append(row(f"land a {STEPS}-step session, {how} (median of {runs})", ms, 1000))
        discard_ms = median_of("discard", discarding)
        rows.append(row(f"discard a landed session (median of {present})", discard_ms, 1000))
        for name, none, some in (
            ("log", baseline_log, log_with),
            ("sessions", baseline_sessions, sessions_with),
        ):
            base = median_of(f"{name}, no worktree session", none)
            ms = median_of(f"{name}, {present} worktree sessions", some)
            measure = f"`{name}` with {present} worktree sessions (median of {runs})"
            rows.append(row(measure, ms, max(1000, base * 1.5), f"{base:.0f} ms with none"))
        rows.append(
            {
                "measure": "the user's modified, untracked and ignored files after every step",
                "value": "untouched" if not problems else f"changed after {', '.join(problems)}",
                "baseline": "",
                "goal": "byte for byte, same git status; no worktree left after discard",
                "pass": not problems and leftovers == 1,
            }
        )
        print_verdicts(rows)
        write_results(
            RESULTS,
            {
                "benchmark": "worktree",
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cpus",
                "load_average": os.getloadavg(),
                "files": files,
                "runs": runs,
                "rows": rows,
            },
        )
        return 0 if all(r["pass"] for r in rows) else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
