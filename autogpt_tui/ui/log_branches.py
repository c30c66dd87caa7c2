"""Which steps the user undid since the log last started a step: the log's "new branch".

The action log marks a step undone (and unmarks it on redo) from the history as git
has it, each time the history panel reloads. When the agent then takes a new step, the
steps undone meanwhile are what the new step branches off from: the log draws a
divider, ``── new branch after undoing #8–#10 ──``, above it. :class:`BranchTracker`
keeps that account; it is plain data, apart from the widget.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autogpt_tui.core.records import StepCommit

__all__ = ["BranchTracker", "divider_text", "step_ranges"]


def step_ranges(numbers: Iterable[int]) -> str:
    """Step numbers as short ranges: ``#8–#10``, ``#3, #5–#6``."""
    ordered = sorted(set(numbers))
    runs: list[tuple[int, int]] = []
    for n in ordered:
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return ", ".join(f"#{a}" if a == b else f"#{a}–#{b}" for a, b in runs)


def divider_text(numbers: Iterable[int]) -> str:
    """The divider above the first step taken after undoing the steps ``numbers``."""
    return f"── new branch after undoing {step_ranges(numbers)} ──"


class BranchTracker:
    """Keeps account of the steps undone since the last new step, from history reloads.

    The first reload only learns what was undone before the app started (no divider is
    owed for that); later reloads add the steps newly undone and drop those redone.
    :meth:`take` hands over what a new step's divider names, and starts afresh.
    """

    def __init__(self) -> None:
        self._seen = False
        self._undone: set[str] = set()
        """The shas undone at the last reload."""
        self._pending: dict[str, int] = {}
        """Steps undone since the last new step: sha → step number."""

    def sync(self, steps: Sequence[StepCommit]) -> dict[str, bool]:
        """Take in the history (newest first); returns each listed step's undone mark."""
        marks = {step.sha: step.undone for step in steps}
        now = {sha for sha, undone in marks.items() if undone}
        if self._seen:
            for step in steps:
                if step.undone and step.sha not in self._undone:
                    self._pending[step.sha] = step.step
        for sha in [sha for sha in self._pending if marks.get(sha) is False]:
            del self._pending[sha]  # redone: the branch goes on where it was
        self._undone = now
        self._seen = True
        return marks

    @property
    def pending(self) -> list[int]:
        """The numbers of the steps undone since the last new step, in order."""
        return sorted(self._pending.values())

    def take(self) -> str | None:
        """The divider a new step owes (None: nothing was undone), once."""
        if not self._pending:
            return None
        text = divider_text(self._pending.values())
        self._pending.clear()
        return text
