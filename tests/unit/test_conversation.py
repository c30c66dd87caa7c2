"""The conversation: prompt assembly, notes, resuming from records, compaction (no git)."""

from __future__ import annotations

import json

from autogpt_tui.core.conversation import (
    SYSTEM_PROMPT,
    Conversation,
    content_text,
    continues_session,
    session_steps,
)
from autogpt_tui.core.records import StepCommit, StepRecord


def step(
    n: int,
    *,
    session: str = "s1",
    tool: str = "read_file",
    observation: str = "ok",
    goal: str = "g",
    undone: bool = False,
    notes: list[str] | None = None,
) -> StepCommit:
    record = StepRecord(
        thought=f"thought {n}",
        tool=tool,
        arguments={"path": f"f{n}.txt"},
        observation=observation,
        goal=goal,
        session=session,
        notes=notes or [],
    )
    return StepCommit(
        sha=f"{n:040x}",
        parent=None,
        session=session,
        step=n,
        tool=tool,
        policy="default",
        summary=f"Read f{n}.txt",
        timestamp=n,
        undone=undone,
        record=record,
    )


def test_the_prompt_carries_the_policy_the_lessons_and_the_goal() -> None:
    seen: list[tuple[str, list[str]]] = []

    def lessons(goal: str, recent: list[str]) -> str:
        seen.append((goal, recent))
        return "Lessons: read first."

    conversation = Conversation("Fix the bug.", lessons=lessons)
    conversation.rebuild([step(1), step(2)])
    messages = conversation.messages("careful", "Go slowly.")
    system = messages[0]["content"]
    assert system.startswith(SYSTEM_PROMPT)
    assert "How to work (policy careful):\nGo slowly." in system
    assert "Lessons" not in system  # they change every request: out of the stable prefix
    assert messages[1] == {"role": "user", "content": "Goal: Fix the bug."}
    # After the steps, before nothing else (no notes, no user messages here).
    assert messages[-1] == {"role": "user", "content": "Lessons: read first."}
    assert messages[-2]["role"] == "tool"
    assert seen == [("Fix the bug.", ["Read f1.txt", "Read f2.txt"])]


def test_project_notes_come_right_after_the_goal_for_the_files_worked_on() -> None:
    asked: list[list[str]] = []

    def notes(paths: list[str]) -> str:
        asked.append(paths)
        return "## Project notes (from AGENTS.md)"

    conversation = Conversation("g", project_notes=notes)
    conversation.rebuild([step(1), step(2)])
    messages = conversation.messages()
    assert messages[2] == {"role": "user", "content": "## Project notes (from AGENTS.md)"}
    assert asked == [["f2.txt", "f1.txt"]]  # the newest first


def test_notes_are_sent_until_the_next_step_commits() -> None:
    conversation = Conversation("g")
    assert not conversation.set_goal("g")  # unchanged: nothing to tell
    assert conversation.set_goal("New goal.")
    conversation.note("The user changed a.txt.")
    tail = [m["content"] for m in conversation.messages()[-2:]]
    assert tail == ["The user changed the goal to: New goal.", "The user changed a.txt."]
    conversation.add(step(1, notes=list(conversation.notes)))
    assert conversation.notes == []
    # The notes now belong to step 1's messages, in front of its tool call.
    contents = [m.get("content") for m in conversation.messages()]
    assert contents.index("The user changed a.txt.") < contents.index("ok")


def test_a_session_is_its_live_steps_after_the_older_session() -> None:
    branch = [
        step(3, session="s2"),
        step(2, session="s2", undone=True),
        step(1, session="s2"),
        step(9, session="s1"),
    ]
    assert [s.step for s in session_steps(branch, "s2")] == [1, 3]
    assert [s.step for s in session_steps(branch, "s1")] == [9]


def test_which_session_a_new_loop_continues() -> None:
    latest = step(4, goal="Write docs.")
    assert continues_session(latest, goal="Write docs.", session=None)
    assert continues_session(latest, goal="", session=None)
    assert not continues_session(latest, goal="Another goal.", session=None)
    assert continues_session(latest, goal="Another goal.", session="s1")
    assert not continues_session(latest, goal="Write docs.", session="s9")
    assert not continues_session(step(5, tool="finish"), goal="g", session=None)
    assert not continues_session(None, goal="g", session=None)


def test_compaction_shortens_then_summarises_and_keeps_the_goal() -> None:
    conversation = Conversation("Keep the goal.", context_window=8_000)
    conversation.rebuild([step(n, observation="x" * 4_000) for n in range(1, 41)])
    messages = conversation.messages()
    # The messages' text fits in 60% of the window (four characters a token).
    assert sum(len(content_text(m)) for m in messages) <= 8_000 * 0.6 * 4
    assert messages[1]["content"] == "Goal: Keep the goal."
    summary = messages[2]["content"]
    assert summary.startswith("Earlier steps (details elided to save space):")
    assert "- step 1: Read f1.txt" in summary
    observations = [m["content"] for m in messages if m["role"] == "tool"]
    assert observations and all("characters of this output elided" in o for o in observations)
    # The newest step is never dropped.
    assert any("f40.txt" in json.dumps(m) for m in messages)
