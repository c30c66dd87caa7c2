"""Does the reviewer agree with the user? Agreement on the steps both of them rated.

A step counts when the user rated it themselves (an explicit + or -, not an undo's or a
check's implicit rating) and a reviewer agent rated it too. The two agree when their
ratings have the same sign; a reviewer's 0 (neither good nor bad) against the user's
+1 or -1 is a disagreement, since the user took a side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from autogpt_tui.core.records import StepCommit


@dataclass(frozen=True)
class Disagreement:
    """A step the user and the reviewer rated differently."""

    sha: str
    session: str
    step: int
    summary: str
    user: float
    """The user's rating (+1 or -1)."""
    user_comment: str | None
    reviewer: float
    """The reviewer's rating (-1, 0 or +1)."""
    reason: str | None
    """The reviewer's one-line reason."""
    model: str | None
    """The model that reviewed."""

    def to_json(self) -> dict[str, Any]:
        """The disagreement as `rewards --json` prints it."""
        return {
            "sha": self.sha,
            "session": self.session,
            "step": self.step,
            "summary": self.summary,
            "user": self.user,
            "user_comment": self.user_comment,
            "reviewer": self.reviewer,
            "reason": self.reason,
            "model": self.model,
        }


@dataclass(frozen=True)
class Agreement:
    """How often the reviewer's ratings match the user's, on the steps both rated."""

    both: int = 0
    """Steps the user and a reviewer both rated."""
    agreed: int = 0
    """Of those, the steps they rated alike."""
    disagreements: list[Disagreement] = field(default_factory=list)
    """The others, newest first."""

    @property
    def rate(self) -> float | None:
        """``agreed / both``; None when no step was rated by both."""
        return self.agreed / self.both if self.both else None

    def sentence(self) -> str:
        """Whether the reviewer agrees with the user, in one sentence."""
        if not self.both:
            return "No step was rated by both you and the reviewer yet."
        plural = "s" if self.both != 1 else ""
        return (
            f"The reviewer agreed with you on {self.agreed} of the {self.both} step{plural}"
            f" you both rated ({self.agreed / self.both:.0%})."
        )

    def to_json(self) -> dict[str, Any]:
        """The agreement as `rewards --json` prints it."""
        return {
            "both_rated": self.both,
            "agreed": self.agreed,
            "agreement_rate": self.rate,
            "disagreements": [d.to_json() for d in self.disagreements],
        }


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def reviewer_agreement(steps: Iterable[StepCommit]) -> Agreement:
    """The agreement between the user's own ratings and the reviewer's over ``steps``
    (as :meth:`History.steps <autogpt_tui.core.history.History.steps>` lists them)."""
    both = agreed = 0
    disagreements: list[Disagreement] = []
    for step in steps:
        rating, review = step.rating, step.review
        if rating is None or rating.source != "user" or review is None:
            continue
        both += 1
        if _sign(rating.value) == _sign(review.value):
            agreed += 1
            continue
        disagreements.append(
            Disagreement(
                sha=step.sha,
                session=step.session,
                step=step.step,
                summary=step.summary,
                user=rating.value,
                user_comment=rating.comment,
                reviewer=review.value,
                reason=review.comment,
                model=review.model,
            )
        )
    return Agreement(both, agreed, disagreements)
