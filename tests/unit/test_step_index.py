"""The step index agrees with a full walk of the history, whatever happened to the branch.

Every check compares what History lists through the index with what a full walk of a
copy of the repository lists (the copy has no index, so it walks as before the index
existed), so a stale or wrong index cannot hide behind its own answers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core import steps as steps_module
from autogpt_tui.core.history import History
from autogpt_tui.core.journal import Journal
from autogpt_tui.core.records import Rating, StepCommit
from autogpt_tui.core.step_index import INDEX_REFS, StepIndex
from tests.conftest import git
from tests.unit.history_support import agent_write, step, write
from tests.unit.test_journal import journal_left_by_a_crash

View = list[tuple[str, int, bool, Rating | None]]


@pytest.fixture
def history(workspace: Path) -> Iterator[History]:
    h = History.open(workspace)
    yield h
    h.close()


def view(steps: list[StepCommit]) -> View:
    return [(s.sha, s.step, s.undone, s.rating) for s in steps]


def full_walk(root: Path, tmp: Path) -> View:
    """What a full walk lists: steps() on a copy of the repository without any index."""
    copy = tmp / "copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, symlinks=True)
    for ref in git(copy, "for-each-ref", "--format=%(refname)", INDEX_REFS).split():
        git(copy, "update-ref", "-d", ref)
    with History.open(copy) as h:
        return view(h.steps())


def index_head(history: History) -> str | None:
    """The HEAD the current branch's index ref describes (None: no index ref)."""
    top = StepIndex(history._repository, history._objects).top()
    return top.head if top else None


def usable_head(history: History) -> str | None:
    """The HEAD of the index a listing would use: the ref's, or a reader's rebuild."""
    top = history._steps.usable_index(head(history.root), records=False)[2]
    return top.head if top else None


def index_refs(root: Path) -> str:
    return git(root, "for-each-ref", INDEX_REFS)


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def check(history: History, tmp: Path) -> View:
    """The listing through the index equals the full walk's, limited ones included, and
    each step resolves with the same undone mark."""
    listed = view(history.steps())
    assert listed == full_walk(history.root, tmp)
    for limit in (1, 2, 3):
        assert view(history.steps(limit)) == listed[:limit]
    for sha, _, undone, _ in listed:
        assert history.resolve(sha).undone == undone
    return listed


def test_a_new_workspace_starts_with_an_empty_index(history: History) -> None:
    assert index_head(history) == head(history.root)
    assert history.steps() == []


def test_steps_undo_redo_and_user_commits_keep_the_index_in_step(
    history: History, tmp_path: Path
) -> None:
    root = history.root
    for n in (1, 2, 3):
        agent_write(history, n, f"f{n}.txt", f"{n}\n")
        # Written with the step, in its transaction: it describes the new HEAD already.
        assert index_head(history) == head(root)
    assert [s[1] for s in check(history, tmp_path)] == [3, 2, 1]

    history.undo(1)  # HEAD was the step: the branch moves back
    assert index_head(history) == head(root)
    check(history, tmp_path)

    write(root, "mine.txt", "mine\n")  # the user commits with git, outside the tool
    git(root, "add", "mine.txt")
    git(root, "commit", "-qm", "the user's own commit")
    check(history, tmp_path)  # the index still holds: one commit on top of its HEAD

    agent_write(history, 4, "f4.txt", "4\n")  # picks up the user's commit on the way
    assert index_head(history) == head(root)
    history.undo(2)  # step 4 by a reset, then step 2 by a revert commit
    assert index_head(history) == head(root)
    assert [(s[1], s[2]) for s in check(history, tmp_path)] == [
        (4, True),
        (3, True),
        (2, True),
        (1, False),
    ]

    history.redo(1)  # step 2 back: its revert commit is dropped
    assert index_head(history) == head(root)
    check(history, tmp_path)

    write(root, "f1.txt", "the user's edit\n")
    assert history.commit_user_edits(["f1.txt"]) is not None
    assert index_head(history) == head(root)
    agent_write(history, 5, "f5.txt", "5\n")
    history.rate(head(root), 1)
    history.undo(1)
    agent_write(history, 6, "f6.txt", "6\n")  # the redo stack is emptied; 5 stays undone
    listed = check(history, tmp_path)
    assert [(s[1], s[2]) for s in listed][:2] == [(6, False), (5, True)]
    rating = listed[1][3]
    assert rating is not None and rating.value == 1  # the rating came through the index's read


