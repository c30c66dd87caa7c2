"""Benchmark of the MCP client (``autogpt_tui/core/mcp/``): what its servers cost a session.

Measured with the project's own client (``McpHub``, ``McpToolbox``) and the test server
``tests/support/mcp_server.py`` (over stdio, and over streamable HTTP with ``--http``):

* **start**: ``McpHub.start()`` of 1 and of 3 stdio servers (processes started, the
  handshake, their tools listed), median of ``--starts`` runs, beside the cost of the
  server's own Python start (a Python importing ``mcp.server.mcpserver``), which no
  client can avoid; and ``close()``, after which no server process may be left;
* **one call**: ``McpToolbox.execute("mcp__tools__lookup", …)`` as the loop makes it
  (the workspace's state taken before and compared after, for the step's commit),
  median and p90 of ``--calls`` calls, over stdio and HTTP, beside a built-in
  ``read_file`` of a small file through the same toolbox; the hub's call alone
  (``McpHub.call``) and that git work alone (``WorkspaceState``, ``changes_since``) are
  given too, to tell the protocol from the git work around it;
* **the loop**: a whole step (model request to the scripted server, approval, the call,
  commit) in ``auto`` mode, median of ``--steps`` steps, calling ``mcp__tools__lookup``
  against the same loop calling ``read_file`` (``bench_agent``'s ``LoopRunner``).

Results also go to ``benchmarks/results/mcp.json`` (git-ignored). Run it by hand::

    .venv/bin/python -m benchmarks.bench_mcp            # ~1 minute
    .venv/bin/python -m benchmarks.bench_mcp --quick    # smoke run
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from autogpt_tui.core.agent import Budget
from autogpt_tui.core.mcp.config import McpServerConfig
from autogpt_tui.core.mcp.effects import WorkspaceState, changes_since
from autogpt_tui.core.mcp.hub import McpHub
from autogpt_tui.core.mcp.toolbox import McpArguments, McpToolbox
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.session import open_session
from autogpt_tui.core.settings import load_settings
from autogpt_tui.core.tool_calls import TOOLS, ReadFileArgs
from autogpt_tui.core.tools import ToolRunner
from benchmarks.bench_agent import LoopRunner, StepClock, no_user_config
from benchmarks.bench_history import git, summarise
from benchmarks.protocol import print_verdicts, write_results
from tests.support.mcp_helpers import SERVER_SCRIPT, process_alive, server_config
from tests.support.scripted_llm import RecordedRequest, Reply, ScriptedLLM, ToolCall, Turn

RESULTS = Path(__file__).resolve().parent / "results" / "mcp.json"
"""Where the results are written as JSON (the folder is git-ignored)."""

START_ONE_LIMIT_MS = 1000.0
"""Starting one stdio server and listing its tools: under a second."""
START_THREE_LIMIT_MS = 1500.0
"""Three at once (they start in parallel): under 1.5 s on two shared cores."""
CLIENT_SHARE_LIMIT_MS = 250.0
"""What the client adds to a server's own start (handshake, listing, threads): under 250 ms."""
CLOSE_LIMIT_MS = 500.0
"""Closing the session's servers: under half a second, no process left."""
CALL_STDIO_LIMIT_MS = 10.0
"""One stdio tool call through the toolbox: under 10 ms median."""
CALL_HTTP_LIMIT_MS = 20.0
"""One streamable-HTTP call (a POST and its answer on loopback): under 20 ms median."""
STEP_EXTRA_LIMIT_MS = 15.0
"""A loop step calling an MCP read tool: at most 15 ms more than one calling read_file."""
FILES = 20
"""Small files in each workspace (the loop's read_file steps read them in turn)."""
HTTP_READY_S = 20.0
"""How long the HTTP test server may take to accept connections."""


def workspace(base: Path, name: str) -> Path:
    """A small committed git repository with small files to read."""
    root = base / name
    (root / "src").mkdir(parents=True)
    (root / "src" / "small.txt").write_text("".join(f"line {n}\n" for n in range(40)))
    for k in range(FILES):
        (root / "src" / f"small{k}.txt").write_text(
            "".join(f"line {n} of {k}\n" for n in range(40))
        )
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


