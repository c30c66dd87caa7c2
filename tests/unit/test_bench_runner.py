"""The ``make bench`` runner: it reads each benchmark's rows and never hides a missing one."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from benchmarks import run_all


def _fake_bench(package: Path, name: str, body: str) -> str:
    """A benchmark module in a temp package on sys.path; its module name."""
    (package / "__init__.py").touch()
    (package / f"{name}.py").write_text(textwrap.dedent(body))
    return f"{package.name}.{name}"


@pytest.fixture
def bench_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Results go to a temp folder; fake benchmarks import from tmp_path in the child."""
    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(run_all, "RESULTS", results)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    (tmp_path / "fakebench").mkdir()
    return tmp_path


def test_rows_are_read_with_their_verdicts(bench_env: Path) -> None:
    results = bench_env / "results"
    module = _fake_bench(
        bench_env / "fakebench",
        "good",
        f"""
        import json, sys
        quick = "--quick" in sys.argv
        rows = [
            {{"measure": "a", "value": "1 s", "baseline": "b 2 s", "goal": "<= 2x", "pass": True}},
            {{"measure": "b", "value": "9 s", "baseline": "", "goal": "<= 1 s", "pass": quick}},
        ]
        open({str(results / "good.json")!r}, "w").write(json.dumps({{"rows": rows}}))
        """,
    )
    bench = run_all.Benchmark("good", module, ("good.json",))
    rows = run_all.run_one(bench, quick=True, keep=None)
    assert [(r["measure"], r["pass"]) for r in rows] == [("a", True), ("b", True)]
    rows = run_all.run_one(bench, quick=False, keep=None)
    assert [(r["measure"], r["pass"]) for r in rows] == [("a", True), ("b", False)]
    assert "**FAIL**" in run_all.table(rows)


def test_a_benchmark_that_writes_no_rows_is_a_failure(bench_env: Path) -> None:
    results = bench_env / "results"
    # A stale file from an earlier run must not stand in for this run's rows.
    stale = {"rows": [{"measure": "old", "value": "", "baseline": "", "goal": "", "pass": True}]}
    (results / "crash.json").write_text(json.dumps(stale))
    module = _fake_bench(bench_env / "fakebench", "crash", "raise SystemExit(3)\n")
    rows = run_all.run_one(
        run_all.Benchmark("crash", module, ("crash.json",)), quick=False, keep=None
    )
    assert len(rows) == 1
    assert rows[0]["pass"] is False
    assert "status 3" in rows[0]["value"]


def test_malformed_results_give_no_rows(tmp_path: Path) -> None:
    for text in ("not json", "[]", '{"rows": "x"}', '{"rows": [1, 2]}'):
        path = tmp_path / "r.json"
        path.write_text(text)
        assert run_all._read_rows(path) == []
    assert run_all._read_rows(tmp_path / "missing.json") == []


def test_every_registered_benchmark_exists() -> None:
    project = Path(run_all.__file__).parent.parent
    missing = [
        b.module
        for b in run_all.BENCHMARKS
        if not (project / (b.module.replace(".", "/") + ".py")).is_file()
    ]
    assert missing == []
