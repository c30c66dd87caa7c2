"""The goal panel's meters follow the session's steps in force.

They are set from what the steps in force add up to (on resume, and after every undo
and redo: counted again, not decremented), and a committed step adds one, to the
session the meters count. Steps are counted, never read off their numbers: numbers
skip (steps taken after an undo continue from the highest number used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autogpt_tui.core.session_state import SessionTotals
    from autogpt_tui.ui.widgets.goal_panel import GoalPanel


def show_totals(goal: GoalPanel, totals: SessionTotals) -> None:
    """Show what the session's steps in force add up to."""
    goal.meters_session = totals.session
    goal.steps_used = totals.steps
    goal.tokens_used = totals.total_tokens
    goal.tokens_cached = totals.cached_tokens
    goal.cost_used = totals.cost_usd


def count_commit(goal: GoalPanel, session: str) -> None:
    """A step of ``session`` was committed: one more step in force.

    A session the meters did not count (a new one) starts from none; its tokens and cost
    come with the loop's usage report, which covers the whole session.
    """
    if goal.meters_session != session:
        goal.meters_session = session
        goal.steps_used = 0
    goal.steps_used += 1
