"""The model client: Chat Completions with streaming and native tool calls.

Works with any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp's server,
LM Studio). What servers get wrong is handled here rather than in the loop:

- tool-call deltas without an ``index``, or repeating the call's ``id`` and name on
  every fragment, are assembled into the same calls;
- connection errors, 408/409/429/5xx (honouring ``retry-after``), bodies that are not
  what was promised, and streams that end without a ``finish_reason`` are retried with
  backoff — a cut-short stream is never acted on;
- a stalled stream times out after ``idle_timeout_s`` of silence;
- token usage comes from the server (asked for with ``stream_options``) or is estimated.

``openai`` is imported lazily, on the first request, so start-up stays fast.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from autogpt_tui.core.errors import UserError

if TYPE_CHECKING:
    from openai import OpenAI

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0


class ModelError(UserError):
    """The model could not be reached or kept failing; the message is one sentence."""


class ModelCancelled(Exception):
    """The request was cancelled from another thread (pause, cancel or quit)."""


class _Retryable(Exception):
    """A failure worth another try; ``after`` is the server's requested delay."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


@dataclass
class ToolCallRequest:
    """One tool call the model made, with its raw JSON arguments."""

    id: str
    name: str
    arguments: str


@dataclass
class TokenUsage:
    """Tokens one request used; ``estimated`` when the server did not say."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Completion:
    """A finished model turn: its text, tool calls, finish reason and usage."""

    text: str
    tool_calls: list[ToolCallRequest]
    finish_reason: str
    usage: TokenUsage
    attempts: int = 1


@dataclass
class _CallBuilder:
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class ToolCallAssembler:
    """Builds complete tool calls from streamed deltas, whatever the server's dialect."""

    calls: list[_CallBuilder] = field(default_factory=list)
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
        if args:
            builder.arguments += args

    def result(self) -> list[ToolCallRequest]:
        """The assembled calls, each with an id (made up when the server sent none)."""
        out = []
        for n, b in enumerate(self.calls):
            if not b.name and not b.arguments:
                continue
            out.append(ToolCallRequest(id=b.id or f"call_{n}", name=b.name, arguments=b.arguments))
        return out


