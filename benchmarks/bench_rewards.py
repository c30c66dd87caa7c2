"""Benchmark of ratings as rewards: loading the reward model and its cost per step.

Issue 11's row: loading the reward model at 30,000 ratings must take at most 0.3 s (an
incremental or cached index), and the policy's cost per step at most 5 ms. Each step the
agent calls ``RewardModel.refresh()`` (a new step was committed, the last one may have
been rated), ``choose_arm()`` and ``prompt_section()``; this script times the three
together over many steps.

The synthetic history is written with ``git fast-import``: 30,000 empty step commits in
sessions of 25, with trailers, a record note (goal, session, policy, a rejected proposal
now and then) and a rating note each. Then, on a copy:

- **cold load**: no cache file; the model reads everything from git and writes the
  cache. Baseline: the same read without writing the cache (``cache=False``), in the
  same run; the goal bounds what writing the cache adds.
- **warm load**: the cache is there and git did not move.
- **load after N new ratings**: N more steps were committed and rated since the cache
  was written (the next session starting after a long one).
- **per step**: real steps with ``History.commit_step`` and real ratings with
  ``History.rate`` (untimed) between the timed calls.

Run it by hand::

    .venv/bin/python -m benchmarks.bench_rewards            # 30,000 steps
    .venv/bin/python -m benchmarks.bench_rewards --quick    # 2,000 steps: a smoke run
    .venv/bin/python -m benchmarks.bench_rewards --keep /tmp/bench-rewards   # build once

Results go to ``benchmarks/results/rewards.json`` (git-ignored), with a ``rows`` table
that ``make bench`` prints; the exit status is 0 only when every row passes.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autogpt_tui.core.conversation import summarize_action
from autogpt_tui.core.history import RATINGS_REF, RECORDS_REF, History
from autogpt_tui.core.learning import RewardModel, export_dpo, export_sft
from autogpt_tui.core.records import StepCommit, StepRecord

RESULTS = Path(__file__).resolve().parent / "results" / "rewards.json"
"""Where the results are written as JSON (the folder is git-ignored)."""

STEP_LIMIT_MS = 5.0
"""The per-step budget of refresh + choose_arm + prompt_section (median)."""
LOAD_LIMIT_S = 0.3
"""The budget of loading the model with its cache (median)."""
COLD_WRITE_RATIO = 1.5
"""A cold load that writes the cache may take at most this much longer than one that
does not."""

ARMS = ("default", "careful", "fast")
ARM_QUALITY = {"default": 0.6, "careful": 0.8, "fast": 0.35}
"""Chance that a step of each arm is rated up in the synthetic history."""
SESSION_STEPS = 25
LAYOUT_VERSION = 1
"""Bumped when the generated history changes, so ``--keep`` rebuilds stale ones."""

_VERBS = ["Add", "Fix", "Refactor", "Speed up", "Document", "Test", "Remove", "Rename"]
_THINGS = [
    "the CSV export",
    "the login form",
    "the parser's error messages",
    "retry logic in the HTTP client",
    "the cache layer",
    "the CLI's --json flag",
    "pagination of the API",
    "the settings loader",
    "unicode handling in reports",
    "the scheduler",
]
_PACKAGES = ["api", "core", "cli", "db", "report", "auth", "util", "web"]
_MODULES = ["models", "views", "parser", "client", "cache", "config", "export", "tasks"]
_COMMANDS = [
    "pytest -q",
    "pytest -q tests/unit",
    "ruff check .",
    "mypy src",
    "make build",
    "pip install -e .",
    "git status",
    "python -m src.cli --help",
]
_COMMENTS_UP = ["nice", "exactly right", "good, small diff", "clean fix", "yes, keep tests green"]
_COMMENTS_DOWN = [
    "read the file before editing it",
    "don't rewrite the whole file",
    "wrong module",
    "tests were failing already",
    "never run pip install without asking",
    "too broad a search",
]


@dataclass(frozen=True)
class SynthStep:
    """One step of the synthetic history."""

    session: str
    step: int
    tool: str
    args: dict[str, Any]
    policy: str
    goal: str
    reward: int
    comment: str | None
    rejected: list[dict[str, Any]]


def random_action(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A plausible tool call."""
    path = f"src/{rng.choice(_PACKAGES)}/{rng.choice(_MODULES)}.py"
    tool = rng.choices(
        ["read_file", "edit_file", "write_file", "run_command", "search", "list_files"],
        weights=[30, 25, 8, 20, 10, 7],
    )[0]
    if tool == "run_command":
        return tool, {"command": rng.choice(_COMMANDS)}
    if tool == "search":
        return tool, {"pattern": rng.choice([*_MODULES, "TODO", "def main"]), "path": "src"}
    if tool == "list_files":
        return tool, {"path": f"src/{rng.choice(_PACKAGES)}"}
    if tool == "edit_file":
        return tool, {"path": path, "old_text": "x = 1", "new_text": "x = 2"}
    if tool == "write_file":
        return tool, {"path": path, "content": "print('hello')\n"}
    return tool, {"path": path}


