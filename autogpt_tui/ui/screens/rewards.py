"""The rewards view: what the ratings taught — per policy arm, and the lessons.

When a reviewer agent rated steps too, each arm also shows the steps only the reviewer
rated (they count at ``[rewards] reviewer_weight``), and a section says whether the
reviewer agrees with the user on the steps both rated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from autogpt_tui.core.learning import Agreement, ArmStats, Lesson

BAR_WIDTH = 24
"""Cells of the widest bar (a posterior mean of 1.0)."""


def _mean(value: float | None) -> str:
    return f"{value:+.2f}" if value is not None else "  – "


def arm_line(stats: ArmStats, *, reviewed: bool = False) -> Text:
    """One arm: name, a bar of its posterior mean, and its counts; with ``reviewed``,
    a second line with the steps only a reviewer rated and their mean."""
    filled = round(stats.posterior_mean * BAR_WIDTH)
    line = Text(f"{stats.name:<14} ")
    line.append("█" * filled, style="bold")
    line.append("░" * (BAR_WIDTH - filled), style="dim")
    line.append(
        f"  {stats.posterior_mean:.2f}   mean {_mean(stats.mean_reward)}"
        f"   {stats.rated}/{stats.steps} rated"
    )
    if reviewed:
        # A line of its own under the bar, so that it fits an 80-column terminal too.
        line.append(
            f"\n{'':<15}only the reviewer rated {stats.reviewer_rated}"
            f"   mean {_mean(stats.reviewer_mean)}",
            style="italic",
        )
    return line


def disagreement_line(
    label: str, user: float, reviewer: float, reason: str | None, model: str | None
) -> Text:
    """One step the reviewer rated otherwise than the user."""
    line = Text(f"{label}  you {user:+g}, reviewer {reviewer:+g}")
    if model:
        line.append(f" ({model})", style="dim")
    if reason:
        line.append(f": {reason}")
    return line


class RewardsScreen(ModalScreen[None]):
    """Per-arm statistics drawn as bars, and the lessons the prompt can draw on."""

    DEFAULT_CSS = """
    RewardsScreen {
        align: center middle;
    }
    RewardsScreen > Vertical {
        width: 90%;
        max-width: 110;
        height: 80%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    RewardsScreen .heading {
        color: $text-primary;
        text-style: bold;
        margin-top: 1;
    }
    RewardsScreen .muted {
        color: $foreground-muted;
    }
    RewardsScreen .avoid {
        color: $text-error;
    }
    RewardsScreen .exemplar {
        color: $text-success;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,R", "dismiss", "Close"),
    ]

    def __init__(
        self,
        arms: Sequence[ArmStats],
        lessons: Sequence[Lesson],
        agreement: Agreement | None = None,
    ) -> None:
        super().__init__()
        self.arms = list(arms)
        """The arms' statistics, as the bandit sees them."""
        self.lessons = list(lessons)
        """The lessons, most relevant to the current goal first."""
        self.agreement = agreement or Agreement()
        """The reviewer's agreement with the user's own ratings."""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Rewards"
            box.border_subtitle = "escape to close"
            with VerticalScroll():
                yield Static("Policy arms (bar: the chance this arm works well)", classes="heading")
                yield Static(
                    "Each new session, the agent samples an arm from these beliefs (Thompson "
                    "sampling): an arm that keeps getting rated down is chosen less and less.",
                    classes="muted",
                )
                reviewed = bool(self.agreement.both) or any(a.reviewer_rated for a in self.arms)
                for stats in self.arms:
                    yield Static(arm_line(stats, reviewed=reviewed), classes="arm")
                if reviewed:
                    yield from self._reviewer_section()
                yield Static("Lessons", classes="heading")
                if not self.lessons:
                    yield Static(
                        "None yet: rate steps with + and -, and say why with c.", classes="muted"
                    )
                for lesson in self.lessons:
                    # A correction, in the user's words ("When running the tests: use -x").
                    mark = "note  " if lesson.kind == "avoid" else "worked"
                    yield Static(Text(f"{mark}  {lesson.text}"), classes=lesson.kind)

    def _reviewer_section(self) -> ComposeResult:
        """Whether the reviewer agrees with the user, and where it does not."""
        weight = self.arms[0].reviewer_weight if self.arms else 0.0
        yield Static("Reviewer", classes="heading")
        yield Static(
            f"Steps only the reviewer rated count at {weight:g} of your rating; "
            "your own rating always wins.",
            classes="muted",
        )
        yield Static(self.agreement.sentence(), classes="agreement")
        for d in self.agreement.disagreements:
            line = disagreement_line(f"{d.session}#{d.step}", d.user, d.reviewer, d.reason, d.model)
            yield Static(line, classes="disagreement")

    async def action_dismiss(self, result: None = None) -> None:
        """Close the view."""
        self.dismiss(result)
