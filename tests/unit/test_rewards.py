"""Ratings as rewards: per-arm posteriors, Thompson sampling, lessons and exports.

Every test runs on a real git repository in a temp folder, with steps made the way the
agent makes them (History.commit_step with a StepRecord carrying the extra fields).
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from autogpt_tui.core.conversation import SYSTEM_PROMPT, summarize_action
from autogpt_tui.core.history import History
from autogpt_tui.core.learning import (
    AVOID_HEADING,
    EXEMPLAR_HEADING,
    LESSONS_HEADING,
    REDACTED,
    ArmStats,
    DPOLine,
    RewardModel,
    SFTLine,
    export_dpo,
    export_sft,
    rate_check,
    thompson_choice,
    tokenize,
)
from autogpt_tui.core.records import StepCommit, StepRecord
from autogpt_tui.core.tools import tool_schemas
from tests.conftest import git

SECRET = "sk-test-SECRET-1234567890abcdef"


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    root = tmp_path / "ws"
    root.mkdir()
    with History.open(root) as h:
        yield h


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
    return {
        "tool": tool,
        "arguments": args,
        "thought": thought or f"I will {tool}",
        "call_id": f"call_rejected_{tool}",
        "reason": reason,
    }


def stats_by_name(model: RewardModel) -> dict[str, ArmStats]:
    return {s.name: s for s in model.arm_stats()}


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# ------------------------------------------------------------- arm rewards


def test_rewards_per_arm_and_beta_posterior(history: History) -> None:
    a1 = make_step(history, 1, policy="careful")
    a2 = make_step(history, 2, policy="careful")
    a3 = make_step(history, 3, policy="careful")
    make_step(history, 4, policy="careful")  # unrated: counted as a step, not observed
    b1 = make_step(
        history,
        5,
        policy="bold",
        rejected=[rejection("run_command", {"command": "rm -rf /"}, "dangerous")],
    )
    history.rate(a1.sha, 1)
    history.rate(a2.sha, 1, "nice")
    rate_check(history, a3.sha, passed=False, detail="tests fail")  # -0.5
    history.rate(b1.sha, -1, "no")

    model = RewardModel.load(history, ["careful", "bold", "unused"])
    stats = stats_by_name(model)
    careful = stats["careful"]
    assert (careful.steps, careful.rated) == (4, 3)
    assert careful.mean_reward == pytest.approx((1 + 1 - 0.5) / 3)
    # r' = 1, 1, 0.25 -> alpha = 1 + 2.25, beta = 1 + 0.75
    assert careful.alpha == pytest.approx(3.25) and careful.beta == pytest.approx(1.75)
    assert careful.posterior_mean == pytest.approx(3.25 / 5)
    bold = stats["bold"]
    # One step rated -1 and one rejected proposal: two observations of r' = 0.
    assert (bold.steps, bold.rated, bold.mean_reward) == (1, 2, -1.0)
    assert (bold.alpha, bold.beta) == (1.0, 3.0)
    unused = stats["unused"]
    assert (unused.steps, unused.rated, unused.mean_reward) == (0, 0, None)
    assert (unused.alpha, unused.beta, unused.posterior_mean) == (1.0, 1.0, 0.5)
    assert [s.name for s in model.arm_stats()] == ["careful", "bold", "unused"]
    assert model.reward(a3.sha) == -0.5
    assert len(model) == 5


def test_the_latest_explicit_rating_wins_and_zero_clears(history: History) -> None:
    s = make_step(history, 1)
    history.rate(s.sha, -1, source="undo")
    history.rate(s.sha, 1, "actually good")
    history.rate(s.sha, -1, source="undo")  # implicit: the explicit +1 still stands
    model = RewardModel.load(history, ["default"])
    assert model.reward(s.sha) == 1
    history.rate(s.sha, 0)
    assert model.refresh(history)
    assert model.reward(s.sha) is None
    assert stats_by_name(model)["default"].rated == 0


def test_arms_missing_from_the_configuration_are_listed_but_never_chosen(
    history: History,
) -> None:
    s = make_step(history, 1, policy="retired")
    history.rate(s.sha, 1)
    model = RewardModel.load(history, ["default"])
    stats = model.arm_stats()
    assert [(a.name, a.configured) for a in stats] == [("default", True), ("retired", False)]
    assert {model.choose_arm(random.Random(n)) for n in range(50)} == {"default"}


# ------------------------------------------------------------ the bandit


def test_thompson_sampling_prefers_the_rewarded_arm(history: History) -> None:
    for n in range(1, 9):
        good = make_step(history, 2 * n - 1, policy="good")
        bad = make_step(history, 2 * n, policy="bad")
        history.rate(good.sha, 1)
        history.rate(bad.sha, -1)
    model = RewardModel.load(history, ["good", "bad", "fresh"])
    rng = random.Random(1234)
    picks = [model.choose_arm(rng) for _ in range(2000)]
    share = {name: picks.count(name) / len(picks) for name in ("good", "bad", "fresh")}
    # Beta(9, 1) against Beta(1, 9) and an untried Beta(1, 1): fresh wins ~10%.
    assert share["good"] > 0.8
    assert 0.03 < share["fresh"] < 0.2  # an arm nobody rated still gets tried
    assert share["bad"] < 0.01


def test_an_arm_that_keeps_being_rated_down_is_chosen_less_and_less(history: History) -> None:
    model = RewardModel.load(history, ["good", "bad"])
    rng = random.Random(7)
    windows: list[int] = []
    bad_picks = 0
    for n in range(1, 61):
        model.refresh(history)
        arm = model.choose_arm(rng)
        step = make_step(history, n, policy=arm)
        history.rate(step.sha, 1 if arm == "good" else -1)
        bad_picks += arm == "bad"
        if n % 20 == 0:
            windows.append(bad_picks)
            bad_picks = 0
    assert windows[0] > windows[1] >= windows[2]
    assert windows[2] <= 2
    model.refresh(history)
    assert model.arm_stats()[1].mean_reward == -1.0


def test_thompson_choice_is_deterministic_for_a_seed() -> None:
    arms = [
        ArmStats("a", 3, 3, 0.0, 2.5, 2.5, 0.5),
        ArmStats("b", 3, 3, 0.0, 2.5, 2.5, 0.5),
    ]
    first = [thompson_choice(arms, random.Random(99)) for _ in range(5)]
    assert len(set(first)) == 1
    seq = random.Random(5)
    run_a = [thompson_choice(arms, seq) for _ in range(30)]
    seq = random.Random(5)
    assert run_a == [thompson_choice(arms, seq) for _ in range(30)]
    with pytest.raises(ValueError):
        thompson_choice([], random.Random())


# --------------------------------------------------------------- lessons


def rated_corpus(h: History) -> dict[str, StepCommit]:
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


def test_lessons_are_ranked_by_relevance(history: History) -> None:
    steps = rated_corpus(history)
    model = RewardModel.load(history, ["default"])
    lessons = model.lessons("Fix the parser", ["Read src/parser.py"])
    assert lessons[0].sha == steps["parser"].sha
    assert lessons[0].kind == "avoid" and lessons[0].reward == -1
    assert "broke the parser tests" in lessons[0].text
    assert "Edit src/parser.py" in lessons[0].text
    assert lessons[0].score > 0
    # An unrelated dislike still fills a slot (score 0, last); unrelated exemplars do not.
    assert (lessons[-1].sha, lessons[-1].score) == (steps["delete"].sha, 0.0)
    assert steps["docs"].sha not in {x.sha for x in lessons}
    assert all(x.score > 0 for x in lessons[:-1])

    csv = model.lessons("Add a CSV export", ["Run: pytest -q tests/test_csv.py"])
    assert csv[0].sha == steps["tests"].sha and csv[0].kind == "exemplar"
    # The exemplar is "state -> action": the goal and the previous action, then this one.
    assert csv[0].text == (
        'goal "Add a CSV export", after Write docs/index.md → Run: pytest -q tests/test_csv.py'
    )
    scores = [x.score for x in csv]
    assert scores == sorted(scores, reverse=True)


def test_equal_relevance_puts_newer_lessons_first(history: History) -> None:
    old = make_step(history, 1, "run_command", {"command": "make deploy"})
    new = make_step(history, 2, "run_command", {"command": "make deploy"}, session="s2")
    history.rate(old.sha, -1, "not now")
    history.rate(new.sha, -1, "not today")
    model = RewardModel.load(history, ["default"])
    lessons = model.lessons("deploy", [])
    assert [x.sha for x in lessons] == [new.sha, old.sha]
    assert lessons[0].score == pytest.approx(lessons[1].score)


def test_a_rating_of_zero_retires_a_lesson(history: History) -> None:
    steps = rated_corpus(history)
    model = RewardModel.load(history, ["default"])
    assert steps["parser"].sha in {x.sha for x in model.lessons("parser", [])}
    history.rate(steps["parser"].sha, 0)
    assert model.refresh(history)
    assert steps["parser"].sha not in {x.sha for x in model.lessons("parser", [])}
    history.rate(steps["parser"].sha, 1, "fine after all")
    model.refresh(history)
    (lesson,) = [x for x in model.lessons("parser", []) if x.sha == steps["parser"].sha]
    assert lesson.kind == "exemplar" and "fine after all" in lesson.text


def test_rejected_proposals_are_avoid_lessons_with_their_reason(history: History) -> None:
    s = make_step(
        history,
        1,
        rejected=[rejection("run_command", {"command": "git push --force"}, "never force-push")],
    )
    model = RewardModel.load(history, ["default"])
    (lesson,) = model.lessons("push the branch", [])
    assert lesson.kind == "avoid" and lesson.sha == s.sha and lesson.reward == -1
    assert lesson.text == (
        'Run: git push --force (goal: "Add a CSV export") — rejected: "never force-push"'
    )


def test_undone_steps_rated_down_still_teach(history: History) -> None:
    make_step(history, 1)
    bad = make_step(history, 2, "run_command", {"command": "rm -rf migrations"})
    history.undo()  # HEAD moves back: the step is off the branch; History rates it -1
    # Undone by a revert (the user's commit sits on top).
    other = make_step(history, 2, "write_file", {"path": "setup.cfg", "content": "x"})
    (history.root / "notes.txt").write_text("mine\n")
    assert history.commit_user_edits() is not None
    reverted = history.undo()
    assert [s.sha for s in reverted] == [other.sha]

    model = RewardModel.load(history, ["default"])
    assert model.reward(bad.sha) == -1 and model.reward(other.sha) == -1
    lessons = {x.sha: x for x in model.lessons("clean migrations setup", [])}
    assert lessons[bad.sha].text.endswith("— undone by the user")
    assert lessons[other.sha].kind == "avoid"
    assert stats_by_name(model)["default"].rated == 2

    # A redo withdraws the undo's -1; a step the user rated keeps its rating.
    history.redo()
    assert model.refresh(history)
    assert model.reward(other.sha) is None
    kept = make_step(history, 3)
    history.rate(kept.sha, 1)
    history.undo()
    assert model.refresh(history) and model.reward(kept.sha) == 1


def test_lessons_respect_k_and_the_token_budget(history: History) -> None:
    for n in range(1, 13):
        s = make_step(history, n, "edit_file", {"path": f"src/mod_{n}.py"})
        history.rate(s.sha, -1, f"module {n} edit was wrong: " + "too long a comment " * 8)
    model = RewardModel.load(history, ["default"])
    assert len(model.lessons("edit src modules", [], k=5, token_budget=10_000)) == 5
    for budget in (90, 150, 300):
        lessons = model.lessons("edit src modules", [], k=12, token_budget=budget)
        used = sum(-(-len(f"- {x.text}\n") // 4) for x in lessons)
        assert 0 < used <= budget
        section = model.prompt_section("edit src modules", [], k=12, token_budget=budget)
        assert -(-len(section) // 4) <= budget
    assert model.lessons("edit", [], token_budget=5) == []
    assert model.prompt_section("edit", [], token_budget=20) == ""


def test_prompt_section_format(history: History) -> None:
    model = RewardModel.load(history, ["default"])
    assert model.prompt_section("anything", []) == ""
    rated_corpus(history)
    model.refresh(history)
    section = model.prompt_section("Fix the parser and the CSV tests", ["Read src/parser.py"])
    rows = section.splitlines()
    assert rows[0] == LESSONS_HEADING
    assert rows.index(AVOID_HEADING) < rows.index(EXEMPLAR_HEADING)
    avoid = rows[rows.index(AVOID_HEADING) + 1 : rows.index(EXEMPLAR_HEADING)]
    assert avoid and all(r.startswith("- ") for r in avoid)
    assert any("never delete the build folder" in r for r in avoid)
    worked = rows[rows.index(EXEMPLAR_HEADING) + 1 :]
    assert worked and all(r.startswith("- ") and "→" in r for r in worked)
    assert section.endswith("\n")


def test_lessons_never_carry_an_api_key(history: History) -> None:
    s = make_step(history, 1, "run_command", {"command": f"curl -H 'Bearer {SECRET}' x"})
    history.rate(s.sha, -1, f"you leaked {SECRET}")
    section = RewardModel.load(history, ["default"]).prompt_section("curl", [])
    assert "sk-test" not in section and REDACTED in section


def test_tokenize_drops_stopwords_and_splits_paths() -> None:
    assert tokenize("Edit the src/CSV_export.py for a User") == [
        "edit",
        "src",
        "csv",
        "export",
        "py",
        "user",
    ]


# --------------------------------------------------------------- refresh


def test_refresh_costs_nothing_when_nothing_changed(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    rated_corpus(history)
    model = RewardModel.load(history, ["default"])
    assert model.refresh(history) is False

    def no_git(*args: object, **kwargs: object) -> None:
        raise AssertionError("refresh ran a process although nothing changed")

    monkeypatch.setattr(subprocess, "Popen", no_git)
    monkeypatch.setattr(subprocess, "run", no_git)
    start = time.perf_counter()
    for _ in range(100):
        assert model.refresh(history) is False
    assert (time.perf_counter() - start) / 100 < 0.002


def test_refresh_sees_what_another_history_instance_did(history: History) -> None:
    steps = rated_corpus(history)
    model = RewardModel.load(history, ["default"])
    section = model.prompt_section("parser", [])
    with History.open(history.root) as cli:  # as `autogpt-tui rate` would
        cli.rate(steps["docs"].sha, -1, "the docs were wrong")
        new = make_step(cli, 5, "edit_file", {"path": "src/parser.py"})
        cli.rate(new.sha, 1, "clean parser fix")
    assert model.refresh(history)
    assert model.reward(steps["docs"].sha) == -1
    assert model.reward(new.sha) == 1
    assert model.prompt_section("parser", []) != section
    assert "clean parser fix" in model.prompt_section("parser", [])
    assert model.refresh(history) is False

    with History.open(history.root) as cli:  # a step made and undone elsewhere
        gone = make_step(cli, 6, "run_command", {"command": "drop database"})
        cli.undo()
    assert model.refresh(history)
    assert model.reward(gone.sha) == -1
    assert model.lessons("drop database", [])[0].sha == gone.sha
    assert_same_as_fresh_load(model, history)


def test_refresh_reads_many_new_steps_with_one_git_log(history: History) -> None:
    model = RewardModel.load(history, ["default"])
    with History.open(history.root) as other:
        for n in range(1, 41):
            s = make_step(other, n, "edit_file", {"path": f"src/file_{n}.py"})
            if n % 4 == 0:
                other.rate(s.sha, -1, f"wrong file {n}")
    assert model.refresh(history)
    assert len(model) == 40 and stats_by_name(model)["default"].rated == 10
    assert_same_as_fresh_load(model, history)


def test_refresh_follows_undo_redo_and_new_steps(history: History) -> None:
    model = RewardModel.load(history, ["default", "other"])
    for n in range(1, 6):
        s = make_step(history, n, policy="other" if n % 2 else "default")
        history.rate(s.sha, 1 if n % 3 else -1, f"comment {n}")
        assert model.refresh(history)
    history.undo(2)
    model.refresh(history)
    history.redo()
    make_step(history, 9, rejected=[rejection("ask_user", {"question": "why?"}, "do not ask")])
    model.refresh(history)
    assert_same_as_fresh_load(model, history)


def assert_same_as_fresh_load(model: RewardModel, history: History) -> None:
    fresh = RewardModel.load(history, model.arm_names)
    assert model.arm_stats() == fresh.arm_stats()
    for query in ("parser", "src file", "drop database", "comment"):
        assert model.lessons(query, ["Read src/file_1.py"]) == fresh.lessons(
            query, ["Read src/file_1.py"]
        )


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