def children() -> set[int]:
    """The ids of this process's live child processes (read from /proc)."""
    found: set[int] = set()
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == me and process_alive(int(entry.name)):
            found.add(int(entry.name))
    return found


def timed_ms(action: Callable[[], Any]) -> float:
    """Milliseconds ``action`` takes."""
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


# ------------------------------------------------------------------ start and close


def server_python_ms() -> float:
    """The server's own start: a Python that imports the SDK's server, then leaves at once
    (``os._exit``: a start does not include the interpreter's tear-down, which costs a
    few hundred ms and is what closing a server waits for)."""
    command = [sys.executable, "-c", "import os, mcp.server.mcpserver; os._exit(0)"]
    return timed_ms(lambda: subprocess.run(command, check=True))


def start_and_close(root: Path, count: int, runs: int) -> dict[str, Any]:
    """Start ``count`` stdio servers ``runs`` times: start, close, and processes left."""
    starts: list[float] = []
    closes: list[float] = []
    left: list[int] = []
    failures: list[str] = []
    pythons: list[float] = []
    tools = 0
    for _ in range(runs):
        # Taken in turn with the starts, so that the machine's load touches both alike.
        pythons.append(server_python_ms())
        before = children()
        configs = [server_config(f"s{n}") for n in range(count)]
        hub = McpHub(configs, root, taken=tuple(TOOLS))
        try:
            started = time.perf_counter()
            failures += hub.start()
            starts.append((time.perf_counter() - started) * 1000)
            tools = len(hub.tools)
            servers = children() - before
        finally:
            closes.append(timed_ms(hub.close))
        left += [pid for pid in servers if process_alive(pid)]
        if len(servers) != count:
            failures.append(f"{len(servers)} server processes seen, not {count}")
    return {
        # The first start of the process also imports the SDK in the client: kept apart.
        "first_start_ms": starts[0],
        "start": summarise(starts[1:] or starts),
        "close": summarise(closes),
        "server_python": summarise(pythons),
        "tools": tools,
        "left": left,
        "failures": failures,
    }


# ------------------------------------------------------------------ one call


