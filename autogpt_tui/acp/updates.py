"""What the editor is shown: the loop's events as ACP session updates.

``ToolCallTracker`` turns the core's events (``core/events.py``) into the updates ACP
defines: the model's text as ``agent_thought_chunk``, each proposed action as a
``tool_call`` with its kind, its file and, for an edit, its diff; how the action ended
as a ``tool_call_update``; the finish summary and anything the user must know as
``agent_message_chunk``. It does no I/O: the session (``acp/session.py``) sends what it
returns, so the mapping is one place and easy to read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from acp import (
    text_block,
    tool_content,
    tool_diff_content,
    update_agent_message_text,
    update_agent_thought_text,
)
from acp.schema import (
    AgentMessageChunk,
    AgentThoughtChunk,
    ContentToolCallContent,
    FileEditToolCallContent,
    PermissionOption,
    TerminalToolCallContent,
    ToolCallLocation,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
    ToolKind,
    UserMessageChunk,
)

from autogpt_tui.core.conversation import summarize_action
from autogpt_tui.core.events import (
    ActionExecuted,
    ActionProposed,
    ActionRejected,
    ErrorOccurred,
    Event,
    Notice,
    PendingAction,
    QuestionAsked,
    Retrying,
    StepCommitted,
    ThoughtDelta,
    ThoughtReset,
    UserEditsCommitted,
)

SessionUpdate = (
    AgentMessageChunk | AgentThoughtChunk | ToolCallStart | ToolCallProgress | UserMessageChunk
)
"""The updates this agent sends."""
ToolContent = ContentToolCallContent | FileEditToolCallContent | TerminalToolCallContent

TOOL_KINDS: dict[str, ToolKind] = {
    "read_file": "read",
    "list_files": "read",
    "search": "search",
    "write_file": "edit",
    "edit_file": "edit",
    "run_command": "execute",
}
"""The ACP kind of each built-in tool (the editor picks its icon by it)."""
KIND_OF_APPROVAL: dict[str, ToolKind] = {"read": "read", "edit": "edit", "command": "execute"}
"""For a tool not listed above (an MCP tool, say): its approval kind decides."""

OUTPUT_CHARS = 8_000
"""Of a tool's output, what the editor is shown (the step's record keeps it all)."""

ALLOW_ONCE = "allow_once"
ALLOW_ALWAYS = "allow_always"
REJECT_ONCE = "reject_once"
PERMISSION_OPTIONS = [
    PermissionOption(option_id=ALLOW_ONCE, name="Allow", kind="allow_once"),
    PermissionOption(
        option_id=ALLOW_ALWAYS,
        name="Always allow (writes a rule to your config)",
        kind="allow_always",
    ),
    PermissionOption(option_id=REJECT_ONCE, name="Reject", kind="reject_once"),
]
"""The answers a permission request offers: the TUI's ``a``, ``A`` and ``r``."""


def tool_kind(action: PendingAction) -> ToolKind:
    """The ACP kind of an action: by its tool, else by how it is approved."""
    return TOOL_KINDS.get(action.tool) or KIND_OF_APPROVAL.get(action.kind, "other")


Preview = Callable[[PendingAction], Any]
"""The change a file edit would make (a ``FilePreview``), when the action carries none."""


