"""Benchmark of the step history: cost must follow what changed, not the size of the tree.

The requirement: on a workspace of 20,000 files with 1,000 step commits, committing one
changed file, undo, redo and ``log --json -n 50`` each cost no more than twice what they
cost on a 100-file workspace with 10 steps. This script builds both workspaces, times
each operation many times on each, and prints the medians, p90s, minimums and the
big/small ratio with a pass or fail per operation. Results also go to
``benchmarks/results/history.json`` (git-ignored).

A second part (benchmarks/history_real.py) generates real-size histories with `git
fast-import`: ``log -n 50`` on 100k commits against the interpreter's start-up, and the
``.git`` bytes per step after 10k steps. Every figure goes into the ``rows`` of the
results file, each with its baseline, goal and PASS or FAIL.

Run it by hand::

    .venv/bin/python -m benchmarks.bench_history            # full run (a few minutes)
    .venv/bin/python -m benchmarks.bench_history --quick    # smoke run on smaller trees
    .venv/bin/python -m benchmarks.bench_history --keep /tmp/bench-ws   # build once, reuse
    .venv/bin/python -m benchmarks.bench_history --profile  # also profile the big workspace

With ``--keep`` the workspaces are put back as built after each run (refs, index, files
and the redo stack), so every run measures the same history.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import platform
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepRecord
from benchmarks import history_real
from benchmarks.protocol import write_results

RESULTS = Path(__file__).resolve().parent / "results" / "history.json"
"""Where the results are written as JSON (the folder is git-ignored)."""

LIMIT = 2.0
"""The big workspace may cost at most this many times the small one."""

FILES_PER_DIR = 20
"""Files in each leaf directory (``pkg_NNN/mod_NN/file_NN.py``)."""
SUBDIRS_PER_DIR = 10
"""Leaf directories in each top-level package."""

LAYOUT_VERSION = 1
"""Bumped when the generated workspaces change, so ``--keep`` rebuilds stale ones."""

RACY_SETTLE_SECONDS = 1.5
"""Wait before rewriting the index so no file shares its mtime (git's "racy clean")."""


@dataclass(frozen=True)
class Shape:
    """The size of one generated workspace."""

    name: str
    files: int
    steps: int


@dataclass(frozen=True)
class Operation:
    """One timed operation of the benchmark."""

    key: str
    label: str
    required: bool
    """Part of the issue's requirement (the others are reported for information)."""


OPERATIONS: tuple[Operation, ...] = (
    Operation("commit", "commit one changed file", True),
    Operation("undo_cli", "CLI undo (process)", True),
    Operation("redo_cli", "CLI redo (process)", True),
    # In-process engine calls: git's own index write (1.8 MB at 20,000 files, ~9 ms)
    # is most of the big workspace's cost here, and a process start hides it above.
    Operation("undo", "undo 1 in-process (HEAD is the step)", False),
    Operation("redo", "redo 1 in-process", False),
    Operation("steps50", "steps(limit=50) in-process", False),
    Operation("log_cli", "CLI log --json -n 50 (process)", True),
    Operation("steps10", "steps(limit=10) (same output size)", False),
    Operation("open", "History.open + close", False),
)


@dataclass
class Workspace:
    """A generated workspace and the files the benchmark may edit."""

    shape: Shape
    root: Path
    files: list[str]


@dataclass(frozen=True)
class Snapshot:
    """What a run changes in a kept workspace, so it can be put back afterwards."""

    refs: dict[str, str]
    redo: bytes | None


# ------------------------------------------------------------------ generation


def layout(count: int) -> list[str]:
    """``count`` relative file paths spread over ``pkg_NNN/mod_NN/file_NN.py``."""
    paths: list[str] = []
    per_pkg = FILES_PER_DIR * SUBDIRS_PER_DIR
    for index in range(count):
        pkg, rest = divmod(index, per_pkg)
        mod, num = divmod(rest, FILES_PER_DIR)
        paths.append(f"pkg_{pkg:03d}/mod_{mod:02d}/file_{num:02d}.py")
    return paths


_NOUNS = ("cache", "token", "buffer", "record", "session", "parser", "queue", "report")
_VERBS = ("load", "parse", "merge", "render", "check", "split", "build", "flush")


def source(rng: random.Random, index: int) -> str:
    """A small, plausible Python module (about 1 KB)."""
    noun = rng.choice(_NOUNS)
    lines = [
        f'"""Helpers for the {noun} subsystem (module {index})."""',
        "",
        "from __future__ import annotations",
        "",
        "import os",
        "from collections.abc import Iterable",
        "",
        f"LIMIT = {rng.randint(8, 4096)}",
        "",
    ]
    for number in range(rng.randint(2, 5)):
        verb = rng.choice(_VERBS)
        name = f"{verb}_{noun}_{number}"
        lines += [
            "",
            f"def {name}(items: Iterable[int], scale: int = {rng.randint(2, 9)}) -> int:",
            f'    """{verb.capitalize()} the {noun} items and return their scaled total."""',
            "    total = 0",
            "    for item in items:",
            f"        if item > LIMIT // {rng.randint(2, 7)}:",
            "            continue",
            "        total += item * scale",
            f'    return total if os.environ.get("{noun.upper()}_STRICT") else total % LIMIT',
            "",
        ]
    return "\n".join(lines)


def edit(root: Path, rel: str, tag: str) -> str:
    """Change file ``rel`` as an agent would (append a function); returns the new text."""
    full = root / rel
    slug = "".join(c if c.isalnum() else "_" for c in tag)
    text = full.read_text() + f'\n\ndef added_{slug}() -> str:\n    return "{tag}"\n'
    full.write_text(text)
    return text


def commit_edit(history: History, rel: str, step: int, text: str) -> None:
    """Record the edit of ``rel`` as agent step ``step`` (what the agent loop does)."""
    history.commit_step(
        session="bench",
        step=step,
        tool="write_file",
        policy="default",
        summary=f"Edit {rel}",
        record=StepRecord(
            thought=f"The function in {rel} needs a helper; add it.",
            tool="write_file",
            arguments={"path": rel, "content": text},
            observation=f"Wrote {len(text)} bytes to {rel}.",
        ),
        paths=[rel],
    )


def build(root: Path, shape: Shape, seed: int) -> None:
    """Make the workspace: write the files, open it, then take ``shape.steps`` steps."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    rng = random.Random(seed)
    paths = layout(shape.files)
    for index, rel in enumerate(paths):
        full = root / rel
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(source(rng, index))
    started = time.perf_counter()
    with History.open(root) as history:
        opened = time.perf_counter()
        for step in range(1, shape.steps + 1):
            rel = paths[rng.randrange(len(paths))]
            commit_edit(history, rel, step, edit(root, rel, f"build {step}"))
            if step % 100 == 0:
                print(f"  {shape.name}: {step}/{shape.steps} steps", file=sys.stderr, flush=True)
    done = time.perf_counter()
    print(
        f"  {shape.name}: first commit {opened - started:.1f} s, "
        f"{shape.steps} steps {done - opened:.1f} s",
        file=sys.stderr,
    )


def prepare(base: Path, shape: Shape, seed: int) -> Workspace:
    """The workspace for ``shape`` under ``base``: reused if built already, else built."""
    root = base / shape.name
    meta_path = base / f"{shape.name}.json"
    meta = {"layout": LAYOUT_VERSION, "files": shape.files, "steps": shape.steps, "seed": seed}
    try:
        reusable = json.loads(meta_path.read_text()) == meta and (root / ".git").is_dir()
    except (OSError, ValueError):
        reusable = False
    if reusable:
        print(f"Reusing {shape.name} workspace at {root}", file=sys.stderr)
    else:
        print(
            f"Building {shape.name} workspace ({shape.files} files, {shape.steps} steps) at {root}",
            file=sys.stderr,
            flush=True,
        )
        if root.exists() and any(root.iterdir()) and not meta_path.exists():
            raise SystemExit(f"{root} exists and was not made by this benchmark; not touching it.")
        meta_path.unlink(missing_ok=True)
        build(root, shape, seed)
        meta_path.write_text(json.dumps(meta))
    return Workspace(shape, root, layout(shape.files))


# ------------------------------------------------------------------ git helpers


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` and return its output (raising on failure)."""
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, check=True, text=True
    ).stdout


