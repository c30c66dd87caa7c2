"""The scripted OpenAI-compatible server, driven by the real ``openai`` client over HTTP.

What each fault looks like to the client (openai 3.x, observed here):

- ``Fault(status)``: ``create()`` raises the ``APIStatusError`` subclass for the status
  (``InternalServerError``, ``RateLimitError``, ...) before any chunk, streaming or not.
- ``CutStream()``: the chunks sent arrive, then iteration raises ``APIConnectionError``
  (caused by httpx2's ``RemoteProtocolError``: incomplete chunked read). With
  ``clean_eof=True`` iteration simply stops. Either way no chunk has a finish_reason.
- ``Garbage()``: iteration (streaming) or ``create()`` (non-streaming, application/json)
  raises ``json.JSONDecodeError`` — a ``ValueError``, *not* an ``openai`` error.
- ``Stall()``: with a 1 s read timeout the client raises ``APITimeoutError`` after ~1 s.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from tests.support import scripted_llm
from tests.support.scripted_llm import (
    CutStream,
    Fault,
    Garbage,
    RecordedRequest,
    Reply,
    ScriptedLLM,
    Stall,
    StreamError,
    ToolCall,
    Turn,
    Usage,
    demo_script,
    load_script,
    turn_from_dict,
)

llm_server = scripted_llm.llm_server

MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are a careful coding agent."},
    {"role": "user", "content": "Write a.txt please."},
]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "write_file",
            "description": "Write a file.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
                "required": ["path", "content"],
            },
        },
    }
]
REPO_ROOT = Path(__file__).resolve().parents[2]


def client_for(server: ScriptedLLM, **kwargs: Any) -> openai.OpenAI:
    """The real client, pointed at the scripted server, without retries by default."""
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 5.0)
    return openai.OpenAI(base_url=server.base_url, api_key="test-key", **kwargs)


def stream(client: openai.OpenAI, **kwargs: Any) -> Any:
    """Start a streamed chat completion with the standard messages."""
    kwargs.setdefault("messages", MESSAGES)
    return client.chat.completions.create(model="test-model", stream=True, **kwargs)


def collect(client: openai.OpenAI, **kwargs: Any) -> list[ChatCompletionChunk]:
    """Every chunk of a streamed chat completion."""
    return list(stream(client, **kwargs))


def assemble(chunks: Iterable[ChatCompletionChunk]) -> tuple[str, list[dict[str, str]], str | None]:
    """Text, tool calls and finish reason from deltas, tolerating both server dialects.

    A delta with an ``index`` belongs to that call; without one, a known ``id`` names
    the call, a new ``id`` starts one, and a bare fragment continues the last call.
    """
    text = ""
    calls: list[dict[str, str]] = []
    by_index: dict[int, int] = {}
    finish: str | None = None
    for chunk in chunks:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for delta in choice.delta.tool_calls or []:
                index: int | None = delta.index
                position: int | None = None
                if index is not None:
                    position = by_index.get(index)
                elif delta.id:
                    known = [n for n, call in enumerate(calls) if call["id"] == delta.id]
                    position = known[0] if known else None
                elif calls:
                    position = len(calls) - 1
                if position is None:
                    calls.append({"id": "", "name": "", "arguments": ""})
                    position = len(calls) - 1
                    if index is not None:
                        by_index[index] = position
                call = calls[position]
                call["id"] = delta.id or call["id"]
                if delta.function is not None:
                    call["name"] = delta.function.name or call["name"]
                    call["arguments"] += delta.function.arguments or ""
            if choice.finish_reason is not None:
                finish = choice.finish_reason
    return text, calls, finish


def test_streamed_text_is_assembled_from_deltas(llm_server: ScriptedLLM) -> None:
    llm_server.script(Reply("Hello from a scripted model!", chunk_size=5))
    chunks = collect(client_for(llm_server))
    text, calls, finish = assemble(chunks)
    assert text == "Hello from a scripted model!"
    assert calls == []
    assert finish == "stop"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 6
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert [c.choices[0].finish_reason for c in chunks][:-1] == [None] * (len(chunks) - 1)


def test_tool_call_arguments_arrive_in_fragments(llm_server: ScriptedLLM) -> None:
    arguments = {"path": "a.txt", "content": "hi there, this is a longer content"}
    llm_server.script(Reply("Writing.", tool_calls=[ToolCall("write_file", arguments)]))
    chunks = collect(client_for(llm_server), tools=TOOLS)
    fragments = [
        delta.function.arguments
        for c in chunks
        for delta in (c.choices[0].delta.tool_calls or [])
        if delta.function is not None and delta.function.arguments
    ]
    assert len(fragments) > 3
    text, calls, finish = assemble(chunks)
    assert text == "Writing."
    assert finish == "tool_calls"
    assert [(call["id"], call["name"]) for call in calls] == [("call_1", "write_file")]
    assert json.loads(calls[0]["arguments"]) == arguments


def test_usage_chunk_comes_last_when_asked_for(llm_server: ScriptedLLM) -> None:
    client = client_for(llm_server)
    llm_server.script(Reply("ok"), Reply("ok", usage=Usage(12, 3)), Reply("ok"))
    default = collect(client, stream_options={"include_usage": True})
    assert default[-1].choices == []
    assert default[-1].usage is not None
    expected_prompt = len("You are a careful coding agent.Write a.txt please.") // 4
    assert default[-1].usage.prompt_tokens == expected_prompt
    assert default[-1].usage.total_tokens == expected_prompt + 1
    assert default[-2].choices[0].finish_reason == "stop"

    explicit = collect(client, stream_options={"include_usage": True})
    assert explicit[-1].usage is not None
    assert (explicit[-1].usage.prompt_tokens, explicit[-1].usage.total_tokens) == (12, 15)

    without = collect(client)
    assert all(c.usage is None and c.choices for c in without)


def test_usage_none_sends_no_usage_chunk(llm_server: ScriptedLLM) -> None:
    llm_server.script(Reply("ok", usage=None))
    chunks = collect(client_for(llm_server), stream_options={"include_usage": True})
    assert all(c.choices for c in chunks)


@pytest.mark.parametrize(("omit_index", "repeat_id"), [(True, False), (False, True), (True, True)])
def test_server_dialects_assemble_to_the_same_calls(
    llm_server: ScriptedLLM, omit_index: bool, repeat_id: bool
) -> None:
    calls = [
        ToolCall("write_file", {"path": "a.txt", "content": "first file"}, id="call_a"),
        ToolCall("read_file", {"path": "b.txt"}, id="call_b"),
    ]
    llm_server.script(
        Reply(tool_calls=calls, chunk_size=3),
        Reply(tool_calls=calls, chunk_size=3, omit_index=omit_index, repeat_id=repeat_id),
    )
    client = client_for(llm_server)
    plain = collect(client, tools=TOOLS)
    variant = collect(client, tools=TOOLS)
    assert assemble(variant) == assemble(plain)
    _, assembled, _ = assemble(variant)
    assert [json.loads(call["arguments"]) for call in assembled] == [
        {"path": "a.txt", "content": "first file"},
        {"path": "b.txt"},
    ]
    deltas = [d for c in variant if c.choices for d in (c.choices[0].delta.tool_calls or [])]
    assert len(deltas) > 4
    if omit_index:
        assert all(d.index is None for d in deltas)
    if repeat_id:
        assert all(d.id and d.function and d.function.name for d in deltas)


def test_non_streamed_reply_is_a_chat_completion(llm_server: ScriptedLLM) -> None:
    llm_server.script(
        Reply("Calling.", tool_calls=[ToolCall("write_file", '{"path": "a.txt"')]),
        Reply("Plain."),
    )
    client = client_for(llm_server)
    first = client.chat.completions.create(model="test-model", messages=MESSAGES, tools=TOOLS)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Calling."
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert (call.id, call.function.name) == ("call_1", "write_file")
    assert call.function.arguments == '{"path": "a.txt"'  # malformed on purpose
    assert first.usage is not None and first.usage.prompt_tokens > 0
    second = client.chat.completions.create(model="test-model", messages=MESSAGES)
    assert (second.choices[0].message.content, second.choices[0].finish_reason) == (
        "Plain.",
        "stop",
    )


def test_fault_500_raises_status_error(llm_server: ScriptedLLM) -> None:
    llm_server.script(Fault(500), Fault(503, message="overloaded"))
    client = client_for(llm_server)
    with pytest.raises(openai.InternalServerError) as caught:
        stream(client)
    assert isinstance(caught.value, openai.APIStatusError)
    assert caught.value.status_code == 500
    with pytest.raises(openai.APIStatusError) as caught_503:
        client.chat.completions.create(model="test-model", messages=MESSAGES)
    assert caught_503.value.status_code == 503
    assert "overloaded" in str(caught_503.value)


def test_fault_429_carries_retry_after(llm_server: ScriptedLLM) -> None:
    llm_server.script(Fault(429, retry_after=0.5))
    with pytest.raises(openai.RateLimitError) as caught:
        stream(client_for(llm_server))
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "0.5"
    assert caught.value.response.headers["retry-after-ms"] == "500"


def test_a_retrying_client_honours_retry_after(llm_server: ScriptedLLM) -> None:
    llm_server.script(Fault(429, retry_after=0.3), Reply("after the wait"))
    text, _, _ = assemble(collect(client_for(llm_server, max_retries=1)))
    assert text == "after the wait"
    first, second = llm_server.requests
    assert second.time - first.time >= 0.25


def test_fault_body_is_sent_verbatim(llm_server: ScriptedLLM) -> None:
    llm_server.script(Fault(400, body='{"error": {"message": "stream_options unsupported"}}'))
    with pytest.raises(openai.BadRequestError, match="stream_options unsupported"):
        stream(client_for(llm_server))


def test_cut_stream_raises_a_connection_error_without_finish(llm_server: ScriptedLLM) -> None:
    llm_server.script(CutStream(after_chunks=3, text="partial answer", chunk_size=4))
    received: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream(client_for(llm_server)):
            received.append(chunk)
    assert len(received) == 3
    assert all(c.choices[0].finish_reason is None for c in received)
    assert assemble(received)[0] == "partial "


def test_cut_stream_with_clean_eof_just_stops(llm_server: ScriptedLLM) -> None:
    llm_server.script(
        CutStream(
            after_chunks=4,
            text="",
            tool_calls=[ToolCall("write_file", {"path": "a.txt", "content": "xyz"})],
            chunk_size=5,
            clean_eof=True,
        )
    )
    received = collect(client_for(llm_server))
    assert len(received) == 4
    assert all(c.choices[0].finish_reason is None for c in received)
    _, calls, finish = assemble(received)
    assert finish is None
    assert calls[0]["arguments"] == '{"path": "'  # cut in the middle of the JSON


def test_cut_stream_on_a_non_streamed_request(llm_server: ScriptedLLM) -> None:
    llm_server.script(CutStream())
    with pytest.raises(openai.APIConnectionError):
        client_for(llm_server).chat.completions.create(model="test-model", messages=MESSAGES)


def test_garbage_in_a_stream_raises_json_decode_error(llm_server: ScriptedLLM) -> None:
    llm_server.script(Garbage())
    with pytest.raises(json.JSONDecodeError):
        collect(client_for(llm_server))


def test_garbage_plain_json_body_raises_json_decode_error(llm_server: ScriptedLLM) -> None:
    llm_server.script(Garbage("<html>oops</html>", content_type="application/json"))
    with pytest.raises(json.JSONDecodeError):
        client_for(llm_server).chat.completions.create(model="test-model", messages=MESSAGES)


def test_stall_times_out_the_client_and_close_is_prompt() -> None:
    server = ScriptedLLM()
    try:
        server.script(Stall(after_chunks=1, seconds=30))
        client = client_for(server, timeout=openai.Timeout(5.0, read=1.0))
        received: list[ChatCompletionChunk] = []
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            for chunk in stream(client):
                received.append(chunk)
        assert 0.8 < time.monotonic() - started < 20.0  # the stall lasts 30 s
        assert len(received) == 1
        assert received[0].choices[0].delta.role == "assistant"
    finally:
        started = time.monotonic()
        server.close()
        assert time.monotonic() - started < 15.0  # the stall would last 30 s


def test_close_wakes_a_stall_while_a_client_still_reads() -> None:
    server = ScriptedLLM()
    server.script(Stall(after_chunks=2, seconds=30))
    first_chunk = threading.Event()
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            for _ in stream(client_for(server, timeout=20.0)):
                first_chunk.set()
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first_chunk.wait(30.0)
    finally:
        started = time.monotonic()
        server.close()
        closed_in = time.monotonic() - started
    reader.join(30.0)
    assert not reader.is_alive()
    assert closed_in < 15.0  # the stall would last 30 s
    assert len(outcome) == 1 and isinstance(outcome[0], openai.APIConnectionError)
    assert not [t for t in threading.enumerate() if t.name.startswith("scripted-llm")]


def test_requests_are_recorded(llm_server: ScriptedLLM) -> None:
    llm_server.script(Reply("one"), Reply("two"))
    client = client_for(llm_server)
    collect(client, tools=TOOLS)
    client.chat.completions.create(
        model="test-model", messages=[{"role": "user", "content": "no system here"}]
    )
    first, second = llm_server.wait_for_requests(2, timeout=30.0)
    assert first.path == "/v1/chat/completions"
    assert first.method == "POST"
    assert first.headers["authorization"] == "Bearer test-key"
    assert first.messages == MESSAGES
    assert first.system_prompt == "You are a careful coding agent."
    assert first.tools == TOOLS
    assert first.stream and first.body["model"] == "test-model"
    assert second.system_prompt == ""
    assert second.tools is None
    assert not second.stream
    assert first.time <= second.time
    with pytest.raises(TimeoutError):
        llm_server.wait_for_requests(3, timeout=0.05)


def test_exhausted_script_answers_500(llm_server: ScriptedLLM) -> None:
    llm_server.script(Reply("only one"))
    client = client_for(llm_server, max_retries=2)  # x-should-retry: false stops retries
    collect(client)
    with pytest.raises(openai.InternalServerError, match="script exhausted") as caught:
        stream(client)
    assert caught.value.status_code == 500
    assert len(llm_server.requests) == 2
    assert llm_server.pending == 0


def test_responder_answers_when_the_script_is_empty(llm_server: ScriptedLLM) -> None:
    def responder(request: RecordedRequest) -> Turn:
        return Reply(f"you sent {len(request.messages)} messages")

    llm_server.script(Reply("scripted first"))
    llm_server.responder = responder
    client = client_for(llm_server)
    texts = [assemble(collect(client))[0] for _ in range(3)]
    assert texts == ["scripted first", "you sent 2 messages", "you sent 2 messages"]
    assert llm_server.errors == []


def test_models_endpoint_and_unknown_paths(llm_server: ScriptedLLM) -> None:
    client = client_for(llm_server)
    assert [model.id for model in client.models.list()] == ["scripted-model"]
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="m", input="x")
    assert [r.path for r in llm_server.all_requests] == ["/v1/models", "/v1/embeddings"]
    assert llm_server.requests == []


def test_delays_between_chunks(llm_server: ScriptedLLM) -> None:
    llm_server.script(Reply("abcdefgh", chunk_size=2, delay_s=0.05))
    started = time.monotonic()
    assert assemble(collect(client_for(llm_server)))[0] == "abcdefgh"
    assert time.monotonic() - started >= 0.25  # 6 chunks, 5 pauses


def test_turns_load_from_json(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            [
                {
                    "type": "reply",
                    "text": "hi",
                    "tool_calls": [{"name": "write_file", "arguments": {"path": "a.txt"}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 2},
                },
                {"type": "fault", "status": 429, "retry_after": 0.5},
                {"type": "cut_stream", "after_chunks": 1},
                {"type": "garbage", "content_type": "application/json"},
                {"type": "stall", "seconds": 2},
            ]
        )
    )
    assert load_script(script) == [
        Reply("hi", tool_calls=[ToolCall("write_file", {"path": "a.txt"})], usage=Usage(1, 2)),
        Fault(429, retry_after=0.5),
        CutStream(after_chunks=1),
        Garbage(content_type="application/json"),
        Stall(seconds=2),
    ]
    with pytest.raises(ValueError, match="unknown turn type"):
        turn_from_dict({"type": "nonsense"})
    with pytest.raises(ValueError, match="unknown reply keys"):
        turn_from_dict({"type": "reply", "txt": "typo"})


def test_demo_script_plays_through_the_client(llm_server: ScriptedLLM) -> None:
    llm_server.script(*[Reply(t.text, t.tool_calls) for t in demo_script() if isinstance(t, Reply)])
    client = client_for(llm_server)
    names = [assemble(collect(client))[1][0]["name"] for _ in range(3)]
    assert names == ["write_file", "read_file", "finish"]


def test_command_line_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.scripted_llm", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 10.0)
        assert ready, "the server printed no base URL"
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, timeout=5.0)
        _, calls, _ = assemble(stream(client, messages=MESSAGES))
        assert calls[0]["name"] == "write_file"
        client.close()
        process.send_signal(signal.SIGINT)
        # Without the interrupt it would serve forever; the bound only allows for a
        # loaded machine.
        assert process.wait(timeout=30.0) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5.0)


# --------------------------------------------------------------------------- dialects


def raw_post(server: ScriptedLLM, body: dict[str, Any]) -> tuple[str, str]:
    """POST a chat request over plain HTTP; the response's content type and body text."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/v1/chat/completions",
            json.dumps({"model": "test-model", "messages": MESSAGES, **body}),
            {"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()


def sse_data(body: str) -> list[Any]:
    """The JSON of each ``data:`` line of an SSE body ([DONE] as the string)."""
    out: list[Any] = []
    for line in body.splitlines():
        if line.startswith("data: "):
            data = line[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


@pytest.mark.parametrize(
    ("style", "event_line", "data"),
    [
        # OpenAI, Groq, SGLang: the error object as an unnamed event's data.
        ("data", False, {"error": {"message": "boom", "type": "server_error", "code": 503}}),
        # Proxies (and Groq's SDK reads this too): a named ``error`` event.
        ("event", True, {"error": {"message": "boom", "type": "server_error", "code": 503}}),
        # vLLM's ErrorResponse.
        (
            "vllm",
            False,
            {"object": "error", "message": "boom", "type": "server_error", "code": 503},
        ),
    ],
)
def test_stream_error_sends_chunks_then_the_error_object(
    llm_server: ScriptedLLM, style: Any, event_line: bool, data: dict[str, Any]
) -> None:
    llm_server.script(StreamError("boom", "server_error", code=503, after_chunks=2, style=style))
    content_type, body = raw_post(llm_server, {"stream": True})
    assert content_type.startswith("text/event-stream")
    events = sse_data(body)
    assert [e["object"] for e in events[:2]] == ["chat.completion.chunk"] * 2
    assert events[2:] == [data]  # no [DONE] after the error
    assert ("event: error\n" in body) is event_line


def test_stream_error_reaches_the_openai_client_as_an_api_error(llm_server: ScriptedLLM) -> None:
    llm_server.script(StreamError("bad things", after_chunks=1, style="event"))
    with pytest.raises(openai.APIError, match="bad things"):
        collect(client_for(llm_server))


def test_stream_error_on_a_non_streamed_request_is_a_json_body(llm_server: ScriptedLLM) -> None:
    llm_server.script(StreamError("boom"))
    content_type, body = raw_post(llm_server, {})
    assert content_type == "application/json"
    assert json.loads(body) == {"error": {"message": "boom", "type": "server_error"}}


@pytest.mark.parametrize("style", ["reasoning_content", "reasoning"])
def test_reasoning_fields_stream_before_the_text(llm_server: ScriptedLLM, style: Any) -> None:
    # DeepSeek/llama.cpp (reasoning_content) and vLLM/Groq/Ollama (reasoning) send the
    # reasoning in its own delta field, with content null.
    llm_server.script(Reply("answer", reasoning="abcdefghij", reasoning_style=style, chunk_size=4))
    _, body = raw_post(llm_server, {"stream": True})
    deltas = [e["choices"][0]["delta"] for e in sse_data(body) if isinstance(e, dict)]
    reasoning = [d[style] for d in deltas if style in d]
    assert reasoning == ["abcd", "efgh", "ij"]
    assert all(d["content"] is None for d in deltas if style in d)
    assert "".join(d.get("content") or "" for d in deltas) == "answer"


def test_mistral_thinking_and_text_parts(llm_server: ScriptedLLM) -> None:
    llm_server.script(
        Reply("ok", reasoning="hmm", reasoning_style="mistral", content_parts=True, chunk_size=8)
    )
    _, body = raw_post(llm_server, {"stream": True})
    contents = [e["choices"][0]["delta"].get("content") for e in sse_data(body)[:-1]]  # [DONE]
    assert contents[1:] == [
        [{"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]}],
        [{"type": "text", "text": "ok"}],
        None,  # the finishing chunk's empty delta
    ]


def test_reasoning_in_a_non_streamed_reply(llm_server: ScriptedLLM) -> None:
    llm_server.script(
        Reply("ok", reasoning="why", reasoning_style="reasoning_content"),
        Reply("ok", reasoning="why", reasoning_style="mistral"),
    )
    _, first = raw_post(llm_server, {})
    assert json.loads(first)["choices"][0]["message"]["reasoning_content"] == "why"
    _, second = raw_post(llm_server, {})
    assert json.loads(second)["choices"][0]["message"]["content"] == [
        {"type": "thinking", "thinking": [{"type": "text", "text": "why"}]},
        {"type": "text", "text": "ok"},
    ]


def test_json_body_answers_a_stream_request_with_one_completion(llm_server: ScriptedLLM) -> None:
    llm_server.script(
        Reply("whole", tool_calls=[ToolCall("write_file", {"path": "a"})], json_body=True)
    )
    content_type, body = raw_post(llm_server, {"stream": True})
    assert content_type == "application/json"
    completion = json.loads(body)
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"]["content"] == "whole"
    assert completion["choices"][0]["finish_reason"] == "tool_calls"


def test_dialect_turns_load_from_json() -> None:
    assert turn_from_dict(
        {"type": "stream_error", "message": "m", "code": 429, "style": "event"}
    ) == StreamError("m", code=429, style="event")
    assert turn_from_dict(
        {"type": "reply", "text": "t", "reasoning": "r", "reasoning_style": "mistral"}
    ) == Reply("t", reasoning="r", reasoning_style="mistral")
    with pytest.raises(ValueError, match="reasoning_style"):
        Reply("t", reasoning_style="nonsense")  # type: ignore[arg-type]


def answers(server: ScriptedLLM, n: int) -> list[float]:
    """Wait (generously) until ``n`` answers have been sent in full; their times."""
    deadline = time.monotonic() + 30
    while len(server.answered) < n:
        assert time.monotonic() < deadline, "the answers were never recorded"
        time.sleep(0.01)
    return server.answered


def test_answered_records_when_each_answer_was_sent_in_full(llm_server: ScriptedLLM) -> None:
    llm_server.script(Reply("one"), Reply("two", json_body=True), Fault(503))
    client = client_for(llm_server)
    before = time.monotonic()
    collect(client)
    (first,) = answers(llm_server, 1)
    client.chat.completions.create(model="test-model", messages=MESSAGES)
    with pytest.raises(openai.InternalServerError):
        collect(client)
    times = answers(llm_server, 3)
    assert times[0] == first and before <= times[0] <= times[1] <= times[2]
