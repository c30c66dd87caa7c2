"""One line of the goal panel: a team's plan, its subgoals with check marks.

``plan 1/3  ✓ Write a.txt  ▶ Write b.txt  ☐ Add a test`` — done (✓), skipped (~), the
current one (▶) and those still to do (☐). Hidden until a team has a plan (a single
agent has none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.content import Content
from textual.widgets import Static

from autogpt_tui.core.records import escape_surrogates

MARKS = {"done": "✓", "skipped": "~", "open": "☐"}
"""The mark of a subgoal in each state (the current one is ``▶``)."""


class PlanChecklist(Static):
    """The team's plan as one line of check marks; CSS class ``-shown`` while there is one."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set()

    DEFAULT_CSS = """
    PlanChecklist {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        display: none;

        &.-shown {
            display: block;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.subgoals: tuple[tuple[str, str], ...] = ()
        """(text, state) per subgoal, as the orchestra last said."""
        self.current: int | None = None
        """Index of the subgoal being worked on; None when none is left."""

    def show(self, subgoals: Sequence[tuple[str, str]], current: int | None) -> None:
        """Show the plan (no subgoal: hide the line)."""
        self.subgoals, self.current = tuple(subgoals), current
        done = sum(1 for _text, state in self.subgoals if state != "open")
        parts: list[Content | tuple[str, str] | str] = [
            (f"plan {done}/{len(self.subgoals)}", "$foreground-muted")
        ]
        for index, (text, state) in enumerate(self.subgoals):
            # Content, not markup: a subgoal is shown as the planner wrote it.
            text = escape_surrogates(text)
            if index == current:
                parts.append(("  ▶ ", "bold $text-accent"))
                parts.append((text, "bold"))
            elif state == "open":
                parts.append(f"  {MARKS['open']} {text}")
            else:
                parts.append((f"  {MARKS.get(state, '?')} {text}", "$text-success"))
        self.update(Content.assemble(*parts))
        self.set_class(bool(self.subgoals), "-shown")
