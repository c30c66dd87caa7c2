"""Rewards per policy arm, their Beta posteriors, and Thompson sampling.

Every draw comes from a seeded ``random.Random``.
"""

from __future__ import annotations

import random

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.learning import (
    DEFAULT_ARM,
    SEED_ENV,
    ArmStats,
    RewardModel,
    choose_arm,
    configured_arms,
    policy_rng,
    rate_check,
    thompson_choice,
)
from tests.unit.learning.steps import make_step, rejection, stats_by_name

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


# ---------------------------------------------------------------- the policy


def test_the_model_draws_from_the_generator_it_was_given(history: History) -> None:
    for n in range(1, 4):
        history.rate(make_step(history, n, policy="a").sha, 1)
        history.rate(make_step(history, n + 10, policy="b").sha, 1)
    runs = [RewardModel.load(history, ["a", "b", "c"], rng=random.Random(11)) for _ in range(2)]
    picks = [[model.choose_arm() for _ in range(40)] for model in runs]
    assert picks[0] == picks[1]
    assert set(picks[0]) >= {"a", "b"}  # forty draws of near-equal arms: not all one


def test_the_seed_variable_makes_the_default_generator_reproducible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    arms = [
        ArmStats("a", 3, 3, 0.0, 2.5, 2.5, 0.5),
        ArmStats("b", 3, 3, 0.0, 2.5, 2.5, 0.5),
        ArmStats("gone", 3, 3, 1.0, 4.0, 1.0, 0.8, configured=False),
    ]
    monkeypatch.setenv(SEED_ENV, "replay-7")
    first, second = policy_rng(), policy_rng()
    run = [choose_arm(arms, first) for _ in range(30)]
    assert run == [choose_arm(arms, second) for _ in range(30)]
    assert set(run) == {"a", "b"}  # an arm no longer configured is never chosen
    # An explicit seed wins over the variable.
    assert policy_rng(5).random() == random.Random(5).random()


def test_configured_arms_drop_repeats_and_default_to_one() -> None:
    assert configured_arms(["b", "a", "b"]) == ["b", "a"]
    assert configured_arms([]) == [DEFAULT_ARM] == RewardModel([]).arm_names
