"""``session/load``: a session's steps in force, told again to the editor.

ACP asks an agent that loads a session to replay its conversation as session updates
before it answers. Here that is what the step records on the branch hold: the goal and
the user's messages, each step's thought, its tool call with what it returned, and the
commit that holds it; a finish step's summary as the agent's message.
"""

from __future__ import annotations

from pathlib import Path

from acp import (
    text_block,
    tool_content,
    update_agent_message_text,
    update_agent_thought_text,
    update_user_message_text,
)
from acp.schema import ToolCallStart

from autogpt_tui.acp.updates import OUTPUT_CHARS, SessionUpdate, tool_kind
from autogpt_tui.core.conversation import summarize_action
from autogpt_tui.core.errors import SessionChoiceError
from autogpt_tui.core.events import PendingAction


def replay(root: Path, session_id: str) -> tuple[str, list[SessionUpdate]]:
    """The session's goal and its replay; SessionChoiceError when there is no such session."""
    from autogpt_tui.core.history import History
    from autogpt_tui.core.sessions import list_sessions, read_session

    with History.open(root, create=False) as history:
        if not any(s.id == session_id for s in list_sessions(history)):
            raise SessionChoiceError(
                f"There is no session {session_id!r} in this workspace "
                "(`autogpt-tui sessions` lists them)."
            )
        steps, _last = read_session(history, session_id)
    updates: list[SessionUpdate] = []
    goal = ""
    for step in steps:
        record = step.record
        if record is None:
            continue
        if record.goal and record.goal != goal:
            goal = record.goal
            updates.append(update_user_message_text(goal))
        updates += [update_user_message_text(text) for text in record.user_messages]
        if record.thought.strip():
            updates.append(update_agent_thought_text(record.thought))
        # A reply of several reads is one step of several calls: each its own card.
        calls = [
            (c.tool, c.arguments if isinstance(c.arguments, dict) else {}, c.observation,
             c.ok and c.outcome == "ran")
            for c in record.calls
        ] or [(record.tool, record.arguments, record.observation, record.ok)]  # fmt: skip
        for index, (tool, arguments, observation, ok) in enumerate(calls, start=1):
            action = PendingAction(step.step, tool, arguments, "")
            updates.append(
                ToolCallStart(
                    session_update="tool_call",
                    tool_call_id=f"step{step.step}-replay{index}",
                    title=summarize_action(tool, arguments),
                    kind=tool_kind(action),
                    status="completed" if ok else "failed",
                    content=[
                        tool_content(text_block(observation[:OUTPUT_CHARS])),
                        tool_content(
                            text_block(f"Step {step.step} committed as {step.short_sha}.")
                        ),
                    ],
                    raw_input=arguments,
                )
            )
        if record.tool == "finish":
            updates.append(update_agent_message_text(str(record.arguments.get("summary", ""))))
    return goal, updates
