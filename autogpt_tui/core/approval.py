"""Which of the agent's proposals wait for the user, asking for them, and binding the
answer to exactly the change that will be made.

The step loop (``core/agent.py``) hands every well-formed tool call to an
``ApprovalGate``: ``propose`` makes the ``PendingAction`` (does it wait? what change does
it show?), and ``decide`` returns the user's answer, or the headless refusal when nobody
can give one. The gate holds the approval mode, so what decides approval lives in one
place. The user's permission rules (``core/permissions.py``) are judged here too: a
matching ``allow`` runs without asking, ``ask`` always asks, ``deny`` refuses at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from autogpt_tui.core.collaborators import Approval, ToolBackend, UserChannel
from autogpt_tui.core.constants import MODES, RUNS_WITHOUT_APPROVAL, ToolKind
from autogpt_tui.core.delegation import DEFAULT_DELEGATE_STEPS, delegate_note
from autogpt_tui.core.events import (
    ActionProposed,
    ApprovalWanted,
    Event,
    Notice,
    PendingAction,
    RuleAdded,
    Status,
)
from autogpt_tui.core.mcp.catalogue import is_mcp_name
from autogpt_tui.core.mcp.toolbox import NOT_UNDOABLE, mcp_tool
from autogpt_tui.core.partial_edit import settle
from autogpt_tui.core.permissions import (
    Permissions,
    RuleError,
    SourcedRule,
    Verdict,
    derive_rules,
    tilde,
)
from autogpt_tui.core.tool_calls import LOOP_READS

REAPPROVALS = 3
"""Times a proposal is shown again because its file changed before it runs."""
REFUSALS = 3
"""Proposals refused in a row with nobody to approve them (headless, or by the rules)
before the step gives up."""


class ApprovalGate:
    """Decides which actions wait for approval, asks the user, and re-asks when the
    file an approved change was computed against changed meanwhile."""

    def __init__(
        self,
        *,
        mode: str,
        tools: ToolBackend,
        user: UserChannel | None,
        emit: Callable[[Event], None],
        set_status: Callable[[Status], None],
        permissions: Permissions | None = None,
        delegate_steps: int = DEFAULT_DELEGATE_STEPS,
    ) -> None:
        """``user`` None is a headless run: whatever would wait is refused instead.
        ``permissions`` are the user's rules (None: the mode alone decides);
        ``delegate_steps`` the reads a delegate call, once approved, runs unasked."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.permissions = permissions or Permissions()
        """The rules in force; ``A`` adds to them."""
        self.rule_refusals = 0
        """Proposals the rules refused in a row."""
        self.tools = tools
        self.delegate_steps = delegate_steps
        self.user = user
        self.emit = emit
        self._set_status = set_status

    def set_mode(self, mode: str) -> None:
        """Change the approval mode; takes effect at the next proposal."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode

    def needs_approval(self, kind: ToolKind, tool: str = "run_command") -> bool:
        """Whether an action of this kind waits for the user in the current mode."""
        if kind not in RUNS_WITHOUT_APPROVAL[self.mode]:
            return True
        # The sandbox cannot hide the key from commands: then every command asks.
        return self._exposes_key(kind, tool)

    def _exposes_key(self, kind: str, tool: str) -> bool:
        """A command the sandbox cannot keep the API key from (an MCP server never gets
        the user's environment, so its tools are not such commands)."""
        return (
            kind == "command"
            and not is_mcp_name(tool)
            and self.command_approval_reason() is not None
        )

    def propose(
        self,
        *,
        step: int,
        tool: str,
        arguments: dict[str, Any],
        args_model: Any,
        call_id: str,
        thought: str,
        kind: ToolKind,
    ) -> PendingAction:
        """The action as the user (or the mode, or a permission rule) will judge it."""
        verdict = self.permissions.judge(tool, arguments)
        needs = self._needs(kind, verdict, tool)
        mcp = mcp_tool(self.tools, tool)
        outside = mcp is not None and mcp.not_undoable
        self.rule_refusals = self.rule_refusals + 1 if _denies(verdict) else 0
        return PendingAction(
            step=step,
            tool=tool,
            arguments=arguments,
            call_id=call_id,
            thought=thought,
            needs_approval=needs,
            kind=kind,
            # Only what waits for the user needs binding to the content they see.
            preview=self.preview(tool, args_model) if needs else None,
            permission=verdict.action if verdict else "",
            rule=_rule_words(verdict.rule) if verdict else "",
            # Approving a delegation approves its sub-agent's reads: the card says so.
            note=delegate_note(self.delegate_steps)
            if tool in LOOP_READS
            else (NOT_UNDOABLE if outside else ""),
            not_undoable=outside,
        )

    def _needs(self, kind: ToolKind, verdict: Verdict | None, tool: str) -> bool:
        if verdict is None:
            return self.needs_approval(kind, tool)
        if verdict.action == "allow":
            # A rule never hides the key the sandbox cannot hide: such commands still ask.
            return self._exposes_key(kind, tool)
        return verdict.action == "ask"  # a denied action is refused without asking

    def give_up(self, refused: int) -> str | None:
        """Why the step stops after ``refused`` proposals refused in a row, or None."""
        if self.rule_refusals >= REFUSALS:
            return (
                f"Your permission rules refused the agent's last {self.rule_refusals} "
                "proposals; change the goal or the rules (`autogpt-tui permissions`)."
            )
        if self.user is None and refused >= REFUSALS:
            # Nobody can approve anything: the mode refuses whatever comes next.
            return (
                f"The {self.mode} mode refused the agent's last {refused} proposals and no "
                "user is there to approve them; run with --mode auto or use the TUI."
            )
        return None

    def decide(self, action: PendingAction, args_model: Any) -> tuple[Approval, PendingAction]:
        """Ask for approval of exactly the change that will be made (see ``_decide``); a
        denied action is refused without asking, and an "always allow" writes its rule."""
        if action.permission == "deny":
            return (
                Approval.reject(
                    f"The user's permission rules refuse this {action.tool} call "
                    f"({action.rule}). Do not try it in another form; do without it."
                ),
                action,
            )
        decision, action = self._decide(action, args_model)
        if decision.approved and decision.remember:
            self._remember(action)
        return decision, action

    def _remember(self, action: PendingAction) -> None:
        """Write the allow rules for ``action`` to the user's config, and apply them now."""
        if action.permission == "ask":
            # Ask beats allow: a rule written now would change nothing, and say it had.
            self.emit(
                Notice(
                    f"Your rule ({action.rule}) makes this wait whatever allows it, so no "
                    "rule was written; it was approved this once."
                )
            )
            return
        rules = derive_rules(action.tool, action.arguments, self.permissions.root)
        if not rules:
            self.emit(
                Notice(f"No rule can describe this {action.tool} call; it was approved this once.")
            )
            return
        path = self.permissions.user_file
        if path is None:
            self.emit(Notice("There is no user config to write a rule to; approved this once."))
            return
        try:
            from autogpt_tui.core.permissions import append_rule

            append_rule(path, rules)
        except RuleError as error:
            self.emit(Notice(f"{error} It was approved this once."))
            return
        for rule in rules:
            self.permissions.add(SourcedRule(rule, "user", path))
        shown = ", ".join(f"`{r.pattern}`" for r in rules)
        still = (
            " Commands still ask here: the sandbox cannot hide the API key from them."
            if action.kind == "command" and self.command_approval_reason() is not None
            else ""
        )
        self.emit(
            RuleAdded(f"Always allowed: {action.tool} {shown} (written to {tilde(path)}).{still}")
        )

    def _decide(self, action: PendingAction, args_model: Any) -> tuple[Approval, PendingAction]:
        """Ask for approval of exactly the change that will be made.

        If the file changed while the proposal waited (the user saved it in their
        editor), the approval was of a diff that no longer applies: the proposal is
        made again against the file as it is now and shown again. Returns the answer
        and the action as last shown; an answer about hunks is settled against that
        action (all accepted: a plain approval, none: a rejection; ``core/partial_edit``).
        """
        for _ in range(REAPPROVALS):
            decision = self._ask(action)
            if not decision.approved or not action.needs_approval or action.preview is None:
                return settle(decision, action), action
            fresh = self.preview(action.tool, args_model)
            if fresh == action.preview:
                return settle(decision, action), action
            self.emit(
                Notice(
                    f"{action.preview.path} changed while the proposal waited for approval; "
                    "it is shown again against the file as it is now."
                )
            )
            action = replace(action, preview=fresh)
            self.emit(ActionProposed(action))
        path = action.preview.path if action.preview is not None else action.tool
        return (
            Approval.reject(
                f"{path} kept changing while the proposal waited for approval, so it was "
                "not applied; read the file again before proposing a change."
            ),
            action,
        )

    def _ask(self, action: PendingAction) -> Approval:
        if not action.needs_approval:
            return Approval.approve()
        if self.user is None:
            if action.permission == "ask":
                return Approval.reject(
                    f"The user's permission rule ({action.rule}) makes {action.tool} wait "
                    "for their approval, and no user is available to give it (headless "
                    "run). Do without this action."
                )
            why = (
                self.command_approval_reason()
                if self._exposes_key(action.kind, action.tool)
                else None
            )
            if why is not None and action.kind not in RUNS_WITHOUT_APPROVAL[self.mode]:
                why = None  # the mode asks anyway: say that, as ever
            if why is not None:
                return Approval.reject(
                    f"{why} No user is available to approve {action.tool} (headless run). "
                    "Do without this action."
                )
            return Approval.reject(
                f"The {self.mode} mode needs the user's approval for {action.tool}, and no "
                "user is available to give it (headless run). Do without this action."
            )
        self._set_status("waiting")
        self.emit(ApprovalWanted(action))
        return self.user.approve(action)

    def command_approval_reason(self) -> str | None:
        """Why every command needs approval here whatever the mode (the sandbox cannot
        hide the API key from commands), or None."""
        runner = getattr(self.tools, "runner", None)
        status = getattr(runner, "sandbox_status", None)
        reason = getattr(status, "approval_reason", None)
        return reason if isinstance(reason, str) else None

    def preview(self, tool: str, args: Any) -> Any:
        """The proposed change to a file (``FilePreview``), when the tools can tell."""
        preview = getattr(self.tools, "preview", None)
        return preview(tool, args) if preview is not None else None


def _denies(verdict: Verdict | None) -> bool:
    return verdict is not None and verdict.action == "deny"


def _rule_words(rule: SourcedRule) -> str:
    """``deny run_command `rm *` in your config``: the rule and where it is written."""
    return f"{rule.rule.label()} in {rule.where}"
