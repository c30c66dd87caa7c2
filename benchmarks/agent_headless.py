"""Whole ``autogpt-tui run`` processes, measured from outside (for ``bench_agent``).

Two measures need the real process rather than the loop in-process:

- memory: a long ``run`` (``--max-steps N``) against the scripted server in its own
  process, its resident set (``VmRSS`` in ``/proc/PID/status``) read when the N-th
  ``commit`` event arrives on its ``--json`` output, for a few N;
- exit: a ``run`` that makes one edit and then finishes, timed from the moment its
  ``finished`` line is read to the moment the process has exited.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.scripted_llm import RecordedRequest, Reply, ScriptedLLM, ToolCall, Turn

RUN_TIMEOUT_S = 60.0
"""How long one short ``run`` may take in all."""
MEMORY_TIMEOUT_S = 1800.0
"""How long the long ``run`` of the memory measure may take in all."""


def rss_mib(pid: int) -> float:
    """The resident set of process ``pid`` in MiB (``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def run_line(root: Path, url: str, *, goal: str, max_steps: int) -> list[str]:
    """``python -m autogpt_tui run ... --json`` on ``root`` against the server at ``url``."""
    return [
        sys.executable,
        "-m",
        "autogpt_tui",
        "run",
        str(root),
        "--goal",
        goal,
        "--base-url",
        url,
        "--max-steps",
        str(max_steps),
        "--json",
    ]


def memory_run(
    root: Path, url: str, env: dict[str, str], *, steps: int, marks: list[int], cwd: Path
) -> dict[str, Any]:
    """Run ``steps`` steps in one ``autogpt-tui run``; its RSS in MiB at each of ``marks``.

    The server at ``url`` answers every request with a new ``write_file`` (the
    ``writes`` responder), so the run stops when its step budget runs out (exit 3).
    """
    command = run_line(root, url, goal=f"memory {time.time()}", max_steps=steps)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    assert process.stdout is not None
    samples: dict[int, float] = {}
    commits = 0
    outcome = ""
    started = time.monotonic()
    try:
        for raw in process.stdout:
            event = json.loads(raw)
            if event.get("type") == "commit":
                commits += 1
                if commits in marks:
                    samples[commits] = rss_mib(process.pid)
                    print(
                        f"  memory: {commits} steps, {samples[commits]:.0f} MiB "
                        f"({time.monotonic() - started:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
            elif event.get("type") == "finished":
                outcome = str(event.get("outcome"))
            if time.monotonic() - started > MEMORY_TIMEOUT_S:
                raise SystemExit(f"the memory run took over {MEMORY_TIMEOUT_S:.0f} s")
        process.wait(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if outcome != "budget" or commits != steps:
        assert process.stderr is not None
        raise SystemExit(
            f"the memory run ended {outcome or 'without a finished event'} after {commits} "
            f"of {steps} steps: {process.stderr.read().decode()[-1500:]}"
        )
    return {
        "steps": steps,
        "rss_mib": {str(k): v for k, v in sorted(samples.items())},
        "seconds": time.monotonic() - started,
    }


def edit_then_finish(request: RecordedRequest) -> Turn:
    """One edit, then finish: the answer to a request depends on whether a tool ran."""
    if any(m.get("role") == "tool" for m in request.messages):
        return Reply("Done.", tool_calls=[ToolCall("finish", {"summary": "one edit"})])
    content = f"edited at {time.time_ns()}\n"  # a real change on every run
    return Reply(
        "Editing.", tool_calls=[ToolCall("write_file", {"path": "edit.txt", "content": content})]
    )


def exit_once(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds from reading a run's ``finished`` line to its process having exited."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd
    )
    assert process.stdout is not None and process.stderr is not None
    finished_at: float | None = None
    commits = 0
    try:
        for raw in process.stdout:
            event = json.loads(raw)
            if event.get("type") == "commit":
                commits += 1
            elif event.get("type") == "finished":
                finished_at = time.monotonic()
                break
        process.wait(timeout=RUN_TIMEOUT_S)
        exited = time.monotonic()
        err = process.stderr.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0 or finished_at is None or commits < 1:
        raise SystemExit(f"the one-edit run exited {process.returncode}: {err[-1500:]}")
    return exited - finished_at


def measure_exit(root: Path, env: dict[str, str], reps: int, cwd: Path) -> dict[str, Any]:
    """``exit_once`` of a one-edit ``run`` on ``root``, ``reps`` times after a warm-up."""
    with ScriptedLLM() as server:
        server.responder = edit_then_finish
        command = run_line(root, server.base_url, goal="edit once", max_steps=5)
        exit_once(command, env, cwd)  # warm the page cache and the .pyc files
        samples = [exit_once(command, env, cwd) for _ in range(reps)]
        if server.errors:
            raise SystemExit(f"exit server errors: {server.errors}")
    print(f"  finished -> exit: median {statistics.median(samples):.3f} s", file=sys.stderr)
    return {"samples_s": samples}
