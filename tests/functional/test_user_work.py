"""The user's work stays theirs: issue 9's items 1 (approval bound to content) and 3
(nothing of the user's committed unasked, snapshots, recover), through the real loop."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.agent import Approval
from autogpt_tui.core.events import (
    ActionProposed,
    Notice,
    PendingAction,
    UserEditsCommitted,
)
from tests.conftest import git
from tests.functional.test_agent import Harness, all_text, call
from tests.functional.test_cli import cli as run_cli
from tests.support.scripted_llm import ScriptedLLM

TEXTUTIL = "".join(f"line {n}\n" for n in range(1, 16))


@pytest.fixture
def harness(workspace: Path, llm_server: ScriptedLLM) -> Iterator[Harness]:
    h = Harness(workspace, llm_server)
    yield h
    h.close()


def status(root: Path) -> str:
    """`git status` of the user's files, in a stable form."""
    return git(root, "status", "--porcelain=v1", "--untracked-files=all")


def subjects(root: Path, count: int) -> list[str]:
    return git(root, "log", "--format=%s", f"-{count}").splitlines()


def changed_files(root: Path, sha: str) -> list[str]:
    return git(root, "show", "--name-only", "--format=", sha).split()


def test_the_users_work_in_progress_is_never_committed(harness: Harness) -> None:
    """Reproduction 3: before, every step committed all of it as "User edits"."""
    root = harness.root
    (root / "README.md").write_text("# half-done work\n")
    (root / "scratch.bin").write_bytes(bytes(range(256)) * 64)
    (root / ".gitignore").write_text(".env\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-q", "-m", "ignore .env")
    (root / ".env").write_text("TOKEN=mine\n")
    before = status(root)
    harness.server.script(
        call("write_file", path="agent.txt", content="from the agent\n"),
        call("run_command", command="echo more > agent2.txt"),
        call("finish", summary="done"),
    )
    assert harness.agent().run().outcome == "finished"
    after = status(root)
    agent_lines = {"?? agent.txt", "?? agent2.txt"}
    assert not agent_lines & set(after.splitlines())  # the agent's files are committed
    assert after == before  # the user's changes are exactly as they were
    assert not harness.of(UserEditsCommitted)
    assert not any(s.startswith("User edits") for s in subjects(root, 10))
    for sha in (s.sha for s in harness.history.steps()):
        assert not {"README.md", "scratch.bin", ".env"} & set(changed_files(root, sha))
    # Nothing is lost either: the newest snapshot holds the work in progress.
    snapshot = harness.history.snapshots()[0]
    assert sorted(harness.history.snapshot_files(snapshot)) == ["README.md", "scratch.bin"]
    assert git(root, "show", f"{snapshot.sha}:README.md") == "# half-done work\n"


def test_the_model_is_told_what_the_user_changed_since_its_last_step(harness: Harness) -> None:
    harness.server.script(call("write_file", path="a.txt", content="a\n"))
    agent = harness.agent()
    agent.run(max_steps=1)
    (harness.root / "README.md").write_text("# the user's own words\n")
    harness.server.script(call("finish", summary="ok"))
    agent.run()
    text = all_text(harness.server.requests[-1])
    assert "the user changed these files: README.md" in text
    assert "a.txt" not in text.split("the user changed these files")[1].split(".")[0]
    assert " M README.md" in status(harness.root)  # told, not committed


def test_a_file_the_agent_changes_gets_the_users_version_committed_first(
    harness: Harness,
) -> None:
    root = harness.root
    (root / "README.md").write_text("# demo\nthe user's line\n")
    harness.server.script(
        call("edit_file", path="README.md", old_text="# demo\n", new_text="# Demo\n"),
        call("finish", summary="ok"),
    )
    harness.agent().run()
    step = next(s for s in harness.history.steps() if s.tool == "edit_file")
    user, agent = subjects(root, 3)[2], subjects(root, 3)[1]
    assert user == "User edits: README.md" and agent.startswith("Edit README.md")
    # The agent's commit holds exactly its own change.
    diff = git(root, "show", "--format=", step.sha)
    assert "-# demo" in diff and "+# Demo" in diff and "+the user's line" not in diff
    assert [e.paths for e in harness.of(UserEditsCommitted)] == [["README.md"]]
    record = harness.history.resolve(step.sha).record
    assert record is not None and record.user_edits == ["README.md"]
    harness.history.undo(2)  # the finish step, then the edit
    assert (root / "README.md").read_text() == "# demo\nthe user's line\n"


