"""Real servers' stream dialects, through the real ``openai`` client over real HTTP and SSE.

Each shape is scripted from the server's documented wire format (the server is named at
each test): errors sent inside a 200 stream, reasoning sent apart from the answer,
content as a list of parts, a whole JSON body in answer to a streaming request, and
tool-call arguments too big to accept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from autogpt_tui.core.llm import (
    DEFAULT_MAX_TOOL_ARGS_BYTES,
    ModelClient,
    ModelError,
    ToolCallAssembler,
)
from autogpt_tui.core.settings import ModelSettings
from tests.support import scripted_llm
from tests.support.scripted_llm import (
    CutStream,
    Garbage,
    Reply,
    ScriptedLLM,
    StreamError,
    ToolCall,
    Usage,
)
from tests.unit.test_llm import make_client as base_client

llm_server = scripted_llm.llm_server

MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are a careful coding agent."},
    {"role": "user", "content": "Write a.txt please."},
]
WRITE_ARGS = {"path": "a.txt", "content": "hello there"}


def make_client(server: ScriptedLLM, **kwargs: Any) -> ModelClient:
    """test_llm's client, with a longer idle timeout (some shapes stream slowly here)."""
    kwargs.setdefault("idle_timeout_s", 10.0)
    return base_client(server, **kwargs)


@pytest.fixture
def client(llm_server: ScriptedLLM) -> Iterator[ModelClient]:
    """The standard client for ``llm_server``, closed afterwards."""
    model_client = make_client(llm_server)
    yield model_client
    model_client.close()


