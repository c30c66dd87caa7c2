"""The model client: Chat Completions with streaming and native tool calls.

Works with any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp's server,
LM Studio). What servers get wrong is handled here rather than in the loop:

- tool-call deltas without an ``index``, or repeating the call's ``id`` and name on
  every fragment, are assembled into the same calls, in linear time (fragments are
  joined once); arguments over ``max_tool_args_bytes`` end the read and the call is
  refused to the model with a sentence (``ToolCallRequest.error``);
- ``delta.content`` as a list of parts keeps its text parts; reasoning (Mistral's
  ``thinking`` parts, ``reasoning_content``/``reasoning`` fields of DeepSeek, vLLM,
  llama.cpp, Groq and Ollama) goes to ``on_reasoning``, never into the answer text;
- a complete ``chat.completion`` JSON body sent in answer to a streaming request is
  the answer;
- an error sent inside the stream (``data: {"error": …}``, ``event: error``, vLLM's
  ``{"object": "error", …}``) is retried when it says it may be (a 408/409/429/5xx code
  or a server/rate-limit/overload type), else ends the turn quoting the server;
- connection errors, 408/409/429/5xx (honouring ``retry-after``), bodies that are not
  what was promised, and streams that end without a ``finish_reason`` are retried with
  backoff — a cut-short stream is never acted on;
- a stalled stream times out after ``idle_timeout_s`` of silence;
- token usage comes from the server (asked for with ``stream_options``) or is estimated;
- several tool calls a reply are asked for (``parallel_tool_calls``); a server that refuses
  the parameter is asked again without it, and this client never sends it again.

The request goes through the ``openai`` client (its raw streaming response), but the
server-sent events are read here, as plain JSON: the client builds a typed object per
chunk, which costs about half a millisecond each, and a reply with megabytes of tool-call
arguments comes in hundreds of thousands of chunks.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from autogpt_tui.core.llm_reply import (
    DEFAULT_MAX_TOOL_ARGS_BYTES,
    RETRY_STATUSES,
    Completion,
    ModelError,
    Retryable,
    Sinks,
    TokenUsage,
    ToolCallAssembler,
    ToolCallRequest,
    Turn,
    estimate_tokens,
    sse_events,
    stream_error,
)

__all__ = [
    "DEFAULT_MAX_TOOL_ARGS_BYTES",
    "RETRY_STATUSES",
    "Completion",
    "ModelCancelled",
    "ModelClient",
    "ModelError",
    "TokenUsage",
    "ToolCallAssembler",
    "ToolCallRequest",
    "estimate_tokens",
]

if TYPE_CHECKING:
    from openai import OpenAI

MAX_RETRY_AFTER_S = 60.0


class ModelCancelled(Exception):
    """The request was cancelled from another thread (pause, cancel or quit)."""


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
        max_tool_args_bytes: int = DEFAULT_MAX_TOOL_ARGS_BYTES,
    ) -> None:
        self.model = model
        self.max_tool_args_bytes = max_tool_args_bytes
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
        self._parallel_tool_calls = True
        """Ask for several tool calls a reply; cleared for good once the server refuses
        the parameter (a few do: some proxies, some reasoning models)."""

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
        on_reasoning: Callable[[str], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> Completion:
        """Stream one model turn, retrying what is worth retrying.

        ``on_text`` receives text deltas as they arrive, ``on_reasoning`` the model's
        reasoning deltas (kept out of the text); ``on_retry(attempt, delay, reason)`` is
        told before each retry, so a UI can discard partial text; ``on_progress`` is told
        the (estimated) tokens streamed so far in the attempt as they grow.
        Raises ModelError when the retries are spent or the request is refused.
        """
        attempt = 0
        while True:
            if self._cancel.is_set():
                raise ModelCancelled()
            try:
                result = self._attempt(
                    messages, tools, temperature, model, Sinks(on_text, on_reasoning, on_progress)
                )
                result.attempts = attempt + 1
                return result
            except Retryable as err:
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
        sinks: Sinks,
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
            if self._parallel_tool_calls:
                # Several reads in one reply save round trips (the loop runs them as one
                # step); OpenAI refuses the parameter without tools.
                body["parallel_tool_calls"] = True
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
        turn = Turn(sinks, ToolCallAssembler(max_bytes=self.max_tool_args_bytes))
        try:
            with client.chat.completions.with_streaming_response.create(**kwargs) as response:
                http = response.http_response
                with self._lock:
                    self._current = http
                try:
                    if self._cancel.is_set():
                        raise ModelCancelled()  # cancelled before there was a stream to close
                    content_type = response.headers.get("content-type", "").lower()
                    if "json" in content_type and "event-stream" not in content_type:
                        # A server or proxy that ignores "stream": true answers with one
                        # chat.completion body: read it whole instead of as (no) events.
                        turn.add_body(json.loads(response.read()))
                    else:
                        self._read_events(turn, http.iter_bytes())
                finally:
                    with self._lock:
                        self._current = None
        except (ModelCancelled, ModelError, Retryable):
            raise
        except openai.APIStatusError as err:
            if self._cancel.is_set():
                raise ModelCancelled() from None
            if err.status_code == 400 and self._stream_options and "stream_options" in str(err):
                # Some older servers refuse stream_options; ask again without it.
                self._stream_options = False
                raise Retryable("the server does not support stream_options", 0.0) from None
            if (
                err.status_code in (400, 422)
                and self._parallel_tool_calls
                and "parallel_tool_calls" in str(err)
            ):
                # The server refuses the parameter: ask again without it, and never again
                # with this client (it answers one call a reply, which the loop handles).
                self._parallel_tool_calls = False
                raise Retryable("the server does not support parallel_tool_calls", 0.0) from None
            if err.status_code in RETRY_STATUSES:
                raise Retryable(
                    f"HTTP {err.status_code} from the server", _retry_after(err.response)
                ) from None
            raise ModelError(_status_sentence(err.status_code, err)) from None
        except openai.APIConnectionError as err:
            if self._cancel.is_set():
                raise ModelCancelled() from None
            kind = "timed out" if isinstance(err, openai.APITimeoutError) else "connection failed"
            raise Retryable(f"the request {kind} ({self.base_url or 'api.openai.com'})") from None
        except (ValueError, openai.APIResponseValidationError) as err:
            # json.JSONDecodeError is a ValueError: the body was not what was promised.
            if self._cancel.is_set():
                raise ModelCancelled() from None
            raise Retryable(f"the server sent a response that is not valid ({err})") from None
        except openai.APIError as err:
            # Any other error the client raises carries the server's error object, as
            # an error sent inside a stream does.
            if self._cancel.is_set():
                raise ModelCancelled() from None
            body_error = err.body if isinstance(err.body, Mapping) else {"message": err.message}
            raise stream_error(body_error) from None
        except Exception as err:
            if self._cancel.is_set():
                raise ModelCancelled() from None
            # Transport errors raised mid-stream (the connection dropped or went silent
            # while reading) come from the HTTP library underneath openai (httpx/httpx2).
            if type(err).__module__.split(".")[0].startswith("httpx"):
                if "Timeout" in type(err).__name__:
                    url = self.base_url or "api.openai.com"
                    raise Retryable(f"the request timed out ({url})") from None
                raise Retryable(f"the stream broke off ({type(err).__name__})") from None
            raise
        return turn.completion(messages)

    def _read_events(self, turn: Turn, raw: Iterable[bytes]) -> None:
        """Fold the stream's events into ``turn`` until ``[DONE]``, the end, or the cap."""
        for event, data in sse_events(raw):
            if self._cancel.is_set():
                raise ModelCancelled()
            if data.startswith("[DONE]"):
                return
            chunk = json.loads(data)
            if event == "error":
                # ``event: error``: the data is the error, wrapped in "error" or not.
                error = chunk.get("error", chunk) if isinstance(chunk, dict) else chunk
                raise stream_error(error if isinstance(error, dict) else {"message": data})
            turn.add_chunk(chunk)
            if turn.assembler.over_limit:
                # Stop reading: the rest is refused anyway, and a server streaming
                # arguments for ever must not hang the step.
                turn.finish_reason = turn.finish_reason or "tool_calls"
                return


def _shutdown_socket(response: Any) -> None:
    """Shut down the socket under an HTTP response, waking a blocked read."""
    with contextlib.suppress(Exception):
        network_stream = response.extensions.get("network_stream")
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
