"""Benchmark of ratings as rewards: what the policy costs the agent per step.

The requirement: on a history of 10,000 rated steps, building the prompt's lessons and
choosing an arm adds at most 20 ms to a step. Each step the agent calls
``RewardModel.refresh()`` (a new step was committed, the last one may have been rated),
``choose_arm()`` and ``prompt_section()``; this script times the three together over
many steps, after a one-time ``RewardModel.load()``.

The synthetic history is written with ``git fast-import`` in a second or two: 10,000
empty step commits in sessions of 25, with trailers, a record note (goal, session,
policy, a rejected proposal now and then) and a rating note each. The timed loop then
makes real steps with ``History.commit_step`` and real ratings with ``History.rate``
(untimed) between the timed calls.

Run it by hand::

    .venv/bin/python -m benchmarks.bench_rewards            # 10,000 steps, 200 timed steps
    .venv/bin/python -m benchmarks.bench_rewards --quick    # 2,000 steps, 50 timed steps
    .venv/bin/python -m benchmarks.bench_rewards --keep /tmp/bench-rewards   # build once

Results also go to ``benchmarks/results/rewards.json`` (git-ignored).
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
from autogpt_tui.core.records import StepRecord

RESULTS = Path(__file__).resolve().parent / "results" / "rewards.json"
"""Where the results are written as JSON (the folder is git-ignored)."""

LIMIT_MS = 20.0
"""The per-step budget of refresh + choose_arm + prompt_section."""

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
    """Median, p90, min and max in milliseconds."""
    ordered = sorted(samples)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p90_ms": ordered[int(0.9 * (len(ordered) - 1))] * 1000,
        "min_ms": ordered[0] * 1000,
        "max_ms": ordered[-1] * 1000,
        "n": len(ordered),
    }


def run(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    """Build (or reuse) the history, time load, then the per-step calls."""
    work, built = prepare(base, args.steps, args.keep is not None)
    rng = random.Random(42)
    loads: list[float] = []
    with History.open(work) as history:
        for _ in range(3):
            # Seeded arm draws: two runs on the same history choose the same arms.
            seconds, model = timed(
                lambda: RewardModel.load(history, list(ARMS), rng=random.Random(7))
            )
            loads.append(seconds)
        assert isinstance(model, RewardModel)
        assert len(model) == args.steps, (len(model), args.steps)

        unchanged = [timed(lambda: model.refresh(history))[0] for _ in range(200)]

        per_step: list[float] = []
        refreshes: list[float] = []
        chooses: list[float] = []
        prompts: list[float] = []
        goal = "Fix the parser's error messages"
        recent: list[str] = []
        last = None
        for n in range(1, args.iterations + 1):
            # The agent's step (untimed): commit it, and the user rates the last one.
            tool, action = random_action(rng)
            record = StepRecord(thought="bench", tool=tool, arguments=action, observation="ok")
            for key, value in {"goal": goal, "session": "bench", "policy": "careful"}.items():
                setattr(record, key, value)
            if last is not None and rng.random() < 0.7:
                history.rate(last.sha, rng.choice((-1, 1)), rng.choice(_COMMENTS_DOWN))
            last = history.commit_step(
                session="bench",
                step=n,
                tool=tool,
                policy="careful",
                summary=summarize_action(tool, action),
                record=record,
                paths=[],
            )
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
        exports: dict[str, float] = {}
        if not args.no_export:
            for name, writer in (("export_sft", export_sft), ("export_dpo", export_dpo)):
                start = time.perf_counter()
                writer(history, io.StringIO())
                exports[name] = time.perf_counter() - start
    stats = {s.name: s.to_json() for s in model.arm_stats()}
    return {
        "steps": args.steps,
        "iterations": args.iterations,
        "build_s": built,
        "load_s": {"median": statistics.median(loads), "runs": loads},
        "refresh_unchanged": summary(unchanged),
        "per_step": summary(per_step),
        "refresh": summary(refreshes),
        "choose_arm": summary(chooses),
        "prompt_section": summary(prompts),
        "exports_s": exports,
        "arms": stats,
        "example_section": section,
        "limit_ms": LIMIT_MS,
        "passed": statistics.median(per_step) * 1000 <= LIMIT_MS,
        "machine": platform.platform(),
        "python": sys.version.split()[0],
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def report(results: dict[str, Any]) -> None:
    """Print the figures."""
    print(f"history: {results['steps']:,} rated steps (build {results['build_s']:.1f} s)")
    print(f"RewardModel.load: median {results['load_s']['median'] * 1000:.0f} ms (one-time)")
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
    verdict = "PASS" if results["passed"] else "FAIL"
    print(
        f"{verdict}: per-step median {results['per_step']['median_ms']:.2f} ms "
        f"(limit {results['limit_ms']:.0f} ms)"
    )
    print("\nexample prompt section:\n" + results["example_section"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=10_000, help="rated steps in the history")
    parser.add_argument("--iterations", type=int, default=200, help="timed steps")
    parser.add_argument("--quick", action="store_true", help="2,000 steps, 50 timed steps")
    parser.add_argument("--keep", type=Path, help="build in this folder and reuse it")
    parser.add_argument("--no-export", action="store_true", help="skip timing the exports")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.iterations = 2_000, 50
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 when the per-step median is within the limit."""
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
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