def synth_steps(count: int, seed: int = 1) -> list[SynthStep]:
    """``count`` rated steps in sessions of ``SESSION_STEPS``."""
    rng = random.Random(seed)
    out: list[SynthStep] = []
    for n in range(count):
        session_no, step_no = divmod(n, SESSION_STEPS)
        srng = random.Random(seed * 100_003 + session_no)
        goal = f"{srng.choice(_VERBS)} {srng.choice(_THINGS)}"
        policy = rng.choice(ARMS)
        tool, args = random_action(rng)
        up = rng.random() < ARM_QUALITY[policy]
        comments = _COMMENTS_UP if up else _COMMENTS_DOWN
        comment = rng.choice(comments) if rng.random() < 0.3 else None
        rejected = []
        if rng.random() < 0.05:
            r_tool, r_args = random_action(rng)
            rejected.append(
                {
                    "tool": r_tool,
                    "arguments": r_args,
                    "thought": "Let me try this.",
                    "call_id": f"call_r{n}",
                    "reason": rng.choice(_COMMENTS_DOWN),
                }
            )
        out.append(
            SynthStep(
                session=f"sess{session_no:05d}",
                step=step_no + 1,
                tool=tool,
                args=args,
                policy=policy,
                goal=goal,
                reward=1 if up else -1,
                comment=comment,
                rejected=rejected,
            )
        )
    return out


def record_json(s: SynthStep) -> str:
    """The step record as the agent stores it (one-line JSON)."""
    record = StepRecord(
        thought=f"Next I {s.tool.replace('_', ' ')} to make progress on the goal.",
        tool=s.tool,
        arguments=s.args,
        tool_call_id=f"call_{s.session}_{s.step}",
        observation="ok\n" + "output line\n" * 8,
    )
    extra = {
        "session": s.session,
        "goal": s.goal,
        "policy": s.policy,
        "model": "bench-model",
        "ok": True,
        "cost_usd": 0.0,
        "rejected": s.rejected,
        "user_edits": [],
        "notes": [],
    }
    for key, value in extra.items():
        setattr(record, key, value)
    return record.model_dump_json()


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def build(root: Path, count: int) -> None:
    """A repository of ``count`` rated step commits, written with git fast-import."""
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    steps = synth_steps(count)
    start = int(time.time()) - count * 60
    agent = "autogpt-tui agent <agent@autogpt-tui.invalid>"
    user = "Bench User <bench@example.com>"
    out = io.BytesIO()
    out.write(b"commit refs/heads/main\nmark :1\n")
    out.write(f"committer {user} {start} +0000\n".encode())
    out.write(_data("Start the autogpt-tui workspace\n"))
    for n, s in enumerate(steps):
        mark = n + 2
        message = (
            f"{summarize_action(s.tool, s.args)}\n\n"
            f"Agent-Session: {s.session}\nAgent-Step: {s.step}\n"
            f"Agent-Tool: {s.tool}\nAgent-Policy: {s.policy}\n"
        )
        out.write(f"commit refs/heads/main\nmark :{mark}\n".encode())
        out.write(f"author {agent} {start + 60 * (n + 1)} +0000\n".encode())
        out.write(f"committer {user} {start + 60 * (n + 1)} +0000\n".encode())
        out.write(_data(message))
        out.write(f"from :{mark - 1}\n".encode())
    for ref, note in (
        (RECORDS_REF, record_json),
        (
            RATINGS_REF,
            lambda s: json.dumps(
                [
                    {
                        "value": s.reward,
                        "comment": s.comment,
                        "source": "user",
                        "at": "2025-01-01T00:00:00+00:00",
                    }
                ]
            ),
        ),
    ):
        out.write(f"commit {ref}\ncommitter {user} {start + 60 * (count + 1)} +0000\n".encode())
        out.write(_data("autogpt-tui: notes\n"))
        for n, s in enumerate(steps):
            out.write(f"N inline :{n + 2}\n".encode())
            out.write(_data(note(s)))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=out.getvalue(), check=True)
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], cwd=root, check=True)
    subprocess.run(["git", "gc", "--quiet"], cwd=root, check=True)
    (root / ".git" / "bench-layout").write_text(f"{LAYOUT_VERSION} {count}\n")