def settle(root: Path) -> int:
    """Rewrite the index after every file's mtime, as in a long-lived workspace.

    Git re-hashes every file whose mtime is not older than the index ("racy clean"),
    so a freshly built tree would make each command hash thousands of files. ``git
    status`` writes the index whenever it has such entries. Returns how many tracked
    files are still racy afterwards (should be 0).
    """
    # Packed, as a long-lived workspace is: the agent lets git pack every 100 steps
    # (History.maintain), while the build here writes thousands of loose objects.
    git(root, "gc", "-q")
    time.sleep(RACY_SETTLE_SECONDS)
    git(root, "status", "--porcelain")
    index_mtime = (root / ".git" / "index").stat().st_mtime_ns
    racy = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            # Git compares whole seconds unless built with USE_NSEC.
            if os.stat(os.path.join(dirpath, name)).st_mtime_ns // 10**9 >= index_mtime // 10**9:
                racy += 1
    return racy


def _redo_file(root: Path) -> Path:
    return root / ".git" / "autogpt-tui" / "redo.json"


def snapshot(root: Path) -> Snapshot:
    """Remember the refs and the redo stack of ``root``."""
    out = git(root, "for-each-ref", "--format=%(refname) %(objectname)")
    refs = dict(line.split(" ", 1) for line in out.splitlines() if line)
    redo = _redo_file(root)
    return Snapshot(refs, redo.read_bytes() if redo.exists() else None)


