"""Step labels: the names `log` prints for steps (``4``, ``#4``, ``SESSION#4``).

Every command that takes a REV (``show``, ``rate``, the TUI's history) resolves it
through :meth:`autogpt_tui.core.steps.StepLog.resolve`, which asks this module first.
The rules, in the user's words:

* ``4`` and ``#4`` name step 4 of the most recent session that has a step 4 on the
  current branch: the newest step numbered 4 reachable from HEAD. When no step on the
  branch has that number, the steps undo took off the branch (which `log` lists as
  undone) are searched the same way, newest first.
* ``SESSION#4`` names step 4 of that session; SESSION is the session id or any prefix of
  it. A prefix that fits several sessions having a step 4 is ambiguous (an exact id wins).
  Within the session, the step on the branch wins over an undone one of the same number.
* A bare number may also be a commit id (all digits) or a ref: when both name different
  agent steps, that is ambiguous and said so; the label alone otherwise wins.

Plain data and matching only: the caller reads the steps from git.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from autogpt_tui.core.errors import NotAnAgentStep
from autogpt_tui.core.records import StepCommit

_LABEL = re.compile(r"(?:(?P<session>[^#\s]*)#)?(?P<step>[0-9]+)")


class AmbiguousStepLabel(NotAnAgentStep):
    """A label fits more than one step (a short session prefix, a number that is also a
    commit id); the message says how to be more precise."""


@dataclass(frozen=True)
class StepLabel:
    """A parsed step label: a step number, and the session (a prefix of its id) if given."""

    text: str
    """The label as the user wrote it."""
    step: int
    """The step number."""
    session: str | None
    """The session id or a prefix of it; None when the label names no session."""
    bare: bool
    """Written as a plain number, which git could read as a commit id or a ref too."""

    def matches(self, step: StepCommit) -> bool:
        """Whether ``step`` has this label's number and, if given, session."""
        if step.step != self.step:
            return False
        return self.session is None or step.session.startswith(self.session)


def parse_label(rev: str) -> StepLabel | None:
    """The label ``rev`` is, or None when it is not written as one."""
    match = _LABEL.fullmatch(rev)
    if match is None:
        return None
    session = match.group("session") or None
    return StepLabel(
        text=rev,
        step=int(match.group("step")),
        session=session,
        bare="#" not in rev,
    )


def find_labelled(
    label: StepLabel, on_branch: Iterable[StepCommit], taken_off: Iterable[StepCommit]
) -> StepCommit | None:
    """The step ``label`` names among the branch's steps, then the undone ones (each
    newest first), or None. Raises AmbiguousStepLabel for a session prefix that fits
    several sessions."""
    for steps in (on_branch, taken_off):
        found = _pick(label, steps)
        if found is not None:
            return found
    return None


def _pick(label: StepLabel, steps: Iterable[StepCommit]) -> StepCommit | None:
    if label.session is None:
        # The newest step with the number: the most recent session that has one.
        return next((s for s in steps if label.matches(s)), None)
    # A session was named: every session it fits must be seen to tell an exact id from
    # a prefix shared by several.
    newest: dict[str, StepCommit] = {}
    for step in steps:
        if label.matches(step):
            newest.setdefault(step.session, step)
    if label.session in newest:
        return newest[label.session]
    if len(newest) > 1:
        names = ", ".join(sorted(newest))
        raise AmbiguousStepLabel(
            f"{label.text!r} is ambiguous: sessions {names} each have a step {label.step};"
            " give more of the session id."
        )
    return next(iter(newest.values()), None)


def no_such_step(label: StepLabel) -> NotAnAgentStep:
    """The one sentence for a label that names no step."""
    if label.session is None:
        where = f"There is no step {label.step} in this workspace"
    else:
        where = f"No session starting with {label.session!r} has a step {label.step}"
    return NotAnAgentStep(f"{where} (`autogpt-tui log` lists the steps).")
