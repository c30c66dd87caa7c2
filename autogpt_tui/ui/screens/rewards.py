"""The rewards view: what the ratings taught — per policy arm, and the lessons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from autogpt_tui.core.learning import ArmStats, Lesson

BAR_WIDTH = 24
"""Cells of the widest bar (a posterior mean of 1.0)."""


def arm_line(stats: ArmStats) -> Text:
    """One arm: name, a bar of its posterior mean, and its counts."""
    filled = round(stats.posterior_mean * BAR_WIDTH)
    mean = f"{stats.mean_reward:+.2f}" if stats.mean_reward is not None else "  – "
    line = Text(f"{stats.name:<14} ")
    line.append("█" * filled, style="bold")
    line.append("░" * (BAR_WIDTH - filled), style="dim")
    line.append(f"  {stats.posterior_mean:.2f}   mean {mean}   {stats.rated}/{stats.steps} rated")
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

    def __init__(self, arms: Sequence[ArmStats], lessons: Sequence[Lesson]) -> None:
        super().__init__()
        self.arms = list(arms)
        """The arms' statistics, as the bandit sees them."""
        self.lessons = list(lessons)
        """The lessons, most relevant to the current goal first."""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Rewards"
            box.border_subtitle = "escape to close"
            with VerticalScroll():
                yield Static("Policy arms (bar: the chance this arm works well)", classes="heading")
                yield Static(
                    "Each step, the agent samples an arm from these beliefs (Thompson "
                    "sampling): an arm that keeps getting rated down is chosen less and less.",
                    classes="muted",
                )
                for stats in self.arms:
                    yield Static(arm_line(stats), classes="arm")
                yield Static("Lessons", classes="heading")
                if not self.lessons:
                    yield Static(
                        "None yet: rate steps with + and -, and say why with c.", classes="muted"
                    )
                for lesson in self.lessons:
                    # A correction, in the user's words ("When running the tests: use -x").
                    mark = "note  " if lesson.kind == "avoid" else "worked"
                    yield Static(Text(f"{mark}  {lesson.text}"), classes=lesson.kind)

    async def action_dismiss(self, result: None = None) -> None:
        """Close the view."""
        self.dismiss(result)