def restore(root: Path, snap: Snapshot) -> None:
    """Put ``root`` back as ``snap`` found it: refs, index and files, redo stack."""
    now = snapshot(root).refs
    for ref in now.keys() - snap.refs.keys():
        git(root, "update-ref", "-d", ref)
    for ref, sha in snap.refs.items():
        if now.get(ref) != sha:
            git(root, "update-ref", ref, sha)
    git(root, "reset", "-q", "--hard")
    redo = _redo_file(root)
    if snap.redo is None:
        redo.unlink(missing_ok=True)
    else:
        redo.write_bytes(snap.redo)


def cli_command() -> list[str]:
    """The ``autogpt-tui`` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("autogpt-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "autogpt_tui"]


# ------------------------------------------------------------------ timing


def summarise(samples_ms: list[float]) -> dict[str, float]:
    """Median, p90 (nearest rank), minimum and mean of the samples, in milliseconds."""
    ordered = sorted(samples_ms)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return {
        "median": statistics.median(ordered),
        "p90": p90,
        "min": ordered[0],
        "mean": statistics.fmean(ordered),
        "n": float(len(ordered)),
    }


class Runner:
    """Times the operations on one workspace through an open History."""

    def __init__(self, ws: Workspace, history: History, seed: int) -> None:
        self.ws = ws
        self.history = history
        self.rng = random.Random(seed)
        self.step = ws.shape.steps
        self.edits = 0

    def timed(self, action: Callable[[], object]) -> float:
        """Run ``action`` once; its wall time in milliseconds."""
        start = time.perf_counter_ns()
        action()
        return (time.perf_counter_ns() - start) / 1e6

    def prepare_commit(self) -> Callable[[], None]:
        """Edit a random file now; return the step commit of that edit, to be timed."""
        rel = self.ws.files[self.rng.randrange(len(self.ws.files))]
        self.edits += 1
        self.step += 1
        text = edit(self.ws.root, rel, f"bench {self.edits}")
        step = self.step
        return lambda: commit_edit(self.history, rel, step, text)

    def commit_once(self) -> float:
        """Edit a random file (untimed), then time the step commit of it."""
        return self.timed(self.prepare_commit())

    def open_once(self) -> float:
        """Time opening (and closing) the existing workspace."""
        return self.timed(lambda: History.open(self.ws.root).close())

    def steps_once(self, limit: int = 50) -> float:
        """Time ``steps(limit=...)`` in this process (what ``log -n 50`` does)."""
        return self.timed(lambda: self.history.steps(limit=limit))

    def log_cli_once(self) -> float:
        """Time ``autogpt-tui log --json -n 50`` as a new process."""
        command = [*cli_command(), "log", "--json", "-n", "50", str(self.ws.root)]
        return self.timed(lambda: subprocess.run(command, capture_output=True, check=True))

    def undo_redo_cli_once(self) -> dict[str, float]:
        """Time ``autogpt-tui undo`` then ``autogpt-tui redo`` as new processes."""
        undo = [*cli_command(), "undo", str(self.ws.root), "1"]
        redo = [*cli_command(), "redo", str(self.ws.root), "1"]
        return {
            "undo_cli": self.timed(lambda: subprocess.run(undo, capture_output=True, check=True)),
            "redo_cli": self.timed(lambda: subprocess.run(redo, capture_output=True, check=True)),
        }

    def check_log(self) -> int:
        """Run the CLI once and check it prints a JSON array; returns its length."""
        command = [*cli_command(), "log", "--json", "-n", "50", str(self.ws.root)]
        out = subprocess.run(command, capture_output=True, check=True, text=True).stdout
        steps = json.loads(out)
        if not isinstance(steps, list):
            raise SystemExit(f"log --json printed {type(steps).__name__}, not a list")
        return len(steps)


def sample_once(runner: Runner, op: str) -> dict[str, float]:
    """One sample (ms) of operation ``op``; ``undo`` also yields a ``redo`` sample.

    Undo and redo alternate, so HEAD is always the step when undo runs.
    """
    if op == "commit":
        return {op: runner.commit_once()}
    if op == "open":
        return {op: runner.open_once()}
    if op == "steps50":
        return {op: runner.steps_once(50)}
    if op == "steps10":
        # The small workspace has only 10 steps: this compares equal outputs.
        return {op: runner.steps_once(10)}
    if op == "log_cli":
        return {op: runner.log_cli_once()}
    if op == "undo_cli":
        return runner.undo_redo_cli_once()
    if op == "undo":
        history = runner.history
        undo = runner.timed(lambda: history.undo(1))
        return {"undo": undo, "redo": runner.timed(lambda: history.redo(1))}
    raise ValueError(op)


def measure(
    runners: list[Runner], op: str, repeat: int, warmup: int
) -> dict[str, dict[str, list[float]]]:
    """Samples (ms) per operation and workspace; the workspaces take turns each round.

    Taking turns means a change in the machine's load (other processes) hits both
    workspaces alike instead of skewing the ratio.
    """
    samples: dict[str, dict[str, list[float]]] = {}
    for index in range(warmup + repeat):
        for runner in runners:
            for key, ms in sample_once(runner, op).items():
                if index >= warmup:
                    samples.setdefault(key, {}).setdefault(runner.ws.shape.name, []).append(ms)
    return samples


# ------------------------------------------------------------------ profiling


@contextmanager
def git_trace(path: Path) -> Iterator[None]:
    """Have every git process started meanwhile log trace2 events to ``path``."""
    path.unlink(missing_ok=True)
    old = os.environ.get("GIT_TRACE2_EVENT")
    os.environ["GIT_TRACE2_EVENT"] = str(path)
    try:
        yield
    finally:
        if old is None:
            del os.environ["GIT_TRACE2_EVENT"]
        else:
            os.environ["GIT_TRACE2_EVENT"] = old


def _git_label(argv: list[str]) -> str:
    """A short name for a git command line: its subcommand (and object type, if any)."""
    words = [w for w in argv[1:] if not w.startswith("-")]
    label = words[0] if words else "?"
    if "-t" in argv[:-1]:
        label += f" -t {argv[argv.index('-t') + 1]}"
    return label


def git_breakdown(path: Path, reps: int) -> list[tuple[str, float, float]]:
    """Per git command: calls and milliseconds per repetition, from a trace2 event log.

    A process's time runs from its start to its last event, so a ``git log`` killed
    once the caller has read enough is counted too.
    """
    label: dict[str, str] = {}
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    offset: dict[str, float] = {}
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
                when = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
            except (ValueError, KeyError):
                continue
            sid = str(event.get("sid", ""))
            if event.get("event") == "start":
                label[sid] = _git_label([str(w) for w in event.get("argv", [])])
                offset[sid] = float(event.get("t_abs", 0.0))
            first.setdefault(sid, when)
            last[sid] = max(when, last.get(sid, when))
    totals: dict[str, list[float]] = {}
    for sid, name in label.items():
        ms = ((last[sid] - first[sid]).total_seconds() + offset[sid]) * 1000
        if "/" in sid:  # run by another git process: its time is in the parent's
            name = "  (child) " + name
        totals.setdefault(name, []).append(ms)
    rows = [(name, len(v) / reps, sum(v) / reps) for name, v in totals.items()]
    return sorted(rows, key=lambda row: -row[2])


def profile_big(runner: Runner, reps: int, out_dir: Path) -> dict[str, Any]:
    """Profile each operation on the (big) workspace: Python hotspots and git commands."""
    report: dict[str, Any] = {}
    history = runner.history

    def same(action: Callable[[], object]) -> Callable[[], Callable[[], object]]:
        return lambda: action

    setups: dict[str, Callable[[], Callable[[], object]]] = {
        "commit": runner.prepare_commit,
        "undo_redo": same(lambda: (history.undo(1), history.redo(1))),
        "steps50": same(lambda: history.steps(limit=50)),
        "open": same(lambda: History.open(runner.ws.root).close()),
    }
    for name, setup in setups.items():
        trace = out_dir / f"trace2-{name}.jsonl"
        profiler = cProfile.Profile()
        spent = 0.0
        with git_trace(trace):
            for _ in range(reps):
                action = setup()  # untimed: e.g. the file edit before a commit
                start = time.perf_counter()
                profiler.enable()
                action()
                profiler.disable()
                spent += time.perf_counter() - start
        wall = spent * 1000 / reps
        profiler.dump_stats(str(out_dir / f"{name}.prof"))
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(8)
        gits = git_breakdown(trace, reps)
        top = [(n, ms) for cmd, n, ms in gits if not cmd.startswith("  ")]
        print(
            f"\n== {name}: {wall:.1f} ms per call (profiled); {sum(n for n, _ in top):.1f} git "
            f"processes per call, {sum(ms for _, ms in top):.1f} ms of it inside git"
        )
        print(f"   {'git command':<28}{'runs/call':>10}{'ms/call':>9}")
        for cmd, calls, ms in gits:
            print(f"   {cmd:<28}{calls:>10.1f}{ms:>9.2f}")
        print("   Python functions by own time:")
        lines = text.getvalue().splitlines()
        start_at = next((i for i, ln in enumerate(lines) if "ncalls" in ln), 0)
        for line in lines[start_at : start_at + 9]:
            print("   " + line[:140])
        report[name] = {
            "ms_per_call": wall,
            "git": [{"command": c, "calls": n, "ms": ms} for c, n, ms in gits],
        }
    return report


# ------------------------------------------------------------------ main


def run(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    """Prepare both workspaces, time every operation on each, return the results."""
    shapes = (
        Shape("small", args.small_files, args.small_steps),
        Shape("big", args.big_files, args.big_steps),
    )
    spaces = [prepare(base, shape, args.seed) for shape in shapes]
    snaps = [snapshot(ws.root) for ws in spaces]
    samples: dict[str, dict[str, list[float]]] = {op.key: {} for op in OPERATIONS}
    extra: dict[str, Any] = {}
    histories: list[History] = []
    try:
        for ws in spaces:
            racy = settle(ws.root)
            tracked = len(git(ws.root, "ls-files", "-z").split("\0")) - 1
            extra[ws.shape.name] = {"tracked_files": tracked, "racy_after_settle": racy}
            histories.append(History.open(ws.root))
        runners = [Runner(ws, h, args.seed + 1) for ws, h in zip(spaces, histories, strict=True)]
        for runner in runners:
            name = runner.ws.shape.name
            steps = len(runner.history.steps())
            extra[name].update(steps=steps, log_entries=runner.check_log())
            print(f"{name}: {extra[name]}", file=sys.stderr, flush=True)
        # Reads first, while each history is exactly as built; then the writes.
        for key in ("open", "steps50", "steps10", "log_cli", "commit", "undo", "undo_cli"):
            print(f"timing {key}", file=sys.stderr, flush=True)
            for op_key, per_ws in measure(runners, key, args.repeat, args.warmup).items():
                samples[op_key].update(per_ws)
        if args.profile:
            out_dir = RESULTS.parent / "profile"
            out_dir.mkdir(parents=True, exist_ok=True)
            print(
                f"\nProfile of the big workspace ({args.profile} calls each; files in {out_dir}):"
            )
            extra["profile"] = profile_big(runners[1], args.profile, out_dir)
    finally:
        for history in histories:
            history.close()
        for ws, snap in zip(spaces, snaps, strict=True):
            restore(ws.root, snap)

    results: dict[str, Any] = {}
    for op in OPERATIONS:
        small = summarise(samples[op.key]["small"])
        big = summarise(samples[op.key]["big"])
        ratio = big["median"] / small["median"] if small["median"] else math.inf
        results[op.key] = {
            "label": op.label,
            "required": op.required,
            "small": small,
            "big": big,
            "ratio": ratio,
            "pass": ratio <= LIMIT,
        }
    return {
        "meta": {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "git": git(base, "--version").strip(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "repeat": args.repeat,
            "warmup": args.warmup,
            "limit": LIMIT,
            "shapes": [asdict(s) for s in shapes],
            "workspaces": extra,
        },
        "results": results,
    }


def print_table(report: dict[str, Any]) -> bool:
    """Print the results table; returns True when every required operation passes."""
    meta = report["meta"]
    small, big = meta["shapes"]
    print()
    print(
        f"History benchmark: small = {small['files']} files / {small['steps']} steps, "
        f"big = {big['files']} files / {big['steps']} steps"
    )
    print(
        f"{meta['git']}, Python {meta['python']}, {meta['cpus']} CPUs, "
        f"{meta['repeat']} runs after {meta['warmup']} warm-ups; times in ms"
    )
    head = (
        f"{'operation':<34}{'small med':>10}{'p90':>8}{'min':>8}"
        f"{'big med':>10}{'p90':>8}{'min':>8}{'ratio':>8}  verdict"
    )
    print(head)
    print("-" * len(head))
    all_pass = True
    for row in report["results"].values():
        s, b = row["small"], row["big"]
        if row["required"]:
            verdict = "PASS" if row["pass"] else "FAIL"
            all_pass = all_pass and row["pass"]
        else:
            verdict = "(info) ok" if row["pass"] else "(info) over"
        print(
            f"{row['label']:<34}{s['median']:>10.1f}{s['p90']:>8.1f}{s['min']:>8.1f}"
            f"{b['median']:>10.1f}{b['p90']:>8.1f}{b['min']:>8.1f}{row['ratio']:>7.2f}x  "
            f"{verdict}"
        )
    print(
        f"\nRequirement (big <= {LIMIT:g} x small on every required operation): "
        f"{'PASS' if all_pass else 'FAIL'}"
    )
    return all_pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line of the benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_history",
        description="Time the step history on a small and a big workspace.",
    )
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per operation")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    parser.add_argument("--quick", action="store_true", help="smoke run: smaller big workspace")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build the workspaces in DIR once and reuse them (put back as built after each run)",
    )
    parser.add_argument("--big-files", type=int, default=None)
    parser.add_argument("--big-steps", type=int, default=None)
    parser.add_argument("--small-files", type=int, default=100)
    parser.add_argument("--small-steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=10,
        default=0,
        metavar="N",
        help="also profile N calls of each operation on the big workspace",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument(
        "--skip-real", action="store_true", help="leave out the real-size history rows"
    )
    args = parser.parse_args(argv)
    if args.big_files is None:
        args.big_files = 2000 if args.quick else 20000
    if args.big_steps is None:
        args.big_steps = 100 if args.quick else 1000
    if args.quick and args.repeat == 30:
        args.repeat = 10
    if min(args.repeat, args.big_files, args.small_files) < 1 or args.warmup < 0:
        parser.error("counts must be positive")
    return args


def run_all(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    """Both parts: small against big workspace, then the real-size history."""
    report = run(args, base)
    shape = history_real.QUICK if args.quick else history_real.FULL
    rows = [
        {
            "measure": f"{row['label']}: {report['meta']['shapes'][1]['files']} vs "
            f"{report['meta']['shapes'][0]['files']} files",
            "value": f"{row['ratio']:.2f}x (big {row['big']['median']:.1f} ms median, "
            f"p90 {row['big']['p90']:.1f})",
            "baseline": f"small {row['small']['median']:.1f} ms median, "
            f"p90 {row['small']['p90']:.1f}",
            "goal": f"<= {LIMIT:g}x",
            "pass": row["pass"],
        }
        for row in report["results"].values()
        if row["required"]
    ]
    if not args.skip_real:
        real = history_real.prepare_real(base, shape)
        print("timing log -n 50 on the real-size repository", file=sys.stderr, flush=True)
        rows += history_real.measure_log(real, cli_command(), shape)
        steps = history_real.prepare_steps(base, shape)
        print(".git bytes per step (twice: before and now)", file=sys.stderr, flush=True)
        rows += history_real.measure_bytes(steps, shape, base / "scratch")
    report["rows"] = rows
    return report


def print_rows(rows: list[dict[str, Any]]) -> bool:
    """Print one PASS or FAIL line per row; True when every row passes."""
    print()
    for row in rows:
        verdict = "PASS" if row["pass"] else "FAIL"
        goal = f" (goal {row['goal']})" if row["goal"] else ""
        print(f"{verdict}  {row['measure']}: {row['value']}{goal}")
        if row["baseline"]:
            print(f"      baseline: {row['baseline']}")
    return all(row["pass"] for row in rows)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a row fails its goal."""
    args = parse_args(argv)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        report = run_all(args, args.keep.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
            report = run_all(args, Path(tmp))
    print_table(report)
    ok = print_rows(report["rows"])
    write_results(args.output, report)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
