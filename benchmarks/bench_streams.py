"""Benchmark: megabytes of streamed tool-call arguments, from the last byte to handled.

Issue 10, reproduction 6: 1 MB of streamed arguments took 35 s, 2 MB 134 s, and 10 MB
made no step in 300 s. The rows here:

1. 10 MB of streamed arguments is handled (refused, under the default 4 MB cap) within
   2 s of the last byte;
2. 1 MB and 2 MB are accepted under a raised cap and executed (``write_file``) within
   2 s of the last byte; and so is 10 MB under a 16 MB cap (the whole stream read).

The server is the scripted one (``tests/support/scripted_llm.py``) in its own process, so
its JSON and SSE work does not share the GIL with the client; it notes (``answered``)
when the last byte of each answer was written, on the machine-wide monotonic clock the
client reads too. The client is ``ModelClient`` through the real ``openai`` client over
real HTTP; "handled" is the model's answer read, the call validated (``parse_call``) and,
when accepted, the file written by the real ``ToolRunner`` — or, when over the cap, the
refusal sentence ready for the model.

Under the default cap the client stops reading at 4 MB and closes the connection, so a
refused reply is handled *before* the server's last byte: that row reports the time from
the request to the refusal, with the server never finishing.

The arguments stream in ``--chunk-size`` characters per event (64 by default: the scripted
server cannot send megabytes in token-sized events within a benchmark's patience; the
client's cost is per byte and per event alike). Run it by hand::

    .venv/bin/python -m benchmarks.bench_streams              # 5 runs a row
    .venv/bin/python -m benchmarks.bench_streams --runs 3 --chunk-size 256
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from autogpt_tui.core.llm import DEFAULT_MAX_TOOL_ARGS_BYTES, ModelClient
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.tool_calls import parse_call
from autogpt_tui.core.tools import ToolRunner

MB = 1024 * 1024
LIMIT_AFTER_LAST_BYTE_S = 2.0
"""What every row must meet: handled within this long of the server's last byte."""
MESSAGES = [
    {"role": "system", "content": "You are a careful coding agent."},
    {"role": "user", "content": "Write a big file."},
]


def _serve(conn: Connection) -> None:
    """The server process: a scripted server answering the parent's commands."""
    from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall

    with ScriptedLLM() as server:
        conn.send(server.base_url)
        while True:
            command, payload = conn.recv()
            if command == "reply":
                size, chunk_size = payload
                content = "x" * (size - len('{"path": "big.txt", "content": ""}'))
                arguments = json.dumps({"path": "big.txt", "content": content})
                server.script(
                    Reply(
                        "Writing the big file.",
                        tool_calls=[ToolCall("write_file", arguments)],
                        chunk_size=chunk_size,
                    )
                )
                conn.send(len(arguments.encode()))
            elif command == "answered":
                conn.send(server.answered)
            else:
                return


@dataclass
class Run:
    """One request: when it began, was handled, and the server's last byte (if sent)."""

    started: float
    handled: float
    last_byte: float | None
    refused: bool

    @property
    def after_last_byte(self) -> float | None:
        """Seconds from the server's last byte to handled (None: never sent in full)."""
        return None if self.last_byte is None else self.handled - self.last_byte

    @property
    def ok(self) -> bool:
        """Handled within the limit of the last byte, or before it was ever sent."""
        after = self.after_last_byte
        return after is None or after <= LIMIT_AFTER_LAST_BYTE_S


