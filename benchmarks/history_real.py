"""Real-size history for bench_history: `log -n 50` on 100k commits, `.git` bytes per step.

Two repositories are generated with `git fast-import` (fast: one pack, no working tree
churn), cached under ``--keep DIR`` like the other workspaces:

- ``real``: ordinary commits (the user's, no trailers) each changing one file of a
  ~5,000-file tree, as in git's own repository (4.8k files, 82k commits); then a few
  agent steps at the tip, made through History.commit_step. ``log -n 50`` must cost no
  more than 0.3 s over the interpreter's own start-up (``python -c pass``, the same
  interpreter, timed in the same run, alternating).
- ``steps``: 10,000 one-line agent steps already recorded (commits with trailers and
  their record notes, packed as a long session leaves them); then N further one-line
  steps are taken through History.commit_step, with History.maintain every 100 steps as
  the agent loop does. The figure is the growth of the apparent size of every file
  under ``.git`` over those N steps, divided by N (N a multiple of 100, so the window
  ends right after a maintain: amortised over whole maintenance cycles). The baseline
  is the same N steps on a copy with the maintenance from before the index (only
  `git gc --auto`), measured in the same run.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepRecord

REAL_LAYOUT = 1
"""Bumped when the generated repositories change, so ``--keep`` rebuilds stale ones."""

LOG_GOAL_S = 0.3
"""`log -n 50` may cost at most this much more than `python -c pass`."""
BYTES_GOAL = 5 * 1024
"""`.git` bytes per one-line step, at most."""
MAINTAIN_EVERY = 100
"""As the agent loop (core/agent.py): History.maintain every 100 steps."""


@dataclass(frozen=True)
class RealShape:
    """Sizes of the real-size repositories."""

    commits: int
    files: int
    tip_steps: int
    prior_steps: int
    new_steps: int
    repeat: int


FULL = RealShape(commits=100_000, files=5_000, tip_steps=5, prior_steps=10_000,
                 new_steps=500, repeat=15)  # fmt: skip
QUICK = RealShape(commits=10_000, files=1_000, tip_steps=5, prior_steps=1_000,
                  new_steps=200, repeat=5)  # fmt: skip


def git(root: Path, *args: str, input: bytes | None = None) -> str:
    """Run git in ``root``; its output as text (raising on failure)."""
    return subprocess.run(
        ["git", "-c", "user.name=Bench User", "-c", "user.email=bench@example.com", *args],
        cwd=root,
        input=input,
        capture_output=True,
        check=True,
    ).stdout.decode()


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def fast_import(root: Path, stream: bytes) -> None:
    """Feed ``stream`` to `git fast-import` in ``root``."""
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=stream, check=True)


def _ordinary_history(commits: int, files: int) -> bytes:
    """``commits`` user commits: the first adds ``files`` files, each later one changes
    one of them (a seeded walk over the tree)."""
    out = bytearray()
    when = 1_600_000_000
    for n in range(commits):
        out += b"commit refs/heads/main\n"
        out += b"committer Bench User <bench@example.com> %d +0000\n" % (when + n * 60)
        out += _data(f"Change {n}: adjust module {n * 7919 % files}")
        if n == 0:
            for f in range(files):
                out += b"M 100644 inline src/d%02d/m%04d.c\n" % (f % 64, f)
                out += _data(f"/* module {f} */\nint m{f}(void) {{ return {f}; }}\n")
        else:
            f = n * 7919 % files
            out += b"M 100644 inline src/d%02d/m%04d.c\n" % (f % 64, f)
            out += _data(f"/* module {f}, revision {n} */\nint m{f}(void) {{ return {n}; }}\n")
    return bytes(out)


def _recorded_steps(count: int) -> bytes:
    """``count`` one-line agent steps with trailers, and one notes commit holding each
    step's record (as History would have written them, packed)."""
    out = bytearray()
    when = 1_600_000_000
    out += b"commit refs/heads/main\ncommitter Bench User <bench@example.com> %d +0000\n" % when
    out += _data("Start the autogpt-tui workspace") + b"M 100644 inline README.md\n"
    out += _data("# workspace\n")
    for n in range(1, count + 1):
        out += b"commit refs/heads/main\nmark :%d\n" % n
        out += b"author autogpt-tui agent <agent@autogpt-tui.invalid> %d +0000\n" % (when + n)
        out += b"committer Bench User <bench@example.com> %d +0000\n" % (when + n)
        message = (
            f"Write notes/n{n % 1000:03d}.txt\n\nAgent-Session: bench\nAgent-Step: {n}\n"
            "Agent-Tool: write_file\nAgent-Policy: default\n"
        )
        out += _data(message) + b"M 100644 inline notes/n%03d.txt\n" % (n % 1000)
        out += _data(f"line {n}\n")
    out += b"commit refs/notes/autogpt-tui/records\n"
    out += b"committer Bench User <bench@example.com> %d +0000\n" % (when + count + 1)
    out += _data("autogpt-tui: records")
    for n in range(1, count + 1):
        out += b"N inline :%d\n" % n + _data(_record(n).model_dump_json())
    return bytes(out)


