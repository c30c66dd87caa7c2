"""A file edit approved hunk by hunk: what the answer means, and the write it becomes.

The user may accept some hunks of a proposed write_file or edit_file and reject the
others (``Approval.hunks``). :func:`settle` turns such an answer into what it amounts to:
every hunk accepted is today's plain approval, none accepted is a rejection of the
action. Anything in between becomes a :class:`PartialWrite`: a ``write_file`` of the
file holding exactly the accepted hunks, bound (like any approved edit) to the content
the preview was computed against, so the diff approved is the diff committed, and a file
that changed meanwhile is refused rather than overwritten. The model is then told which
hunks were left out, as a short diff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from autogpt_tui.core.collaborators import Approval
from autogpt_tui.core.events import PendingAction
from autogpt_tui.core.hunks import Hunk, ProposedChange

if TYPE_CHECKING:
    from autogpt_tui.core.record_models import RejectedHunk

__all__ = [
    "MAX_REJECTED_DIFF_CHARS",
    "PartialWrite",
    "proposed_change",
    "rejected_hunks",
    "settle",
]

MAX_REJECTED_DIFF_CHARS = 4000
"""Most characters of left-out hunks the model is shown (the rest are counted)."""


def proposed_change(action: PendingAction) -> ProposedChange | None:
    """The hunks of ``action``'s proposed file change, or None when it shows none (not
    a file edit, or one that would fail)."""
    preview = action.preview
    if preview is None or getattr(preview, "error", None) is not None:
        return None
    new_text = getattr(preview, "new_text", None)
    if not isinstance(new_text, str):
        return None
    return ProposedChange.of(
        preview.path, preview.old_text, new_text, exists=bool(getattr(preview, "exists", True))
    )


def settle(decision: Approval, action: PendingAction) -> Approval:
    """What a hunk-by-hunk answer to ``action`` amounts to.

    Every hunk accepted is a plain approval, none a rejection whose reason says so; an
    answer about hunks of an action that has none (no file change to split) approves
    it whole, unless it accepted nothing, which rejects it.
    """
    if not decision.approved or decision.hunks is None:
        return decision
    change = proposed_change(action)
    accepted = decision.hunks
    if change is not None:
        accepted = accepted & frozenset(range(len(change.hunks)))
    if not accepted:
        where = f" to {change.path}" if change is not None else ""
        return Approval.reject(
            f"The user rejected every hunk of the change{where}. "
            + (decision.reason or "Do not make this change again unasked.")
        )
    if change is None or len(accepted) == len(change.hunks):
        return Approval(True, decision.reason)
    return Approval(True, decision.reason, hunks=accepted)


@dataclass(frozen=True)
class PartialWrite:
    """The write an approval of some hunks of a file edit becomes."""

    change: ProposedChange
    """The proposed change, split into hunks as the user saw them."""
    accepted: frozenset[int]
    """The hunks the user accepted (some, not all)."""
    args: Any
    """The ``WriteFileArgs`` that write the file holding exactly the accepted hunks."""
    expected: Any
    """The preview bound to that write: the approved preview's base, the partial text."""

    @classmethod
    def of(cls, action: PendingAction, decision: Approval) -> PartialWrite | None:
        """The partial write ``decision`` asks for, or None when it approves the whole
        change (``settle`` has made every answer that is not partial whole)."""
        change = proposed_change(action)
        if decision.hunks is None or change is None:
            return None
        from autogpt_tui.core.tool_calls import WriteFileArgs

        content = change.content(decision.hunks)
        return cls(
            change=change,
            accepted=decision.hunks,
            args=WriteFileArgs(path=change.path, content=content),
            expected=replace(action.preview, new_text=content),
        )

    @property
    def rejected(self) -> list[Hunk]:
        """The hunks the user left out, in file order."""
        return [hunk for hunk in self.change.hunks if hunk.index not in self.accepted]

    @property
    def summary(self) -> str:
        """How much of the change was applied, for the commit's subject: ``2 of 3 hunks``."""
        return f"{len(self.accepted)} of {len(self.change.hunks)} hunks"

    def observation(self, output: str, ok: bool) -> str:
        """What the model is told: which hunks were applied and, as a diff, which were not
        (a failed write: the tool's sentence, as for any edit)."""
        if not ok:
            return output
        total, left_out = len(self.change.hunks), self.rejected
        diff = _capped("\n".join(hunk.text() for hunk in left_out))
        hunks = "hunk" if len(left_out) == 1 else "hunks"
        return (
            f"Applied {total - len(left_out)} of the {total} hunks of your change to "
            f"{self.change.path}. The user rejected {len(left_out)} {hunks}, which the file "
            f"does not hold:\n{diff}\n"
            "Do not make the rejected changes again unless the user asks for them."
        )


def rejected_hunks(
    partial: PartialWrite | None, mask: Callable[[str], str] = str
) -> list[RejectedHunk]:
    """The step record's entries for the hunks ``partial`` left out (none for a whole
    change); ``mask`` hides secrets in their text, as in the rest of the record."""
    if partial is None:
        return []
    from autogpt_tui.core.record_models import RejectedHunk

    return [
        RejectedHunk(index=hunk.index, header=hunk.header, diff=mask(hunk.text()))
        for hunk in partial.rejected
    ]


def _capped(diff: str) -> str:
    if len(diff) <= MAX_REJECTED_DIFF_CHARS:
        return diff
    cut = diff.rfind("\n", 0, MAX_REJECTED_DIFF_CHARS)
    cut = cut if cut > 0 else MAX_REJECTED_DIFF_CHARS
    more = diff.count("\n", cut) or 1
    return f"{diff[:cut]}\n… ({more} more diff line{'' if more == 1 else 's'})"
