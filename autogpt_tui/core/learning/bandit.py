"""The policy bandit: a Beta posterior per arm over its rewards, and Thompson sampling.

A reward r in [-1, 1] counts as r' = (r + 1) / 2 successes out of one trial, so an arm's
posterior is Beta(1 + sum r', 1 + (n - sum r')) after n rated observations. A reviewer
agent's rating of a step the user did not rate counts with weight w (``[rewards]
reviewer_weight``, 0.5 by default): w r' successes out of w trials. Picking the
arm whose draw from its posterior is highest (Thompson sampling) makes an arm that keeps
being rated down chosen less and less, while an arm nobody rated yet still gets tried.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ArmStats:
    """What the ratings say about one policy arm."""

    name: str
    steps: int
    """Steps the arm took (on the branch or undone)."""
    rated: int
    """Rated observations: rated steps plus proposals the user rejected."""
    mean_reward: float | None
    """Mean reward (-1 … 1) of the rated observations; None when there are none."""
    alpha: float
    beta: float
    posterior_mean: float
    """alpha / (alpha + beta): the expected reward on the 0 … 1 scale."""
    configured: bool = True
    """False for an arm found in the history but no longer in the configuration."""
    reviewer_rated: int = 0
    """Steps of the arm only a reviewer agent rated (the user did not): they count in the
    posterior with weight ``reviewer_weight``; ``rated`` and ``mean_reward`` leave them out."""
    reviewer_mean: float | None = None
    """Mean reviewer rating (-1 … 1) of those steps; None when there are none."""
    reviewer_weight: float = 0.0
    """What one reviewer rating weighs against one of the user's, in the posterior."""

    def to_json(self) -> dict[str, Any]:
        """The arm as the JSON object `rewards --json` prints."""
        return {
            "name": self.name,
            "steps": self.steps,
            "rated": self.rated,
            "mean_reward": self.mean_reward,
            "alpha": self.alpha,
            "beta": self.beta,
            "posterior_mean": self.posterior_mean,
            "configured": self.configured,
            "reviewer_rated": self.reviewer_rated,
            "reviewer_mean": self.reviewer_mean,
            "reviewer_weight": self.reviewer_weight,
        }


def to_unit(reward: float) -> float:
    """A reward in [-1, 1] mapped to [0, 1] (clamped): r' = (r + 1) / 2."""
    return min(1.0, max(0.0, (reward + 1.0) / 2.0))


def thompson_choice(stats: Sequence[ArmStats], rng: random.Random) -> str:
    """The arm whose draw from its Beta(alpha, beta) posterior is highest.

    Raises ValueError when ``stats`` is empty.
    """
    if not stats:
        raise ValueError("no arm to choose from")
    if len(stats) == 1:
        return stats[0].name
    best, best_draw = stats[0].name, -1.0
    for arm in stats:
        draw = rng.betavariate(arm.alpha, arm.beta)
        if draw > best_draw:
            best, best_draw = arm.name, draw
    return best


@dataclass
class ArmTally:
    """The running sums of one arm's observations, from which :class:`ArmStats` follow.

    Observations can be taken back (a rating changed or cleared), so the sums are kept
    rather than the posterior itself.
    """

    steps: int = 0
    """Steps the arm took."""
    rated: int = 0
    reward_sum: float = 0.0
    unit_sum: float = 0.0
    reviewed: int = 0
    """Steps only a reviewer agent rated; their sums follow."""
    review_sum: float = 0.0
    review_unit_sum: float = 0.0

    def observe(self, reward: float, sign: int = 1) -> None:
        """Add (sign 1) or take back (sign -1) one rated observation."""
        self.rated += sign
        self.reward_sum += sign * reward
        self.unit_sum += sign * to_unit(reward)

    def observe_review(self, reward: float, sign: int = 1) -> None:
        """Add (sign 1) or take back (sign -1) one reviewer rating (weighed in :meth:`stats`)."""
        self.reviewed += sign
        self.review_sum += sign * reward
        self.review_unit_sum += sign * to_unit(reward)

    def to_list(self) -> list[float]:
        """The sums as the reward model's cache keeps them."""
        return [
            self.steps,
            self.rated,
            self.reward_sum,
            self.unit_sum,
            self.reviewed,
            self.review_sum,
            self.review_unit_sum,
        ]

    @classmethod
    def from_list(cls, sums: list[float]) -> ArmTally:
        """The tally :meth:`to_list` wrote."""
        steps, rated, reward_sum, unit_sum, reviewed, review_sum, review_unit_sum = sums
        return cls(
            int(steps), int(rated), reward_sum, unit_sum, int(reviewed), review_sum, review_unit_sum
        )

    def stats(self, name: str, configured: bool, reviewer_weight: float = 0.0) -> ArmStats:
        """The arm's posterior and counts as they stand; each reviewer rating weighs
        ``reviewer_weight`` of one of the user's (weighed when asked, so a change of the
        setting needs no re-reading)."""
        rated = max(0, self.rated)
        reviewed = max(0, self.reviewed)
        # Float sums of added and taken-back observations can drift past their bounds.
        unit = min(max(0.0, self.unit_sum), float(rated))
        review_unit = min(max(0.0, self.review_unit_sum), float(reviewed))
        w = reviewer_weight
        alpha = 1.0 + unit + w * review_unit
        beta = 1.0 + (rated - unit) + w * (reviewed - review_unit)
        return ArmStats(
            name=name,
            steps=self.steps,
            rated=rated,
            mean_reward=self.reward_sum / rated if rated else None,
            alpha=alpha,
            beta=beta,
            posterior_mean=alpha / (alpha + beta),
            configured=configured,
            reviewer_rated=reviewed,
            reviewer_mean=self.review_sum / reviewed if reviewed else None,
            reviewer_weight=w,
        )