class ToolCallTracker:
    """The editor's view of the tool calls of one session: ids, contents, and updates.

    Called on the loop's thread only (through ``updates``), in the order the events
    come. ``preview`` computes the diff of an edit that runs without approval (only
    what waits for approval carries its preview).
    """

    def __init__(self, root: Path, preview: Preview | None = None) -> None:
        self.root = root
        self.preview = preview
        self._open: dict[tuple[int, str], str] = {}
        """The tool call id of each action not yet run or rejected, by (step, call id)."""
        self._contents: dict[str, list[ToolContent]] = {}
        self._of_step: dict[int, list[str]] = {}
        self._count = 0
        self._said: set[str] = set()

    def tool_call_id(self, action: PendingAction) -> str:
        """The id the editor knows ``action`` by (the same one when it is shown again)."""
        key = (action.step, action.call_id)
        if key not in self._open:
            # The model may use a call id twice (after a rejection): each proposal its own.
            self._count += 1
            self._open[key] = f"step{action.step}-{self._count}"
            self._of_step.setdefault(action.step, []).append(self._open[key])
        return self._open[key]

    def permission_call(self, action: PendingAction) -> ToolCallUpdate:
        """The tool call a permission request is about, as the editor shows it."""
        return ToolCallUpdate(
            tool_call_id=self.tool_call_id(action),
            title=summarize_action(action.tool, action.arguments),
            kind=tool_kind(action),
            status="pending",
            content=list(self._contents.get(self.tool_call_id(action), [])) or None,
            locations=self._locations(action),
            raw_input=action.arguments,
        )

    def updates(self, event: Event) -> list[SessionUpdate]:
        """The session updates ``event`` makes; none for what the editor need not see."""
        if isinstance(event, ThoughtDelta):
            return [update_agent_thought_text(event.text)] if event.text else []
        if isinstance(event, ThoughtReset):
            return [update_agent_thought_text("\n(the reply was cut short; asking again)\n")]
        if isinstance(event, ActionProposed):
            return [self._proposed(event.action)]
        if isinstance(event, ActionRejected):
            return [self._ended(event.action, "failed", f"Not run: {event.reason}")]
        if isinstance(event, ActionExecuted):
            output = event.output if len(event.output) <= OUTPUT_CHARS else (
                event.output[:OUTPUT_CHARS] + "\n… (cut; the step's record keeps it all)"
            )  # fmt: skip
            status = "completed" if event.ok else "failed"
            return [self._ended(event.action, status, _fenced(output))]
        if isinstance(event, StepCommitted):
            return self._committed(event)
        if isinstance(event, QuestionAsked):
            return [update_agent_message_text(f"The agent asks: {event.question}\n")]
        if isinstance(event, UserEditsCommitted):
            names = ", ".join(event.paths)
            return [
                update_agent_message_text(
                    f"Your uncommitted changes to {names} were committed first, as yours "
                    f"({event.sha[:8]}), so the agent's step holds only its own change.\n"
                )
            ]
        if isinstance(event, Retrying):
            return [
                update_agent_thought_text(f"\n(retrying in {event.delay_s:.1f}s: {event.reason})\n")
            ]
        if isinstance(event, ErrorOccurred):
            return [update_agent_thought_text(f"\n(error: {event.message})\n")]
        if isinstance(event, Notice):
            # Each turn opens the session again, and with it the same notices (the
            # sandbox's, say): each is said once a session.
            if event.message in self._said:
                return []
            self._said.add(event.message)
            return [update_agent_message_text(f"Note: {event.message}\n")]
        return []

    def _proposed(self, action: PendingAction) -> SessionUpdate:
        key = (action.step, action.call_id)
        shown_before = key in self._open
        call_id = self.tool_call_id(action)
        content = self._proposal_content(action)
        self._contents[call_id] = content
        title = summarize_action(action.tool, action.arguments)
        if shown_before:
            # Shown again (the file changed while it waited): the new diff replaces the old.
            return ToolCallProgress(
                session_update="tool_call_update",
                tool_call_id=call_id,
                status="pending",
                content=list(content),
            )
        return ToolCallStart(
            session_update="tool_call",
            tool_call_id=call_id,
            title=title,
            kind=tool_kind(action),
            status="pending",
            content=list(content) or None,
            locations=self._locations(action),
            raw_input=action.arguments,
        )

    def _ended(self, action: PendingAction, status: str, text: str) -> SessionUpdate:
        call_id = self.tool_call_id(action)
        self._open.pop((action.step, action.call_id), None)
        # A diff stays with its edit; the output (or why it did not run) comes after it.
        content: list[ToolContent] = [
            c for c in self._contents.get(call_id, []) if isinstance(c, FileEditToolCallContent)
        ]
        if text:
            content.append(tool_content(text_block(text)))
        self._contents[call_id] = content
        return ToolCallProgress(
            session_update="tool_call_update",
            tool_call_id=call_id,
            status="completed" if status == "completed" else "failed",
            content=list(content),
        )

    def _committed(self, event: StepCommitted) -> list[SessionUpdate]:
        """Each tool call of the step says which commit holds it (what undo names)."""
        note = tool_content(
            text_block(f"Step {event.step} committed as {event.sha[:8]}: {event.summary}")
        )
        updates: list[SessionUpdate] = []
        for call_id in self._of_step.pop(event.step, []):
            content = [*self._contents.pop(call_id, []), note]
            updates.append(
                ToolCallProgress(
                    session_update="tool_call_update", tool_call_id=call_id, content=content
                )
            )
        return updates

    def _proposal_content(self, action: PendingAction) -> list[ToolContent]:
        content = self._change_content(action)
        if action.note:
            # What the TUI's card says besides: an MCP tool's effects undo cannot reach, or
            # how far a delegation's sub-agent may read without asking.
            content.append(tool_content(text_block(action.note[:1].upper() + action.note[1:])))
        return content

    def _change_content(self, action: PendingAction) -> list[ToolContent]:
        if action.tool == "run_command":
            return [tool_content(text_block(_fenced(f"$ {action.arguments.get('command', '')}")))]
        if action.tool not in ("write_file", "edit_file"):
            return []
        preview = action.preview
        if preview is None and self.preview is not None:
            preview = self.preview(action)
        path = str(self.root / str(action.arguments.get("path", "")))
        if preview is None:
            # No preview to be had: the call's own text, which is still the change.
            if action.tool == "write_file":
                return [tool_diff_content(path, str(action.arguments.get("content", "")))]
            old = str(action.arguments.get("old_text", ""))
            return [tool_diff_content(path, str(action.arguments.get("new_text", "")), old)]
        if preview.error is not None or preview.new_text is None:
            return [tool_content(text_block(f"This edit would fail: {preview.error}"))]
        return [tool_diff_content(path, preview.new_text, preview.old_text)]

    def _locations(self, action: PendingAction) -> list[ToolCallLocation] | None:
        path = action.arguments.get("path")
        if not isinstance(path, str) or action.tool not in TOOL_KINDS:
            return None
        line = action.arguments.get("start_line")
        return [
            ToolCallLocation(
                path=str(self.root / path), line=line if isinstance(line, int) else None
            )
        ]


def finish_text(summary: str | None, message: str) -> AgentMessageChunk:
    """The finish summary (or why the run stopped) as the agent's message."""
    return update_agent_message_text((summary or message).strip() + "\n")


def _fenced(text: str) -> str:
    """``text`` as a code block, so the editor shows it as it is (not as Markdown)."""
    fence = "````" if "```" in text else "```"
    return f"{fence}\n{text.rstrip()}\n{fence}" if text.strip() else "(no output)"
