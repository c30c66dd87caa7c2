"""The policy the ratings steer: its arms, how one is picked, and the implicit rewards.

A policy arm is one way of prompting the agent (configured as ``[[policy.arms]]``; the
name goes into each step's ``Agent-Policy`` trailer). At a session's first request the
agent picks its arm by Thompson sampling over the configured arms' posteriors, and keeps
it for the whole session (a resumed session keeps its last step's arm): the system
prompt then stays byte-identical from request to request, which prompt caching needs
(:class:`~autogpt_tui.core.learning.reward_model.RewardModel.choose_arm`). Besides the
user's own ratings, two things reward an arm implicitly: a proposal the user rejected
(:data:`REJECTION_REWARD`) and an environment check run after a step (:func:`rate_check`).
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence

from autogpt_tui.core.history import History
from autogpt_tui.core.learning.bandit import ArmStats, thompson_choice
from autogpt_tui.core.records import StepCommit

DEFAULT_ARM = "default"
"""The arm a step without a recorded policy counts for."""

REJECTION_REWARD = -1.0
"""The reward of one rejected proposal."""
REVIEWER_WEIGHT = 0.5
"""What a reviewer agent's rating weighs against one of the user's, unless configured
(``[rewards] reviewer_weight``)."""
CHECK_REWARD = 0.5
"""The size of the implicit reward an environment check gives (+ passed, - failed)."""

SEED_ENV = "AUTOGPT_TUI_POLICY_SEED"
"""When this environment variable is set, the arm draws are seeded with its value.

A run with the same seed, the same repository and the same ratings then picks the same
arms: for reproducing a run, and for tests.
"""


def configured_arms(names: Sequence[str]) -> list[str]:
    """The arm names without repeats, in order; ``[DEFAULT_ARM]`` when there are none."""
    return list(dict.fromkeys(names)) or [DEFAULT_ARM]


def policy_rng(seed: int | str | None = None) -> random.Random:
    """The random generator arm draws come from.

    Seeded with ``seed`` when given, else with ``$AUTOGPT_TUI_POLICY_SEED`` when that is
    set (see :data:`SEED_ENV`), else from the operating system.
    """
    if seed is None:
        seed = os.environ.get(SEED_ENV) or None
    return random.Random(seed)


def choose_arm(stats: Sequence[ArmStats], rng: random.Random) -> str:
    """Thompson sampling over the configured arms of ``stats``.

    Arms only the history knows (no longer configured) are never chosen; an arm nobody
    rated yet draws from Beta(1, 1).
    """
    return thompson_choice([s for s in stats if s.configured], rng)


def rate_check(history: History, rev: str, passed: bool, detail: str | None = None) -> StepCommit:
    """Record an environment check's implicit reward: +0.5 passed, -0.5 failed."""
    value = CHECK_REWARD if passed else -CHECK_REWARD
    return history.rate(rev, value, comment=detail, source="check")