def prepare(base: Path, count: int, keep: bool) -> tuple[Path, float]:
    """The built repository (reused with --keep when current) and its build time."""
    pristine = base / "pristine"
    stamp = pristine / ".git" / "bench-layout"
    built = 0.0
    if not (
        keep and stamp.exists() and stamp.read_text().split() == [str(LAYOUT_VERSION), str(count)]
    ):
        shutil.rmtree(pristine, ignore_errors=True)
        start = time.perf_counter()
        build(pristine, count)
        built = time.perf_counter() - start
    work = base / "work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine, work, symlinks=True)
    return work, built


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call of ``fn`` took, and what it returned."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def summary(samples: list[float]) -> dict[str, float]:
    """Median, p10, p90, min and max in milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[round(q * (len(ordered) - 1))] * 1000

    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p10_ms": at(0.1),
        "p90_ms": at(0.9),
        "min_ms": ordered[0] * 1000,
        "max_ms": ordered[-1] * 1000,
        "n": len(ordered),
    }


def spread(row: dict[str, float], unit: str = "ms") -> str:
    """ "0.21 s median, p10-p90 0.19-0.25" from a :func:`summary`."""
    scale, fmt = (1000.0, "{:.3f}") if unit == "s" else (1.0, "{:.2f}")
    med, lo, hi = (fmt.format(row[k] / scale) for k in ("median_ms", "p10_ms", "p90_ms"))
    return f"{med} {unit} median, p10-p90 {lo}-{hi} (n={row['n']})"


def cache_file(work: Path) -> Path:
    """The reward model's cache file in the benchmark repository."""
    return work / ".git" / "autogpt-tui" / "reward-model.json"


def make_steps(
    history: History, rng: random.Random, count: int, first: int, goal: str
) -> list[StepCommit]:
    """``count`` agent steps committed after the history, each rated as the next comes."""
    made: list[StepCommit] = []
    for n in range(first, first + count):
        tool, action = random_action(rng)
        record = StepRecord(thought="bench", tool=tool, arguments=action, observation="ok")
        for key, value in {"goal": goal, "session": "bench", "policy": "careful"}.items():
            setattr(record, key, value)
        if made and rng.random() < 0.7:
            history.rate(made[-1].sha, rng.choice((-1, 1)), rng.choice(_COMMENTS_DOWN))
        made.append(
            history.commit_step(
                session="bench",
                step=n,
                tool=tool,
                policy="careful",
                summary=summarize_action(tool, action),
                record=record,
                paths=[],
            )
        )
    return made


