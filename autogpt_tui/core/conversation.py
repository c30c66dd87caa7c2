"""The conversation the loop sends: the prompt, each step's messages, and compaction.

A step's messages are rebuilt from its record alone (notes, rejected proposals, the tool
call and its observation), so a session resumes, and rewinds on undo, from the
repository; the reward model's export reads the same messages. ``Conversation`` holds
one session's: the loop (``core/agent.py``) asks it for the messages of each request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autogpt_tui.core.llm import estimate_tokens
from autogpt_tui.core.mcp.catalogue import PREFIX as MCP_PREFIX
from autogpt_tui.core.records import StepCommit, escape_surrogates, escape_surrogates_in, one_line

if TYPE_CHECKING:
    from autogpt_tui.core.record_models import CallRecord


@dataclass
class Turn:
    """One step's messages, rebuilt from a record or made live."""

    sha: str
    step: int
    messages: list[dict[str, Any]]
    observations: list[tuple[int, str]]
    """Each tool result of the step's action (index into ``messages``, text): one per call
    of its reply, so compaction can shorten each."""


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
    if tool == "delegate":
        return f"Delegate: {args.get('task', '')}"
    server, _, name = tool.removeprefix(MCP_PREFIX).partition("__")
    if tool.startswith(MCP_PREFIX) and name:
        # mcp__SERVER__TOOL reads as the server's tool, its arguments as the card shows them.
        shown = ", ".join(
            f"{key}={value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
            for key, value in args.items()
        )
        return f"MCP {server}.{name}" + (f": {shown}" if shown else "")
    return f"{tool} {json.dumps(args, ensure_ascii=False)}"


SYSTEM_PROMPT = """\
You are an autonomous coding agent working in a git repository (the workspace).
Work toward the user's goal one action at a time: each reply is a short thought about
what to do next and why, followed by exactly one tool call. Every action you take
becomes one git commit that the user reviews, rates, and may undo. Reads are the
exception: several read_file, list_files and search calls in one reply run together.

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
    return assistant_calls(thought, [(call_id, tool, arguments)])


def assistant_calls(thought: str, calls: Sequence[tuple[str, str, Any]]) -> dict[str, Any]:
    """An assistant turn making the tool calls ``(id, tool, arguments)``, in order."""
    return {
        "role": "assistant",
        "content": thought or None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {
                    "name": tool,
                    # Arguments the model sent may hold a lone surrogate; the request
                    # must still encode as UTF-8.
                    "arguments": escape_surrogates(arguments)
                    if isinstance(arguments, str)
                    else json.dumps(escape_surrogates_in(arguments), ensure_ascii=False),
                },
            }
            for call_id, tool, arguments in calls
        ],
    }


def record_calls(step: StepCommit) -> list[CallRecord]:
    """Every call of a step's reply with what the model was told of it: the record's
    ``calls``, or for a one-call step (every record written before there were several)
    its one call. The step must have a record."""
    record = step.record
    assert record is not None
    if record.calls:
        return list(record.calls)
    from autogpt_tui.core.record_models import CallRecord

    return [
        CallRecord(
            tool=record.tool,
            arguments=record.arguments,
            call_id=record.tool_call_id or f"call_{step.step}",
            observation=record.observation,
            ok=record.ok,
        )
    ]


def calls_summary(calls: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """The one-line commit subject for a step of one or several calls ``(tool, args)``."""
    return "; ".join(summarize_action(tool, args) for tool, args in calls)


def tool_message(call_id: str, content: str) -> dict[str, Any]:
    """A tool's observation as a chat message answering one call."""
    return {"role": "tool", "tool_call_id": call_id, "content": escape_surrogates(content)}


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
    # Then what the user said to the agent, in their words, after the loop's notes.
    messages += [{"role": "user", "content": said} for said in record.user_messages]
    for n, rejected in enumerate(record.rejected):
        call_id = rejected.call_id or f"rejected_{step.step}_{n}"
        messages.append(
            assistant_call(rejected.thought, call_id, rejected.tool, rejected.arguments)
        )
        messages.append(tool_message(call_id, rejection_text(rejected.reason)))
    # The action: one assistant turn with every call of its reply, then one tool message
    # per call (the API refuses a call left unanswered).
    calls = record_calls(step)
    messages.append(
        assistant_calls(record.thought, [(c.call_id, c.tool, c.arguments) for c in calls])
    )
    observations: list[tuple[int, str]] = []
    for c in calls:
        observations.append((len(messages), c.observation))
        messages.append(tool_message(c.call_id, c.observation))
    return Turn(step.sha, step.step, messages, observations)


