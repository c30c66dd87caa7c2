"""Steps made the way the agent makes them, and a few checks the learning tests share.

Every step is a real commit (History.commit_step with a StepRecord carrying the extra
fields) on a real repository.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from autogpt_tui.core.conversation import summarize_action
from autogpt_tui.core.history import History
from autogpt_tui.core.learning import ArmStats, RewardModel
from autogpt_tui.core.records import StepCommit, StepRecord

SECRET = "sk-test-SECRET-1234567890abcdef"


def make_step(
    h: History,
    n: int,
    tool: str = "read_file",
    args: dict[str, Any] | None = None,
    *,
    session: str = "s1",
    policy: str = "default",
    goal: str = "Add a CSV export",
    thought: str = "",
    observation: str = "ok",
    rejected: Sequence[dict[str, Any]] = (),
    notes: Sequence[str] = (),
) -> StepCommit:
    """One step committed as the agent commits it (an empty commit)."""
    args = args if args is not None else {"path": f"src/file_{n}.py"}
    record = StepRecord(
        thought=thought or f"step {n}",
        tool=tool,
        arguments=args,
        tool_call_id=f"call_{session}_{n}",
        observation=observation,
    )
    extra = {
        "session": session,
        "goal": goal,
        "policy": policy,
        "model": "test-model",
        "ok": True,
        "cost_usd": 0.0,
        "rejected": list(rejected),
        "user_edits": [],
        "notes": list(notes),
    }
    for key, value in extra.items():
        setattr(record, key, value)
    return h.commit_step(
        session=session,
        step=n,
        tool=tool,
        policy=policy,
        summary=summarize_action(tool, args),
        record=record,
        paths=[],
    )


def rejection(tool: str, args: dict[str, Any], reason: str, thought: str = "") -> dict[str, Any]:
    """A rejected proposal as the step record lists it."""
    return {
        "tool": tool,
        "arguments": args,
        "thought": thought or f"I will {tool}",
        "call_id": f"call_rejected_{tool}",
        "reason": reason,
    }


def stats_by_name(model: RewardModel) -> dict[str, ArmStats]:
    """The model's arm statistics by arm name."""
    return {s.name: s for s in model.arm_stats()}


def lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL text."""
    return [json.loads(line) for line in text.splitlines()]


def rated_corpus(h: History) -> dict[str, StepCommit]:
    """Four steps, two rated down with comments, two rated up."""
    parser = make_step(
        h, 1, "edit_file", {"path": "src/parser.py", "old_text": "a", "new_text": "b"}
    )
    delete = make_step(h, 2, "run_command", {"command": "rm -rf build"})
    docs = make_step(h, 3, "write_file", {"path": "docs/index.md", "content": "x"})
    tests = make_step(h, 4, "run_command", {"command": "pytest -q tests/test_csv.py"})
    h.rate(parser.sha, -1, "broke the parser tests")
    h.rate(delete.sha, -1, "never delete the build folder")
    h.rate(docs.sha, 1, "good docs")
    h.rate(tests.sha, 1)
    return {"parser": parser, "delete": delete, "docs": docs, "tests": tests}


def assert_same_as_fresh_load(model: RewardModel, history: History) -> None:
    """A refreshed model says what a model loaded afresh says."""
    fresh = RewardModel.load(history, model.arm_names)
    assert model.arm_stats() == fresh.arm_stats()
    for query in ("parser", "src file", "drop database", "comment"):
        assert model.lessons(query, ["Read src/file_1.py"]) == fresh.lessons(
            query, ["Read src/file_1.py"]
        )
