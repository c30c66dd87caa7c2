"""Run every benchmark, one after another, and print one PASS/FAIL table (``make bench``).

Each benchmark is its own module with ``main(argv)``, a ``--quick`` smoke mode and a JSON
results file under ``benchmarks/results/`` whose ``"rows"`` list holds one object per
measure::

    {"measure": "...", "value": "...", "baseline": "...", "goal": "...", "pass": true}

The benchmarks run in separate processes, one at a time, so none shares the two cores
with another and a crash in one still leaves the others' rows. A benchmark that ends
without writing its rows (a crash, a timeout, a tool it needs missing) is a FAIL row
saying so. The table also goes to ``benchmarks/results/summary.md`` (Markdown, for a
note) and ``summary.json``.

Run it by hand::

    make bench                                         # everything, full size
    .venv/bin/python -m benchmarks.run_all --quick     # smoke run of everything
    .venv/bin/python -m benchmarks.run_all --only history rewards
    .venv/bin/python -m benchmarks.run_all --keep /tmp/bench   # build workspaces once
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark module, the results files it writes, and what it accepts."""

    name: str
    module: str
    results: tuple[str, ...]
    keeps: bool = False
    """Whether it takes ``--keep DIR`` to build its workspaces once and reuse them."""
    timeout_s: float = 3600.0


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("history", "benchmarks.bench_history", ("history.json",), keeps=True),
    Benchmark("rewards", "benchmarks.bench_rewards", ("rewards.json",), keeps=True),
    Benchmark("agent", "benchmarks.bench_agent", ("agent.json",), keeps=True),
    Benchmark("tui", "benchmarks.bench_tui", ("tui.json",), keeps=True),
    Benchmark("tui_log", "benchmarks.bench_tui_log", ("tui_log.json",)),
    Benchmark("tui_session", "benchmarks.bench_tui_session", ("tui_session.json",), keeps=True),
    Benchmark("streams", "benchmarks.bench_streams", ("streams.json",)),
    Benchmark("watcher", "benchmarks.bench_watcher", ("watcher.json",)),
    Benchmark("search", "benchmarks.bench_search", ("search.json",)),
    Benchmark("mcp", "benchmarks.bench_mcp", ("mcp.json",)),
    Benchmark("worktree", "benchmarks.bench_worktree", ("worktree.json",)),
)


def run_one(bench: Benchmark, *, quick: bool, keep: Path | None) -> list[dict[str, Any]]:
    """Run ``bench`` in its own process; its rows, or one FAIL row saying why none came."""
    for name in bench.results:
        (RESULTS / name).unlink(missing_ok=True)
    argv = [sys.executable, "-m", bench.module]
    if quick:
        argv.append("--quick")
    if keep is not None and bench.keeps:
        argv += ["--keep", str(keep / bench.name)]
    print(f"\n=== {bench.name}: {' '.join(argv[1:])}", flush=True)
    started = time.monotonic()
    try:
        # Its output goes straight to ours: a long benchmark shows its progress.
        status = subprocess.run(argv, timeout=bench.timeout_s, check=False).returncode
    except subprocess.TimeoutExpired:
        status = None
    took = time.monotonic() - started
    rows: list[dict[str, Any]] = []
    for name in bench.results:
        rows += _read_rows(RESULTS / name)
    if not rows:
        why = (
            f"timed out after {bench.timeout_s:.0f} s"
            if status is None
            else f"exited with status {status} without writing its rows"
        )
        rows = [
            {"measure": f"{bench.name} benchmark", "value": why, "baseline": "", "goal": "runs"}
            | {"pass": False}
        ]
    print(f"=== {bench.name}: {len(rows)} rows in {took:.0f} s", flush=True)
    return [{"benchmark": bench.name, **row} for row in rows]


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """The ``rows`` of one results file, each with every field present; [] if none."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return []
    return [
        {
            "measure": str(row.get("measure", "?")),
            "value": str(row.get("value", "")),
            "baseline": str(row.get("baseline", "")),
            "goal": str(row.get("goal", "")),
            "pass": row.get("pass") is True,
        }
        for row in rows
        if isinstance(row, dict)
    ]


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a Markdown table (readable in a terminal too)."""
    lines = [
        "| benchmark | measure | value | baseline | goal | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            row["benchmark"],
            row["measure"],
            row["value"],
            row["baseline"],
            row["goal"],
            "PASS" if row["pass"] else "**FAIL**",
        ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks asked for; exit 0 only when every row passes."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_all")
    names = [b.name for b in BENCHMARKS]
    parser.add_argument("--quick", action="store_true", help="smoke run of every benchmark")
    parser.add_argument("--only", nargs="+", choices=names, default=names)
    parser.add_argument("--keep", type=Path, help="build workspaces under DIR once, reuse them")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONHASHSEED", "0")  # the same dict orders run to run
    rows: list[dict[str, Any]] = []
    for bench in BENCHMARKS:
        if bench.name in args.only:
            rows += run_one(bench, quick=args.quick, keep=args.keep)
    text = table(rows)
    failed = sum(not row["pass"] for row in rows)
    verdict = "PASS" if not failed else f"FAIL ({failed} of {len(rows)} rows)"
    print(f"\n{text}\n\nmake bench: {verdict}" + (" (quick run)" if args.quick else ""))
    (RESULTS / "summary.md").write_text(text + "\n")
    (RESULTS / "summary.json").write_text(json.dumps({"quick": args.quick, "rows": rows}, indent=2))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
