"""A reviewer agent's ratings: a second reward source that never overrides the user.

Every step is a real commit on a real repository; the posteriors are checked against
their closed form (Beta(1 + successes, 1 + failures), a reviewer's rating weighing
``reviewer_weight``), and the arm draws come from a seeded generator.
"""

from __future__ import annotations

import json
import random

import pytest

from autogpt_tui.core.errors import InvalidRating
from autogpt_tui.core.history import RATINGS_REF, History
from autogpt_tui.core.learning import REVIEWER_WEIGHT, RewardModel
from autogpt_tui.core.records import effective_rating_of_note, ratings_of_note
from tests.unit.learning.steps import make_step, stats_by_name

MODEL = "reviewer-model-7b"
ID = {"NAME": "Old", "EMAIL": "old@example.com"}


def test_a_reviewer_rating_is_kept_beside_the_users_with_its_model(history: History) -> None:
    step = make_step(history, 1)
    rated = history.rate(step.sha, 1, "adds the test it needed", source="reviewer", model=MODEL)
    # Not the rating in effect: that stays the user's (none yet).
    assert rated.rating is None and rated.reward is None
    assert rated.review is not None
    assert (rated.review.value, rated.review.comment, rated.review.model) == (
        1,
        "adds the test it needed",
        MODEL,
    )
    assert rated.review_counts
    [event] = history.ratings(step.sha)
    assert (event.source, event.model) == ("reviewer", MODEL)
    listed = history.steps()[0]
    assert listed.review == rated.review and listed.review_counts


def test_a_users_rating_beats_the_reviewers_whatever_the_order(history: History) -> None:
    first = make_step(history, 1)
    second = make_step(history, 2)
    # The reviewer before the user, and after.
    history.rate(first.sha, 1, "fine", source="reviewer", model=MODEL)
    history.rate(first.sha, -1, "wrong file")
    history.rate(second.sha, -1, "nope")
    after = history.rate(second.sha, 1, "looks right", source="reviewer", model=MODEL)
    assert after.reward == -1 and after.rating is not None and after.rating.source == "user"
    assert after.review is not None and after.review.value == 1 and not after.review_counts
    by_sha = {s.sha: s for s in history.steps()}
    for sha in (first.sha, second.sha):
        assert by_sha[sha].reward == -1
        assert by_sha[sha].review is not None and not by_sha[sha].review_counts
    data = by_sha[first.sha].to_json()
    assert data["reward"] == -1 and data["reward_source"] == "user"
    assert data["review"] == {"value": 1.0, "comment": "fine", "model": MODEL}


def test_a_users_clear_also_silences_the_reviewer(history: History) -> None:
    step = make_step(history, 1)
    history.rate(step.sha, -1, "bad", source="reviewer", model=MODEL)
    history.rate(step.sha, 1)
    cleared = history.rate(step.sha, 0)
    assert cleared.reward is None and not cleared.review_counts
    stats = stats_by_name(RewardModel.load(history, ["default"]))["default"]
    assert (stats.rated, stats.reviewer_rated) == (0, 0)
    assert (stats.alpha, stats.beta) == (1.0, 1.0)


def test_reviewer_ratings_move_the_bandit_at_their_weight(history: History) -> None:
    careful = [make_step(history, n, policy="careful") for n in range(1, 4)]
    bold = [make_step(history, n, policy="bold") for n in range(4, 7)]
    history.rate(careful[0].sha, 1, "yes")  # the user's: weight 1
    for step in careful:  # the first one the user rated: the reviewer's does not count
        history.rate(step.sha, 1, "good", source="reviewer", model=MODEL)
    for step in bold:
        history.rate(step.sha, -1, "breaks the build", source="reviewer", model=MODEL)
    history.rate(bold[2].sha, 0, "unsure", source="reviewer", model=MODEL)  # latest wins

    w = 0.5
    model = RewardModel.load(history, ["careful", "bold"], reviewer_weight=w)
    stats = stats_by_name(model)
    c = stats["careful"]
    assert (c.rated, c.mean_reward) == (1, 1.0)
    assert (c.reviewer_rated, c.reviewer_mean, c.reviewer_weight) == (2, 1.0, w)
    # The user's +1: one success; two reviewer +1s: 2 x 0.5 successes.
    assert (c.alpha, c.beta) == pytest.approx((1 + 1 + 2 * w, 1.0))
    b = stats["bold"]
    assert (b.rated, b.mean_reward) == (0, None)
    assert b.reviewer_rated == 3 and b.reviewer_mean == pytest.approx(-2 / 3)
    # Two -1s (r' = 0) and a 0 (r' = 0.5), each weighing w.
    assert (b.alpha, b.beta) == pytest.approx((1 + w * 0.5, 1 + w * 2.5))
    assert b.posterior_mean == pytest.approx(1.25 / (1.25 + 2.25))
    # The reviewer's rating is never a step's reward (nor a lesson).
    assert model.reward(bold[0].sha) is None
    lessons = model.lessons("Add a CSV export", ["read src/file_1.py"])
    assert {lesson.sha for lesson in lessons} == {careful[0].sha}

    # The same ratings at the default weight, and at 0 (the reviewer ignored).
    default = stats_by_name(RewardModel.load(history, ["careful", "bold"]))["bold"]
    assert REVIEWER_WEIGHT == 0.5 and default.alpha == pytest.approx(b.alpha)
    off = stats_by_name(RewardModel.load(history, ["careful", "bold"], reviewer_weight=0))
    assert (off["bold"].alpha, off["bold"].beta) == (1.0, 1.0)

    # Thompson sampling, seeded: the arm the reviewer favours is drawn far more often.
    rng = random.Random(7)
    draws = [model.choose_arm(rng) for _ in range(400)]
    assert draws.count("careful") > 300


