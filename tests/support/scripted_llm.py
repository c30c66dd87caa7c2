"""A scripted OpenAI-compatible Chat Completions server on loopback, for tests and by hand.

Every agent test talks to this server through the real ``openai`` client over real HTTP
with real SSE streaming; nothing is mocked. The server only ever binds to 127.0.0.1.

In a test::

    def test_something(llm_server: ScriptedLLM) -> None:
        llm_server.script(
            Reply("Writing it.", tool_calls=[ToolCall("write_file", {"path": "a.txt"})]),
            Fault(429, retry_after=0.2),
            Reply("Done."),
        )
        client = openai.OpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)
        ...
        assert llm_server.requests[0].system_prompt.startswith("You are")

Each ``POST /v1/chat/completions`` consumes the next scripted turn (first in, first out);
when the script is empty the ``responder`` callable, if set, makes the turn, and
otherwise the answer is a 500 whose message starts with ``script exhausted`` (with
``x-should-retry: false`` so the client does not retry it). ``GET /v1/models`` lists the
one model. Turns:

- ``Reply`` — a normal answer, streamed as ``chat.completion.chunk`` SSE events ending in
  ``data: [DONE]`` when the request asks for ``"stream": true``, else one
  ``chat.completion`` JSON body. Knobs for the dialects of real servers: ``chunk_size``,
  ``omit_index`` (tool-call deltas without ``index``), ``repeat_id`` (``id`` and name on
  every argument fragment), ``delay_s`` between chunks, ``usage``; and for reasoning
  models and odd servers: ``reasoning`` with ``reasoning_style`` (``reasoning_content``
  as DeepSeek and llama.cpp send it, ``reasoning`` as vLLM, Groq and Ollama do, or
  ``mistral``: ``thinking`` parts in a ``content`` list), ``content_parts`` (the text
  as a list of ``{"type": "text"}`` parts, as Mistral sends it) and ``json_body`` (one
  ``chat.completion`` JSON body even when a stream was asked for, as some proxies do).
- ``StreamError`` — a 200 stream that sends some chunks, then an error object in the
  stream (``data: {"error": …}`` as OpenAI and Groq send it, ``event: error`` as
  proxies do, or vLLM's bare ``{"object": "error", …}``), then ends.
- ``Fault`` — an HTTP error with an OpenAI-style JSON error body, ``Retry-After`` and
  ``retry-after-ms`` headers when ``retry_after`` is given.
- ``CutStream`` — a valid stream cut off after some chunks: no ``finish_reason``, no
  ``[DONE]``. By default the connection is dropped mid-body (the client raises a
  connection error); with ``clean_eof=True`` the body ends cleanly (iteration just stops).
- ``Garbage`` — a 200 whose body is not JSON (as an SSE ``data:`` line by default).
- ``Stall`` — some chunks, then silence on an open connection for ``seconds`` (or until
  the server closes), then the connection is dropped.

``close()`` (or leaving the ``with`` block) wakes every stall and delay, drops every open
connection and joins every thread within about two seconds.

By hand, to try the agent against a script::

    python -m tests.support.scripted_llm --port 8765 --script script.json

prints the base URL (``http://127.0.0.1:8765/v1``) and serves until Ctrl-C, logging each
request. ``script.json`` is a list of turns, each an object with a ``type``::

    [
      {"type": "reply", "text": "Writing it.",
       "tool_calls": [{"name": "write_file", "arguments": {"path": "a.txt", "content": "hi"}}]},
      {"type": "fault", "status": 429, "retry_after": 0.5},
      {"type": "cut_stream", "after_chunks": 2, "text": "partial"},
      {"type": "garbage", "body": "<html>not json</html>"},
      {"type": "stall", "after_chunks": 1, "seconds": 30},
      {"type": "stream_error", "after_chunks": 2, "message": "overloaded"},
      {"type": "reply", "text": "Done.", "usage": {"prompt_tokens": 10, "completion_tokens": 2}}
    ]

The other keys are the fields of the turn classes below. Without ``--script`` a demo
runs: write ``hello.txt``, read it back, finish.

For benchmarks, ``--responder writes`` answers every chat request (once the script, if
any, is used up; without ``--script`` there is no demo) with a ``write_file`` call to
``bench/f{n}.txt``, ``n`` counting the requests from 1, with a small changing content: an
agent in ``auto`` mode then takes steps for ever. ``--quiet`` stops the per-request log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, TypeAlias

import pytest

__all__ = [
    "CutStream",
    "Fault",
    "Garbage",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptedLLM",
    "Stall",
    "StreamError",
    "ToolCall",
    "Turn",
    "Usage",
    "demo_script",
    "llm_server",
    "load_script",
    "turn_from_dict",
    "writes_responder",
]

HOST = "127.0.0.1"
CLOSE_JOIN_S = 2.0
"""How long ``close()`` waits, in all, for the server's threads to end."""
IDLE_CONNECTION_S = 30.0
"""A kept-alive connection with no request for this long is closed."""


