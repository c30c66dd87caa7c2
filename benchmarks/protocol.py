"""The end of every benchmark's run: its verdicts printed, its results file written.

The rows follow the protocol ``run_all`` reads (measure, value, baseline, goal, pass).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def print_verdicts(rows: Iterable[dict[str, Any]]) -> None:
    """One PASS/FAIL line per row, with its goal and baseline under it."""
    for row in rows:
        verdict = "PASS" if row["pass"] else "FAIL"
        print(f"{verdict}  {row['measure']}: {row['value']}")
        print(f"      goal {row['goal']}; baseline {row['baseline'] or '-'}")


def write_results(path: Path, report: dict[str, Any]) -> None:
    """Write ``report`` as the benchmark's JSON results file, and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"Results written to {path}")