KEEP_RECENT_STEPS = 8
"""Steps whose observations are always kept whole when the context is compacted."""
LESSON_CONTEXT_STEPS = 5
"""The most recent steps whose summaries pick the lessons shown in the prompt."""


def turn_summary(turn: Turn) -> str:
    """A turn's action in one line (its commit subject, at most 120 characters)."""
    # The action's assistant turn is the one answered by the turn's tool results.
    first = turn.observations[0][0] if turn.observations else len(turn.messages)
    assistant = next(m for m in reversed(turn.messages[:first]) if m.get("tool_calls"))
    calls: list[tuple[str, dict[str, Any]]] = []
    for call in assistant["tool_calls"]:
        fn = call["function"]
        try:
            args = json.loads(fn["arguments"])
        except ValueError:
            args = {}
        calls.append((fn["name"], args if isinstance(args, dict) else {}))
    return one_line(calls_summary(calls), 120)


def session_steps(
    branch: Iterable[StepCommit], session: str, taken_off: Collection[int] = ()
) -> list[StepCommit]:
    """The live (not undone) steps of ``session``, oldest first.

    ``branch`` is the branch's steps newest first, as ``History.steps_on_branch`` walks
    them. A session's steps need not lie together: one resumed (``--session``, the
    picker) goes on above other sessions' steps. Numbers only grow within a session, so
    the walk stops at the session's lowest number once every lower one is accounted for:
    step 1, or numbers below it that undo took off the branch (``taken_off``).
    """
    floor = 1
    while floor in taken_off:
        floor += 1
    steps: list[StepCommit] = []
    for step in branch:
        if step.session != session:
            continue
        if not step.undone:
            steps.append(step)
        if step.step <= floor:
            break  # nothing of ours lies further down
    steps.reverse()
    return steps


def continues_session(latest: StepCommit | None, *, goal: str, session: str | None) -> bool:
    """Whether a new loop continues the session of ``latest`` (the branch's last live step).

    It does when asked for that session by id, or, without an id, when that session has
    not finished and the goal is the same (or not given).
    """
    if latest is None or latest.record is None:
        return False
    if session:
        return latest.session == session
    return latest.tool != "finish" and (not goal or goal == latest.record.goal)


Lessons = Callable[[str, list[str]], str]
"""Given the goal and the recent actions' summaries, the prompt's lessons section."""
ProjectNotesSection = Callable[[list[str]], str]
"""Given the paths the session works on (newest first), the project notes' section."""
WORKED_ON_STEPS = 10
"""The last steps whose file paths choose the nested project notes."""
_WORKED_ON_TOOLS = frozenset({"read_file", "write_file", "edit_file"})


def worked_on_paths(turns: Sequence[Turn]) -> list[str]:
    """The files the last :data:`WORKED_ON_STEPS` steps read, wrote or edited, newest first."""
    paths: list[str] = []
    for turn in reversed(turns[-WORKED_ON_STEPS:]):
        for message in reversed(turn.messages):
            for call in message.get("tool_calls") or ():
                fn = call["function"]
                if fn["name"] not in _WORKED_ON_TOOLS:
                    continue
                try:
                    args = json.loads(fn["arguments"])
                except ValueError:
                    continue
                path = args.get("path") if isinstance(args, dict) else None
                if isinstance(path, str) and path and path not in paths:
                    paths.append(path)
    return paths