# --------------------------------------------------------------------------- turns


@dataclass(frozen=True)
class ToolCall:
    """One tool call in a scripted reply; ``arguments`` as a JSON string or a dict.

    A string is sent as is, so a test can script malformed JSON. ``id`` defaults to
    ``call_N``, numbered across the server's life in the order calls are sent.
    """

    name: str
    arguments: str | dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON text the server sends."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class Usage:
    """Token usage to report; ``total_tokens`` defaults to the sum."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int | None = None
    cached_tokens: int | None = None
    """Prompt tokens read from the prompt cache, sent as OpenAI does
    (``prompt_tokens_details.cached_tokens``); None sends no details."""

    def to_json(self) -> dict[str, Any]:
        """The OpenAI ``usage`` object."""
        total = self.total_tokens
        if total is None:
            total = self.prompt_tokens + self.completion_tokens
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": total,
        }
        if self.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return usage


@dataclass(frozen=True)
class Reply:
    """A normal model turn: text and/or tool calls, streamed or not as the request asks.

    ``finish_reason`` defaults to ``"tool_calls"`` when there are tool calls, else
    ``"stop"``. ``usage="default"`` reports a plausible estimate (request text / 4
    prompt tokens); ``None`` reports no usage at all. ``chunk_size`` is the number of
    characters per text delta and per arguments fragment; ``delay_s`` is slept between
    chunks (woken by ``close()``).
    """

    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    finish_reason: str | None = None
    usage: Usage | Literal["default"] | None = "default"
    chunk_size: int = 8
    omit_index: bool = False
    repeat_id: bool = False
    delay_s: float = 0.0
    reasoning: str = ""
    """Reasoning streamed before the text, in the shape ``reasoning_style`` names."""
    reasoning_style: Literal["reasoning_content", "reasoning", "mistral"] = "reasoning_content"
    content_parts: bool = False
    """Send the text as ``[{"type": "text", "text": …}]`` parts (Mistral's shape)."""
    json_body: bool = False
    """Answer with one ``chat.completion`` JSON body even when a stream was asked for."""

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        if self.reasoning_style not in ("reasoning_content", "reasoning", "mistral"):
            raise ValueError(f"unknown reasoning_style {self.reasoning_style!r}")
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))

    @property
    def effective_finish_reason(self) -> str:
        """The finish reason the server reports."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


@dataclass(frozen=True)
class Fault:
    """An HTTP error with an OpenAI-style JSON error body.

    ``retry_after`` (seconds) adds ``Retry-After`` and ``retry-after-ms`` headers.
    ``body``, when given, is sent verbatim instead of the generated error JSON;
    ``message`` sets the generated error's message.
    """

    status: int
    retry_after: float | None = None
    body: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class CutStream:
    """A valid stream that stops after ``after_chunks`` chunks: no finish, no ``[DONE]``.

    The chunks are those of ``Reply(text, tool_calls, chunk_size=chunk_size)`` (the first
    one carries the role), never including the finishing chunk. By default the connection
    is then dropped in the middle of the chunked body; with ``clean_eof=True`` the body is
    ended properly, so the client sees a stream that simply stops. A non-streaming
    request gets a body cut off after its first half.
    """

    after_chunks: int = 2
    text: str = "partial"
    tool_calls: Sequence[ToolCall] = ()
    chunk_size: int = 8
    clean_eof: bool = False


@dataclass(frozen=True)
class Garbage:
    """A 200 whose body is not valid JSON.

    With an ``text/event-stream`` content type each line of ``body`` is sent as an SSE
    ``data:`` line (unless ``raw``), then the body ends without ``[DONE]``; any other
    content type (e.g. ``application/json``) gets ``body`` verbatim.
    """

    body: str = "<html>not json</html>"
    content_type: str = "text/event-stream"
    raw: bool = False


@dataclass(frozen=True)
class Stall:
    """Send ``after_chunks`` chunks, then nothing for ``seconds`` (or until close).

    The connection stays open while stalled and is dropped afterwards. A non-streaming
    request stalls before any byte of the response.
    """

    after_chunks: int = 1
    seconds: float = 30.0
    text: str = "thinking"
    chunk_size: int = 8


@dataclass(frozen=True)
class StreamError:
    """A 200 stream that sends ``after_chunks`` chunks, then an error object, then ends.

    ``style`` is the dialect: ``"data"`` sends ``data: {"error": {...}}`` (OpenAI, Groq,
    SGLang); ``"event"`` sends ``event: error`` then ``data: {"error": {...}}`` (proxies,
    and Groq's SDK reads it too); ``"vllm"`` sends vLLM's ``ErrorResponse`` as the data:
    ``{"object": "error", "message": …, "type": …, "code": …}``. ``code`` is the error
    object's ``code`` (an HTTP status for vLLM and Groq, a word for OpenAI) and may be
    left out. The body then ends without ``[DONE]``. A non-streaming request gets the
    error object as a 200 JSON body.
    """

    message: str = "The server had an error while processing your request."
    error_type: str = "server_error"
    code: int | str | None = None
    after_chunks: int = 2
    text: str = "partial"
    style: Literal["data", "event", "vllm"] = "data"

    def error_object(self) -> dict[str, Any]:
        """The JSON object the server sends as the error event's data."""
        error: dict[str, Any] = {"message": self.message, "type": self.error_type}
        if self.code is not None:
            error["code"] = self.code
        if self.style == "vllm":
            return {"object": "error", **error}
        return {"error": error}


Turn: TypeAlias = Reply | Fault | CutStream | Garbage | Stall | StreamError
"""Anything a scripted request can be answered with."""


# --------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received (``headers`` with lower-case names)."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    time: float
    """``time.monotonic()`` when the request had been read."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The request's ``messages`` (empty when absent)."""
        messages = self.body.get("messages")
        return list(messages) if isinstance(messages, list) else []

    @property
    def system_prompt(self) -> str:
        """The text of the first system message, or ``""``."""
        for message in self.messages:
            if isinstance(message, dict) and message.get("role") == "system":
                return _content_text(message.get("content"))
        return ""

    @property
    def tools(self) -> list[dict[str, Any]] | None:
        """The request's ``tools``, or ``None`` when it sent none."""
        tools = self.body.get("tools")
        return tools if isinstance(tools, list) else None

    @property
    def stream(self) -> bool:
        """Whether the request asked for a streamed answer."""
        return self.body.get("stream") is True

    @property
    def include_usage(self) -> bool:
        """Whether the request asked for a usage chunk at the end of the stream."""
        options = self.body.get("stream_options")
        return isinstance(options, dict) and options.get("include_usage") is True


Responder: TypeAlias = Callable[[RecordedRequest], Turn]
"""Makes a turn for a request when the script is empty."""


def _content_text(content: object) -> str:
    """The text of a message ``content``: a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _request_chars(body: dict[str, Any]) -> int:
    """Characters of text in a request's messages (contents and tool-call arguments)."""
    total = 0
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        total += len(_content_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                total += len(str(call["function"].get("arguments", "")))
                total += len(str(call["function"].get("name", "")))
    return total


# --------------------------------------------------------------------------- server


class _Closing(Exception):
    """The server is closing: stop answering."""


class _HTTPServer(ThreadingHTTPServer):
    """A threading server that keeps track of its connections so it can end them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: ScriptedLLM, port: int) -> None:
        self.owner = owner
        self.threads: set[threading.Thread] = set()
        self.connections: set[socket.socket] = set()
        self.track_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Answer each connection in its own tracked thread."""
        if self.owner.closing.is_set():
            self.shutdown_request(request)
            return
        thread = threading.Thread(
            target=self._run_connection,
            args=(request, client_address),
            name="scripted-llm-connection",
            daemon=True,
        )
        with self.track_lock:
            self.threads.add(thread)
            self.connections.add(request)
        thread.start()

    def _run_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self.track_lock:
                self.threads.discard(threading.current_thread())
                self.connections.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Record unexpected handler errors instead of printing them."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError | _Closing):
            return  # the client went away or we are closing: nothing wrong
        self.owner.record_error(f"{type(error).__name__}: {error}")

    def drop_connections(self) -> tuple[list[threading.Thread], int]:
        """Shut down every open connection; returns the threads still serving them."""
        with self.track_lock:
            connections = list(self.connections)
            threads = list(self.threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        return threads, len(connections)


class _Handler(BaseHTTPRequestHandler):
    """Answers one connection's requests from the owner's script."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_CONNECTION_S
    server_version = "ScriptedLLM/1.0"
    server: _HTTPServer

    # ----------------------------------------------------------------- plumbing

    @property
    def owner(self) -> ScriptedLLM:
        return self.server.owner

    def log_message(self, format: str, *args: Any) -> None:
        if not self.owner.quiet:
            super().log_message(format, *args)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _record(self, body: dict[str, Any], *, chat: bool) -> RecordedRequest:
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            time=time.monotonic(),
        )
        self.owner.record(request, chat=chat)
        return request

    def _send_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_json(self, status: int, obj: object, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(obj).encode(), "application/json", headers)

    def _send_error_json(
        self,
        status: int,
        message: str,
        *,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._send_json(status, _error_body(status, message, error_type), headers)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _send_event(self, obj: object) -> None:
        self._write_chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _drop_connection(self) -> None:
        """Close the connection now, in the middle of whatever was being sent."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _pause(self, seconds: float) -> None:
        """Sleep, waking (and giving up) when the server closes."""
        if seconds > 0 and self.owner.closing.wait(seconds):
            raise _Closing

    # ----------------------------------------------------------------- endpoints

    def do_GET(self) -> None:
        """``GET /v1/models``; anything else is a 404."""
        self._record({}, chat=False)
        if self.path.split("?")[0].rstrip("/") == "/v1/models":
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {
                            "id": self.owner.model,
                            "object": "model",
                            "created": int(time.time()),
                            "owned_by": "scripted-llm",
                        }
                    ],
                },
            )
        else:
            self._send_error_json(404, f"no route for GET {self.path}")

    def do_POST(self) -> None:
        """``POST /v1/chat/completions``: answer with the next scripted turn."""
        raw = self._read_body()
        if self.path.split("?")[0].rstrip("/") != "/v1/chat/completions":
            self._record({}, chat=False)
            self._send_error_json(404, f"no route for POST {self.path}")
            return
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError as error:
            parsed = None
            reason = f"request body is not JSON: {error}"
        else:
            reason = "request body is not a JSON object"
        if not isinstance(parsed, dict):
            self._record({}, chat=False)
            self._send_error_json(400, reason, error_type="invalid_request_error")
            return
        request = self._record(parsed, chat=True)
        try:
            turn = self.owner.next_turn(request)
        except Exception as error:  # a test's responder failed: make it loud
            message = f"responder failed: {type(error).__name__}: {error}"
            self.owner.record_error(message)
            self._send_error_json(500, message, headers={"x-should-retry": "false"})
            return
        if turn is None:
            count = len(self.owner.requests)
            self._send_error_json(
                500,
                f"script exhausted (request {count} had no scripted turn)",
                headers={"x-should-retry": "false"},
            )
            return
        try:
            self._answer(request, turn)
        except _Closing:
            self._drop_connection()
        else:
            self.owner.answered_now()

    # ----------------------------------------------------------------- turns

    def _answer(self, request: RecordedRequest, turn: Turn) -> None:
        if isinstance(turn, Reply):
            self._reply(request, turn)
        elif isinstance(turn, Fault):
            self._fault(turn)
        elif isinstance(turn, CutStream):
            self._cut(request, turn)
        elif isinstance(turn, Garbage):
            self._garbage(turn)
        elif isinstance(turn, Stall):
            self._stall(request, turn)
        elif isinstance(turn, StreamError):
            self._stream_error(request, turn)
        else:  # pragma: no cover - guarded by the type
            raise TypeError(f"not a turn: {turn!r}")

    def _model(self, request: RecordedRequest) -> str:
        model = request.body.get("model")
        return model if isinstance(model, str) and model else self.owner.model

    def _reply(self, request: RecordedRequest, reply: Reply) -> None:
        calls = self.owner.resolve_ids(reply.tool_calls)
        usage = _usage_for(request, reply, calls)
        completion_id = self.owner.next_completion_id()
        model = self._model(request)
        if not request.stream or reply.json_body:
            content: Any = reply.text if (reply.text or not calls) else None
            if reply.content_parts or (reply.reasoning and reply.reasoning_style == "mistral"):
                content = _content_parts(reply.reasoning, reply.text, reply.reasoning_style)
            message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
            if reply.reasoning and reply.reasoning_style != "mistral":
                message[reply.reasoning_style] = reply.reasoning
            if calls:
                message["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments_json},
                    }
                    for call in calls
                ]
            body: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": reply.effective_finish_reason,
                        "logprobs": None,
                    }
                ],
            }
            if usage is not None:
                body["usage"] = usage.to_json()
            self._pause(reply.delay_s)
            self._send_json(200, body)
            return
        chunks = _stream_chunks(
            completion_id=completion_id,
            model=model,
            reply=reply,
            calls=calls,
            usage=usage if request.include_usage else None,
            usage_field=request.include_usage,
        )
        self._start_stream()
        for number, chunk in enumerate(chunks):
            if number:
                self._pause(reply.delay_s)
            self._send_event(chunk)
        self._write_chunk(b"data: [DONE]\n\n")
        self._end_stream()

    def _fault(self, fault: Fault) -> None:
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
            headers["retry-after-ms"] = str(round(fault.retry_after * 1000))
        if fault.body is not None:
            self._send_bytes(fault.status, fault.body.encode(), "application/json", headers)
            return
        message = fault.message or f"scripted fault: HTTP {fault.status}"
        self._send_error_json(fault.status, message, headers=headers)

    def _partial_chunks(
        self,
        request: RecordedRequest,
        text: str,
        tool_calls: Sequence[ToolCall],
        chunk_size: int,
        count: int,
    ) -> list[dict[str, Any]]:
        reply = Reply(text, tool_calls=tool_calls, chunk_size=chunk_size, usage=None)
        chunks = _stream_chunks(
            completion_id=self.owner.next_completion_id(),
            model=self._model(request),
            reply=reply,
            calls=self.owner.resolve_ids(reply.tool_calls),
            usage=None,
            usage_field=request.include_usage,
        )
        return chunks[: min(max(count, 0), len(chunks) - 1)]  # never the finishing chunk

    def _cut(self, request: RecordedRequest, cut: CutStream) -> None:
        if not request.stream:
            data = b'{"id": "chatcmpl-cut", "object": "chat.completion", "choices": [{"index"'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data) * 2))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            self._drop_connection()
            return
        chunks = self._partial_chunks(
            request, cut.text, cut.tool_calls, cut.chunk_size, cut.after_chunks
        )
        self._start_stream()
        for chunk in chunks:
            self._send_event(chunk)
        if cut.clean_eof:
            self._end_stream()
            self.close_connection = True
        else:
            self._drop_connection()

    def _stream_error(self, request: RecordedRequest, error: StreamError) -> None:
        if not request.stream:
            self._send_json(200, error.error_object())
            return
        chunks = self._partial_chunks(request, error.text, (), 8, error.after_chunks)
        self._start_stream()
        for chunk in chunks:
            self._send_event(chunk)
        data = json.dumps(error.error_object()).encode()
        prefix = b"event: error\n" if error.style == "event" else b""
        self._write_chunk(prefix + b"data: " + data + b"\n\n")
        self._end_stream()
        self.close_connection = True

    def _garbage(self, garbage: Garbage) -> None:
        if garbage.content_type.startswith("text/event-stream") and not garbage.raw:
            lines = garbage.body.splitlines() or [""]
            data = ("".join(f"data: {line}\n" for line in lines) + "\n").encode()
        else:
            data = garbage.body.encode()
        self._send_bytes(200, data, garbage.content_type)

    def _stall(self, request: RecordedRequest, stall: Stall) -> None:
        if request.stream:
            chunks = self._partial_chunks(
                request, stall.text, (), stall.chunk_size, stall.after_chunks
            )
            self._start_stream()
            for chunk in chunks:
                self._send_event(chunk)
        self.owner.stalled()
        self.owner.closing.wait(max(stall.seconds, 0.0))
        self._drop_connection()