def test_approval_is_bound_to_the_content_it_showed(harness: Harness) -> None:
    """Reproduction 1: the user edits line 1 while an edit of lines 7-13 waits."""
    root = harness.root
    (root / "textutil.py").write_text(TEXTUTIL)
    git(root, "add", "textutil.py")
    git(root, "commit", "-q", "-m", "textutil")
    old = "".join(f"line {n}\n" for n in range(7, 14))
    new = "".join(f"LINE {n}\n" for n in range(7, 14))
    harness.server.script(
        call("edit_file", path="textutil.py", old_text=old, new_text=new),
        call("finish", summary="ok"),
    )
    shown: list[PendingAction] = []

    def approve(action: PendingAction) -> Approval:
        shown.append(action)
        if action.tool == "edit_file" and len(shown) == 1:
            # The user saves line 1 in their editor while the proposal waits.
            (root / "textutil.py").write_text("line 1 (the user's)\n" + TEXTUTIL[len("line 1\n") :])
        return Approval.approve()

    harness.agent(mode="step", approve=approve).run()
    edits = [a for a in shown if a.tool == "edit_file"]
    assert len(edits) == 2  # shown again against the new content
    assert edits[0].preview.old_text == TEXTUTIL
    assert edits[1].preview.old_text.startswith("line 1 (the user's)\n")
    assert edits[1].preview.new_text.startswith("line 1 (the user's)\n")
    assert any("changed while the proposal waited" in n.message for n in harness.of(Notice))
    assert len([e for e in harness.of(ActionProposed) if e.action.tool == "edit_file"]) == 2
    step = next(s for s in harness.history.steps() if s.tool == "edit_file")
    diff = git(root, "show", "--format=", "--unified=0", step.sha)
    assert "line 1\n" not in diff and "user's" not in diff  # +7 -7 on lines 7-13, only
    assert diff.count("\n+LINE") == 7 and diff.count("\n-line") == 7
    harness.history.undo(2)
    assert (root / "textutil.py").read_text().startswith("line 1 (the user's)\n")
    assert "LINE" not in (root / "textutil.py").read_text()


def test_a_proposal_whose_file_keeps_changing_is_refused(harness: Harness) -> None:
    root = harness.root
    harness.server.script(
        call("write_file", path="README.md", content="agent\n"),
        call("finish", summary="ok"),
    )
    count = 0

    def approve(action: PendingAction) -> Approval:
        nonlocal count
        if action.tool == "write_file":
            count += 1
            (root / "README.md").write_text(f"user edit {count}\n")
        return Approval.approve()

    harness.agent(mode="step", approve=approve).run()
    assert (root / "README.md").read_text() == f"user edit {count}\n"
    assert "kept changing" in all_text(harness.server.requests[-1])
    assert not any(s.tool == "write_file" for s in harness.history.steps())


