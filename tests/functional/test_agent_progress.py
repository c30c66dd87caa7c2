"""The loop passes the model's progress on as events: the tokens streamed so far in a
request, and each retry with the attempt that comes next of how many."""

from __future__ import annotations

from autogpt_tui.core.events import Retrying, TokensStreamed
from tests.functional.test_agent import Harness, harness  # noqa: F401 (a fixture)
from tests.support.scripted_llm import Fault, Reply, ScriptedLLM, ToolCall


def test_the_loop_emits_streamed_tokens_and_the_attempt_count(
    harness: Harness,  # noqa: F811
    llm_server: ScriptedLLM,
) -> None:
    llm_server.script(
        Fault(500, retry_after=0.05),
        Reply("a" * 80, tool_calls=[ToolCall("finish", {"summary": "ok"})]),
    )
    harness.agent().run()
    retries = harness.of(Retrying)
    # The harness's client retries twice: three attempts in all.
    assert [(r.attempt, r.max_attempts) for r in retries] == [(1, 3)]
    streamed: list[TokensStreamed] = harness.of(TokensStreamed)
    assert len(streamed) > 1 and all(e.step == 1 for e in streamed)
    assert streamed[-1].tokens >= 20  # 80 characters of text, and the call's arguments
    assert [e.tokens for e in streamed] == sorted(e.tokens for e in streamed)