@contextmanager
def http_server(base: Path) -> Iterator[McpServerConfig]:
    """The test server over streamable HTTP on a free loopback port, as a server config."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (base / "http-server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT), "--http", str(port)],
        cwd=base,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + HTTP_READY_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    said = (base / "http-server.log").read_text()[-2000:]
                    raise SystemExit(f"the HTTP test server did not start: {said}") from None
                time.sleep(0.05)
        yield McpServerConfig(name="tools", url=f"http://127.0.0.1:{port}/mcp", timeout=10.0)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def call_times(root: Path, config: McpServerConfig, calls: int) -> dict[str, Any]:
    """``calls`` lookups through the toolbox and through the hub alone, and as many
    built-in read_file calls through the same toolbox (5 of each first, not counted)."""
    runner = ToolRunner(root, CommandRunner(root, sandbox=False))
    hub = McpHub([config], root, taken=tuple(TOOLS))
    try:
        failures = hub.start()
        if failures:
            raise SystemExit(f"the MCP server did not start: {failures}")
        toolbox = McpToolbox(runner, hub)
        lookup = McpArguments.model_validate({"term": "latency"})
        read = ReadFileArgs.model_validate({"path": "src/small.txt"})

        def one(kind: str) -> float:
            started = time.perf_counter()
            if kind == "toolbox":
                result = toolbox.execute("mcp__tools__lookup", lookup)
                ok, text = result.ok, result.output
            elif kind == "snapshot":
                # What the toolbox adds around the hub's call: the workspace's state
                # before and after (git status, twice), for the step's commit.
                changes_since(WorkspaceState(root, keep=True), None)
                ok, text = True, ""
            elif kind == "hub":
                ok, text = hub.call("mcp__tools__lookup", {"term": "latency"})
            else:
                result = toolbox.execute("read_file", read)
                ok, text = result.ok, result.output
            elapsed = (time.perf_counter() - started) * 1000
            if not ok:
                raise SystemExit(f"{kind} call failed: {text[:300]}")
            return elapsed

        samples: dict[str, list[float]] = {
            "toolbox": [],
            "hub": [],
            "snapshot": [],
            "read_file": [],
        }
        for kind in samples:
            for _ in range(5):
                one(kind)
        # Interleaved, so that a burst of load elsewhere touches all three alike.
        for _ in range(calls):
            for kind, kept in samples.items():
                kept.append(one(kind))
        return {kind: summarise(kept) for kind, kept in samples.items()}
    finally:
        hub.close()


# ------------------------------------------------------------------ the loop


def calling(
    tool: str, arguments: Callable[[int], dict[str, Any]]
) -> Callable[[RecordedRequest], Turn]:
    """A responder answering request ``n`` with a call to ``tool`` with ``arguments(n)``
    (they change, or the loop's guard stops a run that repeats itself)."""
    counter = itertools.count()

    def respond(_request: RecordedRequest) -> Turn:
        n = next(counter)
        return Reply(f"Calling {tool}.", tool_calls=[ToolCall(tool, arguments(n))])

    return respond


def open_loop(name: str, root: Path, url: str, servers: list[McpServerConfig]) -> LoopRunner:
    """A session as ``autogpt-tui run`` opens it in auto mode, with ``servers`` declared
    (LoopRunner.open, with the ``[mcp]`` section added)."""
    settings = load_settings(
        root,
        overrides={
            "model": {"base_url": url, "api_key": "k"},
            "agent": {"mode": "auto"},
            "mcp": {"servers": [s.model_dump(exclude_defaults=True) for s in servers]},
        },
    )
    clock = StepClock(name)
    session = open_session(
        root, settings, goal="bench mcp", mode="auto", emit=clock, budget=Budget()
    )
    return LoopRunner(name, root, session, clock)


def loop_steps(base: Path, steps: int) -> dict[str, Any]:
    """Median step with an MCP read tool against one with read_file, in turns of 10."""
    cases = {
        "mcp": ("mcp__tools__lookup", lambda n: {"term": f"term{n}"}),
        "read_file": ("read_file", lambda n: {"path": f"src/small{n % FILES}.txt"}),
    }
    servers: dict[str, ScriptedLLM] = {}
    runners: dict[str, LoopRunner] = {}
    results: dict[str, Any] = {}
    with no_user_config(base):
        try:
            for name, (tool, arguments) in cases.items():
                servers[name] = ScriptedLLM()
                servers[name].responder = calling(tool, arguments)
                root = workspace(base, f"loop-{name}")
                mcp = [server_config(timeout=10.0)] if name == "mcp" else []
                runners[name] = open_loop(name, root, servers[name].base_url, mcp)
                runners[name].run(3)  # warm-up
                runners[name].clock.totals.clear()
                runners[name].clock.phases.clear()
            done = 0
            while done < steps:
                chunk = min(10, steps - done)
                for runner in runners.values():
                    runner.run(chunk)
                done += chunk
            for name, runner in runners.items():
                results[name] = {
                    "step": summarise(runner.clock.totals),
                    "phases": {k: summarise(v) for k, v in runner.clock.phases.items()},
                }
        finally:
            for runner in runners.values():
                runner.close()
            for server in servers.values():
                server.close()
    return results


# ------------------------------------------------------------------ the rows


def rows_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The PASS/FAIL rows of the report."""
    rows: list[dict[str, Any]] = []
    for count, limit in ((1, START_ONE_LIMIT_MS), (3, START_THREE_LIMIT_MS)):
        start = report["start"][str(count)]
        python_ms = start["server_python"]["median"]
        ms = start["start"]["median"]
        ok = not start["failures"]
        rows.append(
            {
                "measure": f"start {count} stdio server(s) and list tools "
                f"(median of {start['start']['n']:.0f})",
                "value": f"{ms:.0f} ms" + ("" if ok else f" ({start['failures'][0]})"),
                "baseline": f"the server's Python + SDK import alone {python_ms:.0f} ms",
                "goal": f"under {limit:.0f} ms",
                "pass": ok and ms < limit,
                "ms": round(ms, 1),
            }
        )
        if count == 1:
            share = ms - python_ms
            rows.append(
                {
                    "measure": "the client's share of starting 1 server (start minus the "
                    "server's own Python start)",
                    "value": f"{share:.0f} ms (the first start in a process, importing the "
                    f"SDK, took {start['first_start_ms']:.0f} ms)",
                    "baseline": "",
                    "goal": f"under {CLIENT_SHARE_LIMIT_MS:.0f} ms",
                    "pass": ok and share < CLIENT_SHARE_LIMIT_MS,
                    "ms": round(share, 1),
                }
            )
        close_ms = start["close"]["median"]
        rows.append(
            {
                "measure": f"close {count} stdio server(s) (median)",
                "value": f"{close_ms:.0f} ms, {len(start['left'])} process(es) left",
                "baseline": "",
                "goal": f"under {CLOSE_LIMIT_MS:.0f} ms, none left",
                "pass": close_ms < CLOSE_LIMIT_MS and not start["left"],
                "ms": round(close_ms, 1),
            }
        )
    for transport, limit in (("stdio", CALL_STDIO_LIMIT_MS), ("http", CALL_HTTP_LIMIT_MS)):
        calls = report["calls"][transport]
        box, hub, read = calls["toolbox"], calls["hub"], calls["read_file"]
        rows.append(
            {
                "measure": f"one mcp__tools__lookup call over {transport} through the toolbox "
                f"(median of {box['n']:.0f})",
                "value": f"{box['median']:.1f} ms (p90 {box['p90']:.1f}; hub alone "
                f"{hub['median']:.1f}, p90 {hub['p90']:.1f}; workspace state before and "
                f"after {calls['snapshot']['median']:.1f})",
                "baseline": f"built-in read_file {read['median']:.1f} ms (p90 {read['p90']:.1f})",
                "goal": f"under {limit:.0f} ms median",
                "pass": box["median"] < limit,
                "ms": round(box["median"], 2),
                "hub_ms": round(hub["median"], 2),
                "snapshot_ms": round(calls["snapshot"]["median"], 2),
                "read_file_ms": round(read["median"], 2),
            }
        )
    loop = report.get("loop")
    if loop:
        mcp, read = loop["mcp"]["step"], loop["read_file"]["step"]
        extra = mcp["median"] - read["median"]
        rows.append(
            {
                "measure": "loop step calling an MCP read tool, auto mode "
                f"(median of {mcp['n']:.0f})",
                "value": f"{mcp['median']:.1f} ms ({extra:+.1f} ms)",
                "baseline": f"a step calling read_file {read['median']:.1f} ms",
                "goal": f"at most {STEP_EXTRA_LIMIT_MS:.0f} ms more",
                "pass": extra <= STEP_EXTRA_LIMIT_MS,
                "ms": round(mcp["median"], 1),
                "read_file_ms": round(read["median"], 1),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Measure start and close, one call, and the loop; print and write the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="3 starts, 30 calls, 10 steps")
    options = parser.parse_args(argv)
    if options.quick:
        options.starts, options.calls, options.steps = 3, 30, 10
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    base = Path(tempfile.mkdtemp(prefix="bench-mcp-"))
    report: dict[str, Any] = {
        "benchmark": "mcp",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "load_before": load,
    }
    try:
        root = workspace(base, "ws")
        print(f"Starting and closing servers ({options.starts} times each) …", flush=True)
        report["start"] = {str(n): start_and_close(root, n, options.starts) for n in (1, 3)}
        print(f"Timing {options.calls} calls per transport …", flush=True)
        report["calls"] = {"stdio": call_times(root, server_config(timeout=10.0), options.calls)}
        with http_server(base) as config:
            report["calls"]["http"] = call_times(root, config, options.calls)
        print(f"Timing {options.steps} loop steps of each kind …", flush=True)
        report["loop"] = loop_steps(base, options.steps)
        report["load_after"] = os.getloadavg()
        rows = rows_of(report)
        report["rows"] = rows
        print_verdicts(rows)
        after = report["load_after"]
        print(f"load average after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
        write_results(RESULTS, report)
        return 0 if all(row["pass"] for row in rows) else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