class Conversation:
    """What the model is told: the prompt, the session's steps, and notes for the next one.

    The turns are rebuilt from the step records (``rebuild``) whenever the repository
    says they changed (a resume, an undo); live steps are appended as they commit.
    When the steps outgrow the context window they are compacted (``messages``):
    observations are shortened, then the oldest steps give way to one-line summaries.
    """

    def __init__(
        self,
        goal: str,
        *,
        context_window: int = 128_000,
        lessons: Lessons | None = None,
        project_notes: ProjectNotesSection | None = None,
    ) -> None:
        self.goal = goal
        """The session's goal, the first thing the model is told after the prompt."""
        self.context_window = context_window
        """The model's context in tokens; the messages use at most 60% of it."""
        self.turns: list[Turn] = []
        """Each live step's messages, oldest first."""
        self.notes: list[str] = []
        """What the model is told before its next step (user edits, goal changes, loops)."""
        self.user_messages: list[str] = []
        """What the user said to the agent since its last step, in their own words."""
        self._lessons = lessons
        self._project_notes = project_notes

    def set_goal(self, goal: str) -> bool:
        """Change the goal and note it for the model; False when it is unchanged."""
        if not goal or goal == self.goal:
            return False
        self.goal = goal
        self.note(f"The user changed the goal to: {goal}")
        return True

    def note(self, text: str) -> None:
        """Tell the model ``text`` before its next step (kept in that step's record)."""
        self.notes.append(escape_surrogates(text))  # a note may name a file that is not UTF-8

    def say(self, text: str) -> None:
        """Pass the user's own message on at the next request (kept in that step's record)."""
        self.user_messages.append(escape_surrogates(text))

    def rebuild(self, steps: Sequence[StepCommit]) -> None:
        """Replace the turns with those of ``steps`` (oldest first), from their records."""
        self.turns = [turn_from_record(s) for s in steps if s.record is not None]

    def add(self, step: StepCommit) -> None:
        """Append a step just committed (its notes are now in its record)."""
        self.turns.append(turn_from_record(step))
        self.notes.clear()
        self.user_messages.clear()

    def system_prompt(self, policy: str = "default", instructions: str = "") -> str:
        """The system prompt: the rules and the policy arm's way of working.

        Byte-identical across a session (the arm is chosen once per session), so a
        server's prompt cache keeps the prefix; what changes from one request to the next
        (the lessons) comes after the steps, in :meth:`messages`.
        """
        system = SYSTEM_PROMPT
        if instructions:
            system += f"\nHow to work (policy {policy}):\n{instructions}\n"
        return system

    def project_notes(self) -> str:
        """The project notes' section for the files the session works on ("" if none)."""
        if self._project_notes is None:
            return ""
        return self._project_notes(worked_on_paths(self.turns))

    def lessons(self) -> str:
        """The lessons for the goal and the recent actions ("" if none)."""
        if self._lessons is None:
            return ""
        recent = [turn_summary(t) for t in self.turns[-LESSON_CONTEXT_STEPS:]]
        return self._lessons(self.goal, recent)

    def messages(self, policy: str = "default", instructions: str = "") -> list[dict[str, Any]]:
        """The conversation to send, its stable prefix first.

        System prompt, goal and project notes (which change only when a nested notes file
        comes into use), then the compacted steps; then what changes every request: the
        lessons, the loop's notes and the user's messages.
        """
        system = self.system_prompt(policy, instructions)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": f"Goal: {self.goal}"},
        ]
        notes = self.project_notes()
        if notes:
            messages.append({"role": "user", "content": notes})
        lessons = self.lessons()
        used = estimate_tokens(system + self.goal + notes + lessons)
        messages.extend(self._compacted_turns(used))
        if lessons:
            messages.append({"role": "user", "content": lessons})
        messages.extend({"role": "user", "content": note} for note in self.notes)
        messages.extend({"role": "user", "content": said} for said in self.user_messages)
        return messages

    def _compacted_turns(self, used: int) -> list[dict[str, Any]]:
        """The steps' messages, fitted into the context window.

        Observations are shortened oldest first (the last steps stay whole as long as
        possible); then the oldest steps give way to a one-line summary each; the
        goal and the system prompt are never touched.
        """
        budget = max(1_000, int(self.context_window * 0.6) - used - 2_000)  # reply room
        turns = self.turns
        sizes = [sum(estimate_tokens(content_text(m)) for m in t.messages) for t in turns]
        total = sum(sizes)
        if total <= budget:
            return [m for t in turns for m in t.messages]
        protected = max(0, len(turns) - KEEP_RECENT_STEPS)
        shortened: dict[tuple[int, int], str] = {}  # (turn, message index) -> text

        def shorten(i: int, keep: int) -> None:
            nonlocal total
            for at, full in turns[i].observations:
                obs = shortened.get((i, at), full)
                if len(obs) <= keep + 80:
                    continue
                short = obs[:keep] + f"\n[… {len(obs) - keep} characters of this output elided]"
                saved = estimate_tokens(obs) - estimate_tokens(short)
                total -= saved
                sizes[i] -= saved
                shortened[(i, at)] = short

        # Old steps first, then the recent ones, the newest last of all.
        for order, keep in ((range(protected), 160), (range(len(turns)), 400)):
            for i in order:
                if total <= budget:
                    break
                shorten(i, keep)
        dropped = 0
        while total > budget and dropped < len(turns) - 1:
            total -= sizes[dropped]
            dropped += 1
        out: list[dict[str, Any]] = []
        if dropped:
            lines = [f"- step {t.step}: {turn_summary(t)}" for t in turns[:dropped]]
            # The summary stays bounded too: the newest lines matter most.
            text = "\n".join(lines[-100:])
            content = f"Earlier steps (details elided to save space):\n{text}"
            out.append({"role": "user", "content": content})
        for i, turn in enumerate(turns[dropped:], start=dropped):
            msgs = [dict(m) for m in turn.messages]
            for at, _full in turn.observations:
                if (i, at) in shortened:
                    msgs[at]["content"] = shortened[(i, at)]
            out.extend(msgs)
        return out
