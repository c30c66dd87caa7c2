"""The conversation the loop sends: the system prompt and each step's messages.

A step's messages are rebuilt from its record alone (notes, rejected proposals, the tool
call and its observation), so a session resumes, and rewinds on undo, from the
repository; the reward model's export reads the same messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from autogpt_tui.core.records import StepCommit


@dataclass
class Turn:
    """One step's messages, rebuilt from a record or made live."""

    sha: str
    step: int
    messages: list[dict[str, Any]]
    observation_index: int
    observation: str


def summarize_action(tool: str, args: dict[str, Any]) -> str:
    """The one-line commit subject for an action."""
    path = str(args.get("path", "") or ".")
    if tool == "write_file":
        return f"Write {path}"
    if tool == "edit_file":
        return f"Edit {path}"
    if tool == "read_file":
        return f"Read {path}"
    if tool == "list_files":
        return f"List {path}"
    if tool == "search":
        return f"Search {args.get('pattern', '')!r} in {path}"
    if tool == "run_command":
        return f"Run: {args.get('command', '')}"
    if tool == "ask_user":
        return f"Ask: {args.get('question', '')}"
    if tool == "finish":
        return f"Finish: {args.get('summary', '')}"
    return f"{tool} {json.dumps(args, ensure_ascii=False)}"


SYSTEM_PROMPT = """\
You are an autonomous coding agent working in a git repository (the workspace).
Work toward the user's goal one action at a time: each reply is a short thought about
what to do next and why, followed by exactly one tool call. Every action you take
becomes one git commit that the user reviews, rates, and may undo.

Rules:
- Paths are relative to the workspace root; you cannot leave the workspace or write
  into .git.
- Read a file before you edit it. edit_file needs old_text to occur exactly once.
- Commands run in a sandbox without network access.
- If the user rejects an action, you are told why: take the reason into account.
- When the goal is reached (or cannot be), call finish with a summary.
"""


def step_messages(step: StepCommit) -> list[dict[str, Any]]:
    """The chat messages one step added to the conversation, rebuilt from its record.

    In order: the notes the loop gave the model before the step (user edits, goal
    changes), each proposal rejected before it with the rejection, then the assistant's
    tool call and the tool's observation. Raises ValueError for a step without record.
    """
    if step.record is None:
        raise ValueError(f"step {step.step} ({step.short_sha}) has no record")
    return turn_from_record(step).messages


def assistant_call(thought: str, call_id: str, tool: str, arguments: Any) -> dict[str, Any]:
    """An assistant turn making one tool call, as Chat Completions expects it."""
    return {
        "role": "assistant",
        "content": thought or None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {
                    "name": tool,
                    "arguments": arguments
                    if isinstance(arguments, str)
                    else json.dumps(arguments, ensure_ascii=False),
                },
            }
        ],
    }


def tool_message(call_id: str, content: str) -> dict[str, Any]:
    """A tool's observation as a chat message answering one call."""
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def rejection_text(reason: str) -> str:
    """What the model is told when the user rejects its proposal."""
    reason = reason.strip() or "no reason given"
    return f"The user rejected this action; it was not executed. Reason: {reason}"


def user_edits_message(paths: list[str]) -> dict[str, Any]:
    """The note telling the model which files the user changed since its last step."""
    shown = ", ".join(paths[:20]) + (f" and {len(paths) - 20} more" if len(paths) > 20 else "")
    return {
        "role": "user",
        "content": f"Since your last step the user changed these files: {shown}. "
        "Read them again before editing them.",
    }


def content_text(message: dict[str, Any]) -> str:
    """All the text of a message that counts toward the context: content and arguments."""
    text = str(message.get("content") or "")
    for call in message.get("tool_calls") or []:
        text += call["function"]["arguments"]
    return text


def turn_from_record(step: StepCommit) -> Turn:
    """One step's messages rebuilt from its record (which the step must have)."""
    record = step.record
    assert record is not None
    # Notes the loop added before this step (user edits, goal changes, loop nudges).
    messages: list[dict[str, Any]] = [{"role": "user", "content": note} for note in record.notes]
    for n, rejected in enumerate(record.rejected):
        call_id = rejected.call_id or f"rejected_{step.step}_{n}"
        messages.append(
            assistant_call(rejected.thought, call_id, rejected.tool, rejected.arguments)
        )
        messages.append(tool_message(call_id, rejection_text(rejected.reason)))
    call_id = record.tool_call_id or f"call_{step.step}"
    messages.append(assistant_call(record.thought, call_id, record.tool, record.arguments))
    messages.append(tool_message(call_id, record.observation))
    return Turn(step.sha, step.step, messages, len(messages) - 1, record.observation)