def test_the_model_follows_a_user_rating_given_after_the_reviewers(history: History) -> None:
    step = make_step(history, 1)
    history.rate(step.sha, -1, "bad", source="reviewer", model=MODEL)
    model = RewardModel.load(history, ["default"])
    assert stats_by_name(model)["default"].reviewer_rated == 1
    history.rate(step.sha, 1, "it is fine")
    assert model.refresh(history)
    stats = stats_by_name(model)["default"]
    assert (stats.rated, stats.reviewer_rated) == (1, 0)
    assert (stats.alpha, stats.beta) == (2.0, 1.0)
    # A fresh load (from the cache the first load wrote) agrees.
    again = stats_by_name(RewardModel.load(history, ["default"]))["default"]
    assert (again.alpha, again.beta, again.reviewer_rated) == (2.0, 1.0, 0)
    uncached = stats_by_name(RewardModel.load(history, ["default"], cache=False))["default"]
    assert (uncached.alpha, uncached.beta) == (2.0, 1.0)


def test_an_undo_is_the_users_say_and_a_redo_gives_the_reviewer_back(history: History) -> None:
    step = make_step(history, 1)
    history.rate(step.sha, 1, "good", source="reviewer", model=MODEL)
    [undone] = history.undo()
    assert undone.reward == -1 and undone.review is not None and not undone.review_counts
    model = RewardModel.load(history, ["default"])
    stats = stats_by_name(model)["default"]
    assert (stats.rated, stats.reviewer_rated) == (1, 0)
    history.redo()
    assert model.refresh(history)
    stats = stats_by_name(model)["default"]
    assert (stats.rated, stats.reviewer_rated) == (0, 1)
    assert (stats.alpha, stats.beta) == pytest.approx((1.5, 1.0))


def test_a_redo_takes_the_undos_judgement_back_after_a_later_review(history: History) -> None:
    step = make_step(history, 1)
    history.undo()
    history.rate(step.sha, 1, "actually good", source="reviewer", model=MODEL)
    [redone] = history.redo()
    [now] = [s for s in history.steps() if s.sha == redone.sha]
    assert now.reward is None and now.review_counts


def test_a_reviewer_rating_needs_a_valid_value_and_a_model(history: History) -> None:
    step = make_step(history, 1)
    with pytest.raises(InvalidRating, match="-1, 0 or \\+1"):
        history.rate(step.sha, 0.5, "meh", source="reviewer", model=MODEL)
    with pytest.raises(InvalidRating, match="name of the model"):
        history.rate(step.sha, 1, "ok", source="reviewer")
    assert history.ratings(step.sha) == []


def test_old_rating_notes_read_as_before(history: History) -> None:
    step = make_step(history, 1)
    # A note as earlier versions wrote it: no model, sources user and undo only.
    old = [
        {"value": -1.0, "comment": "undone by the user", "source": "undo", "at": "2025-01-01"},
        {"value": 1, "comment": "ok after all", "at": "2025-01-02"},
    ]
    who = {f"GIT_{r}_{k}": v for r in ("AUTHOR", "COMMITTER") for k, v in ID.items()}
    history.git(
        "notes", f"--ref={RATINGS_REF}", "add", "-f", "-m", json.dumps(old), step.sha, env=who
    )
    [listed] = history.steps()
    assert listed.reward == 1 and listed.rating is not None
    assert (listed.rating.source, listed.rating.model) == ("user", None)
    assert listed.review is None and not listed.review_counts
    events = history.ratings(step.sha)
    assert [(e.source, e.model) for e in events] == [("undo", None), ("user", None)]
    stats = stats_by_name(RewardModel.load(history, ["default"]))["default"]
    assert (stats.rated, stats.reviewer_rated, stats.alpha) == (1, 0, 2.0)


def test_the_plain_and_the_pydantic_readings_of_a_note_agree() -> None:
    events = [
        {"value": 1, "comment": "neat", "source": "reviewer", "model": MODEL, "at": "x"},
        {"value": -1, "comment": "slow", "source": "check", "at": "x"},
    ]
    plain = ratings_of_note(json.dumps(events))
    # A value as a string sends the note through the pydantic model.
    odd = ratings_of_note(json.dumps([{**e, "value": str(e["value"])} for e in events]))
    assert plain == odd
    assert plain["review"].model == MODEL and plain["review_counts"]
    assert effective_rating_of_note(json.dumps(events)) == plain["rating"]
    assert plain["rating"].source == "check"
