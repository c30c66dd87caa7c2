"""The model client against the scripted server: real openai client, real HTTP, real SSE.

Nothing is mocked: every test points a ``ModelClient`` at ``ScriptedLLM`` on loopback and
scripts what the server does (replies in server dialects, faults, cut and stalled streams,
garbage), then checks what the client makes of it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from autogpt_tui.core.errors import UserError
from autogpt_tui.core.llm import (
    Completion,
    ModelCancelled,
    ModelClient,
    ModelError,
    TokenUsage,
    ToolCallAssembler,
    ToolCallRequest,
    estimate_tokens,
)
from tests.support import scripted_llm
from tests.support.scripted_llm import (
    CutStream,
    Fault,
    Garbage,
    Reply,
    ScriptedLLM,
    Stall,
    ToolCall,
    Usage,
)

llm_server = scripted_llm.llm_server

KEY = "test-key"
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are a careful coding agent."},
    {"role": "user", "content": "Write a.txt please."},
]
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name} a file.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
                "required": ["path"],
            },
        },
    }
    for name in ("write_file", "read_file")
]
WRITE_ARGS = {"path": "a.txt", "content": "hello there, this is the file's content"}
DEADLINE_S = 30.0
"""A generous bound for tests that must not hang; never a timing assertion.

What a test waits out instead (a stall, a retry-after) is several times longer, so a
loaded machine cannot blur the two."""
STALL_S = 120.0
"""A stall far longer than any deadline here; closing the server ends it."""


def make_client(server: ScriptedLLM, **kwargs: Any) -> ModelClient:
    """A client pointed at the scripted server with fast backoff."""
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("backoff_base_s", 0.01)
    kwargs.setdefault("backoff_max_s", 0.05)
    kwargs.setdefault("max_retries", 3)
    kwargs.setdefault("idle_timeout_s", 5.0)
    return ModelClient(model="m", base_url=server.base_url, **kwargs)


@pytest.fixture
def client(llm_server: ScriptedLLM) -> Iterator[ModelClient]:
    """The standard client for ``llm_server``, closed afterwards."""
    model_client = make_client(llm_server)
    yield model_client
    model_client.close()


class Retries:
    """Records ``on_retry(attempt, delay, reason)`` calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float, str]] = []

    def __call__(self, attempt: int, delay: float, reason: str) -> None:
        self.calls.append((attempt, delay, reason))


def run_in_thread(
    target: Any, *args: Any, **kwargs: Any
) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``target`` in a daemon thread; the dict gets ``result`` or ``error``."""
    outcome: dict[str, Any] = {}

    def body() -> None:
        try:
            outcome["result"] = target(*args, **kwargs)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, outcome


def calls_of(completion: Completion) -> list[tuple[str, dict[str, Any]]]:
    """The completion's calls as (name, parsed arguments)."""
    return [(call.name, json.loads(call.arguments)) for call in completion.tool_calls]


# --------------------------------------------------------------------------- replies


