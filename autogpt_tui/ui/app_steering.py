"""Steering the agent and reviewing its steps from the keyboard: the workstation's actions.

Step, approve, reject, mode, pause, undo, redo, rate, comment, message and goal: each key
of the contract's table that acts on the agent or its history runs one of these. They
ask the runner (the agent's session) or the history worker to act and show the answer;
nothing here touches git or the model on the UI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App

from autogpt_tui.core.constants import MODE_MEANINGS, MODES
from autogpt_tui.core.errors import UserError
from autogpt_tui.core.history import History
from autogpt_tui.ui.messages import AgentEventMessage, AgentIdle, HistoryFailed
from autogpt_tui.ui.screens.prompt import TextPrompt
from autogpt_tui.ui.widgets.goal_panel import GoalPanel
from autogpt_tui.ui.widgets.step_history import StepHistory

if TYPE_CHECKING:
    from autogpt_tui.core.collaborators import Approval
    from autogpt_tui.core.settings import Settings
    from autogpt_tui.ui.agent_runner import AgentRunner

APPROVAL_TOAST = "approval"
"""The state the "step N waits" toast announces (withdrawn once the action is answered)."""


class Steering(App[None]):
    """The workstation's actions on the agent and its history (see the module)."""

    workspace: Path
    """The folder the agent works in."""
    runner: AgentRunner
    """The agent's session."""
    settings: Settings
    """The configuration the agent runs with."""

    if TYPE_CHECKING:
        # Provided by the workstation's other parts (app_history, toasts, app_hunks).
        def history_operation(
            self, op: str, rev: str = "", value: int = 0, comment: str | None = None
        ) -> Any: ...

        def withdraw(self, state: str) -> None: ...

        def hunk_approval(self) -> Approval: ...

    @property
    def _agent_busy(self) -> bool:
        return any(w.group == "agent" and w.is_running for w in self.workers)

    async def action_step(self) -> None:
        """Take one step (in step mode: propose it and wait for approval)."""
        await self._start_agent(steps=1)

    async def _start_agent(self, steps: int | None) -> None:
        if self._agent_busy:
            self.notify("The agent is already working.", markup=False)
            return
        if not self.settings.has_model():
            from autogpt_tui.core.session import NO_MODEL_SENTENCE

            self.notify(NO_MODEL_SENTENCE, severity="error", markup=False, timeout=10)
            return
        if not self.runner.goal:

            def then(goal: str | None) -> None:
                goal = clean(goal)
                if goal:
                    self._set_goal(goal)
                    self.run_agent(steps)

            self.push_screen(goal_prompt(""), then)
            return
        self.run_agent(steps)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="agent",
        name="agent",
        description="Run the agent",
    )
    def run_agent(self, steps: int | None) -> None:
        """Drive the agent on this worker thread; it reports back through messages."""
        try:
            self.runner.run(steps)
        except UserError as err:
            from autogpt_tui.core.events import ErrorOccurred

            self.post_message(AgentEventMessage(ErrorOccurred(str(err))))
        finally:
            self.runner.worker_done()  # releases the session if the app ended meanwhile
            if not self.runner.closing:
                self.post_message(AgentIdle())

    def action_approve(self) -> None:
        """Run the pending action (of an edit, the hunks accepted in the diff)."""
        from autogpt_tui.ui.app_hunks import ALL_HUNKS_REJECTED
        from autogpt_tui.ui.approval_view import show_answer

        action = self.runner.pending_action
        approval = self.hunk_approval()
        if self.runner.answer_approval(approval):
            self.withdraw(APPROVAL_TOAST)
            if action is not None:
                applied = approval.hunks is None or bool(approval.hunks)
                show_answer(self, action, approved=applied, reason=ALL_HUNKS_REJECTED)
            self.refresh_bindings()

    def action_always_allow(self) -> None:
        """Run the pending action, and write an allow rule for ones like it (the loop
        writes it to the user's config and says which rule it wrote)."""
        from autogpt_tui.core.agent import Approval
        from autogpt_tui.ui.approval_view import show_answer

        action = self.runner.pending_action
        if self.runner.answer_approval(Approval.always()):
            self.withdraw(APPROVAL_TOAST)
            if action is not None:
                show_answer(self, action, approved=True)
            self.refresh_bindings()

    async def action_reject(self) -> None:
        """Reject the pending action with a reason the agent is told."""
        if not self.runner.awaiting_approval:
            return

        from autogpt_tui.core.agent import Approval
        from autogpt_tui.ui.approval_view import show_answer

        action = self.runner.pending_action

        def then(reason: str | None) -> None:
            if reason is not None and self.runner.answer_approval(Approval.reject(reason)):
                self.withdraw(APPROVAL_TOAST)
                if action is not None:
                    show_answer(self, action, approved=False, reason=reason)
                self.refresh_bindings()

        self.push_screen(
            TextPrompt(
                "Reject",
                "Why reject this action? The agent is told, and tries something else.",
                placeholder="e.g. Don't touch the tests; change cli.py instead",
            ),
            then,
        )

    def action_cycle_mode(self) -> None:
        """Cycle the approval mode: step → edits → auto."""
        mode = MODES[(MODES.index(self.runner.mode) + 1) % len(MODES)]
        self.runner.set_mode(mode)
        self.query_one(GoalPanel).mode = mode
        self.notify(f"Mode: {mode} — {MODE_MEANINGS[mode]}.", markup=False)

    async def action_pause(self) -> None:
        """Pause the running agent, or let it run on its own until done."""
        if self._agent_busy:
            self.runner.pause()
            self.notify("Pausing after the current step.", markup=False)
        else:
            await self._start_agent(steps=None)

    def action_undo(self) -> None:
        """Undo the last step."""
        self.history_operation("undo")

    def action_redo(self) -> None:
        """Redo the last undone step."""
        self.history_operation("redo")

    def action_rate(self, value: int) -> None:
        """Rate the selected step (the latest one by default)."""
        step = self.query_one(StepHistory).selected_step
        if step is None:
            self.notify("There is no step to rate yet.", markup=False)
            return
        self.history_operation("rate", rev=step.sha, value=value)

    async def action_comment(self) -> None:
        """Comment on the selected step (keeps its rating)."""
        step = self.query_one(StepHistory).selected_step
        if step is None:
            self.notify("There is no step to comment on yet.", markup=False)
            return

        def then(comment: str | None) -> None:
            if comment:
                value = step.rating.value if step.rating else 0
                self.history_operation("rate", rev=step.sha, value=int(value), comment=comment)

        self.push_screen(
            TextPrompt(
                f"Comment on step {step.step}",
                f"{step.summary} — what was good or bad about it? It becomes a lesson.",
                value=step.rating.comment if step.rating and step.rating.comment else "",
            ),
            then,
        )

    async def action_message(self) -> None:
        """Tell the agent something: it reads it with its next request."""
        working = self.runner.session is not None and self.runner.session.agent.status not in (
            "idle",
            "done",
            "paused",
        )
        when = "with its next request" if working else "when it next steps (press s or p)"

        def then(text: str | None) -> None:
            text = clean(text)
            if text:
                self.runner.tell(text)
                self.notify(f"Sent: the agent reads it {when}.", markup=False)

        self.push_screen(
            TextPrompt("Message the agent", f"The agent reads your message {when}."), then
        )

    async def action_edit_goal(self) -> None:
        """Edit the goal."""

        def then(goal: str | None) -> None:
            goal = clean(goal)
            if goal and goal != self.runner.goal:
                self._set_goal(goal)

        self.push_screen(goal_prompt(self.runner.goal or ""), then)

    def _set_goal(self, goal: str) -> None:
        self.runner.set_goal(goal)
        self.query_one(GoalPanel).goal = goal

    def on_goal_panel_goal_changed(self, message: GoalPanel.GoalChanged) -> None:
        self.runner.set_goal(message.goal)

    def action_rewards(self) -> None:
        """Show what the ratings taught: the policy arms and the lessons."""
        self.load_rewards()

    @work(thread=True, exclusive=True, exit_on_error=False, group="rewards")
    def load_rewards(self) -> None:
        """Read the rewards off the UI thread, then open the view."""
        from autogpt_tui.core.learning import RewardModel, reviewer_agreement
        from autogpt_tui.ui.screens.rewards import RewardsScreen

        try:
            with History.open(self.workspace) as history:
                arms = [arm.name for arm in self.settings.policy.arms]
                model = RewardModel.load(
                    history, arms, reviewer_weight=self.settings.rewards.reviewer_weight
                )
                lessons = model.lessons(self.runner.goal or "", [], k=12, token_budget=3_000)
                agreement = reviewer_agreement(history.steps())
        except UserError as err:
            self.post_message(HistoryFailed(str(err)))
            return
        screen = RewardsScreen(model.arm_stats(), lessons, agreement)
        self.call_from_thread(self.push_screen, screen)


def goal_prompt(value: str) -> TextPrompt:
    """The dialog that asks for the goal, filled with ``value``."""
    return TextPrompt(
        "Goal",
        "What should the agent do? It works toward this, one commit at a time.",
        value=value,
        placeholder="e.g. Add a --verbose flag to cli.py",
    )


def clean(goal: str | None) -> str | None:
    """``goal`` on one line with single spaces; None when nothing is left."""
    if goal is None:
        return None
    line = " ".join(goal.split())
    return line or None