def load(history: History, cache: bool = True) -> RewardModel:
    """The model as the agent loads it (seeded arm draws)."""
    return RewardModel.load(history, list(ARMS), rng=random.Random(7), cache=cache)


def run(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    """Build (or reuse) the history; time the loads, then the per-step calls."""
    work, built = prepare(base, args.steps, args.keep is not None)
    rng = random.Random(42)
    goal = "Fix the parser's error messages"
    cache = cache_file(work)
    with History.open(work) as history:
        # Cold: no cache. The baseline reads the same without writing one.
        baseline: list[float] = []
        cold: list[float] = []
        for _ in range(args.load_runs):
            baseline.append(timed(lambda: load(history, cache=False))[0])
            cache.unlink(missing_ok=True)
            cold.append(timed(lambda: load(history))[0])
        assert cache.exists(), "the cold load wrote no cache"
        warm: list[float] = []
        for _ in range(args.load_runs * 2):
            seconds, model = timed(lambda: load(history))
            warm.append(seconds)
        assert isinstance(model, RewardModel)
        assert len(model) == args.steps, (len(model), args.steps)
        reference = load(history, cache=False)
        assert model.arm_stats() == reference.arm_stats(), "the cache changed the arms"
        assert model.lessons(goal, []) == reference.lessons(goal, []), "... the lessons"

        # N new steps, rated, since the cache was written.
        make_steps(history, rng, args.new_ratings, 1, goal)
        behind: list[float] = []
        for _ in range(args.load_runs * 2):
            seconds, model = timed(lambda: load(history))
            behind.append(seconds)
        assert len(model) == args.steps + args.new_ratings
        reference = load(history, cache=False)
        assert model.arm_stats() == reference.arm_stats(), "the cache missed ratings"

        unchanged = [timed(lambda: model.refresh(history))[0] for _ in range(200)]

        per_step: list[float] = []
        refreshes: list[float] = []
        chooses: list[float] = []
        prompts: list[float] = []
        recent: list[str] = []
        first = args.new_ratings + 1
        for n in range(first, first + args.iterations):
            # The agent's step (untimed): the user rates the last one, the next is made.
            last = make_steps(history, rng, 1, n, goal)[0]
            if rng.random() < 0.7:
                history.rate(last.sha, rng.choice((-1, 1)), rng.choice(_COMMENTS_UP))
            recent = [*recent, last.summary][-5:]
            # What the next step costs the policy (timed).
            t0 = time.perf_counter()
            model.refresh(history)
            t1 = time.perf_counter()
            arm = model.choose_arm()
            t2 = time.perf_counter()
            section = model.prompt_section(goal, recent)
            t3 = time.perf_counter()
            per_step.append(t3 - t0)
            refreshes.append(t1 - t0)
            chooses.append(t2 - t1)
            prompts.append(t3 - t2)
            assert arm in ARMS and section
        fresh = load(history, cache=False)
        assert model.arm_stats() == fresh.arm_stats(), "refresh drifted from git"
        exports: dict[str, float] = {}
        if args.exports:
            for name, writer in (("export_sft", export_sft), ("export_dpo", export_dpo)):
                start = time.perf_counter()
                writer(history, io.StringIO())
                exports[name] = time.perf_counter() - start
    stats = {s.name: s.to_json() for s in model.arm_stats()}
    results: dict[str, Any] = {
        "steps": args.steps,
        "iterations": args.iterations,
        "new_ratings": args.new_ratings,
        "build_s": built,
        "cache_bytes": cache.stat().st_size if cache.exists() else 0,
        "load_baseline": summary(baseline),
        "load_cold": summary(cold),
        "load_warm": summary(warm),
        "load_behind": summary(behind),
        "refresh_unchanged": summary(unchanged),
        "per_step": summary(per_step),
        "refresh": summary(refreshes),
        "choose_arm": summary(chooses),
        "prompt_section": summary(prompts),
        "exports_s": exports,
        "arms": stats,
        "example_section": section,
        "machine": platform.platform(),
        "python": sys.version.split()[0],
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    results["rows"] = rows(results)
    return results


def rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The PASS/FAIL table of the benchmark protocol."""
    size = f"{r['steps']:,} ratings"
    base, cold = r["load_baseline"], r["load_cold"]
    ratio = cold["median_ms"] / base["median_ms"] if base["median_ms"] else 0.0
    step = r["per_step"]
    return [
        {
            "measure": f"reward model cold load, no cache ({size}; writes the cache)",
            "value": spread(cold, "s") + f"; {ratio:.2f}x the baseline",
            "baseline": "the same load without writing the cache: " + spread(base, "s"),
            "goal": f"<= {COLD_WRITE_RATIO}x",
            "pass": ratio <= COLD_WRITE_RATIO,
        },
        {
            "measure": f"reward model load, cache present, refs unchanged ({size})",
            "value": spread(r["load_warm"], "s"),
            "baseline": "cold load " + spread(cold, "s"),
            "goal": f"<= {LOAD_LIMIT_S} s",
            "pass": r["load_warm"]["median_ms"] <= LOAD_LIMIT_S * 1000,
        },
        {
            "measure": (
                f"reward model load, cache {r['new_ratings']} steps and ratings behind ({size})"
            ),
            "value": spread(r["load_behind"], "s"),
            "baseline": "cold load " + spread(cold, "s"),
            "goal": f"<= {LOAD_LIMIT_S} s",
            "pass": r["load_behind"]["median_ms"] <= LOAD_LIMIT_S * 1000,
        },
        {
            "measure": f"per step: refresh + choose_arm + prompt_section ({size})",
            "value": spread(step) + f", p90 {step['p90_ms']:.2f} ms",
            "baseline": (
                f"refresh {r['refresh']['median_ms']:.2f} ms, "
                f"prompt_section {r['prompt_section']['median_ms']:.2f} ms (medians)"
            ),
            "goal": f"<= {STEP_LIMIT_MS:g} ms median",
            "pass": step["median_ms"] <= STEP_LIMIT_MS,
        },
    ]


def report(results: dict[str, Any]) -> None:
    """Print the figures and the PASS/FAIL rows."""
    print(f"history: {results['steps']:,} rated steps (build {results['build_s']:.1f} s)")
    print(f"cache file: {results['cache_bytes'] / 2**20:.1f} MiB")
    print(f"refresh, nothing changed: median {results['refresh_unchanged']['median_ms']:.3f} ms")
    print(f"per step over {results['iterations']} steps (ms):")
    for key in ("refresh", "choose_arm", "prompt_section", "per_step"):
        row = results[key]
        label = "refresh+choose_arm+prompt_section" if key == "per_step" else key
        print(
            f"  {label:<34} median {row['median_ms']:7.2f}  p90 {row['p90_ms']:7.2f}"
            f"  max {row['max_ms']:7.2f}"
        )
    for name, seconds in results["exports_s"].items():
        print(f"{name}: {seconds:.1f} s")
    print("\nexample prompt section:\n" + results["example_section"])
    for row in results["rows"]:
        verdict = "PASS" if row["pass"] else "FAIL"
        print(f"{verdict}  {row['measure']}: {row['value']} (goal {row['goal']})")
        if row["baseline"]:
            print(f"      baseline: {row['baseline']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=30_000, help="rated steps in the history")
    parser.add_argument("--iterations", type=int, default=200, help="timed steps")
    parser.add_argument(
        "--new-ratings", type=int, default=100, help="steps and ratings made past the cache"
    )
    parser.add_argument("--load-runs", type=int, default=3, help="cold loads timed")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 steps")
    parser.add_argument("--keep", type=Path, help="build in this folder and reuse it")
    parser.add_argument("--exports", action="store_true", help="also time the exports")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.iterations, args.new_ratings, args.load_runs = 2_000, 30, 20, 2
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 when every row passes."""
    args = parse_args(argv)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        results = run(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-rewards-") as tmp:
            results = run(args, Path(tmp))
    report(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(row["pass"] for row in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