def test_text_deltas_are_streamed_in_order_and_assembled(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    text = "Hello from a scripted model, streamed in small pieces."
    llm_server.script(Reply(text, chunk_size=5))
    deltas: list[str] = []
    result = client.complete(MESSAGES, on_text=deltas.append)
    assert result.text == text
    assert deltas == [text[i : i + 5] for i in range(0, len(text), 5)]
    assert result.tool_calls == []
    assert result.finish_reason == "stop"
    assert result.attempts == 1
    request = llm_server.requests[0]
    assert request.stream
    assert request.body["model"] == "m"
    assert request.messages == MESSAGES
    assert request.tools is None


def test_tool_call_with_fragmented_arguments(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(
        Reply(
            "Writing.", tool_calls=[ToolCall("write_file", WRITE_ARGS, id="call_w")], chunk_size=3
        )
    )
    result = client.complete(MESSAGES, TOOLS)
    assert result.text == "Writing."
    assert result.finish_reason == "tool_calls"
    assert result.tool_calls == [
        ToolCallRequest(id="call_w", name="write_file", arguments=json.dumps(WRITE_ARGS))
    ]
    assert llm_server.requests[0].tools == TOOLS


@pytest.mark.parametrize(
    ("omit_index", "repeat_id"),
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["plain", "omit_index", "repeat_id", "both"],
)
def test_server_dialects_give_the_same_single_call(
    llm_server: ScriptedLLM, client: ModelClient, omit_index: bool, repeat_id: bool
) -> None:
    llm_server.script(
        Reply(
            tool_calls=[ToolCall("write_file", WRITE_ARGS, id="call_w")],
            chunk_size=4,
            omit_index=omit_index,
            repeat_id=repeat_id,
        )
    )
    result = client.complete(MESSAGES, TOOLS)
    assert len(result.tool_calls) == 1
    call = result.tool_calls[0]
    assert (call.id, call.name) == ("call_w", "write_file")  # the name is not doubled
    assert json.loads(call.arguments) == WRITE_ARGS
    assert result.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("omit_index", "repeat_id"),
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["plain", "omit_index", "repeat_id", "both"],
)
def test_two_tool_calls_in_one_reply(
    llm_server: ScriptedLLM, client: ModelClient, omit_index: bool, repeat_id: bool
) -> None:
    llm_server.script(
        Reply(
            "Two things.",
            tool_calls=[
                ToolCall("write_file", WRITE_ARGS, id="call_a"),
                ToolCall("read_file", {"path": "b.txt"}, id="call_b"),
            ],
            chunk_size=5,
            omit_index=omit_index,
            repeat_id=repeat_id,
        )
    )
    result = client.complete(MESSAGES, TOOLS)
    assert [c.id for c in result.tool_calls] == ["call_a", "call_b"]
    assert calls_of(result) == [("write_file", WRITE_ARGS), ("read_file", {"path": "b.txt"})]


def test_finish_reason_is_reported(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Reply("cut at the limit", finish_reason="length"))
    result = client.complete(MESSAGES)
    assert result.finish_reason == "length"
    assert result.text == "cut at the limit"


def test_temperature_and_model_override_are_sent(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    llm_server.script(Reply("ok"), Reply("ok"))
    client.complete(MESSAGES, temperature=0.25, model="other")
    client.complete(MESSAGES)
    first, second = llm_server.requests
    assert (first.body["model"], first.body["temperature"]) == ("other", 0.25)
    assert second.body["model"] == "m"
    assert "temperature" not in second.body


# --------------------------------------------------------------------------- usage


def test_usage_comes_from_the_server_when_sent(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    llm_server.script(Reply("ok", usage=Usage(123, 45)))
    result = client.complete(MESSAGES)
    assert result.usage == TokenUsage(prompt_tokens=123, completion_tokens=45, estimated=False)
    assert result.usage.total_tokens == 168
    request = llm_server.requests[0]
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.include_usage


def test_usage_is_estimated_when_the_server_sends_none(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    text = "A reply long enough to count some tokens for."
    llm_server.script(Reply(text, usage=None))
    result = client.complete(MESSAGES)
    assert result.usage.estimated
    assert result.usage.prompt_tokens == estimate_tokens(json.dumps(MESSAGES))
    assert result.usage.completion_tokens == estimate_tokens(text)
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abc") == 1
    assert estimate_tokens("a" * 400) == 100


def test_server_refusing_stream_options_is_asked_again_without(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    llm_server.script(
        Fault(400, message="Unrecognized request argument supplied: stream_options"),
        Reply("ok", usage=None),
        Reply("again", usage=None),
    )
    result = client.complete(MESSAGES)
    assert result.text == "ok"
    assert result.usage.estimated
    assert [r.include_usage for r in llm_server.requests] == [True, False]
    client.complete(MESSAGES)
    assert "stream_options" not in llm_server.requests[2].body


# --------------------------------------------------------------------------- retries


def test_500_then_good_reply_is_retried(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Fault(500), Reply("recovered"))
    retries = Retries()
    result = client.complete(MESSAGES, on_retry=retries)
    assert result.text == "recovered"
    assert result.attempts == 2
    assert len(retries.calls) == 1
    attempt, delay, reason = retries.calls[0]
    assert attempt == 1
    assert "500" in reason
    assert 0 <= delay <= 0.05
    assert len(llm_server.requests) == 2


@pytest.mark.parametrize("status", [408, 409, 502, 503, 504])
def test_other_retryable_statuses(
    llm_server: ScriptedLLM, client: ModelClient, status: int
) -> None:
    llm_server.script(Fault(status), Reply("ok"))
    assert client.complete(MESSAGES).attempts == 2


def test_429_honours_retry_after(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Fault(429, retry_after=0.2), Reply("ok"))
    retries = Retries()
    result = client.complete(MESSAGES, on_retry=retries)
    assert result.text == "ok"
    assert result.attempts == 2
    assert len(retries.calls) == 1
    _, delay, reason = retries.calls[0]
    assert delay == pytest.approx(0.2)
    assert "429" in reason


def test_no_retry_after_uses_the_backoff(llm_server: ScriptedLLM, client: ModelClient) -> None:
    # No Retry-After header at all: the (small) exponential backoff applies.
    llm_server.script(Fault(503, body='{"error": {"message": "busy"}}'), Reply("ok"))
    retries = Retries()
    client.complete(MESSAGES, on_retry=retries)
    assert retries.calls[0][1] <= 0.05  # no header: the (small) backoff


def test_text_of_a_failed_attempt_is_followed_by_on_retry(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    llm_server.script(CutStream(after_chunks=3, text="partial text here"), Reply("good"))
    events: list[str] = []
    result = client.complete(
        MESSAGES,
        on_text=lambda t: events.append(f"text:{t}"),
        on_retry=lambda a, d, r: events.append("retry"),
    )
    assert result.text == "good"
    assert "retry" in events
    after_retry = events[events.index("retry") + 1 :]
    assert "".join(e.removeprefix("text:") for e in after_retry) == "good"


@pytest.mark.parametrize("clean_eof", [False, True], ids=["dropped", "clean_eof"])
def test_cut_stream_is_never_acted_on(
    llm_server: ScriptedLLM, client: ModelClient, clean_eof: bool
) -> None:
    partial = ToolCall("write_file", {"path": "evil.txt", "content": "half"}, id="call_cut")
    llm_server.script(
        CutStream(
            after_chunks=4, text="hi", tool_calls=[partial], chunk_size=4, clean_eof=clean_eof
        ),
        Reply(tool_calls=[ToolCall("read_file", {"path": "b.txt"}, id="call_good")]),
    )
    retries = Retries()
    result = client.complete(MESSAGES, TOOLS, on_retry=retries)
    assert [c.id for c in result.tool_calls] == ["call_good"]
    assert calls_of(result) == [("read_file", {"path": "b.txt"})]
    assert result.attempts == 2
    assert len(retries.calls) == 1
    if clean_eof:
        assert "finish_reason" in retries.calls[0][2]


def test_garbage_sse_line_then_good(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Garbage("<html>not json</html>"), Reply("ok"))
    retries = Retries()
    result = client.complete(MESSAGES, on_retry=retries)
    assert result.text == "ok"
    assert result.attempts == 2
    assert "not valid" in retries.calls[0][2]


def test_garbage_json_body_then_good(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Garbage("{not json at all", content_type="application/json"), Reply("ok"))
    result = client.complete(MESSAGES)
    assert result.text == "ok"
    assert result.attempts == 2


def test_garbage_raw_body_then_good(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Garbage("<html>oops</html>", raw=True), Reply("ok"))
    assert client.complete(MESSAGES).attempts == 2


def test_valid_json_of_the_wrong_shape_then_good(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    llm_server.script(Garbage('{"choices": "nope"}\n[1, 2, 3]'), Reply("ok"))
    result = client.complete(MESSAGES)
    assert result.text == "ok"


def test_stalled_stream_times_out_and_is_retried(llm_server: ScriptedLLM) -> None:
    client = make_client(llm_server, idle_timeout_s=0.5)
    llm_server.script(Stall(after_chunks=2, seconds=STALL_S), Reply("after the stall"))
    retries = Retries()
    start = time.monotonic()
    thread, outcome = run_in_thread(client.complete, MESSAGES, on_retry=retries)
    thread.join(DEADLINE_S)
    assert not thread.is_alive(), "the stalled stream was not abandoned"
    assert time.monotonic() - start < DEADLINE_S
    assert "error" not in outcome, outcome.get("error")
    result: Completion = outcome["result"]
    assert result.text == "after the stall"
    assert result.attempts == 2
    assert "timed out" in retries.calls[0][2]
    client.close()


def test_retries_exhausted_raise_one_sentence(llm_server: ScriptedLLM) -> None:
    client = make_client(llm_server, max_retries=2)
    llm_server.script(Fault(503), Fault(503), Fault(503), Reply("never reached"))
    retries = Retries()
    with pytest.raises(ModelError) as caught:
        client.complete(MESSAGES, on_retry=retries)
    message = str(caught.value)
    assert isinstance(caught.value, UserError)
    assert "3 times" in message and "503" in message
    assert message.endswith(".") and message.count(". ") == 0 and "\n" not in message
    assert len(llm_server.requests) == 3
    assert len(retries.calls) == 2
    assert llm_server.pending == 1


def test_connection_refused_is_retried_then_reported(llm_server: ScriptedLLM) -> None:
    port = llm_server.port
    llm_server.close()
    client = ModelClient(
        model="m",
        base_url=f"http://127.0.0.1:{port}/v1",
        api_key=KEY,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        max_retries=1,
    )
    with pytest.raises(ModelError, match="2 times") as caught:
        client.complete(MESSAGES)
    assert "connection failed" in str(caught.value)


# --------------------------------------------------------------------------- refusals


def test_401_fails_at_once_without_leaking_the_key(llm_server: ScriptedLLM) -> None:
    secret = "sk-very-secret-key-1234"
    client = make_client(llm_server, api_key=secret)
    llm_server.script(Fault(401, message=f"Incorrect API key provided: {secret}"), Reply("no"))
    with pytest.raises(ModelError) as caught:
        client.complete(MESSAGES)
    message = str(caught.value)
    assert "API key" in message
    assert secret not in message
    assert len(llm_server.requests) == 1


def test_404_names_the_model_and_base_url(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Fault(404), Reply("no"))
    with pytest.raises(ModelError) as caught:
        client.complete(MESSAGES)
    message = str(caught.value)
    assert "model name" in message and "base URL" in message
    assert len(llm_server.requests) == 1


def test_400_is_not_retried(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Fault(400, message="messages must not be empty"), Reply("no"))
    retries = Retries()
    with pytest.raises(ModelError) as caught:
        client.complete(MESSAGES, on_retry=retries)
    assert "400" in str(caught.value)
    assert len(llm_server.requests) == 1
    assert retries.calls == []


def test_403_is_not_retried(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Fault(403), Reply("no"))
    with pytest.raises(ModelError, match="403"):
        client.complete(MESSAGES)
    assert len(llm_server.requests) == 1


# --------------------------------------------------------------------------- keys


def test_authorization_header_carries_the_key(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Reply("ok"))
    client.complete(MESSAGES)
    assert llm_server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_no_key_sends_a_placeholder(llm_server: ScriptedLLM) -> None:
    client = make_client(llm_server, api_key=None)
    llm_server.script(Reply("keyless"))
    assert client.complete(MESSAGES).text == "keyless"
    authorization = llm_server.requests[0].headers.get("authorization", "")
    assert authorization.startswith("Bearer ")
    assert authorization != "Bearer "
    client.close()


# --------------------------------------------------------------------------- cancel


def test_cancel_during_a_stall(llm_server: ScriptedLLM) -> None:
    # The idle timeout is long: only cancel() can end this promptly.
    client = make_client(llm_server, idle_timeout_s=20.0)
    llm_server.script(Stall(after_chunks=2, seconds=STALL_S), Reply("not this"))
    thread, outcome = run_in_thread(client.complete, MESSAGES)
    llm_server.wait_for_stalls(1)  # the chunks are out and the server keeps silent
    start = time.monotonic()
    client.cancel()
    thread.join(DEADLINE_S)
    assert not thread.is_alive(), "cancel() did not end the stalled request"
    assert time.monotonic() - start < DEADLINE_S
    assert isinstance(outcome.get("error"), ModelCancelled), outcome
    assert len(llm_server.requests) == 1

    with pytest.raises(ModelCancelled):
        client.complete(MESSAGES)  # still cancelled until reset
    assert len(llm_server.requests) == 1

    client.reset_cancel()
    assert client.complete(MESSAGES).text == "not this"
    client.close()


def test_cancel_during_a_stall_with_retries_spent(llm_server: ScriptedLLM) -> None:
    client = make_client(llm_server, idle_timeout_s=20.0, max_retries=0)
    llm_server.script(Stall(after_chunks=1, seconds=STALL_S))
    thread, outcome = run_in_thread(client.complete, MESSAGES)
    llm_server.wait_for_stalls(1)
    client.cancel()
    thread.join(DEADLINE_S)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), ModelCancelled), outcome
    client.close()


def test_cancel_during_a_retry_wait(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Fault(429, retry_after=STALL_S), Reply("not this"), Reply("after reset"))
    waiting = threading.Event()
    thread, outcome = run_in_thread(
        client.complete, MESSAGES, on_retry=lambda a, d, r: waiting.set()
    )
    assert waiting.wait(DEADLINE_S)
    start = time.monotonic()
    client.cancel()
    thread.join(DEADLINE_S)
    assert not thread.is_alive()
    assert time.monotonic() - start < DEADLINE_S
    assert isinstance(outcome.get("error"), ModelCancelled), outcome
    assert len(llm_server.requests) == 1

    client.reset_cancel()
    assert client.complete(MESSAGES).text == "not this"


def test_cancel_before_a_request_sends_nothing(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    llm_server.script(Reply("ok"))
    client.cancel()
    with pytest.raises(ModelCancelled):
        client.complete(MESSAGES)
    assert llm_server.requests == []
    client.reset_cancel()
    assert client.complete(MESSAGES).text == "ok"


def test_cancel_while_streaming_stops_the_stream(llm_server: ScriptedLLM) -> None:
    client = make_client(llm_server)
    llm_server.script(Reply("x" * 200, chunk_size=2, delay_s=0.05))
    seen: list[str] = []

    def on_text(delta: str) -> None:
        seen.append(delta)
        if len(seen) == 3:
            client.cancel()

    with pytest.raises(ModelCancelled):
        client.complete(MESSAGES, on_text=on_text)
    assert len(seen) < 10
    client.close()


# --------------------------------------------------------------------------- assembler


def test_assembler_with_indexes() -> None:
    assembler = ToolCallAssembler()
    assembler.add(0, "call_a", "write_file", "")
    assembler.add(1, "call_b", "read_file", "")
    assembler.add(0, None, None, '{"path": ')
    assembler.add(1, None, None, '{"path": "b"}')
    assembler.add(0, None, None, '"a"}')
    assert assembler.result() == [
        ToolCallRequest("call_a", "write_file", '{"path": "a"}'),
        ToolCallRequest("call_b", "read_file", '{"path": "b"}'),
    ]


def test_assembler_index_missing() -> None:
    assembler = ToolCallAssembler()
    assembler.add(None, "call_a", "write_file", "")
    assembler.add(None, None, None, '{"pa')
    assembler.add(None, None, None, 'th": "a"}')
    assembler.add(None, "call_b", "read_file", '{"path"')
    assembler.add(None, None, None, ': "b"}')
    assert assembler.result() == [
        ToolCallRequest("call_a", "write_file", '{"path": "a"}'),
        ToolCallRequest("call_b", "read_file", '{"path": "b"}'),
    ]


def test_assembler_ids_and_names_repeated() -> None:
    assembler = ToolCallAssembler()
    for fragment in ['{"path"', ': "a"', "}"]:
        assembler.add(None, "call_a", "write_file", fragment)
    for fragment in ['{"path"', ': "b"}']:
        assembler.add(None, "call_b", "read_file", fragment)
    assembler.add(None, "call_a", "write_file", "")  # a late repeat goes to its own call
    assert assembler.result() == [
        ToolCallRequest("call_a", "write_file", '{"path": "a"}'),
        ToolCallRequest("call_b", "read_file", '{"path": "b"}'),
    ]


def test_assembler_ids_repeated_with_indexes() -> None:
    assembler = ToolCallAssembler()
    assembler.add(0, "call_a", "write_file", '{"x"')
    assembler.add(0, "call_a", "write_file", ": 1}")
    assert assembler.result() == [ToolCallRequest("call_a", "write_file", '{"x": 1}')]


def test_assembler_bare_fragments_continue_the_last_call() -> None:
    assembler = ToolCallAssembler()
    assembler.add(None, None, "write_file", '{"a"')
    assembler.add(None, None, None, ": 1}")
    assert assembler.result() == [ToolCallRequest("call_0", "write_file", '{"a": 1}')]


def test_assembler_name_split_across_fragments() -> None:
    assembler = ToolCallAssembler()
    assembler.add(0, "call_a", "write", "")
    assembler.add(0, None, "_file", "{}")
    assert assembler.result() == [ToolCallRequest("call_a", "write_file", "{}")]


def test_assembler_same_index_new_id_is_a_new_call() -> None:
    # Some servers number every call 0 but give each its own id.
    assembler = ToolCallAssembler()
    assembler.add(0, "call_a", "write_file", '{"path": "a"}')
    assembler.add(0, "call_b", "read_file", '{"path": "b"}')
    assert assembler.result() == [
        ToolCallRequest("call_a", "write_file", '{"path": "a"}'),
        ToolCallRequest("call_b", "read_file", '{"path": "b"}'),
    ]


def test_assembler_skips_empty_calls_and_makes_up_ids() -> None:
    assembler = ToolCallAssembler()
    assembler.add(0, None, None, None)
    assembler.add(1, None, "finish", "{}")
    assert assembler.result() == [ToolCallRequest("call_1", "finish", "{}")]


@pytest.mark.parametrize("max_retries", [0, 2])
def test_cancel_as_a_cut_stream_ends_is_a_cancel(llm_server: ScriptedLLM, max_retries: int) -> None:
    # The stream ends cleanly right after the cancel, without a finish_reason: that is
    # the cancel's doing, not a failure to retry or report.
    client = make_client(llm_server, max_retries=max_retries)
    llm_server.script(CutStream(after_chunks=2, text="partial", clean_eof=True), Reply("no"))
    retries = Retries()
    with pytest.raises(ModelCancelled):
        client.complete(MESSAGES, on_text=lambda t: client.cancel(), on_retry=retries)
    assert retries.calls == []
    assert len(llm_server.requests) == 1
    client.close()