def _error_body(status: int, message: str, error_type: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error body."""
    if error_type is None:
        error_type = {
            400: "invalid_request_error",
            401: "authentication_error",
            403: "permission_error",
            404: "not_found_error",
            429: "rate_limit_error",
        }.get(status, "server_error" if status >= 500 else "invalid_request_error")
    code = {429: "rate_limit_exceeded"}.get(status)
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


def _usage_for(request: RecordedRequest, reply: Reply, calls: Sequence[ToolCall]) -> Usage | None:
    """The usage a reply reports: its own, none, or an estimate from the text sizes."""
    if reply.usage != "default":
        return reply.usage
    completion_chars = len(reply.text) + sum(
        len(call.name) + len(call.arguments_json) for call in calls
    )
    return Usage(
        prompt_tokens=max(1, _request_chars(request.body) // 4),
        completion_tokens=max(1, completion_chars // 4),
    )


def _content_parts(reasoning: str, text: str, style: str) -> list[dict[str, Any]]:
    """A ``content`` list of parts as Mistral's reasoning models send it.

    Reasoning is a ``thinking`` part holding its own list of text parts; the answer is
    a ``text`` part. (Mistral's documented ThinkChunk and TextChunk.)
    """
    parts: list[dict[str, Any]] = []
    if reasoning and style == "mistral":
        parts.append({"type": "thinking", "thinking": [{"type": "text", "text": reasoning}]})
    if text:
        parts.append({"type": "text", "text": text})
    return parts


def _pieces(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)]


def _stream_chunks(
    *,
    completion_id: str,
    model: str,
    reply: Reply,
    calls: Sequence[ToolCall],
    usage: Usage | None,
    usage_field: bool,
) -> list[dict[str, Any]]:
    """Every SSE chunk of a streamed reply, in order (without ``[DONE]``).

    The first chunk carries the role; then text deltas; then, per tool call, a header
    delta (id, type, name, empty arguments) and argument fragments; then the finishing
    chunk; then, when ``usage`` is given, the usage chunk with no choices. With
    ``usage_field`` every other chunk has ``"usage": null``, as OpenAI sends them.
    """
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [
                {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            ],
        }
        if usage_field:
            result["usage"] = None
        return result

    def tool_delta(index: int, part: dict[str, Any]) -> dict[str, Any]:
        if not reply.omit_index:
            part = {"index": index, **part}
        return {"tool_calls": [part]}

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    for piece in _pieces(reply.reasoning, reply.chunk_size):
        if reply.reasoning_style == "mistral":
            chunks.append(chunk({"content": _content_parts(piece, "", "mistral")}))
        else:
            chunks.append(chunk({"content": None, reply.reasoning_style: piece}))
    for piece in _pieces(reply.text, reply.chunk_size):
        if reply.content_parts:
            chunks.append(chunk({"content": [{"type": "text", "text": piece}]}))
        else:
            chunks.append(chunk({"content": piece}))
    for index, call in enumerate(calls):
        header = {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks.append(chunk(tool_delta(index, header)))
        for fragment in _pieces(call.arguments_json, reply.chunk_size):
            part: dict[str, Any]
            if reply.repeat_id:
                part = {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": fragment},
                }
            else:
                part = {"function": {"arguments": fragment}}
            chunks.append(chunk(tool_delta(index, part)))
    chunks.append(chunk({}, reply.effective_finish_reason))
    if usage is not None:
        chunks.append(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage.to_json(),
            }
        )
    return chunks


class ScriptedLLM:
    """A scripted OpenAI-compatible server on 127.0.0.1, started on construction.

    Use it as a context manager (or call ``close()``). ``requests`` holds the chat
    completion requests received (the ones that consume turns); ``all_requests`` holds
    every request, including ``GET /v1/models`` and 404s. ``errors`` collects failures
    inside the server itself (e.g. a responder that raised).
    """

    def __init__(self, *, port: int = 0, model: str = "scripted-model", quiet: bool = True) -> None:
        self.model = model
        self.quiet = quiet
        self.responder: Responder | None = None
        """Makes the turn for a request when the script is empty (when set)."""
        self.closing = threading.Event()
        self._lock = threading.Condition()
        self._turns: deque[Turn] = deque()
        self._requests: list[RecordedRequest] = []
        self._all_requests: list[RecordedRequest] = []
        self._errors: list[str] = []
        self._answered: list[float] = []
        self._stalls = 0
        self._call_counter = 0
        self._completion_counter = 0
        self._closed = False
        self._httpd = _HTTPServer(self, port)
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="scripted-llm-server",
            daemon=True,
        )
        self._thread.start()

    # ----------------------------------------------------------------- public API

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"http://{HOST}:{self.port}/v1"

    def script(self, *turns: Turn) -> ScriptedLLM:
        """Append turns to the script; each chat request consumes the next one."""
        for turn in turns:
            if not isinstance(turn, Reply | Fault | CutStream | Garbage | Stall | StreamError):
                raise TypeError(f"not a turn: {turn!r}")
        with self._lock:
            self._turns.extend(turns)
        return self

    @property
    def pending(self) -> int:
        """How many scripted turns have not been used yet."""
        with self._lock:
            return len(self._turns)

    @property
    def requests(self) -> list[RecordedRequest]:
        """The chat completion requests received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def all_requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._all_requests)

    @property
    def errors(self) -> list[str]:
        """Failures inside the server (a copy); empty when all went as scripted."""
        with self._lock:
            return list(self._errors)

    def wait_for_requests(self, n: int, timeout: float = 30.0) -> list[RecordedRequest]:
        """Wait until ``n`` chat requests have arrived; raises ``TimeoutError`` if not."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._requests) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"expected {n} chat requests within {timeout}s, got {len(self._requests)}"
                    )
                self._lock.wait(remaining)
            return list(self._requests)

    @property
    def answered(self) -> list[float]:
        """``time.monotonic()`` when each chat answer had been written in full (a copy).

        One entry per turn played to its end (a dropped or cut connection counts when
        the turn itself ended it); benchmarks time the client from here.
        """
        with self._lock:
            return list(self._answered)

    def answered_now(self) -> None:
        """Note that a chat answer has been written in full (called by the handler)."""
        with self._lock:
            self._answered.append(time.monotonic())
            self._lock.notify_all()

    def stalled(self) -> None:
        """Note that a ``Stall`` has sent its chunks and now keeps silent."""
        with self._lock:
            self._stalls += 1
            self._lock.notify_all()

    def wait_for_stalls(self, n: int, timeout: float = 30.0) -> None:
        """Wait until ``n`` stalls have gone silent; raises ``TimeoutError`` if not."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._stalls < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"expected {n} stalls within {timeout}s, got {self._stalls}")
                self._lock.wait(remaining)

    def close(self) -> None:
        """Stop the server: wake stalls, drop connections, join threads (bounded)."""
        if self._closed:
            return
        self._closed = True
        self.closing.set()
        deadline = time.monotonic() + CLOSE_JOIN_S
        self._httpd.shutdown()
        self._httpd.server_close()
        threads, _ = self._httpd.drop_connections()
        for thread in [self._thread, *threads]:
            if thread is not threading.current_thread():  # close() from a responder
                thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._lock.notify_all()

    def __enter__(self) -> ScriptedLLM:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------- used by the handler

    def record(self, request: RecordedRequest, *, chat: bool) -> None:
        """Store a received request (called by the request handler)."""
        with self._lock:
            self._all_requests.append(request)
            if chat:
                self._requests.append(request)
            self._lock.notify_all()

    def record_error(self, message: str) -> None:
        """Store a failure inside the server (called by the request handler)."""
        with self._lock:
            self._errors.append(message)

    def next_turn(self, request: RecordedRequest) -> Turn | None:
        """The next scripted turn, else the responder's, else ``None`` (exhausted)."""
        with self._lock:
            if self._turns:
                return self._turns.popleft()
        responder = self.responder
        if responder is None:
            return None
        turn = responder(request)
        if not isinstance(turn, Reply | Fault | CutStream | Garbage | Stall | StreamError):
            raise TypeError(f"responder returned {turn!r}, not a turn")
        return turn

    def resolve_ids(self, calls: Sequence[ToolCall]) -> list[ToolCall]:
        """The calls with every missing id filled in as ``call_N``."""
        resolved = []
        with self._lock:
            for call in calls:
                if call.id is None:
                    self._call_counter += 1
                    call = ToolCall(call.name, call.arguments, f"call_{self._call_counter}")
                resolved.append(call)
        return resolved

    def next_completion_id(self) -> str:
        """A fresh ``chatcmpl-…`` id."""
        with self._lock:
            self._completion_counter += 1
            return f"chatcmpl-scripted-{self._completion_counter}"


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLM]:
    """A fresh scripted server on loopback, closed (threads joined) after the test."""
    with ScriptedLLM() as server:
        yield server


