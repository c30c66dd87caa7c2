"""The model client reports the tokens streamed so far as they grow (against the
scripted server, real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from autogpt_tui.core.llm import ModelClient
from autogpt_tui.core.llm_reply import PROGRESS_MAX_STEP, Sinks, ToolCallAssembler, Turn
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall
from tests.unit.test_llm import MESSAGES, TOOLS, make_client


@pytest.fixture
def client(llm_server: ScriptedLLM) -> Iterator[ModelClient]:
    model_client = make_client(llm_server)
    yield model_client
    model_client.close()


def test_streamed_tokens_are_reported_as_they_grow(
    client: ModelClient, llm_server: ScriptedLLM
) -> None:
    text = "word " * 40  # 200 characters, about 50 tokens
    content = "x" * 400  # and 100 more in the tool call's arguments
    llm_server.script(
        Reply(text, tool_calls=[ToolCall("write_file", {"path": "a", "content": content})])
    )
    seen: list[int] = []
    completion = client.complete(MESSAGES, TOOLS, on_progress=seen.append)
    assert completion.tool_calls  # the answer itself is untouched
    assert len(seen) > 5, "reported as the stream came, not once at the end"
    assert seen == sorted(seen) and len(set(seen)) == len(seen)  # growing, never repeated
    assert seen[0] <= 3  # the first pieces show at once
    assert 140 <= seen[-1] <= 160  # text and arguments both count (~150 tokens)


def test_reports_thin_out_as_the_count_grows() -> None:
    """Megabytes of arguments must not become one report per chunk."""
    seen: list[int] = []
    turn = Turn(Sinks(progress=seen.append), ToolCallAssembler(max_bytes=64 * 1024 * 1024))
    chunk = {"choices": [{"delta": {"content": "abcd"}}]}  # one token a chunk
    for _ in range(200_000):
        turn.add_chunk(chunk)
    assert seen[-1] >= 200_000 - PROGRESS_MAX_STEP
    assert len(seen) < 2_000