def test_an_amend_a_reset_and_a_rebase_by_the_user_are_detected_and_rebuilt(
    history: History, tmp_path: Path
) -> None:
    root = history.root
    for n in range(1, 6):
        agent_write(history, n, f"f{n}.txt", f"{n}\n")
    git(root, "commit", "-q", "--amend", "-m", "step 5, amended by the user")
    refs = index_refs(root)
    listed = check(history, tmp_path)
    assert [s[1] for s in listed] == [4, 3, 2, 1]  # the amended commit has no trailers
    assert usable_head(history) == head(root)  # rebuilt by the walk...
    assert index_refs(root) == refs  # ...and kept aside: reading moves no ref

    git(root, "reset", "-q", "--hard", "HEAD~2")
    assert [s[1] for s in check(history, tmp_path)] == [3, 2, 1]  # 4 is not shown

    agent_write(history, 4, "g4.txt", "4\n")
    agent_write(history, 5, "g5.txt", "5\n")
    # Drop step 4 by rebasing step 5 onto step 3: step 5 is copied, trailers and all.
    old5 = head(root)
    git(root, "rebase", "-q", "--onto", "HEAD~2", "HEAD~1")
    listed = check(history, tmp_path)
    assert [s[1] for s in listed] == [5, 3, 2, 1]
    assert listed[0][0] != old5
    # An index holds again: the one rebuilt after the reset, with the copied step on top.
    assert usable_head(history) in (head(root), listed[1][0])
    agent_write(history, 6, "g6.txt", "6\n")  # the step takes up the rebuilt index
    assert index_head(history) == head(root)
    check(history, tmp_path)


def test_a_missing_or_damaged_index_is_rebuilt(history: History, tmp_path: Path) -> None:
    root = history.root
    for n in (1, 2, 3):
        agent_write(history, n, f"f{n}.txt", f"{n}\n")
    ref = git(root, "for-each-ref", "--format=%(refname)", INDEX_REFS).split()
    assert ref == ["refs/autogpt-tui/index/" + git(root, "symbolic-ref", "HEAD").strip()[5:]]
    git(root, "update-ref", "-d", ref[0])  # an old repository, made before the index
    agent_write(history, 4, "f4.txt", "4\n")  # no index: the step writes none
    assert index_head(history) is None
    assert [s[1] for s in check(history, tmp_path)] == [4, 3, 2, 1]
    assert index_head(history) is None and usable_head(history) == head(root)
    agent_write(history, 5, "f5.txt", "5\n")
    assert index_head(history) == head(root)

    # An index ref naming something that is not a node is ignored, then replaced.
    blob = git(root, "hash-object", "-w", "--stdin", input="not an index\n").strip()
    git(root, "update-ref", ref[0], blob)
    (root / ".git" / "autogpt-tui" / "step-index.json").unlink()
    assert [s[1] for s in check(history, tmp_path)] == [5, 4, 3, 2, 1]
    assert usable_head(history) == head(root)
    history.undo(1)
    assert index_head(history) == head(root)

    # maintain() rebuilds it too, off the step path.
    git(root, "update-ref", "-d", ref[0])
    history.maintain()
    assert index_head(history) == head(root)


@pytest.mark.parametrize(
    ("checkpoint", "operation"),
    [
        ("step:objects", "step"),
        ("step:journal", "step"),
        ("step:refs", "step"),
        ("undo:journal", "undo"),
        ("undo:refs", "undo"),
    ],
)
def test_a_crash_between_writing_and_moving_refs_leaves_an_index_that_agrees(
    history: History,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    checkpoint: str,
    operation: str,
) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "one\n")
    agent_write(history, 2, "a.txt", "two\n")
    write(root, "b.txt", "agent's b\n")

    def act() -> object:
        return step(history, 3, ["b.txt"]) if operation == "step" else history.undo(1)

    if checkpoint.endswith(":objects"):
        # Killed before the journal: only unreferenced objects were written.
        class Killed(BaseException):
            pass

        def crash(name: str) -> None:
            if name == checkpoint:
                raise Killed

        monkeypatch.setattr(Journal, "run", lambda self, intent: crash(checkpoint))
        with pytest.raises(Killed):
            act()
        monkeypatch.undo()
    else:
        journal_left_by_a_crash(history, monkeypatch, checkpoint, act)
    with History.open(root) as reopened:
        listed = view(reopened.steps())
        assert listed == full_walk(root, tmp_path)
        expected = {
            "step:objects": [(2, False), (1, False)],
            "step:journal": [(3, False), (2, False), (1, False)],
            "step:refs": [(3, False), (2, False), (1, False)],
            "undo:journal": [(2, True), (1, False)],
            "undo:refs": [(2, True), (1, False)],
        }[checkpoint]
        assert [(s[1], s[2]) for s in listed] == expected
        assert usable_head(reopened) == head(root)