# --------------------------------------------------------------------------- scripts as JSON

_TURN_TYPES: dict[str, type[Turn]] = {
    "reply": Reply,
    "fault": Fault,
    "cut_stream": CutStream,
    "cut": CutStream,
    "garbage": Garbage,
    "stall": Stall,
    "stream_error": StreamError,
}


def _tool_call_from_dict(data: object) -> ToolCall:
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(f"a tool call needs at least a name: {data!r}")
    unknown = set(data) - {"name", "arguments", "id"}
    if unknown:
        raise ValueError(f"unknown tool call keys {sorted(unknown)}")
    return ToolCall(str(data["name"]), data.get("arguments", {}), data.get("id"))


def turn_from_dict(data: dict[str, Any]) -> Turn:
    """A turn from its JSON form: ``{"type": "reply"|"fault"|..., <fields>}``."""
    data = dict(data)
    kind = data.pop("type", "reply")
    cls = _TURN_TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown turn type {kind!r}; use one of {sorted(_TURN_TYPES)}")
    allowed = {f.name for f in fields(cls)}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown {kind} keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    if "tool_calls" in data:
        data["tool_calls"] = [_tool_call_from_dict(call) for call in data["tool_calls"]]
    if isinstance(data.get("usage"), dict):
        data["usage"] = Usage(**data["usage"])
    return cls(**data)


