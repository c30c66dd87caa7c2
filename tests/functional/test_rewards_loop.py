"""Ratings change what the agent is told and which arm it works with (scripted server).

Every session here draws its arms from a seeded generator (``$AUTOGPT_TUI_POLICY_SEED``,
set for each test by ``seeded_arm_draws``), so every run makes the same choices.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.learning import SEED_ENV, DPOLine, SFTLine, export_dpo, export_sft
from autogpt_tui.core.session import open_session
from autogpt_tui.core.settings import load_settings
from tests.support.prompts import prompt_text
from tests.support.scripted_llm import RecordedRequest, Reply, ScriptedLLM, ToolCall

ARMS = [
    {"name": "careful", "temperature": 0.2, "instructions": "Read before you edit."},
    {"name": "bold", "temperature": 0.9, "instructions": "Move fast."},
]

ARM_SEED = "rewards-loop-1"
"""The seed of every session's arm draws in these tests."""


@pytest.fixture(autouse=True)
def seeded_arm_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seed the Thompson draws of every session the test opens (and of CLI children)."""
    monkeypatch.setenv(SEED_ENV, ARM_SEED)


def settings_for(workspace: Path, server: ScriptedLLM) -> Any:
    return load_settings(
        workspace,
        overrides={
            "model": {"base_url": server.base_url, "api_key": "sk-test-rewards-SECRET-0001"},
            "agent": {"mode": "auto", "max_steps": 10_000},
            "policy": {"arms": ARMS},
        },
    )


def writes(server: ScriptedLLM) -> None:
    counter = iter(range(100_000))

    def responder(_request: RecordedRequest) -> Reply:
        n = next(counter)
        return Reply(
            f"Writing note {n}.",
            tool_calls=[
                ToolCall("write_file", {"path": f"notes/n{n % 7}.txt", "content": f"{n}\n"})
            ],
        )

    server.responder = responder


def test_a_simulated_user_shifts_the_bandit_toward_the_rewarded_arm(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    """Sixty steps in six sessions, each rated by a hidden rule; the bandit learns it.

    The arm draws are seeded (``seeded_arm_draws``), so the choices, and the outcome,
    are the same on every run. Unseeded, "bold is never chosen" alone would fail about
    one run in 61 (careful rewarded every time it wins: the product of (n+1)/(n+2)).
    """
    writes(llm_server)
    settings = settings_for(workspace, llm_server)
    chosen: list[str] = []
    # The hidden rule: the user likes the careful arm's steps and dislikes the bold one's.
    with History.open(workspace) as rater:
        for session_no in range(6):
            session = open_session(workspace, settings, goal=f"Keep notes, part {session_no}")
            try:
                for _ in range(10):
                    session.agent.run(max_steps=1)
                    step = rater.steps(limit=1)[0]
                    chosen.append(step.policy)
                    rater.rate(step.sha, 1 if step.policy == "careful" else -1)
            finally:
                session.close()
    early, late = Counter(chosen[:30]), Counter(chosen[30:])
    assert "bold" in chosen, chosen  # both arms were tried...
    assert late["bold"] <= early["bold"], (early, late)  # ...the punished one less and less
    assert late["careful"] >= 27, late
    with History.open(workspace) as h:
        from autogpt_tui.core.learning import RewardModel

        stats = {s.name: s for s in RewardModel.load(h, ["careful", "bold"]).arm_stats()}
    assert stats["careful"].posterior_mean > 0.8 > 0.5 > stats["bold"].posterior_mean
    # The arm reaches the request: its temperature and its instructions.
    last = llm_server.requests[-1]
    arm = next(a for a in ARMS if a["name"] == chosen[-1])
    assert last.body["temperature"] == arm["temperature"]
    assert str(arm["instructions"]) in last.system_prompt


def test_a_comment_on_a_bad_step_becomes_a_lesson_in_the_prompt(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        Reply("w", tool_calls=[ToolCall("write_file", {"path": "secrets.txt", "content": "x"})]),
        Reply("w", tool_calls=[ToolCall("read_file", {"path": "README.md"})]),
    )
    settings = settings_for(workspace, llm_server)
    session = open_session(workspace, settings, goal="Tidy up the notes")
    try:
        session.agent.run(max_steps=1)
        with History.open(workspace) as rater:  # as `autogpt-tui rate` would, meanwhile
            rater.rate("HEAD", -1, "never create secrets.txt in the notes")
        session.agent.run(max_steps=1)
    finally:
        session.close()
    first, second = llm_server.requests[0], llm_server.requests[1]
    assert "never create secrets.txt" not in prompt_text(first)
    assert "never create secrets.txt" in prompt_text(second)
    assert "Lessons" in prompt_text(second)
    # Out of the stable prefix: after the steps, never in the system prompt.
    assert "never create secrets.txt" not in second.system_prompt
    # Rating it 0 retires the lesson.
    with History.open(workspace) as rater:
        rater.rate("HEAD~1", 0)
    llm_server.script(Reply("w", tool_calls=[ToolCall("finish", {"summary": "done"})]))
    session = open_session(workspace, settings, goal="Tidy up the notes")
    try:
        session.agent.run(max_steps=1)
    finally:
        session.close()
    assert "never create secrets.txt" not in prompt_text(llm_server.requests[-1])


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autogpt_tui", *args], capture_output=True, text=True, timeout=60
    )


def test_rewards_and_export_from_the_command_line(
    workspace: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    writes(llm_server)
    settings = settings_for(workspace, llm_server)
    session = open_session(workspace, settings, goal="Keep notes")
    try:
        session.agent.run(max_steps=4)
    finally:
        session.close()
    with History.open(workspace) as h:
        steps = h.steps()
        h.rate(steps[0].sha, -1, "wrong note")
        h.rate(steps[1].sha, 1, "good note")
    result = cli("rewards", str(workspace), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {a["name"] for a in data["arms"]} >= {"default"}
    assert any("wrong note" in lesson["text"] for lesson in data["lessons"])
    human = cli("rewards", str(workspace))
    assert "wrong note" in human.stdout and "posterior" in human.stdout
    out = tmp_path / "sft.jsonl"
    result = cli("export", str(workspace), "--format", "sft", "-o", str(out))
    assert result.returncode == 0, result.stderr
    lines = [SFTLine.model_validate_json(line) for line in out.read_text().splitlines()]
    assert len(lines) == 3  # four steps, one rated down
    assert "sk-test-rewards-SECRET" not in out.read_text()
    bad = cli("export", str(workspace), "--format", "csv")
    assert bad.returncode == 2


def test_reject_then_approve_is_a_preference_pair(workspace: Path, llm_server: ScriptedLLM) -> None:
    from autogpt_tui.core.agent import Approval, UserChannel

    llm_server.script(
        Reply("w", tool_calls=[ToolCall("write_file", {"path": "hello.txt", "content": "hi"})]),
        Reply("w", tool_calls=[ToolCall("write_file", {"path": "greeting.txt", "content": "hi"})]),
    )
    answers = iter([Approval.reject("call it greeting.txt"), Approval.approve()])
    settings = settings_for(workspace, llm_server)
    user = UserChannel(approve=lambda _a: next(answers), ask=lambda _q: "no questions, please")
    session = open_session(workspace, settings, goal="Greet", mode="step", user=user)
    try:
        session.agent.run(max_steps=1)
    finally:
        session.close()
    with History.open(workspace) as h:
        out = io.StringIO()
        assert export_dpo(h, out) == 1
        pair = DPOLine.model_validate_json(out.getvalue().strip())
        preferred = json.dumps(pair.model_dump()["preferred_output"])
        rejected = json.dumps(pair.model_dump()["non_preferred_output"])
        assert "greeting.txt" in preferred and "hello.txt" in rejected
        sft = io.StringIO()
        assert export_sft(h, sft) == 1