def _record(n: int) -> StepRecord:
    return StepRecord(
        thought=f"Note {n} goes in its own file.",
        tool="write_file",
        arguments={"path": f"notes/n{n % 1000:03d}.txt", "content": f"line {n}\n"},
        observation="Wrote 1 line.",
    )


def one_line_step(history: History, n: int) -> None:
    """Agent step ``n``: write a one-line file and commit it as the agent loop does."""
    rel = f"notes/n{n % 1000:03d}.txt"
    (history.root / rel).parent.mkdir(parents=True, exist_ok=True)
    (history.root / rel).write_text(f"line {n}\n")
    history.commit_step(
        session="bench",
        step=n,
        tool="write_file",
        policy="default",
        summary=f"Write {rel}",
        record=_record(n),
        paths=[rel],
    )


def _fresh_repo(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")


def _cached(base: Path, name: str, meta: dict[str, Any]) -> bool:
    path = base / f"{name}.json"
    try:
        return json.loads(path.read_text()) == meta and (base / name / ".git").is_dir()
    except (OSError, ValueError):
        return False


def prepare_real(base: Path, shape: RealShape) -> Path:
    """The ``real`` repository: ordinary history plus a few steps at the tip."""
    root = base / "real"
    meta = {"layout": REAL_LAYOUT, "commits": shape.commits, "files": shape.files,
            "tip_steps": shape.tip_steps}  # fmt: skip
    if _cached(base, "real", meta):
        print(f"Reusing the real-size repository at {root}", file=sys.stderr)
        return root
    print(f"Generating {shape.commits} commits over {shape.files} files at {root}",
          file=sys.stderr, flush=True)  # fmt: skip
    started = time.perf_counter()
    _fresh_repo(root)
    fast_import(root, _ordinary_history(shape.commits, shape.files))
    git(root, "reset", "-q", "--hard")
    git(root, "commit-graph", "write", "--reachable")  # as `git gc` leaves a user's repo
    with History.open(root) as history:
        for n in range(1, shape.tip_steps + 1):
            one_line_step(history, n)
    print(f"  generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    (base / "real.json").write_text(json.dumps(meta))
    return root


def prepare_steps(base: Path, shape: RealShape) -> Path:
    """The ``steps`` repository: ``prior_steps`` recorded steps, packed, index built."""
    root = base / "steps"
    meta = {"layout": REAL_LAYOUT, "prior_steps": shape.prior_steps}
    if _cached(base, "steps", meta):
        print(f"Reusing the {shape.prior_steps}-step repository at {root}", file=sys.stderr)
        return root
    print(f"Generating {shape.prior_steps} recorded steps at {root}", file=sys.stderr, flush=True)
    _fresh_repo(root)
    fast_import(root, _recorded_steps(shape.prior_steps))
    git(root, "reset", "-q", "--hard")
    with History.open(root) as history:
        history.maintain()  # builds the step index, as the first maintenance would
    git(root, "gc", "-q")
    (base / "steps.json").write_text(json.dumps(meta))
    return root


# ------------------------------------------------------------------ measures


def _median_spread(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p10 = ordered[int(0.1 * (len(ordered) - 1))]
    p90 = ordered[round(0.9 * (len(ordered) - 1))]
    return statistics.median(ordered), p10, p90


_cpu: dict[str, list[float]] = {}
"""CPU seconds (user + system) of each timed command, by its first distinct argument:
on a loaded machine the wall time mostly measures the wait for a core."""


def _timed(command: list[str], key: str = "") -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if key:
        used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        _cpu.setdefault(key, []).append(used)
    return wall


def measure_log(root: Path, cli: list[str], shape: RealShape) -> list[dict[str, Any]]:
    """Rows for `log -n 50` on the real-size repository (seconds)."""
    python = [sys.executable, "-c", "pass"]
    imports = [sys.executable, "-c", "import autogpt_tui.cli"]
    log = [*cli, "log", "--json", "-n", "50", str(root)]
    printed = json.loads(subprocess.run(log, capture_output=True, check=True).stdout)
    if not isinstance(printed, list) or len(printed) != shape.tip_steps:
        raise SystemExit(f"log -n 50 printed {len(printed)} steps, not {shape.tip_steps}")
    index_refs = git(root, "for-each-ref", "--format=%(refname)", "refs/autogpt-tui/index")
    # Before the index (as on main): every `log` walks the whole history. One-off here:
    # the first log without an index does that walk and rebuilds the index.
    walks: list[float] = []
    for _ in range(3):
        for ref in index_refs.split():
            git(root, "update-ref", "-d", ref)
        (root / ".git" / "autogpt-tui" / "step-index.json").unlink(missing_ok=True)
        walks.append(_timed(log))
    with History.open(root, create=False) as history:
        history._steps.ensure_index()  # the ref back, from the last walk's rebuild
    base_s: list[float] = []
    log_s: list[float] = []
    import_s: list[float] = []
    for _ in range(2):  # warm-up
        _timed(python), _timed(log)
    for _ in range(shape.repeat):  # interleaved, so load on the machine hits both alike
        base_s.append(_timed(python, "python"))
        log_s.append(_timed(log, "log"))
        import_s.append(_timed(imports, "import"))
    inproc: list[float] = []
    for _ in range(shape.repeat):  # the part the index changes, without the process
        start = time.perf_counter()
        with History.open(root, create=False) as history:
            history.steps(50)
        inproc.append(time.perf_counter() - start)
    own, o10, o90 = _median_spread(inproc)
    base, b10, b90 = _median_spread(base_s)
    med, l10, l90 = _median_spread(log_s)
    imp, i10, i90 = _median_spread(import_s)
    walk = statistics.median(walks)
    cpu = {key: statistics.median(values) for key, values in _cpu.items()}
    over = med - base
    label = f"{shape.commits // 1000}k commits, {shape.tip_steps} steps at the tip"
    return [
        {
            "measure": f"log -n 50 over interpreter start-up ({label})",
            "value": f"{over:.3f} s over (log {med:.3f} s median, p10-p90 {l10:.3f}-{l90:.3f};"
            f" CPU {cpu['log']:.3f} s)",
            "baseline": f"python -c pass {base:.3f} s median, p10-p90 {b10:.3f}-{b90:.3f}"
            f" (CPU {cpu['python']:.3f} s)",
            "goal": f"<= {LOG_GOAL_S} s over",
            "pass": over <= LOG_GOAL_S,
        },
        {
            "measure": "(info) log -n 50 without the index: full walk, rebuilds it",
            "value": f"{walk:.3f} s median of 3",
            "baseline": f"with the index {med:.3f} s",
            "goal": "",
            "pass": True,
        },
        {
            "measure": "(info) in-process History.open + steps(50) + close",
            "value": f"{own * 1000:.1f} ms median, p10-p90 {o10 * 1000:.1f}-{o90 * 1000:.1f}",
            "baseline": "",
            "goal": "",
            "pass": True,
        },
        {
            "measure": "(info) import autogpt_tui.cli",
            "value": f"{imp:.3f} s median, p10-p90 {i10:.3f}-{i90:.3f} (CPU {cpu['import']:.3f} s)",
            "baseline": f"python -c pass {base:.3f} s",
            "goal": "",
            "pass": True,
        },
    ]


def git_bytes(root: Path) -> int:
    """The apparent size of every file under ``root/.git``."""
    total = 0
    for dirpath, _, filenames in os.walk(root / ".git"):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except FileNotFoundError:
                continue
    return total


def _grow(root: Path, shape: RealShape, *, legacy: bool) -> tuple[float, float]:
    """Take the new steps on ``root``; (bytes per step, maintain seconds median)."""
    before = git_bytes(root)
    maintain_s: list[float] = []
    with History.open(root) as history:
        for n in range(shape.prior_steps + 1, shape.prior_steps + shape.new_steps + 1):
            one_line_step(history, n)
            if n % MAINTAIN_EVERY == 0:
                start = time.perf_counter()
                if legacy:
                    history._repository.gc_auto()  # what maintain() did before
                else:
                    history.maintain()
                maintain_s.append(time.perf_counter() - start)
    return (git_bytes(root) - before) / shape.new_steps, statistics.median(maintain_s)


def measure_bytes(root: Path, shape: RealShape, scratch: Path) -> list[dict[str, Any]]:
    """Rows for `.git` bytes per step after ``prior_steps`` steps (copies of ``root``)."""
    figures: dict[bool, tuple[float, float]] = {}
    for legacy in (True, False):
        copy = scratch / ("legacy" if legacy else "now")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(root, copy, symlinks=True)
        figures[legacy] = _grow(copy, shape, legacy=legacy)
        shutil.rmtree(copy, ignore_errors=True)
    now, maintain = figures[False]
    old, old_maintain = figures[True]
    window = f"{shape.new_steps} steps after {shape.prior_steps // 1000}k"
    return [
        {
            "measure": f".git bytes per one-line step ({window})",
            "value": f"{now / 1024:.2f} KiB per step (apparent size of .git, amortised)",
            "baseline": f"gc --auto only (before): {old / 1024:.2f} KiB per step",
            "goal": f"<= {BYTES_GOAL // 1024} KiB",
            "pass": now <= BYTES_GOAL,
        },
        {
            "measure": "(info) History.maintain every 100 steps",
            "value": f"{maintain:.3f} s median ({maintain / MAINTAIN_EVERY * 1000:.1f} ms a step)",
            "baseline": f"gc --auto only {old_maintain:.3f} s",
            "goal": "",
            "pass": True,
        },
    ]
