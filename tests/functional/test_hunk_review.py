"""Hunk-level review in the step loop, against the scripted model server on real git
workspaces: the commit holds exactly the accepted hunks, and the model is told which
were left out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.agent import Approval
from autogpt_tui.core.events import ActionExecuted, ActionRejected, PendingAction
from autogpt_tui.core.hunks import ProposedChange
from autogpt_tui.core.partial_edit import proposed_change
from tests.conftest import git
from tests.functional.test_agent import Harness, call, tool_messages
from tests.support.scripted_llm import ScriptedLLM

OLD = "".join(f"line {n}\n" for n in range(1, 31))
NEW = (
    OLD.replace("line 2\n", "line two\n")
    .replace("line 15\n", "line fifteen\n")
    .replace("line 28\n", "line twenty-eight\n")
)
"""Three changes far enough apart to be three hunks."""
Answer = Callable[[PendingAction], Approval]


@pytest.fixture
def harness(workspace: Path, llm_server: ScriptedLLM) -> Iterator[Harness]:
    (workspace / "notes.txt").write_text(OLD)
    h = Harness(workspace, llm_server)  # makes the folder a repository, notes.txt committed
    assert git(workspace, "status", "--porcelain") == ""
    yield h
    h.close()


def answering(*answers: Approval) -> tuple[list[PendingAction], Answer]:
    """The user's answers, in turn; the actions they were asked about."""
    seen: list[PendingAction] = []
    queue = list(answers)

    def approve(action: PendingAction) -> Approval:
        seen.append(action)
        return queue.pop(0)

    return seen, approve


def test_a_partial_approval_commits_only_the_accepted_hunks(harness: Harness) -> None:
    seen, approve = answering(Approval.partial({0, 2}), Approval.approve())
    harness.server.script(
        call("write_file", path="notes.txt", content=NEW),
        call("finish", summary="done"),
    )
    agent = harness.agent(mode="step", approve=approve)
    assert agent.step().committed
    change = proposed_change(seen[0])
    assert change is not None and len(change.hunks) == 3
    expected = change.content({0, 2})
    assert (harness.root / "notes.txt").read_text() == expected
    assert "line fifteen" not in expected and "line two" in expected
    # The step's commit holds exactly the accepted hunks, and nothing else.
    head = harness.history.resolve("HEAD")
    shown = git(harness.root, "show", "--format=%s", "--unified=3", head.sha)
    assert shown.splitlines()[0] == "Write notes.txt (2 of 3 hunks)"
    assert git(harness.root, "show", "--name-only", "--format=", head.sha).split() == ["notes.txt"]
    assert "+line two" in shown and "+line twenty-eight" in shown
    assert "fifteen" not in shown
    assert git(harness.root, "show", f"{head.sha}:notes.txt") == expected
    assert git(harness.root, "status", "--porcelain") == ""
    # The record keeps which hunks were rejected.
    assert head.record is not None
    assert [(h.index, h.header) for h in head.record.rejected_hunks] == [(1, "@@ -12,7 +12,7 @@")]
    assert "+line fifteen" in head.record.rejected_hunks[0].diff
    assert head.record.tool == "write_file"
    # The next request tells the model which hunk was left out, as a diff.
    agent.step()
    told = tool_messages(harness.server.requests[1])[-1]
    assert "Applied 2 of the 3 hunks of your change to notes.txt" in told
    assert "-line 15\n+line fifteen" in told and "line two" not in told
    executed = [e for e in harness.events if isinstance(e, ActionExecuted)]
    assert executed[0].ok and executed[0].changed_paths == ["notes.txt"]


def test_an_edit_file_approved_in_part(harness: Harness) -> None:
    span = "".join(f"line {n}\n" for n in range(2, 29))
    changed = span.replace("line 2\n", "two\n").replace("line 28\n", "twenty-eight\n")
    _seen, approve = answering(Approval.partial({1}))
    harness.server.script(call("edit_file", path="notes.txt", old_text=span, new_text=changed))
    harness.agent(mode="step", approve=approve).step()
    assert (harness.root / "notes.txt").read_text() == OLD.replace("line 28\n", "twenty-eight\n")
    head = harness.history.resolve("HEAD")
    assert head.summary == "Edit notes.txt (1 of 2 hunks)" and head.tool == "edit_file"


