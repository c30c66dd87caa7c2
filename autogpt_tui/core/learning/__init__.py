"""Ratings as rewards: the policy bandit, lessons for the prompt, and fine-tuning export.

Rewards change what the agent does next in two ways:

- **Which arm works the next step** — :mod:`.bandit` keeps a Beta posterior per policy
  arm and picks one by Thompson sampling; :mod:`.policy` says what an arm is, which
  arms may be chosen, and the implicit rewards (rejections, environment checks).
- **What the agent is told** — :mod:`.lessons` turns rated steps into lessons (a step
  rated down: the user's comment tied to its situation, :mod:`.situations`) and
  exemplars, and picks the most relevant ones (BM25) for the system prompt.

:mod:`.reward_model` reads the repository's steps, records and ratings into both and
keeps them current; :mod:`.export` writes the ratings out as fine-tuning data;
:mod:`.agreement` says whether a reviewer agent's ratings agree with the user's own.

This package never imports the agent loop (``core/agent.py``, ``core/session.py``).
"""

from autogpt_tui.core.learning.agreement import Agreement, Disagreement, reviewer_agreement
from autogpt_tui.core.learning.bandit import ArmStats, ArmTally, thompson_choice, to_unit
from autogpt_tui.core.learning.export import (
    ChatMessage,
    DPOInput,
    DPOLine,
    FunctionCall,
    FunctionSpec,
    SFTLine,
    ToolCall,
    ToolSpec,
    export_dpo,
    export_sft,
)
from autogpt_tui.core.learning.lessons import (
    AVOID_HEADING,
    CHARS_PER_TOKEN,
    EXEMPLAR_HEADING,
    LESSONS_HEADING,
    Lesson,
    LessonIndex,
    LessonKind,
    tokenize,
)
from autogpt_tui.core.learning.policy import (
    CHECK_REWARD,
    DEFAULT_ARM,
    REJECTION_REWARD,
    REVIEWER_WEIGHT,
    SEED_ENV,
    choose_arm,
    configured_arms,
    policy_rng,
    rate_check,
)
from autogpt_tui.core.learning.reward_model import RewardModel
from autogpt_tui.core.redact import KEY_PATTERNS, REDACTED, scrub_keys

__all__ = [
    "AVOID_HEADING",
    "CHARS_PER_TOKEN",
    "CHECK_REWARD",
    "DEFAULT_ARM",
    "EXEMPLAR_HEADING",
    "KEY_PATTERNS",
    "LESSONS_HEADING",
    "REDACTED",
    "REJECTION_REWARD",
    "REVIEWER_WEIGHT",
    "SEED_ENV",
    "Agreement",
    "ArmStats",
    "ArmTally",
    "ChatMessage",
    "DPOInput",
    "DPOLine",
    "Disagreement",
    "FunctionCall",
    "FunctionSpec",
    "Lesson",
    "LessonIndex",
    "LessonKind",
    "RewardModel",
    "SFTLine",
    "ToolCall",
    "ToolSpec",
    "choose_arm",
    "configured_arms",
    "export_dpo",
    "export_sft",
    "policy_rng",
    "rate_check",
    "reviewer_agreement",
    "scrub_keys",
    "thompson_choice",
    "to_unit",
    "tokenize",
]