def estimate_tokens(text: str) -> int:
    """A rough token count (four characters a token) for servers that send no usage."""
    return max(1, len(text) // 4) if text else 0


def _messages_text(messages: Sequence[dict[str, Any]]) -> str:
    return json.dumps(messages, ensure_ascii=False)


class ModelClient:
    """Talks to one OpenAI-compatible server; safe to cancel from another thread."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str | None,
        request_timeout_s: float = 60.0,
        idle_timeout_s: float = 30.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self._api_key = api_key
        self.request_timeout_s = request_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._client: OpenAI | None = None
        self._cancel = threading.Event()
        self._current: Any = None
        self._lock = threading.Lock()
        self._stream_options = True

    def _openai(self) -> OpenAI:
        if self._client is None:
            import openai
            from openai import OpenAI, Timeout

            http_client = None
            if self.base_url and self.base_url.lower().startswith("http://"):
                # A plain-HTTP server (Ollama, vLLM, LM Studio on this machine) needs no
                # certificates, and loading the CA bundle costs ~60 ms of start-up. The
                # context trusts no CA, so a redirect to https fails closed.
                factory = getattr(openai, "DefaultHttpx2Client", None) or openai.DefaultHttpxClient
                http_client = factory(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
            self._client = OpenAI(
                http_client=http_client,
                base_url=self.base_url,
                # Servers such as Ollama need no key, but the client insists on one.
                api_key=self._api_key or "no-key",
                max_retries=0,  # we retry ourselves, cut streams and garbage included
                # The read timeout is the idle timeout: it bounds the silence between
                # two chunks, so a stalled stream fails fast without capping long replies.
                timeout=Timeout(self.request_timeout_s, read=self.idle_timeout_s, connect=10.0),
            )
        return self._client

    def cancel(self) -> None:
        """Abort the request in flight (if any) and any retry wait."""
        self._cancel.set()
        with self._lock:
            current = self._current
        if current is not None:
            # Closing a socket does not wake a read blocked on it in another thread;
            # shutting it down does. Racing the reader this way is harmless.
            _shutdown_socket(current)
            with contextlib.suppress(Exception):
                current.close()

    def reset_cancel(self) -> None:
        """Allow requests again after a cancel."""
        self._cancel.clear()

    def close(self) -> None:
        """Release the HTTP connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def complete(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]] | None = None,
        *,
        temperature: float | None = None,
        model: str | None = None,
        on_text: Callable[[str], None] | None = None,
        on_retry: Callable[[int, float, str], None] | None = None,
    ) -> Completion:
        """Stream one model turn, retrying what is worth retrying.

        ``on_text`` receives text deltas as they arrive; ``on_retry(attempt, delay,
        reason)`` is told before each retry, so a UI can discard partial text.
        Raises ModelError when the retries are spent or the request is refused.
        """
        attempt = 0
        while True:
            if self._cancel.is_set():
                raise ModelCancelled()
            try:
                result = self._attempt(messages, tools, temperature, model, on_text)
                result.attempts = attempt + 1
                return result
            except _Retryable as err:
                if self._cancel.is_set():
                    raise ModelCancelled() from None  # the failure was the cancel's doing
                if attempt >= self.max_retries:
                    raise ModelError(
                        f"The model server failed {attempt + 1} times; last: {err.reason}."
                    ) from None
                delay = self._delay(attempt, err.after)
                attempt += 1
                if on_retry is not None:
                    on_retry(attempt, delay, err.reason)
                if self._cancel.wait(delay):
                    raise ModelCancelled() from None

    def _delay(self, attempt: int, after: float | None) -> float:
        if after is not None:
            return min(max(after, 0.0), MAX_RETRY_AFTER_S)
        backoff = min(self.backoff_max_s, self.backoff_base_s * (2.0**attempt))
        return backoff * (0.5 + random.random() / 2)  # jitter spreads out retry storms

    def _attempt(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]] | None,
        temperature: float | None,
        model: str | None,
        on_text: Callable[[str], None] | None,
    ) -> Completion:
        import openai

        client = self._openai()
        # The conversation and the tool schemas go in ``extra_body``: they are plain JSON
        # already, and the client's own parameter transform walks every message against
        # its type hints on each request, which grows with the conversation (27 ms at 65
        # steps, 80 ms at 200).
        body: dict[str, Any] = {"messages": list(messages)}
        if tools:
            body["tools"] = list(tools)
        kwargs: dict[str, Any] = {
            "model": model or self.model,
            "messages": [],
            "stream": True,
            "extra_body": body,
        }
        if temperature is not None:
            kwargs["temperature"] = temperature
        if self._stream_options:
            kwargs["stream_options"] = {"include_usage": True}
        text_parts: list[str] = []
        assembler = ToolCallAssembler()
        finish_reason: str | None = None
        usage: TokenUsage | None = None
        try:
            stream = client.chat.completions.create(**kwargs)
            with self._lock:
                self._current = stream
            try:
                if self._cancel.is_set():
                    raise ModelCancelled()  # cancelled before there was a stream to close
                for chunk in stream:
                    if self._cancel.is_set():
                        raise ModelCancelled()
                    if getattr(chunk, "usage", None) is not None and chunk.usage is not None:
                        usage = TokenUsage(
                            prompt_tokens=chunk.usage.prompt_tokens or 0,
                            completion_tokens=chunk.usage.completion_tokens or 0,
                        )
                    for choice in chunk.choices or []:
                        delta = choice.delta
                        if delta is not None:
                            if delta.content:
                                text_parts.append(delta.content)
                                if on_text is not None:
                                    on_text(delta.content)
                            for tc in delta.tool_calls or []:
                                fn = tc.function
                                assembler.add(
                                    getattr(tc, "index", None),
                                    tc.id,
                                    fn.name if fn else None,
                                    fn.arguments if fn else None,
                                )
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
            finally:
                with self._lock:
                    self._current = None
                stream.close()
        except ModelCancelled:
            raise
        except openai.APIStatusError as err:
            if self._cancel.is_set():
                raise ModelCancelled() from None
            if err.status_code == 400 and self._stream_options and "stream_options" in str(err):
                # Some older servers refuse stream_options; ask again without it.
                self._stream_options = False
                raise _Retryable("the server does not support stream_options", 0.0) from None
            if err.status_code in RETRY_STATUSES:
                raise _Retryable(
                    f"HTTP {err.status_code} from the server", _retry_after(err.response)
                ) from None
            raise ModelError(_status_sentence(err.status_code, err)) from None
        except openai.APIConnectionError as err:
            if self._cancel.is_set():
                raise ModelCancelled() from None
            kind = "timed out" if isinstance(err, openai.APITimeoutError) else "connection failed"
            raise _Retryable(f"the request {kind} ({self.base_url or 'api.openai.com'})") from None
        except (ValueError, openai.APIResponseValidationError) as err:
            # json.JSONDecodeError is a ValueError: the body was not what was promised.
            if self._cancel.is_set():
                raise ModelCancelled() from None
            raise _Retryable(f"the server sent a response that is not valid ({err})") from None
        except Exception as err:
            if self._cancel.is_set():
                raise ModelCancelled() from None
            # Transport errors raised mid-stream (the connection dropped while reading)
            # come from the HTTP library underneath openai (httpx or httpx2).
            if type(err).__module__.split(".")[0].startswith("httpx"):
                raise _Retryable(f"the stream broke off ({type(err).__name__})") from None
            raise
        if finish_reason is None:
            raise _Retryable("the stream ended without a finish_reason (cut short)")
        text = "".join(text_parts)
        calls = assembler.result()
        if usage is None:
            usage = TokenUsage(
                prompt_tokens=estimate_tokens(_messages_text(messages)),
                completion_tokens=estimate_tokens(text + "".join(c.arguments for c in calls)),
                estimated=True,
            )
        return Completion(text=text, tool_calls=calls, finish_reason=finish_reason, usage=usage)


def _shutdown_socket(stream: Any) -> None:
    """Shut down the socket under an openai stream, waking a blocked read."""
    with contextlib.suppress(Exception):
        network_stream = stream.response.extensions.get("network_stream")
        sock = network_stream.get_extra_info("socket") if network_stream is not None else None
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _status_sentence(status: int, err: Exception) -> str:
    if status == 401:
        return "The model server refused the API key (HTTP 401); check OPENAI_API_KEY."
    if status == 403:
        return "The model server refused the request (HTTP 403); check the key's permissions."
    if status == 404:
        return (
            "The model server answered 404: the model name or the base URL is wrong "
            "(check --model and --base-url)."
        )
    message = getattr(err, "message", "") or str(err)
    return f"The model server refused the request (HTTP {status}): {message}"