def one_run(conn: Connection, base_url: str, size: int, cap: int, chunk_size: int) -> Run:
    """Stream ``size`` bytes of arguments once and handle the call; the timings."""
    conn.send(("reply", (size, chunk_size)))
    sent = conn.recv()
    assert sent == size, (sent, size)
    conn.send(("answered", None))
    answered_before = len(conn.recv())
    client = ModelClient(
        model="scripted-model",
        base_url=base_url,
        api_key="k",
        max_retries=0,
        max_tool_args_bytes=cap,
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tools = ToolRunner(root, CommandRunner(root, sandbox=False))
        started = time.monotonic()
        completion = client.complete(MESSAGES)
        (call,) = completion.tool_calls
        if call.error is not None:
            refused = True  # the sentence is ready for the model: handled
        else:
            refused = False
            result = tools.execute(call.name, parse_call(call.name, call.arguments))
            assert result.ok, result
            assert (root / "big.txt").stat().st_size > size - 100
        handled = time.monotonic()
    client.close()
    last_byte: float | None = None
    deadline = time.monotonic() + 5
    while last_byte is None and time.monotonic() < deadline and not refused:
        conn.send(("answered", None))
        answered = conn.recv()
        if len(answered) > answered_before:
            last_byte = answered[-1]
        else:
            time.sleep(0.01)  # the server notes its last write just after making it
    return Run(started=started, handled=handled, last_byte=last_byte, refused=refused)


def row(
    conn: Connection, base_url: str, label: str, size: int, cap: int, runs: int, chunk: int
) -> dict[str, Any]:
    """Several runs of one size; prints and returns the row."""
    results = [one_run(conn, base_url, size, cap, chunk) for _ in range(runs)]
    totals = [r.handled - r.started for r in results]
    afters = [a for r in results if (a := r.after_last_byte) is not None]
    refused = sum(r.refused for r in results)
    ok = all(r.ok for r in results)
    after_text = (
        f"median {statistics.median(afters):6.2f} s after the last byte (max {max(afters):.2f})"
        if afters
        else "handled before the server's last byte (it stopped reading at the cap)"
    )
    verdict = "ok" if ok else f"FAIL (over {LIMIT_AFTER_LAST_BYTE_S:g} s)"
    outcome = "refused" if refused == len(results) else "executed" if not refused else "mixed"
    print(
        f"{label:<38} {outcome:<8} request→handled median {statistics.median(totals):6.2f} s; "
        f"{after_text}  [{verdict}]",
        flush=True,
    )
    return {
        "label": label,
        "size": size,
        "cap": cap,
        "outcome": outcome,
        "total_median_s": statistics.median(totals),
        "after_last_byte_median_s": statistics.median(afters) if afters else None,
        "ok": ok,
    }


def main(argv: list[str] | None = None) -> int:
    """Run every row; exit 1 when one misses its limit."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_streams")
    parser.add_argument("--runs", type=int, default=5, help="runs per row (default 5)")
    parser.add_argument("--chunk-size", type=int, default=64, help="characters per event")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 runs a row")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = min(args.runs, 2)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    try:
        base_url = parent.recv()
        print(
            f"bench_streams: {args.runs} runs a row, {args.chunk_size} characters an event",
            flush=True,
        )
        rows = [
            row(
                parent,
                base_url,
                "10 MB, default 4 MB cap",
                10 * MB,
                DEFAULT_MAX_TOOL_ARGS_BYTES,
                args.runs,
                args.chunk_size,
            ),
            row(
                parent,
                base_url,
                "1 MB, cap raised to 16 MB",
                MB,
                16 * MB,
                args.runs,
                args.chunk_size,
            ),
            row(
                parent,
                base_url,
                "2 MB, cap raised to 16 MB",
                2 * MB,
                16 * MB,
                args.runs,
                args.chunk_size,
            ),
            row(
                parent,
                base_url,
                "10 MB, cap raised to 16 MB",
                10 * MB,
                16 * MB,
                args.runs,
                args.chunk_size,
            ),
        ]
    finally:
        parent.send(("stop", None))
        server.join(10)
        if server.is_alive():
            server.terminate()
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    summary = {"rows": [_protocol_row(r) for r in rows], "runs": rows}
    (results / "streams.json").write_text(json.dumps(summary, indent=2))
    return 0 if all(r["ok"] for r in rows) else 1


def _protocol_row(result: dict[str, Any]) -> dict[str, Any]:
    """One row in the shape ``make bench`` prints (see benchmarks/run_all.py)."""
    after = result["after_last_byte_median_s"]
    value = (
        f"{after:.2f} s after the last byte (median), {result['outcome']}"
        if after is not None
        else f"{result['outcome']} before the last byte, "
        f"{result['total_median_s']:.2f} s from the request (median)"
    )
    return {
        "measure": f"streamed arguments: {result['label']}",
        "value": value,
        "baseline": "",
        "goal": f"<= {LIMIT_AFTER_LAST_BYTE_S:g} s after the last byte",
        "pass": bool(result["ok"]),
    }


if __name__ == "__main__":
    sys.exit(main())