def test_an_ignored_file_the_agent_overwrites_can_be_recovered(harness: Harness) -> None:
    root = harness.root
    (root / ".gitignore").write_text(".env\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-q", "-m", "ignore .env")
    (root / ".env").write_text("TOKEN=the-users\n")
    harness.server.script(
        call("write_file", path=".env", content="TOKEN=agent\n"),
        call("finish", summary="ok"),
    )
    harness.agent().run()
    assert (root / ".env").read_text() == "TOKEN=agent\n"
    assert ".env" not in git(root, "log", "--branches", "--name-only", "--format=")
    result = cli(root, "recover", "--list")
    assert result.returncode == 0, result.stderr
    assert "ignored files" in result.stdout and ".env" in result.stdout
    number = next(line.split()[0] for line in result.stdout.splitlines() if "ignored files" in line)
    done = cli(root, "recover", number)
    assert done.returncode == 0, done.stderr
    assert (root / ".env").read_text() == "TOKEN=the-users\n"


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, run in the workspace as a user would."""
    return run_cli(*args, cwd=root)


def test_recover_brings_back_a_snapshot_and_saves_what_it_replaces(harness: Harness) -> None:
    root = harness.root
    (root / "README.md").write_text("# version one\n")
    (root / "notes.txt").write_text("my notes\n")
    harness.server.script(call("read_file", path="README.md"), call("finish", summary="ok"))
    harness.agent().run()
    # The user then loses their work (say, `git checkout .` and a deleted file).
    (root / "README.md").write_text("# demo\n")
    (root / "notes.txt").unlink()
    listed = cli(root, "recover", "--list")
    assert listed.returncode == 0, listed.stderr
    assert "README.md" in listed.stdout and "notes.txt" in listed.stdout
    number = listed.stdout.split()[0]
    done = cli(root, "recover", number)
    assert done.returncode == 0, done.stderr
    assert "README.md" in done.stdout
    assert (root / "README.md").read_text() == "# version one\n"
    assert (root / "notes.txt").read_text() == "my notes\n"
    head = git(root, "rev-parse", "HEAD")
    assert git(root, "rev-parse", "HEAD") == head  # nothing committed
    assert " M README.md" in status(root)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("recover", "7"), "There is no snapshot 7"),
        (("recover", "latest"), "not a snapshot number"),
    ],
)
def test_recover_refuses_bad_input_in_one_sentence(
    harness: Harness, args: tuple[str, ...], message: str
) -> None:
    (harness.root / "README.md").write_text("# changed\n")
    harness.history.snapshot("test")
    result = cli(harness.root, *args)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert (harness.root / "README.md").read_text() == "# changed\n"


def test_recover_without_snapshots_says_so(harness: Harness) -> None:
    result = cli(harness.root, "recover", "--list")
    assert result.returncode == 0
    assert "No snapshots" in result.stdout


def user_files(root: Path, names: list[str]) -> dict[str, bytes | None]:
    return {n: (root / n).read_bytes() if (root / n).exists() else None for n in names}


def test_undo_and_redo_of_a_whole_session_keep_the_users_files_byte_for_byte(
    harness: Harness,
) -> None:
    root = harness.root
    (root / ".gitignore").write_text("build/\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-q", "-m", "ignore build/")
    (root / "README.md").write_text("# the user's half-done README\n")
    (root / "notes.txt").write_bytes(b"untracked \xff notes\n")
    (root / "build").mkdir()
    (root / "build" / "out.o").write_bytes(b"\0\1\2")
    (root / "src" / "app.py").write_text("def main():\n    return 2  # the user's\n")
    mine = ["README.md", "notes.txt", "build/out.o"]
    before = user_files(root, [*mine, "src/app.py"])
    harness.server.script(
        call("write_file", path="agent.txt", content="agent\n"),
        call(
            "edit_file",
            path="src/app.py",
            old_text="def main():",
            new_text="def main() -> int:",
        ),
        call("finish", summary="done"),
    )
    assert harness.agent().run().outcome == "finished"
    after = user_files(root, [*mine, "src/app.py"])
    assert {n: after[n] for n in mine} == {n: before[n] for n in mine}
    assert after["src/app.py"] == b"def main() -> int:\n    return 2  # the user's\n"
    harness.history.undo(3)
    assert user_files(root, [*mine, "src/app.py"]) == before  # the user's app.py is back
    assert not (root / "agent.txt").exists()
    harness.history.redo(3)
    assert user_files(root, [*mine, "src/app.py"]) == after
    assert (root / "agent.txt").read_text() == "agent\n"
