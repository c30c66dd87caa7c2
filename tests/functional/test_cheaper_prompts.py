"""Cheaper prompts (scripted server): a prefix byte-identical across a session's steps
while the lessons change, one policy arm a session, cached prompt tokens read and
costed, and a warning when a cost budget meets a model nobody prices."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from autogpt_tui.core.events import CostUnenforceable, Event, SessionStarted, UsageUpdated
from autogpt_tui.core.history import History
from autogpt_tui.core.learning import LESSONS_HEADING, SEED_ENV
from autogpt_tui.core.llm_reply import token_usage
from autogpt_tui.core.pricing import Pricing
from autogpt_tui.core.session import open_session
from autogpt_tui.core.settings import AgentSettings, ModelPrice, load_settings
from tests.functional.test_cli import cli
from tests.functional.test_run_cli import events as json_events
from tests.functional.test_run_cli import run as run_cli
from tests.support.prompts import prefix, user_texts
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall, Usage

ARMS = [
    {"name": "careful", "temperature": 0.2, "instructions": "Read before you edit."},
    {"name": "bold", "temperature": 0.9, "instructions": "Move fast."},
]


def write(n: int, usage: Usage | None = None) -> Reply:
    call = ToolCall("write_file", {"path": f"note{n}.txt", "content": f"{n}\n"})
    if usage is None:
        return Reply(f"Write note {n}.", tool_calls=[call])
    return Reply(f"Write note {n}.", tool_calls=[call], usage=usage)


def settings_for(workspace: Path, server: ScriptedLLM, **agent: Any) -> Any:
    return load_settings(
        workspace,
        overrides={
            "model": {"base_url": server.base_url, "api_key": "sk-test-cheap-0001", "model": "m"},
            "agent": {"mode": "auto", **agent},
            "policy": {"arms": ARMS},
        },
    )


def test_the_prompt_prefix_stays_byte_identical_while_the_lessons_change(
    workspace: Path, llm_server: ScriptedLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEED_ENV, "cheaper-prompts-1")
    (workspace / "AGENTS.md").write_text("Notes are short.\n")
    llm_server.script(*[write(n) for n in range(4)])
    session = open_session(workspace, settings_for(workspace, llm_server), goal="Keep notes")
    try:
        with History.open(workspace) as rater:
            for n in range(4):
                session.agent.run(max_steps=1)
                # A new comment after every step: the lessons differ at each request.
                rater.rate("HEAD", -1, f"name note files after their topic, not {n}")
    finally:
        session.close()
    requests = llm_server.requests
    assert len(requests) == 4
    # System prompt, goal and project notes: the same bytes at every request.
    assert len({prefix(r, 3) for r in requests}) == 1
    assert "Notes are short." in requests[0].messages[2]["content"]
    # Each request's messages start with the whole previous request's steps.
    for before, after in itertools.pairwise(requests):
        turns = [m for m in before.messages if m.get("role") in ("assistant", "tool")]
        assert after.messages[3 : 3 + len(turns)] == turns
    # The lessons change from request to request, and come after the steps.
    lessons = [[t for t in user_texts(r) if t.startswith(LESSONS_HEADING)] for r in requests]
    assert lessons[0] == []
    assert len({ls[0] for ls in lessons[1:]}) == 3
    for request in requests[1:]:
        last_tool = max(i for i, m in enumerate(request.messages) if m.get("role") == "tool")
        at = next(
            i
            for i, m in enumerate(request.messages)
            if str(m.get("content") or "").startswith(LESSONS_HEADING)
        )
        assert at > last_tool
    # One arm for the whole session, though its steps were rated down: in the request
    # (instructions, temperature) and in every step's Agent-Policy trailer.
    with History.open(workspace) as history:
        arms = {s.policy for s in history.steps(limit=10)}
    assert len(arms) == 1
    assert len({r.body.get("temperature") for r in requests}) == 1


def test_a_resumed_session_keeps_its_arm(
    workspace: Path, llm_server: ScriptedLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.script(*[write(n) for n in range(6)])
    settings = settings_for(workspace, llm_server)
    arms: list[str] = []
    for seed in ("a", "b", "c"):  # each restart draws differently, but resumes instead
        monkeypatch.setenv(SEED_ENV, seed)
        session = open_session(workspace, settings, goal="Keep notes")
        try:
            session.agent.run(max_steps=2)
        finally:
            session.close()
        with History.open(workspace) as history:
            arms += [s.policy for s in history.steps(limit=2)]
    assert len(set(arms)) == 1, arms


def test_cached_tokens_from_a_streamed_usage_chunk_are_shown_and_costed(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        write(0, Usage(prompt_tokens=10_000, completion_tokens=1_000, cached_tokens=8_000)),
        write(1, Usage(prompt_tokens=12_000, completion_tokens=500, cached_tokens=10_000)),
    )
    price = {"input_per_mtok": 10.0, "cached_input_per_mtok": 1.0, "output_per_mtok": 20.0}
    settings = settings_for(workspace, llm_server, prices={"m": price})
    seen: list[Event] = []
    session = open_session(workspace, settings, goal="Keep notes", emit=seen.append)
    try:
        session.agent.run(max_steps=2)
    finally:
        session.close()
    assert all(r.include_usage for r in llm_server.requests)  # streamed, usage at the end
    first = (2_000 * 10 + 8_000 * 1 + 1_000 * 20) / 1e6
    second = (2_000 * 10 + 10_000 * 1 + 500 * 20) / 1e6
    usage = [e for e in seen if isinstance(e, UsageUpdated)]
    assert [u.cached_tokens for u in usage] == [8_000, 18_000]
    assert usage[-1].cost_usd == pytest.approx(first + second)
    with History.open(workspace) as history:
        steps = list(history.steps_on_branch(records=True))
    records = [s.record for s in reversed(steps)]
    assert [r.usage.cached_tokens for r in records if r] == [8_000, 10_000]
    assert [r.cost_usd for r in records if r] == [pytest.approx(first), pytest.approx(second)]
    shown = cli("show", str(workspace), "#2")
    assert "usage    12000 in (10000 cached), 500 out  cost $0.0400" in shown.stdout
    shown_json = json.loads(cli("show", str(workspace), "#2", "--json").stdout)
    assert shown_json["record"]["usage"]["cached_tokens"] == 10_000


def test_usage_dialects_for_cached_tokens() -> None:
    openai = {"prompt_tokens": 100, "completion_tokens": 5}
    details = openai | {"prompt_tokens_details": {"cached_tokens": 64}}
    assert token_usage(details, {}).cached_tokens == 64
    assert token_usage(openai | {"prompt_cache_hit_tokens": 32}, {}).cached_tokens == 32
    assert token_usage(openai, {"timings": {"cache_n": 90}}).cached_tokens == 90
    assert token_usage(openai | {"prompt_tokens_details": None}, {}).cached_tokens == 0
    assert token_usage(openai | {"cached_tokens": 500}, {}).cached_tokens == 100  # capped


def test_prices_yours_first_then_genai_prices_then_none() -> None:
    pricing = Pricing(AgentSettings())
    # A known model is priced by genai-prices, cached input at its cached price.
    full = pricing("gpt-4o-mini", 1_000_000, 0, 0)
    cached = pricing("gpt-4o-mini", 1_000_000, 0, 1_000_000)
    assert full > cached > 0
    assert pricing("claude-3-5-sonnet-latest", 1_000_000, 0, 0) > 0  # not in the defaults
    assert not pricing.is_priced("my-local-model") and pricing("my-local-model", 10, 10, 0) == 0
    own = ModelPrice(input_per_mtok=100.0, output_per_mtok=0.0)
    mine = Pricing(AgentSettings(prices={"gpt-4o-mini": own}))
    assert mine("gpt-4o-mini", 1_000_000, 0, 0) == pytest.approx(100.0)


def test_an_unpriced_model_with_a_cost_budget_warns_headless(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    sentence = "has no known price, so the cost budget ($1.00) cannot be enforced"
    for json_flag in ((), ("--json",)):
        llm_server.script(Reply("Done.", tool_calls=[ToolCall("finish", {"summary": "ok"})]))
        args = ("--base-url", llm_server.base_url, "--model", "my-local-model", *json_flag)
        result = run_cli(str(workspace), "--goal", "g", "--max-cost", "1", *args)
        assert result.returncode == 0, result.stderr
        warnings = [line for line in result.stderr.splitlines() if sentence in line]
        assert len(warnings) == 1 and "the cost will read $0" in warnings[0]
        if json_flag:
            found = [e for e in json_events(result) if e["type"] == "cost_unenforceable"]
            assert len(found) == 1 and found[0]["model"] == "my-local-model"
        else:
            assert sentence not in result.stdout
    # A priced model, or no cost budget: no warning.
    llm_server.script(Reply("Done.", tool_calls=[ToolCall("finish", {"summary": "ok"})]))
    quiet = run_cli(str(workspace), "--goal", "g", "--base-url", llm_server.base_url, "--json")
    assert "cannot be enforced" not in quiet.stderr + quiet.stdout


def test_the_warning_is_an_event_before_the_first_request(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    seen: list[Event] = []
    settings = settings_for(workspace, llm_server, max_cost_usd=0.5)
    session = open_session(workspace, settings, goal="Keep notes", emit=seen.append)
    session.close()
    # The session's start is an event too; the warning comes with it, before any request.
    assert [type(e) for e in seen if not isinstance(e, SessionStarted)] == [CostUnenforceable]
    assert llm_server.requests == []
