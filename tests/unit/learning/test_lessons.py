"""Lessons from the ratings: BM25 relevance, the token budget, the prompt section."""

from __future__ import annotations

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.learning import (
    AVOID_HEADING,
    EXEMPLAR_HEADING,
    LESSONS_HEADING,
    REDACTED,
    RewardModel,
    tokenize,
)
from tests.unit.learning.steps import SECRET, make_step, rated_corpus, rejection, stats_by_name

# --------------------------------------------------------------- lessons


def test_lessons_are_ranked_by_relevance(history: History) -> None:
    steps = rated_corpus(history)
    model = RewardModel.load(history, ["default"])
    lessons = model.lessons("Fix the parser", ["Read src/parser.py"])
    assert lessons[0].sha == steps["parser"].sha
    assert lessons[0].kind == "avoid" and lessons[0].reward == -1
    # Phrased from the user's comment, tied to the situation.
    assert lessons[0].text == "When editing `src/parser.py`: broke the parser tests"
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
    assert lesson.text == "When running `git push --force`: never force-push"


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
    # No comment of the user's: what happened to the step, in its situation.
    assert lessons[bad.sha].text == (
        'When running `rm -rf migrations`: the step "Run: rm -rf migrations" was undone by'
        ' the user (goal: "Add a CSV export").'
    )
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
