"""Reading one model reply: server-sent events, chunks or a whole JSON body, into a
:class:`Completion`.

What servers send differently is understood here (see :mod:`autogpt_tui.core.llm` for the
list): tool-call fragments assembled in linear time and capped in bytes, content parts,
reasoning fields, errors sent inside the stream. :class:`Turn` collects one attempt;
:func:`sse_events` splits the raw stream into events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autogpt_tui.core.errors import UserError

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
"""HTTP statuses (and in-stream error codes) that mean "try again"."""
DEFAULT_MAX_TOOL_ARGS_BYTES = 4 * 1024 * 1024
"""The default cap on one reply's streamed tool-call arguments (``[model] max_tool_args_bytes``)."""
_RETRYABLE_ERROR_WORDS = (
    "server_error",
    "internal",
    "rate_limit",
    "overloaded",
    "unavailable",
    "timeout",
    "too_many_requests",
)
"""Words in an in-stream error's ``type`` or ``code`` that mean "try again".

From the documented error objects: OpenAI's ``server_error``/``rate_limit_exceeded``,
Groq's ``internal_server_error``/``rate_limit_exceeded``, Mistral's and Anthropic-style
proxies' ``overloaded_error``/``service_unavailable``, vLLM's ``InternalServerError``."""


class ModelError(UserError):
    """The model could not be reached or kept failing; the message is one sentence."""


class Retryable(Exception):
    """A failure worth another try; ``after`` is the server's requested delay."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


@dataclass
class ToolCallRequest:
    """One tool call the model made, with its raw JSON arguments.

    ``error``, when set, is why the call is refused before it is parsed (its arguments
    were over the size cap and were dropped): the loop answers the call with it.
    """

    id: str
    name: str
    arguments: str
    error: str | None = None


@dataclass
class TokenUsage:
    """Tokens one request used; ``estimated`` when the server did not say."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    cached_tokens: int = 0
    """Prompt tokens the server read from its prompt cache (part of ``prompt_tokens``)."""

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


