"""Benchmark of the search tool: ripgrep against the Python fallback on a big tree.

The tree is a git repository of ``--files`` Python-like files (60 lines each, 20,000 by
default) plus as many git-ignored ones (a ``node_modules``), which neither search reads.
For each pattern the whole tool call (``ToolRunner.execute("search", …)``: listing the
files, choosing them, matching, reading the matches back, the text) is timed, with rg
and with Python's ``re``; every figure is the median over ``--runs`` runs (5 by
default), and both must give the same text. Results also go to
``benchmarks/results/search.json`` (git-ignored). Run it by hand::

    .venv/bin/python -m benchmarks.bench_search            # 20,000 files, ~1 minute
    .venv/bin/python -m benchmarks.bench_search --quick    # 2,000 files, smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.search import ripgrep_binary
from autogpt_tui.core.tools import SearchArgs, ToolRunner
from benchmarks.protocol import print_verdicts, write_results

RESULTS = Path(__file__).resolve().parent / "results" / "search.json"
"""Where the results are written as JSON (the folder is git-ignored)."""

PATTERNS = (
    ("a rare literal", {"pattern": "needle_in_haystack"}),
    ("a common word, capped at 200", {"pattern": "return"}),
    ("a regex", {"pattern": r"def \w+_7\d\("}),
    ("a glob and context", {"pattern": "needle_in_haystack", "glob": "*.py", "context": 2}),
)
"""What is searched for: (label, the tool's arguments)."""


def build_tree(root: Path, files: int) -> None:
    """``files`` tracked files in 100 folders and as many ignored ones, committed."""
    for n in range(files):
        folder = root / "src" / f"pkg_{n % 100:02}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"def function_{n}_{k}(x):\n    return x + {k}\n" for k in range(30)]
        if n % 997 == 0:
            lines.append("needle_in_haystack = True\n")
        (folder / f"mod_{n}.py").write_text("".join(lines))
        ignored = root / "node_modules" / f"dep_{n % 100:02}"
        ignored.mkdir(parents=True, exist_ok=True)
        (ignored / f"index_{n}.js").write_text("needle_in_haystack; return 1;\n" * 30)
    (root / ".gitignore").write_text("node_modules/\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tree")


def git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(
        ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", *args],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )


def timed(runner: ToolRunner, arguments: dict[str, Any], runs: int) -> tuple[float, str]:
    """The median milliseconds of ``runs`` searches, and the text they gave."""
    args = SearchArgs.model_validate(arguments)
    times: list[float] = []
    text = ""
    for _ in range(runs):
        started = time.perf_counter()
        result = runner.execute("search", args)
        times.append((time.perf_counter() - started) * 1000)
        text = result.output
    return statistics.median(times), text


def main(argv: Sequence[str] | None = None) -> int:
    """Build the tree, time both searches per pattern, print and write the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2,000 files, 3 runs")
    options = parser.parse_args(argv)
    files, runs = (2_000, 3) if options.quick else (options.files, options.runs)
    rg = ripgrep_binary()
    if rg is None:
        print("rg not found: install the ripgrep package (it is a dependency).")
        return 1
    folder = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        root = folder / "tree"
        root.mkdir()
        print(f"Building {files:,} tracked files (and {files:,} ignored) …", flush=True)
        build_tree(root, files)
        commands = CommandRunner(root, sandbox=False)
        with_rg = ToolRunner(root, commands, ripgrep=rg)
        python = ToolRunner(root, commands, ripgrep=None)
        rows: list[dict[str, Any]] = []
        for label, arguments in PATTERNS:
            rg_ms, rg_text = timed(with_rg, arguments, runs)
            py_ms, py_text = timed(python, arguments, runs)
            same = rg_text == py_text
            rows.append(
                {
                    "measure": f"search {label}, {files:,} files: rg (median of {runs})",
                    "value": f"{rg_ms:.0f} ms" + ("" if same else " (texts differ!)"),
                    "baseline": f"Python re {py_ms:.0f} ms",
                    "goal": "same text, no slower than Python",
                    "pass": same and rg_ms <= py_ms * 1.1,
                    "rg_ms": round(rg_ms, 1),
                    "python_ms": round(py_ms, 1),
                }
            )
        print_verdicts(rows)
        write_results(
            RESULTS,
            {
                "benchmark": "search",
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cpus",
                "files": files,
                "runs": runs,
                "rows": rows,
            },
        )
        return 0 if all(row["pass"] for row in rows) else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