def load_script(path: str | Path) -> list[Turn]:
    """The turns of a JSON script file (a list of turn objects)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: a script is a JSON list of turns")
    return [turn_from_dict(item) for item in data]


def demo_script() -> list[Turn]:
    """The default hand-testing script: write a file, read it back, finish."""
    return [
        Reply(
            "I'll start by writing the file.",
            tool_calls=[
                ToolCall(
                    "write_file",
                    {"path": "hello.txt", "content": "Hello from the scripted model!\n"},
                )
            ],
            chunk_size=4,
            delay_s=0.03,
        ),
        Reply(
            "Now let me read it back to check.",
            tool_calls=[ToolCall("read_file", {"path": "hello.txt"})],
            chunk_size=4,
            delay_s=0.03,
        ),
        Reply(
            "The file is written and reads back correctly.",
            tool_calls=[ToolCall("finish", {"summary": "Wrote hello.txt and read it back."})],
            chunk_size=4,
            delay_s=0.03,
        ),
    ]


def writes_responder() -> Responder:
    """A responder answering request ``n`` (from 1) with a ``write_file`` of ``bench/f{n}.txt``.

    The content changes with ``n`` too, so no two steps are the same action.
    """
    lock = threading.Lock()
    counter = [0]

    def respond(request: RecordedRequest) -> Turn:
        with lock:
            counter[0] += 1
            n = counter[0]
        path = f"bench/f{n}.txt"
        return Reply(
            f"Writing {path}.",
            tool_calls=[ToolCall("write_file", {"path": path, "content": f"step {n}\n"})],
        )

    return respond


def commands_responder() -> Responder:
    """A responder answering request ``n`` (from 1) with a ``run_command`` that writes
    ``bench/c{n}.txt`` (a command step, for the benchmark of exact capture)."""
    lock = threading.Lock()
    counter = [0]

    def respond(request: RecordedRequest) -> Turn:
        with lock:
            counter[0] += 1
            n = counter[0]
        command = f"mkdir -p bench && echo step {n} > bench/c{n}.txt"
        return Reply(
            f"Running step {n}.", tool_calls=[ToolCall("run_command", {"command": command})]
        )

    return respond


RESPONDERS: dict[str, Callable[[], Responder]] = {
    "writes": writes_responder,
    "commands": commands_responder,
}
"""Responders the command line can use (``--responder NAME``), by name."""


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a script on loopback until Ctrl-C (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.scripted_llm",
        description="A scripted OpenAI-compatible Chat Completions server on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free one)")
    parser.add_argument("--script", type=Path, help="JSON list of turns (default: a demo)")
    parser.add_argument("--model", default="scripted-model", help="model name to report")
    parser.add_argument(
        "--responder",
        choices=sorted(RESPONDERS),
        help="answer requests beyond the script this way (no demo without --script)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    try:
        turns = load_script(args.script) if args.script else []
        if not args.script and not args.responder:
            turns = demo_script()
    except (OSError, ValueError, TypeError) as error:
        print(f"cannot load the script: {error}", file=sys.stderr)
        return 2
    with ScriptedLLM(port=args.port, model=args.model, quiet=args.quiet) as server:
        server.script(*turns)
        if args.responder:
            server.responder = RESPONDERS[args.responder]()
        print(server.base_url, flush=True)
        print(
            f"{len(turns)} scripted turns; serving until Ctrl-C. Try:\n"
            f"  autogpt-tui --base-url {server.base_url} --model {args.model}",
            file=sys.stderr,
            flush=True,
        )
        # Ctrl-C (or SIGTERM) only sets a flag. A KeyboardInterrupt raised inside
        # Event.wait can leave the event's lock held, and close() would then hang on it.
        stop: list[int] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda number, _frame: stop.append(number))
        while not stop and not server.closing.is_set():
            time.sleep(0.1)
        print("stopping", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
