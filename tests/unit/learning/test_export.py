"""Fine-tuning export: SFT and DPO lines, valid and scrubbed of secrets."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from autogpt_tui.core.conversation import SYSTEM_PROMPT
from autogpt_tui.core.history import History
from autogpt_tui.core.learning import (
    REDACTED,
    DPOLine,
    RewardModel,
    SFTLine,
    export_dpo,
    export_sft,
)
from autogpt_tui.core.tools import tool_schemas
from tests.conftest import git
from tests.unit.learning.steps import SECRET, lines, make_step, rejection

# ---------------------------------------------------------------- export


def export(history: History, kind: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    writer = export_sft if kind == "sft" else export_dpo
    count = writer(history, out, secrets=[SECRET])
    text = out.getvalue()
    assert SECRET not in text and "SECRET-123" not in text
    rows = lines(text)
    assert len(rows) == count
    model = SFTLine if kind == "sft" else DPOLine
    for row in rows:
        model.model_validate(row)
    return rows


def calls(messages: list[dict[str, Any]]) -> list[str]:
    """The tool calls of the assistant turns, as 'name args'."""
    return [
        f"{c['function']['name']} {c['function']['arguments']}"
        for m in messages
        if m["role"] == "assistant"
        for c in m.get("tool_calls", [])
    ]


def test_sft_export_is_the_conversation_up_to_each_approved_step(history: History) -> None:
    first = make_step(history, 1, goal="Add CSV", observation=f"token={SECRET}")
    make_step(history, 1, session="other", goal="Other goal")
    make_step(
        history,
        2,
        "edit_file",
        {"path": "a.py", "old_text": "x", "new_text": "y"},
        goal="Add CSV",
        thought=f"Use the key {SECRET} here",
        rejected=[rejection("run_command", {"command": "rm -rf ."}, "no")],
        notes=["The user changed the goal to: Add CSV"],
    )
    bad = make_step(history, 3, "write_file", {"path": "b.py", "content": "z"}, goal="Add CSV")
    history.rate(bad.sha, -1)
    rows = export(history, "sft")
    assert len(rows) == 3  # the rated-down step is left out
    last = {row["messages"][-1]["tool_calls"][0]["id"]: row for row in rows}
    row = last["call_s1_2"]
    msgs = row["messages"]
    assert msgs[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert msgs[1] == {"role": "user", "content": "Goal: Add CSV"}
    # The session's earlier step (not the other session's), the note, the rejection, then
    # the step's own call, with no tool result after it.
    assert calls(msgs) == [
        'read_file {"path": "src/file_1.py"}',
        'run_command {"command": "rm -rf ."}',
        'edit_file {"path": "a.py", "old_text": "x", "new_text": "y"}',
    ]
    assert msgs[3]["role"] == "tool" and REDACTED in msgs[3]["content"]
    assert msgs[4] == {"role": "user", "content": "The user changed the goal to: Add CSV"}
    assert msgs[-1]["content"] == f"Use the key {REDACTED} here"
    assert [m.get("weight") for m in msgs if m["role"] == "assistant"] == [0, 0, 1]
    assert row["tools"] == tool_schemas()
    assert last["call_other_1"]["messages"][1]["content"] == "Goal: Other goal"
    assert len(last["call_s1_1"]["messages"]) == 3
    assert first.sha  # the first step is exported with the empty prefix above


def test_sft_export_leaves_out_undone_steps_unless_rated_up(history: History) -> None:
    make_step(history, 1)
    make_step(history, 2)
    history.undo()  # History rates an undone step -1: the user's no
    liked = make_step(history, 2, "write_file", {"path": "x.py", "content": "1"})
    history.rate(liked.sha, 1, "keep this idea")
    history.undo()
    replaced = make_step(history, 2, "list_files", {"path": "."})
    make_step(history, 3)
    rows = export(history, "sft")
    ids = [row["messages"][-1]["tool_calls"][0]["id"] for row in rows]
    assert ids == ["call_s1_1", "call_s1_2", "call_s1_2", "call_s1_3"]
    assert calls(rows[1]["messages"])[-1].startswith("write_file")
    # Step 3 was taken after the undos: its conversation has step 1 and the new step 2.
    assert calls(rows[3]["messages"]) == [
        'read_file {"path": "src/file_1.py"}',
        'list_files {"path": "."}',
        'read_file {"path": "src/file_3.py"}',
    ]
    assert replaced.sha


def test_sft_export_skips_step_commits_without_a_record(history: History) -> None:
    make_step(history, 1)
    message = "Hand-made\n\nAgent-Session: s1\nAgent-Step: 2\nAgent-Tool: x\nAgent-Policy: p\n"
    git(history.root, "commit", "-q", "--allow-empty", "-m", message)
    make_step(history, 3)
    rows = export(history, "sft")
    assert len(rows) == 2
    assert len(calls(rows[-1]["messages"])) == 2
    model = RewardModel.load(history, ["default"])
    assert [s.name for s in model.arm_stats()] == ["default", "p"]


def test_sft_conversation_skips_steps_undone_by_revert(history: History) -> None:
    make_step(history, 1)
    make_step(history, 2, "write_file", {"path": "gone.py", "content": "1"})
    (history.root / "mine.txt").write_text("user\n")
    history.commit_user_edits()
    history.undo()  # a revert commit: step 2 stays in the history, undone
    history.rate(make_step(history, 3).sha, 1)
    rows = export(history, "sft")
    assert len(rows) == 2  # step 2 undone and unrated
    assert calls(rows[-1]["messages"]) == [
        'read_file {"path": "src/file_1.py"}',
        'read_file {"path": "src/file_3.py"}',
    ]


def test_dpo_pairs_from_rejections_and_rated_siblings(history: History) -> None:
    make_step(history, 1, observation=f"Authorization: Bearer {SECRET}")
    approved = make_step(
        history,
        2,
        "edit_file",
        {"path": "a.py", "old_text": "x", "new_text": "y"},
        rejected=[
            rejection("run_command", {"command": f"export KEY={SECRET}"}, "no keys in shell"),
            rejection("write_file", {"path": "a.py", "content": "all new"}, "edit, don't rewrite"),
        ],
    )
    # A step rated down and undone; the one taken in its place rated up.
    worse = make_step(history, 3, "run_command", {"command": "rm -rf build"})
    history.rate(worse.sha, -1, "never delete build")
    history.undo()
    better = make_step(history, 3, "run_command", {"command": "make clean"})
    history.rate(better.sha, 1)
    # Rated steps at different points make no pair.
    history.rate(make_step(history, 4).sha, -1)

    rows = export(history, "dpo")
    assert len(rows) == 3
    first, second, sibling = rows
    # Rejection n: the conversation up to it, the approved action against it.
    assert calls(first["input"]["messages"]) == ['read_file {"path": "src/file_1.py"}']
    assert calls(first["preferred_output"])[0].startswith("edit_file")
    assert calls(first["non_preferred_output"]) == [
        f'run_command {{"command": "export KEY={REDACTED}"}}'
    ]
    assert calls(second["input"]["messages"])[-1].startswith("run_command")
    assert second["input"]["messages"][-1]["role"] == "tool"
    assert "no keys in shell" in second["input"]["messages"][-1]["content"]
    assert calls(second["non_preferred_output"])[0].startswith("write_file")
    assert first["input"]["tools"] == tool_schemas()
    # Siblings: the same session and conversation (steps 1 and 2), +1 over -1.
    assert [c.split()[0] for c in calls(sibling["input"]["messages"])] == [
        "read_file",
        "run_command",
        "write_file",
        "edit_file",
    ]
    assert calls(sibling["preferred_output"]) == ['run_command {"command": "make clean"}']
    assert calls(sibling["non_preferred_output"]) == ['run_command {"command": "rm -rf build"}']
    assert approved.sha
    assert REDACTED in json.dumps(rows)


def test_dpo_needs_an_approved_step_not_rated_down(history: History) -> None:
    s = make_step(history, 1, rejected=[rejection("ask_user", {"question": "?"}, "no")])
    history.rate(s.sha, -1)
    assert export(history, "dpo") == []


def test_export_scrubs_secrets_it_is_given_and_keys_it_recognises(history: History) -> None:
    make_step(
        history,
        1,
        "write_file",
        {"path": "cfg.py", "content": "KEY = 'my\"odd-secret'\nGH = \"ghp_" + "a" * 30 + '"'},
        thought="plain-secret-value is what I use",
    )
    out = io.StringIO()
    export_sft(history, out, secrets=['my"odd-secret', "plain-secret-value", ""])
    text = out.getvalue()
    assert "odd-secret" not in text and "plain-secret-value" not in text
    assert "ghp_" not in text
    SFTLine.model_validate(json.loads(text))


def test_the_export_models_reject_malformed_lines() -> None:
    goal: dict[str, Any] = {"role": "user", "content": "Goal: x"}
    turn: dict[str, Any] = {
        "role": "assistant",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    }
    good: dict[str, Any] = {"messages": [goal, turn], "tools": tool_schemas()}
    SFTLine.model_validate(good)
    bad_cases: list[dict[str, Any]] = [
        {**good, "messages": [goal]},  # no assistant turn to learn
        {**good, "messages": [goal, turn, {"role": "tool", "content": "r"}]},
        {**good, "messages": [{"role": "tool", "tool_call_id": "zz", "content": "r"}]},
        {**good, "extra": 1},
    ]
    broken_args = json.loads(json.dumps(good))
    broken_args["messages"][1]["tool_calls"][0]["function"]["arguments"] = "{nope"
    bad_cases.append(broken_args)
    for case in bad_cases:
        with pytest.raises(ValueError):
            SFTLine.model_validate(case)
    DPOLine.model_validate(
        {
            "input": {"messages": [goal]},
            "preferred_output": [turn],
            "non_preferred_output": [{"role": "assistant", "content": "no"}],
        }
    )
    with pytest.raises(ValueError):
        DPOLine.model_validate(
            {
                "input": {"messages": [goal]},
                "preferred_output": [turn],
                "non_preferred_output": [turn],
            }
        )


def test_exports_of_a_repository_without_steps_are_empty(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "commit", "-q", "--allow-empty", "-m", "user work")
    with History.open(root) as h:
        assert export_sft(h, io.StringIO()) == 0
        assert export_dpo(h, io.StringIO()) == 0
        model = RewardModel.load(h, [])
        assert model.choose_arm() == "default"
        assert len(model) == 0
