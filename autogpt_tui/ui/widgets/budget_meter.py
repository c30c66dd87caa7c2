"""A budget meter: one budget (steps, tokens or cost) on one line, with a bar."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

MIN_BAR = 4
"""The narrowest bar worth drawing; a meter with less room shows only its text."""


def format_cost(value: float) -> str:
    """A cost in US dollars: ``$0.04``, ``$0.004`` for fractions of a cent, ``$125``."""
    if 0 < value < 0.01:
        return f"${value:.3f}"
    if round(value, 2) < 100:
        return f"${value:.2f}"
    return f"${value:,.0f}"


def budget_fraction(used: float, limit: float | None) -> float | None:
    """How much of the budget is spent (0 to 1 and beyond), or None when it is unlimited."""
    if limit is None:
        return None
    if limit <= 0:
        return 1.0
    return max(0.0, used / limit)


class BudgetMeter(Widget):
    """One budget on one line: a label, the amount used (of the limit) and a bar.

    An unlimited budget shows its amount without a bar. The bar is dropped before the
    label when the meter is too narrow; the amount always shows.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "budget-meter--label",
        "budget-meter--bar",
        "budget-meter--track",
    }
    """
    | Class | Description |
    | :- | :- |
    | `budget-meter--label` | The budget's name. |
    | `budget-meter--bar` | The spent part of the bar. |
    | `budget-meter--track` | The rest of the bar. |
    """

    DEFAULT_CSS = """
    BudgetMeter {
        width: 1fr;
        height: 1;
        margin-right: 2;

        &.-unlimited {
            width: auto;
        }

        &:last-child {
            margin-right: 0;
        }

        & > .budget-meter--label {
            color: $foreground-muted;
        }

        & > .budget-meter--bar {
            color: $primary;
        }

        &.-high > .budget-meter--bar {
            color: $warning;
        }

        &.-exhausted > .budget-meter--bar {
            color: $error;
        }

        & > .budget-meter--track {
            color: $panel-lighten-2;
        }
    }
    """

    def __init__(
        self,
        label: str,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.label = label
        """The budget's name: steps, tokens or cost."""
        self.amount = ""
        """The amount used, and the limit when there is one: ``3/50``."""
        self.fraction: float | None = None
        """The share of the budget spent, or None when it is unlimited."""

    def show(self, amount: str, fraction: float | None) -> None:
        """Show ``amount`` and a bar filled to ``fraction`` (no bar when it is None)."""
        if (amount, fraction) == (self.amount, self.fraction):
            return
        self.amount = amount
        self.fraction = fraction
        self.set_class(fraction is None, "-unlimited")
        self.set_class(fraction is not None and 0.8 <= fraction < 1, "-high")
        self.set_class(fraction is not None and fraction >= 1, "-exhausted")
        self.refresh(layout=True)

    @property
    def text(self) -> str:
        """The meter's words without the bar: ``steps 3/50``."""
        return f"{self.label} {self.amount}"

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """The width of the words alone (used when the meter is ``width: auto``)."""
        return len(self.text)

    def render(self) -> Text:
        """The label, the amount and, if there is room, the bar."""
        width = self.size.width
        label_style = self.get_component_rich_style("budget-meter--label")
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        room_for_label = len(self.text) <= width
        if room_for_label:
            text.append(self.label, label_style)
            text.append(" ")
        text.append(self.amount)
        bar_width = width - len(text) - 1
        if self.fraction is not None and bar_width >= MIN_BAR:
            filled = round(min(self.fraction, 1.0) * bar_width)
            if self.fraction > 0:
                filled = max(filled, 1)  # something spent is never an empty bar
            text.append(" ")
            text.append("━" * filled, self.get_component_rich_style("budget-meter--bar"))
            text.append(
                "━" * (bar_width - filled), self.get_component_rich_style("budget-meter--track")
            )
        return text
