"""The hunks of a proposed edit as the diff viewer shows them while it waits for approval:
which are accepted, which one is current, and how each of their lines is drawn.

The hunks are the core's (``core/hunks.ProposedChange``): the viewer draws the proposal
from the same split, so the n-th ``@@`` line on screen is hunk n, and the answer the user
gives (:meth:`HunkReview.approval`) names exactly what they saw. Each hunk's state is in
words on its header line (``✓ accepted`` / ``✗ rejected``) and the current one has a
``▶``; a rejected hunk's lines are also struck through and dimmed, never told by colour
alone.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from autogpt_tui.core.collaborators import Approval
from autogpt_tui.core.hunks import ProposedChange

if TYPE_CHECKING:
    from autogpt_tui.ui.widgets.diff_model import DiffModel, Kind, Line

__all__ = ["ACCEPTED", "CURRENT", "REJECTED", "HunkMarks", "HunkReview"]

ACCEPTED = "✓ accepted"
"""A hunk's header says this while the hunk is to be applied."""
REJECTED = "✗ rejected"
"""... and this while it is left out."""
CURRENT = "▶"
"""Marks the current hunk's header (the one space toggles)."""


class HunkReview:
    """The user's choice among the hunks of the proposal on show: all accepted at first."""

    def __init__(self, change: ProposedChange) -> None:
        self.change = change
        """The proposed change, split into hunks."""
        self.accepted: set[int] = {hunk.index for hunk in change.hunks}
        """The hunks to apply."""
        self.current = 0
        """The hunk the keys act on."""

    @property
    def count(self) -> int:
        """How many hunks the change has."""
        return len(self.change.hunks)

    @property
    def rejected(self) -> int:
        """How many hunks are left out."""
        return self.count - len(self.accepted)

    @property
    def summary(self) -> str:
        """How many hunks are to be applied, for the diff's border: ``2/3 hunks accepted``."""
        return f"{len(self.accepted)}/{self.count} hunks accepted"

    def move(self, by: int) -> bool:
        """Make the next (``by`` 1) or previous (-1) hunk current; False at either end."""
        target = self.current + by
        if not 0 <= target < self.count:
            return False
        self.current = target
        return True

    def toggle(self) -> bool:
        """Accept the current hunk if it was rejected, else reject it; True if accepted."""
        index = self.current
        if index in self.accepted:
            self.accepted.discard(index)
            return False
        self.accepted.add(index)
        return True

    def approval(self) -> Approval:
        """The answer to send: a plain approval when every hunk is accepted, else the
        accepted hunks (none: the loop takes it as a rejection)."""
        if len(self.accepted) == self.count:
            return Approval.approve()
        return Approval.partial(self.accepted)

    def label(self, index: int) -> str:
        """What hunk ``index``'s header line says after its ``@@`` range."""
        state = ACCEPTED if index in self.accepted else REJECTED
        return f"{state} · hunk {index + 1}/{self.count}"


class HunkMarks:
    """Where the hunks are among a diff model's rows, and how a review draws them."""

    def __init__(self, review: HunkReview, model: DiffModel) -> None:
        self.review = review
        self._rows = [n for n, (kind, _) in enumerate(model.lines) if kind == "hunk"]
        self._split_rows = [n for n, (left, _) in enumerate(model.split) if left[0] == "hunk"]

    def row_of(self, index: int, *, split: bool = False) -> int | None:
        """The row of hunk ``index``'s header (None when the capped diff left it out)."""
        rows = self._split_rows if split else self._rows
        return rows[index] if 0 <= index < len(rows) else None

    def hunk_at(self, row: int, *, split: bool = False) -> int | None:
        """The hunk whose lines include ``row`` (None above the first hunk)."""
        rows = self._split_rows if split else self._rows
        at = bisect_right(rows, row) - 1
        return at if at >= 0 else None

    def line(self, row: int, line: Line, *, split: bool = False) -> Line:
        """``line``, at ``row``, as the review draws it: a header with its hunk's state,
        a rejected hunk's added and removed lines struck through."""
        kind, text = line
        if kind not in ("hunk", "add", "del"):
            return line
        index = self.hunk_at(row, split=split)
        if index is None:
            return line
        review = self.review
        if kind == "hunk":
            mark = CURRENT if index == review.current else " "
            new_kind: Kind = "hunk_current" if index == review.current else "hunk"
            return new_kind, f"{mark} {text}  {review.label(index)}"
        if index in review.accepted:
            return line
        return "rejected", text