def test_every_hunk_accepted_is_a_plain_approval(harness: Harness) -> None:
    _seen, approve = answering(Approval.partial({0, 1, 2}))
    harness.server.script(call("write_file", path="notes.txt", content=NEW))
    harness.agent(mode="step", approve=approve).step()
    assert (harness.root / "notes.txt").read_text() == NEW
    head = harness.history.resolve("HEAD")
    assert head.summary == "Write notes.txt"
    assert head.record is not None and head.record.rejected_hunks == []


def test_every_hunk_rejected_is_a_rejection(harness: Harness) -> None:
    _seen, approve = answering(Approval.partial(set()), Approval.approve())
    harness.server.script(
        call("write_file", path="notes.txt", content=NEW),
        call("write_file", path="other.txt", content="x\n"),
    )
    agent = harness.agent(mode="step", approve=approve)
    agent.step()
    assert (harness.root / "notes.txt").read_text() == OLD
    reason = harness.of(ActionRejected)[0].reason
    assert "rejected every hunk of the change to notes.txt" in reason
    assert "rejected every hunk" in tool_messages(harness.server.requests[1])[-1]
    # The step is the write approved after it; notes.txt is not in its commit.
    head = harness.history.resolve("HEAD")
    assert git(harness.root, "show", "--name-only", "--format=", head.sha).split() == ["other.txt"]


def test_a_file_changed_while_waiting_is_shown_again_and_the_new_answer_counts(
    harness: Harness,
) -> None:
    seen: list[PendingAction] = []

    def approve(action: PendingAction) -> Approval:
        seen.append(action)
        if len(seen) == 1:
            # The user saves the file in their editor while the proposal waits.
            (harness.root / "notes.txt").write_text(OLD.replace("line 20\n", "mine 20\n"))
        return Approval.partial({0})

    harness.server.script(call("write_file", path="notes.txt", content=NEW))
    harness.agent(mode="step", approve=approve).step()
    assert len(seen) == 2  # shown again against the file as it is now
    second = proposed_change(seen[1])
    assert second is not None
    text = (harness.root / "notes.txt").read_text()
    assert text == second.content({0})
    # The user's line survives, as their own commit; the agent's holds only hunk 0.
    assert "mine 20" in text and "line two" in text and "fifteen" not in text
    head = harness.history.resolve("HEAD")
    diff = git(harness.root, "show", "--format=", head.sha)
    assert "+line two" in diff and "mine" not in diff
    assert "User edits: notes.txt" in git(harness.root, "log", "--format=%s")


def test_the_rejected_hunks_survive_a_resume(harness: Harness) -> None:
    """The conversation rebuilt from the records still tells the model what was left out."""
    _seen, approve = answering(Approval.partial({2}))
    harness.server.script(call("write_file", path="notes.txt", content=NEW))
    harness.agent(mode="step", approve=approve).step()
    resumed = harness.agent(mode="step", approve=approve)
    text = str(resumed.messages())
    assert "Applied 1 of the 3 hunks" in text and "+line two" in text


def test_partial_content_of_a_proposed_change_matches_the_commit_diff(harness: Harness) -> None:
    change = ProposedChange.of("notes.txt", OLD, NEW)
    _seen, approve = answering(Approval.partial({1}))
    harness.server.script(call("write_file", path="notes.txt", content=NEW))
    harness.agent(mode="step", approve=approve).step()
    committed = git(harness.root, "show", "--format=", "HEAD")
    hunk = change.hunks[1]
    assert "\n".join(hunk.lines) in committed


def test_a_step_approved_in_part_is_not_exported_for_training(harness: Harness) -> None:
    # Its tool call holds the hunk the user refused: an SFT line would teach it.
    import io
    import json

    from autogpt_tui.core.learning import export_sft

    _, approve = answering(Approval.partial({0, 2}), Approval.approve())
    harness.server.script(
        call("write_file", path="notes.txt", content=NEW),
        call("finish", summary="done"),
    )
    agent = harness.agent(mode="step", approve=approve)
    assert agent.step().committed
    assert agent.step().committed  # finish, approved whole
    harness.history.rate("HEAD~1", 1)  # even rated up
    out = io.StringIO()
    assert export_sft(harness.history, out) == 1
    # The one line trains on the finish; the partial write is only context (weight 0).
    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    target = line["messages"][-1]
    assert target["tool_calls"][0]["function"]["name"] == "finish"
    writes = [m for m in line["messages"] if "fifteen" in json.dumps(m)]
    assert writes and all(m.get("weight") == 0 for m in writes if m["role"] == "assistant")