def token_usage(usage: Mapping[str, Any], body: Mapping[str, Any]) -> TokenUsage:
    """A server's ``usage`` object read, cached prompt tokens included.

    Where servers put the cached tokens: ``usage.prompt_tokens_details.cached_tokens``
    (OpenAI, and vLLM, SGLang, Groq, xAI, OpenRouter, LiteLLM in its format);
    ``usage.prompt_cache_hit_tokens`` (DeepSeek); ``usage.cached_tokens`` (a few
    proxies); llama.cpp's server, without them, says ``timings.cache_n`` beside usage.
    """
    prompt = _int(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
    if cached is None:
        cached = usage.get("prompt_cache_hit_tokens", usage.get("cached_tokens"))
    if cached is None:
        timings = body.get("timings")
        cached = timings.get("cache_n") if isinstance(timings, Mapping) else None
    return TokenUsage(
        prompt_tokens=prompt,
        completion_tokens=_int(usage.get("completion_tokens")),
        # Never more than the prompt: a server's odd count must not make a cost negative.
        cached_tokens=min(_int(cached), prompt),
    )


@dataclass
class Completion:
    """A finished model turn: its text, tool calls, finish reason and usage."""

    text: str
    tool_calls: list[ToolCallRequest]
    finish_reason: str
    usage: TokenUsage
    attempts: int = 1
    reasoning: str = ""
    """The model's reasoning, when the server sent it apart from the answer."""


@dataclass
class _CallBuilder:
    id: str = ""
    name: str = ""
    # Fragments are kept in a list and joined once: ``str +=`` on an attribute copies
    # the whole string each time, which made 1 MB of arguments take 35 s.
    parts: list[str] = field(default_factory=list)
    oversized: bool = False

    @property
    def arguments(self) -> str:
        return "".join(self.parts)


@dataclass
class ToolCallAssembler:
    """Builds complete tool calls from streamed deltas, whatever the server's dialect.

    ``max_bytes`` caps the arguments of all the calls together (UTF-8 bytes); the call
    whose fragment crosses it is marked oversized, its arguments are dropped, and
    ``over_limit`` tells the reader to stop reading.
    """

    max_bytes: int = DEFAULT_MAX_TOOL_ARGS_BYTES
    calls: list[_CallBuilder] = field(default_factory=list)
    over_limit: bool = False
    _size: int = 0
    _by_index: dict[int, _CallBuilder] = field(default_factory=dict)
    _by_id: dict[str, _CallBuilder] = field(default_factory=dict)

    def add(
        self, index: int | None, call_id: str | None, name: str | None, args: str | None
    ) -> None:
        """Fold one tool-call delta into the calls."""
        builder: _CallBuilder | None = None
        if index is not None:
            builder = self._by_index.get(index)
            if builder is not None and call_id and builder.id and builder.id != call_id:
                builder = None  # some servers number every call 0, each with its own id
        if builder is None and call_id:
            builder = self._by_id.get(call_id)
        if builder is None and index is None and not call_id and self.calls:
            builder = self.calls[-1]  # a bare fragment continues the last call
        if builder is None:
            builder = _CallBuilder()
            self.calls.append(builder)
        if index is not None:
            self._by_index[index] = builder
        if call_id:
            builder.id = builder.id or call_id
            self._by_id.setdefault(call_id, builder)
        if name and name != builder.name:
            # Servers that repeat the name send it whole each time; others never split it.
            builder.name = name if not builder.name else builder.name + name
        if args and not self.over_limit:
            self._size += len(args) if args.isascii() else len(args.encode("utf-8", "replace"))
            if self._size > self.max_bytes:
                self.over_limit = True
                builder.oversized = True
                builder.parts = []  # free the memory now: the call is refused anyway
            else:
                builder.parts.append(args)

    def result(self) -> list[ToolCallRequest]:
        """The assembled calls, each with an id (made up when the server sent none).

        Once over the cap, the oversized call is the last one: later ones were never read.
        """
        out = []
        for n, b in enumerate(self.calls):
            call_id = b.id or f"call_{n}"
            if b.oversized:
                out.append(
                    ToolCallRequest(
                        id=call_id, name=b.name, arguments="{}", error=_oversized(b.name, self)
                    )
                )
                break
            arguments = b.arguments
            if not b.name and not arguments:
                continue
            out.append(ToolCallRequest(id=call_id, name=b.name, arguments=arguments))
        return out


def _oversized(name: str, assembler: ToolCallAssembler) -> str:
    """The sentence that refuses a call whose arguments were over the cap."""
    what = f"The arguments of {name}" if name else "The tool call's arguments"
    return (
        f"{what} were larger than {_size_text(assembler.max_bytes)} "
        "(the [model] max_tool_args_bytes limit), so the call was refused; "
        "send smaller pieces, e.g. write a big file in several edits."
    )


def _size_text(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KB"
    return f"{size} bytes"


def estimate_tokens(text: str) -> int:
    """A rough token count (four characters a token) for servers that send no usage."""
    return max(1, len(text) // 4) if text else 0


def messages_text(messages: Sequence[dict[str, Any]]) -> str:
    return json.dumps(messages, ensure_ascii=False)


PROGRESS_SHARE = 20
"""Streamed tokens are reported each time they grew by a twentieth (at least one) ..."""
PROGRESS_MAX_STEP = 256
"""... or by this many: often enough to look live, seldom enough that megabytes of
tool-call arguments do not become hundreds of thousands of reports."""


@dataclass(frozen=True)
class Sinks:
    """Where streamed text and reasoning go as they arrive, and the count of tokens
    streamed so far in this attempt (estimated: text, reasoning and tool arguments)."""

    text: Callable[[str], None] | None = None
    reasoning: Callable[[str], None] | None = None
    progress: Callable[[int], None] | None = None


@dataclass
class Turn:
    """One attempt's answer as it is read: text, reasoning, tool calls, finish, usage."""

    sinks: Sinks
    assembler: ToolCallAssembler
    text_parts: list[str] = field(default_factory=list)
    reasoning_parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: TokenUsage | None = None
    streamed_chars: int = 0
    """Characters of text, reasoning and tool arguments received so far."""
    reported_tokens: int = 0
    """The streamed tokens last reported to ``sinks.progress``."""

    def text(self, piece: str) -> None:
        """Add a piece of the answer's text."""
        if piece:
            self.streamed_chars += len(piece)
            self.text_parts.append(piece)
            if self.sinks.text is not None:
                self.sinks.text(piece)

    def reasoning(self, piece: str) -> None:
        """Add a piece of the model's reasoning (never part of the answer)."""
        if piece:
            self.streamed_chars += len(piece)
            self.reasoning_parts.append(piece)
            if self.sinks.reasoning is not None:
                self.sinks.reasoning(piece)

    def add_chunk(self, chunk: object) -> None:
        """Fold one ``chat.completion.chunk`` (its JSON) into the answer."""
        if not isinstance(chunk, dict):
            raise ValueError("an event's data is not a JSON object")
        error = chunk.get("error")
        if error:
            # OpenAI, Groq and SGLang: ``data: {"error": {...}}`` after a 200.
            raise stream_error(error if isinstance(error, dict) else {"message": str(error)})
        choices = chunk.get("choices")
        if chunk.get("object") == "error" or (choices is None and "message" in chunk):
            # vLLM (and servers copying it) send their ErrorResponse as a bare chunk:
            # {"object": "error", "message": …, "type": …, "code": …}.
            raise stream_error(chunk)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = token_usage(usage, chunk)
        if choices is None:
            return
        if not isinstance(choices, list):
            raise ValueError("a chunk's choices are not a list")
        for choice in choices:
            if not isinstance(choice, dict):
                raise ValueError("a chunk's choice is not an object")
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self._reasoning_fields(delta)
                self._content(delta.get("content"))
                for tc in delta.get("tool_calls") or ():
                    if not isinstance(tc, dict):
                        raise ValueError("a tool-call delta is not an object")
                    fn = tc.get("function")
                    fn = fn if isinstance(fn, dict) else {}
                    index, call_id, name = tc.get("index"), tc.get("id"), fn.get("name")
                    arguments = _arguments_text(fn.get("arguments"))
                    self.streamed_chars += len(arguments or "")
                    self.assembler.add(
                        index if isinstance(index, int) else None,
                        call_id if isinstance(call_id, str) else None,
                        name if isinstance(name, str) else None,
                        arguments,
                    )
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                self.finish_reason = reason
        self._report_progress()

    def _report_progress(self) -> None:
        """Tell ``sinks.progress`` the tokens streamed so far, when they grew enough."""
        if self.sinks.progress is None:
            return
        tokens = self.streamed_chars // 4  # four characters a token, as estimate_tokens
        step = max(1, min(self.reported_tokens // PROGRESS_SHARE, PROGRESS_MAX_STEP))
        if tokens >= self.reported_tokens + step:
            self.reported_tokens = tokens
            self.sinks.progress(tokens)

    def add_body(self, data: object) -> None:
        """Take a whole ``chat.completion`` JSON body as the answer."""
        if not isinstance(data, Mapping):
            raise ValueError("the JSON body is not an object")
        if isinstance(data.get("error"), Mapping):
            raise stream_error(data["error"])
        if data.get("object") == "error":
            raise stream_error(data)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            raise ValueError("the JSON body holds no choices")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, Mapping):
            raise ValueError("the JSON body's choice holds no message")
        self._reasoning_fields(message)
        self._content(message.get("content"))
        for n, call in enumerate(message.get("tool_calls") or []):
            if not isinstance(call, Mapping):
                continue
            fn = call.get("function")
            fn = fn if isinstance(fn, Mapping) else {}
            name = fn.get("name")
            self.assembler.add(
                call.get("index", n) if isinstance(call.get("index", n), int) else n,
                str(call["id"]) if call.get("id") else None,
                name if isinstance(name, str) else None,
                _arguments_text(fn.get("arguments")),
            )
            if self.assembler.over_limit:
                break
        reason = choice.get("finish_reason")
        # A whole body is complete by definition; some servers leave the reason out.
        self.finish_reason = reason if isinstance(reason, str) and reason else "stop"
        usage = data.get("usage")
        if isinstance(usage, Mapping):
            self.usage = token_usage(usage, data)

    def _reasoning_fields(self, fields: Mapping[str, Any]) -> None:
        # DeepSeek and llama.cpp send ``reasoning_content``; vLLM (newer), Groq and
        # Ollama's OpenAI-compatible endpoint send ``reasoning``. One server sends one.
        for key in ("reasoning_content", "reasoning"):
            value = fields.get(key)
            if isinstance(value, str):
                self.reasoning(value)
                return

    def _content(self, content: object) -> None:
        if isinstance(content, str):
            self.text(content)
        elif isinstance(content, list):
            # Mistral's reasoning models: [{"type": "thinking", "thinking": [{"type":
            # "text", "text": …}]}, {"type": "text", "text": …}].
            for part in content:
                if not isinstance(part, Mapping):
                    continue
                kind = part.get("type")
                if kind in ("thinking", "reasoning"):
                    self.reasoning(_parts_text(part.get(kind, part.get("text"))))
                elif kind in (None, "text", "output_text") and isinstance(part.get("text"), str):
                    self.text(part["text"])

    def completion(self, messages: Sequence[dict[str, Any]]) -> Completion:
        """The finished answer; a stream that never finished is retried, never acted on."""
        if self.finish_reason is None:
            raise Retryable("the stream ended without a finish_reason (cut short)")
        text = "".join(self.text_parts)
        calls = self.assembler.result()
        usage = self.usage
        if usage is None:
            usage = TokenUsage(
                prompt_tokens=estimate_tokens(messages_text(messages)),
                completion_tokens=estimate_tokens(text + "".join(c.arguments for c in calls)),
                estimated=True,
            )
        return Completion(
            text=text,
            tool_calls=calls,
            finish_reason=self.finish_reason,
            usage=usage,
            reasoning="".join(self.reasoning_parts),
        )


def sse_events(raw: Iterable[bytes]) -> Iterator[tuple[str | None, str]]:
    """The ``(event name, data)`` of each server-sent event in a byte stream.

    Linear in the stream's size: a line that spans many reads is gathered in a list
    and joined once. Comments and fields other than ``event`` and ``data`` are skipped;
    an event still open when the stream ends is given too.
    """
    event: str | None = None
    data: list[str] = []
    partial: list[bytes] = []
    for block in raw:
        lines = block.split(b"\n")
        tail = lines.pop()  # the part after the last newline: a line not yet ended
        for n, piece in enumerate(lines):
            line = piece
            if n == 0 and partial:
                partial.append(piece)
                line = b"".join(partial)
                partial = []
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data = None, []
                continue
            name, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if name == b"data":
                data.append(value.decode("utf-8"))
            elif name == b"event":
                event = value.decode("utf-8", "replace").strip()
        if tail:
            partial.append(tail)
    if partial:
        line = b"".join(partial).rstrip(b"\r")
        name, _, value = line.partition(b":")
        if name == b"data":
            data.append(value[1:].decode("utf-8") if value.startswith(b" ") else value.decode())
    if data:
        yield event, "\n".join(data)


def _parts_text(value: object) -> str:
    """The text of a string or of a list of ``{"type": "text", "text": …}`` parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(_parts_text(item) for item in value)
    if isinstance(value, Mapping):
        return _parts_text(value.get("text"))
    return ""


def _arguments_text(value: object) -> str | None:
    """Tool-call arguments as JSON text (a few servers send an object, not a string)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def stream_error(error: Mapping[str, Any]) -> Retryable | ModelError:
    """What an error object sent with a 200 means: try again, or one sentence.

    Retried when its ``code``/``status`` is 408/409/429/5xx or its ``type``/``code``
    names a server-side, rate-limit or overload failure; anything else (a bad request,
    a context too long, content refused) ends the turn quoting the server's message.
    """
    message = error.get("message")
    text = message.strip() if isinstance(message, str) and message.strip() else ""
    text = text or "no message"
    if len(text) > 500:
        text = text[:497] + "..."
    status: int | None = None
    for key in ("code", "status", "status_code"):
        value = error.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            status = value
        elif isinstance(value, str) and value.isdigit():
            status = int(value)
        if status is not None:
            break
    words = " ".join(
        str(error.get(key, "")) for key in ("type", "code") if isinstance(error.get(key), str)
    ).lower()
    retryable = (status is not None and (status in RETRY_STATUSES or status >= 500)) or any(
        word in words for word in _RETRYABLE_ERROR_WORDS
    )
    if retryable:
        return Retryable(f"the server sent an error in the stream: {text}")
    return ModelError(f"The model server sent an error instead of an answer: {text}")