def test_listing_a_few_steps_reads_only_the_index_not_the_history(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "one\n")
    ordinary_commits(root, 200)
    for n in (2, 3, 4):
        agent_write(history, n, f"f{n}.txt", f"{n}\n")
    history.steps(2)  # the user's commits are not listed: the index is rebuilt once
    revs: list[tuple[str, ...]] = []
    real = steps_module.StepLog.log_entries

    def spy(self: steps_module.StepLog, *args: str, **kwargs: object) -> object:
        revs.append(args)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(steps_module.StepLog, "log_entries", spy)
    assert [s.step for s in history.steps(2)] == [4, 3]
    assert [s.step for s in history.steps(50)] == [4, 3, 2, 1]
    # Only the listed commits were read (`--no-walk`), never a walk from HEAD.
    assert revs and all(args[0] == "--no-walk=unsorted" for args in revs)
    assert all(len(args) <= 5 for args in revs)
    monkeypatch.undo()
    assert view(history.steps()) == full_walk(root, tmp_path)


def test_log_n_on_a_sparse_history_through_the_cli(workspace: Path, tmp_path: Path) -> None:
    with History.open(workspace) as h:
        agent_write(h, 1, "a.txt", "one\n")
    ordinary_commits(workspace, 300)
    with History.open(workspace) as h:
        for n in (2, 3):
            agent_write(h, n, f"f{n}.txt", f"{n}\n")
    for _ in range(2):  # the first run rebuilds the index, the second reads it
        out = subprocess.run(
            [*cli(), "log", str(workspace), "--json", "-n", "2"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert [entry["step"] for entry in json.loads(out)] == [3, 2]
    with History.open(workspace) as h:
        assert usable_head(h) == head(workspace)
        assert [s[1] for s in view(h.steps(50))] == [3, 2, 1]
        assert view(h.steps()) == full_walk(workspace, tmp_path)


def test_maintain_packs_the_steps_and_git_still_reads_their_notes(
    history: History,
) -> None:
    root = history.root
    for n in range(1, 80):
        agent_write(history, n, f"f{n % 7}.txt", f"{n}\n")
    history.maintain()
    counts = dict(
        line.split(": ") for line in git(root, "count-objects", "-v").splitlines() if line
    )
    assert counts["count"] == "0"  # no loose object left
    # The index's single-step nodes were folded into one list node.
    assert "l" in git(root, "ls-tree", "--name-only", "-r", index_ref(root)).split()
    assert [s.step for s in history.steps(3)] == [79, 78, 77]
    assert history.resolve(head(root)).record is not None
    notes = git(root, "log", "-1", "--format=%N", "--notes=autogpt-tui/records")
    assert json.loads(notes)["thought"] == "thinking 79"
    subprocess.run(["git", "fsck", "--no-progress"], cwd=root, check=True, capture_output=True)


# ------------------------------------------------------------------ helpers


def index_ref(root: Path) -> str:
    return "refs/autogpt-tui/index/" + git(root, "symbolic-ref", "HEAD").strip()[5:]


def ordinary_commits(root: Path, count: int) -> None:
    """``count`` commits by the user, one file changed each, made with `git fast-import`."""
    branch = git(root, "symbolic-ref", "HEAD").strip()
    parent = head(root)
    lines = []
    for n in range(count):
        data = f"line {n}\n"
        lines += [
            f"commit {branch}",
            f"committer Test User <user@example.com> {1_700_000_000 + n} +0000",
            f"data {len(f'commit {n:05d}')}",
            f"commit {n:05d}",
        ]
        if n == 0:
            lines.append(f"from {parent}")
        lines += [f"M 100644 inline user/u{n % 10}.txt", f"data {len(data)}", data]
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=root,
        input="\n".join(lines) + "\n",
        text=True,
        check=True,
    )
    git(root, "reset", "-q", "--hard")


def cli() -> list[str]:
    return [sys.executable, "-m", "autogpt_tui"]