class Recorder:
    """Records every callback in order, tagged, so interleavings can be checked."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []

    def text(self, piece: str) -> None:
        self.log.append(("text", piece))

    def reasoning(self, piece: str) -> None:
        self.log.append(("reasoning", piece))

    def retry(self, attempt: int, delay: float, reason: str) -> None:
        self.log.append(("retry", reason))

    def joined(self, kind: str) -> str:
        return "".join(piece for tag, piece in self.log if tag == kind)

    def reasons(self) -> list[str]:
        return [piece for tag, piece in self.log if tag == "retry"]


def complete(client: ModelClient, recorder: Recorder, **kwargs: Any) -> Any:
    return client.complete(
        MESSAGES,
        on_text=recorder.text,
        on_reasoning=recorder.reasoning,
        on_retry=recorder.retry,
        **kwargs,
    )


# --------------------------------------------------------------------------- in-stream errors

# Retryable error objects, each as a server documents it:
RETRYABLE_ERRORS = [
    # OpenAI: {"error": {"message", "type": "server_error", "code": null}} mid-stream.
    pytest.param(StreamError("The server had an error.", "server_error"), id="openai-data"),
    # Groq: a 200 stream ending in an error event with "internal_server_error".
    pytest.param(
        StreamError("Internal error, please retry", "internal_server_error", style="event"),
        id="groq-event",
    ),
    # Rate limits sent mid-stream by proxies (LiteLLM, OpenRouter): a 429 code.
    pytest.param(
        StreamError("Rate limit reached", "tokens", code=429, style="event"), id="proxy-429"
    ),
    # vLLM's ErrorResponse as the data: {"object": "error", ..., "code": 500}.
    pytest.param(
        StreamError("engine died", "InternalServerError", code=500, style="vllm"), id="vllm-500"
    ),
    # Anthropic-style proxies: "overloaded_error".
    pytest.param(StreamError("Overloaded", "overloaded_error"), id="overloaded"),
]


@pytest.mark.parametrize("error", RETRYABLE_ERRORS)
def test_a_retryable_error_in_the_stream_is_retried(
    llm_server: ScriptedLLM, client: ModelClient, error: StreamError
) -> None:
    llm_server.script(error, Reply("ok"))
    recorder = Recorder()
    result = complete(client, recorder)
    assert result.text == "ok"
    assert result.attempts == 2
    assert len(llm_server.requests) == 2
    (reason,) = recorder.reasons()
    assert error.message in reason
    # The partial text of the failed attempt came before the retry, so a UI can drop it.
    tags = [tag for tag, _ in recorder.log]
    assert tags.index("retry") > tags.index("text")


NON_RETRYABLE_ERRORS = [
    # OpenAI: a request the model cannot take, sent as an error in the stream.
    pytest.param(
        StreamError(
            "This model's maximum context length is 8192 tokens.",
            "invalid_request_error",
            code="context_length_exceeded",
        ),
        id="openai-context",
    ),
    # Groq: "tool_use_failed" (the model produced a call that is not valid).
    pytest.param(
        StreamError("Failed to call a function.", "invalid_request_error", code="tool_use_failed"),
        id="groq-tool-use-failed",
    ),
    # vLLM: {"object": "error", "type": "BadRequestError", "code": 400}.
    pytest.param(
        StreamError("max_tokens is too large", "BadRequestError", code=400, style="vllm"),
        id="vllm-400",
    ),
    # A proxy's ``event: error`` with a content filter verdict.
    pytest.param(
        StreamError("The response was filtered.", "content_filter", style="event"),
        id="proxy-filter",
    ),
]


@pytest.mark.parametrize("error", NON_RETRYABLE_ERRORS)
def test_a_final_error_in_the_stream_is_one_sentence_quoting_the_server(
    llm_server: ScriptedLLM, client: ModelClient, error: StreamError
) -> None:
    llm_server.script(error, Reply("never asked for"))
    recorder = Recorder()
    with pytest.raises(ModelError) as caught:
        complete(client, recorder)
    message = str(caught.value)
    assert error.message in message
    assert message.startswith("The model server sent an error")
    assert "\n" not in message
    assert len(llm_server.requests) == 1  # not retried
    assert llm_server.pending == 1
    assert recorder.reasons() == []


def test_retryable_stream_errors_until_the_retries_are_spent(llm_server: ScriptedLLM) -> None:
    client = make_client(llm_server, max_retries=1)
    llm_server.script(StreamError("busy"), StreamError("still busy"))
    with pytest.raises(ModelError) as caught:
        client.complete(MESSAGES)
    assert "failed 2 times" in str(caught.value)
    assert "still busy" in str(caught.value)
    client.close()


def test_an_error_object_as_the_whole_json_body_is_an_error(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    # A proxy answering 200 application/json with an OpenAI error object.
    body = json.dumps({"error": {"message": "Invalid model name", "type": "invalid_request_error"}})
    llm_server.script(Garbage(body, content_type="application/json"))
    with pytest.raises(ModelError, match="Invalid model name"):
        client.complete(MESSAGES)


# --------------------------------------------------------------------------- reasoning


@pytest.mark.parametrize(
    "style",
    [
        # DeepSeek's API and llama.cpp's server: delta.reasoning_content.
        "reasoning_content",
        # vLLM (0.11+), Groq (reasoning_format "parsed") and Ollama's /v1: delta.reasoning.
        "reasoning",
        # Mistral's Magistral: delta.content = [{"type": "thinking", "thinking": [...]}].
        "mistral",
    ],
)
def test_reasoning_goes_to_on_reasoning_not_into_the_answer(
    llm_server: ScriptedLLM, client: ModelClient, style: Any
) -> None:
    reasoning = "The user wants a.txt; write_file does that in one call."
    llm_server.script(
        Reply(
            "Writing it.",
            tool_calls=[ToolCall("write_file", WRITE_ARGS)],
            reasoning=reasoning,
            reasoning_style=style,
            chunk_size=7,
        )
    )
    recorder = Recorder()
    result = complete(client, recorder)
    assert result.text == "Writing it."
    assert result.reasoning == reasoning
    assert recorder.joined("text") == "Writing it."
    assert recorder.joined("reasoning") == reasoning
    assert [json.loads(c.arguments) for c in result.tool_calls] == [WRITE_ARGS]
    # Reasoning streams first, as the servers send it.
    assert recorder.log[0][0] == "reasoning"


def test_content_as_a_list_of_parts_keeps_its_text(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    # Mistral sends delta.content as [{"type": "text", "text": ...}] for its reasoning
    # models; mixed with thinking parts in the same reply.
    llm_server.script(
        Reply(
            "Plain text in parts.",
            content_parts=True,
            reasoning="thinking first",
            reasoning_style="mistral",
            chunk_size=4,
        )
    )
    recorder = Recorder()
    result = complete(client, recorder)
    assert result.text == "Plain text in parts."
    assert result.reasoning == "thinking first"
    assert recorder.joined("text") == "Plain text in parts."


def test_reasoning_without_a_listener_is_kept_out_of_the_text(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    llm_server.script(Reply("answer", reasoning="hidden thoughts", reasoning_style="reasoning"))
    texts: list[str] = []
    result = client.complete(MESSAGES, on_text=texts.append)
    assert result.text == "answer" and "".join(texts) == "answer"


# --------------------------------------------------------------------------- a JSON body


def test_a_whole_json_body_answering_a_stream_request_is_accepted(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    # Proxies and servers that ignore "stream": true (some LM Studio and llama.cpp
    # builds, API gateways) send one chat.completion object as application/json.
    llm_server.script(
        Reply(
            "Whole body.",
            tool_calls=[ToolCall("write_file", WRITE_ARGS, id="call_j")],
            usage=Usage(12, 5),
            json_body=True,
        )
    )
    recorder = Recorder()
    result = complete(client, recorder)
    assert llm_server.requests[0].stream  # a stream was asked for
    assert result.attempts == 1
    assert result.text == "Whole body."
    assert recorder.joined("text") == "Whole body."
    assert [(c.id, c.name, json.loads(c.arguments)) for c in result.tool_calls] == [
        ("call_j", "write_file", WRITE_ARGS)
    ]
    assert result.finish_reason == "tool_calls"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 5)
    assert not result.usage.estimated


def test_a_json_body_with_reasoning_and_parts(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(
        Reply("final", reasoning="why", reasoning_style="mistral", json_body=True, usage=None)
    )
    recorder = Recorder()
    result = complete(client, recorder)
    assert (result.text, result.reasoning) == ("final", "why")
    assert result.usage.estimated


def test_a_json_body_without_choices_is_retried(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    llm_server.script(Garbage('{"id": "x", "object": "list"}', content_type="application/json"))
    llm_server.script(Reply("ok"))
    result = client.complete(MESSAGES)
    assert (result.text, result.attempts) == ("ok", 2)


# --------------------------------------------------------------------------- argument cap


def test_arguments_over_the_cap_are_refused_with_a_sentence(llm_server: ScriptedLLM) -> None:
    client = make_client(llm_server, max_tool_args_bytes=2048)
    big = {"path": "big.txt", "content": "x" * 10_000}
    llm_server.script(
        Reply("Writing a big file.", tool_calls=[ToolCall("write_file", big, id="call_big")])
    )
    result = client.complete(MESSAGES)
    (call,) = result.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_big", "write_file", "{}")
    assert call.error is not None
    assert "write_file" in call.error and "2 KB" in call.error
    assert "max_tool_args_bytes" in call.error
    assert result.finish_reason == "tool_calls"
    client.close()


def test_arguments_at_the_cap_are_accepted(llm_server: ScriptedLLM) -> None:
    args = json.dumps({"path": "a.txt", "content": "y" * 3000})
    client = make_client(llm_server, max_tool_args_bytes=len(args))
    llm_server.script(Reply(tool_calls=[ToolCall("write_file", args)], chunk_size=64))
    (call,) = client.complete(MESSAGES).tool_calls
    assert call.error is None and call.arguments == args
    client.close()


def test_over_the_cap_the_rest_of_the_stream_is_not_waited_for(llm_server: ScriptedLLM) -> None:
    # The stream breaks off after the cap was crossed, with no finish_reason: were the
    # client still reading it would retry; it stopped at the cap, so it does not.
    client = make_client(llm_server, max_tool_args_bytes=1024)
    big = {"path": "big.txt", "content": "z" * 8000}
    llm_server.script(
        CutStream(after_chunks=400, text="", tool_calls=[ToolCall("write_file", big)]),
        Reply("never asked for"),
    )
    result = client.complete(MESSAGES)
    assert result.attempts == 1
    assert result.tool_calls[0].error is not None
    assert len(llm_server.requests) == 1
    client.close()


def test_a_json_body_over_the_cap_is_refused_too(llm_server: ScriptedLLM) -> None:
    client = make_client(llm_server, max_tool_args_bytes=1024)
    big = {"path": "big.txt", "content": "q" * 4000}
    llm_server.script(Reply(tool_calls=[ToolCall("write_file", big)], json_body=True))
    (call,) = client.complete(MESSAGES).tool_calls
    assert call.error is not None and call.arguments == "{}"
    client.close()


def test_the_assembler_counts_utf8_bytes_and_drops_later_calls() -> None:
    assembler = ToolCallAssembler(max_bytes=10)
    assembler.add(0, "a", "write_file", "é" * 5)  # 10 bytes: at the cap
    assert not assembler.over_limit
    assembler.add(1, "b", "read_file", "{")  # 11: over
    assert assembler.over_limit
    assembler.add(2, "c", "finish", "{}")  # never read in practice; not kept either
    calls = assembler.result()
    assert [c.id for c in calls] == ["a", "b"]
    assert calls[0].arguments == "é" * 5 and calls[0].error is None
    assert calls[1].error is not None and "read_file" in calls[1].error


def test_the_assembler_joins_many_tiny_fragments() -> None:
    text = json.dumps({"content": "".join(chr(0x61 + i % 26) for i in range(200_000))})
    assembler = ToolCallAssembler()
    assembler.add(0, "a", "write_file", None)
    for i in range(0, len(text), 3):
        assembler.add(0, None, None, text[i : i + 3])
    (call,) = assembler.result()
    assert call.arguments == text


def test_the_cap_is_a_model_setting_of_4_mb_by_default() -> None:
    assert ModelSettings().max_tool_args_bytes == DEFAULT_MAX_TOOL_ARGS_BYTES == 4 * 1024 * 1024
    assert ModelSettings(max_tool_args_bytes=2_000_000).max_tool_args_bytes == 2_000_000
    with pytest.raises(ValueError, match="max_tool_args_bytes"):
        ModelSettings(max_tool_args_bytes=0)


# --------------------------------------------------------------------------- raw SSE


def test_an_error_event_with_a_bare_error_object(
    llm_server: ScriptedLLM, client: ModelClient
) -> None:
    # Some proxies send ``event: error`` with the error object itself as the data.
    body = 'event: error\ndata: {"message": "Quota exceeded.", "type": "insufficient_quota"}\n\n'
    llm_server.script(Garbage(body, raw=True))
    with pytest.raises(ModelError, match="Quota exceeded"):
        client.complete(MESSAGES)


def test_an_error_that_is_a_string(llm_server: ScriptedLLM, client: ModelClient) -> None:
    llm_server.script(Garbage('data: {"error": "upstream model crashed"}\n\n', raw=True))
    with pytest.raises(ModelError, match="upstream model crashed"):
        client.complete(MESSAGES)


def test_sse_lines_split_anywhere_are_read_whole() -> None:
    from autogpt_tui.core.llm_reply import sse_events

    stream = (
        b": a comment\r\n"
        b'data: {"a": 1}\r\n\r\n'
        b"event: error\n"
        b'data: {"b":\n'
        b"data:  2}\n\n"
        b'id: 7\ndata: {"c": "\xc3\xa9"}\n\n'
        b"data: [DONE]"  # no blank line at the very end
    )
    expected = [(None, '{"a": 1}'), ("error", '{"b":\n 2}'), (None, '{"c": "é"}'), (None, "[DONE]")]
    for size in (1, 2, 3, 7, len(stream)):
        blocks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert list(sse_events(blocks)) == expected, size
