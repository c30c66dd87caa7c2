"""The history engine on real git repositories in temp folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.errors import (
    InvalidRating,
    LocalChangesInTheWay,
    NotAnAgentStep,
    NothingToRedo,
    NothingToUndo,
    WorkspaceNotFound,
)
from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepCommit, StepRecord, Usage
from tests.conftest import git


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def step(h: History, n: int, paths: list[str] | None, tool: str = "write_file") -> StepCommit:
    return h.commit_step(
        session="s1",
        step=n,
        tool=tool,
        policy="default",
        summary=f"step {n}",
        record=StepRecord(
            thought=f"thinking {n}",
            tool=tool,
            arguments={"paths": paths},
            observation=f"done {n}",
            usage=Usage(prompt_tokens=10, completion_tokens=n, total_tokens=10 + n),
        ),
        paths=paths,
    )


def agent_write(h: History, n: int, rel: str, text: str) -> StepCommit:
    write(h.root, rel, text)
    return step(h, n, [rel])


def files(root: Path) -> dict[str, bytes]:
    """Every file under root (outside .git) with its bytes, symlinks as their target."""
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            out[rel] = os.readlink(full).encode() if full.is_symlink() else full.read_bytes()
    return out


def state(root: Path) -> tuple[dict[str, bytes], str, str, str]:
    """Everything an operation that "changes nothing" must leave alone."""
    return (
        files(root),
        git(root, "rev-parse", "HEAD"),
        git(root, "status", "--porcelain=v1", "--untracked-files=all", "--ignored"),
        git(root, "diff", "--cached"),
    )


@pytest.fixture
def history(workspace: Path) -> Iterator[History]:
    h = History.open(workspace)
    yield h
    h.close()


# ------------------------------------------------------------------ opening


def test_open_initialises_a_plain_folder_with_a_first_commit(workspace: Path) -> None:
    with History.open(workspace) as h:
        assert (workspace / ".git").is_dir()
        tracked = git(workspace, "ls-files").split()
        assert tracked == ["README.md", "src/app.py"]
        assert git(workspace, "rev-list", "--count", "HEAD").strip() == "1"
        assert git(workspace, "status", "--porcelain") == ""
        assert h.steps() == []


def test_open_keeps_an_existing_repository_and_its_history(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    write(root, "a.txt", "a\n")
    git(root, "add", "a.txt")
    git(root, "commit", "-qm", "user's first")
    head = git(root, "rev-parse", "HEAD")
    with History.open(root) as h:
        assert h.head() + "\n" == head
        assert h.steps() == []


def test_open_gives_an_unborn_repository_an_empty_first_commit_and_keeps_the_index(
    tmp_path: Path,
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    write(root, "staged.txt", "staged\n")
    git(root, "add", "staged.txt")
    with History.open(root):
        assert git(root, "ls-tree", "-r", "HEAD") == ""
        assert git(root, "diff", "--cached", "--name-only").split() == ["staged.txt"]


def test_open_inside_a_subfolder_uses_the_repository_root(workspace: Path) -> None:
    History.open(workspace).close()
    with History.open(workspace / "src") as h:
        assert h.root == workspace.resolve()


def test_open_a_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFound, match="does not exist"):
        History.open(tmp_path / "nope")
    assert not (tmp_path / "nope").exists()


# ------------------------------------------------------------------ commits


def test_a_step_is_one_commit_with_the_contract_trailers(history: History) -> None:
    before = git(history.root, "rev-parse", "HEAD").strip()
    s = agent_write(history, 1, "src/new.py", "print('hi')\n")
    assert git(history.root, "rev-parse", "HEAD").strip() == s.sha
    assert git(history.root, "rev-parse", "HEAD^").strip() == before
    message = git(history.root, "log", "-1", "--format=%B")
    assert message.splitlines()[0] == "step 1"
    trailers = git(history.root, "log", "-1", "--format=%(trailers:only,unfold)").split("\n")[:-2]
    assert trailers == [
        "Agent-Session: s1",
        "Agent-Step: 1",
        "Agent-Tool: write_file",
        "Agent-Policy: default",
    ]
    assert git(history.root, "show", "--name-only", "--format=", "HEAD").split() == ["src/new.py"]
    assert git(history.root, "status", "--porcelain") == ""
    assert git(history.root, "log", "-1", "--format=%an").strip() == "autogpt-tui agent"


def test_the_record_is_stored_in_the_repository(history: History) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    record = history.record(s.sha)
    assert record is not None
    assert record.thought == "thinking 1"
    assert record.observation == "done 1"
    assert record.usage.total_tokens == 11
    raw = git(history.root, "notes", "--ref=refs/notes/autogpt-tui/records", "show", s.sha)
    assert json.loads(raw)["tool"] == "write_file"


def test_a_step_that_changes_nothing_is_an_empty_commit(history: History) -> None:
    s = step(history, 1, [], tool="read_file")
    assert git(history.root, "rev-parse", f"{s.sha}^{{tree}}") == git(
        history.root, "rev-parse", "HEAD^^{tree}"
    )
    assert history.steps()[0].tool == "read_file"


def test_a_step_commits_only_its_paths_and_leaves_the_users_work_alone(history: History) -> None:
    root = history.root
    write(root, "README.md", "# my edit, not staged\n")
    write(root, "notes.txt", "untracked scratch\n")
    write(root, "src/app.py", "def main():\n    return 2\n")
    git(root, "add", "src/app.py")  # staged by the user
    s = agent_write(history, 1, "agent.txt", "from the agent\n")
    assert git(root, "show", "--name-only", "--format=", s.sha).split() == ["agent.txt"]
    status = git(root, "status", "--porcelain=v1", "--untracked-files=all")
    assert " M README.md" in status
    assert "M  src/app.py" in status
    assert "?? notes.txt" in status
    assert "agent.txt" not in status


def test_deletions_new_folders_modes_and_symlinks(history: History) -> None:
    root = history.root
    (root / "README.md").unlink()
    write(root, "deep/er/still/x.txt", "x\n")
    write(root, "run.sh", "#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    (root / "link").symlink_to("src/app.py")
    s = step(history, 1, ["README.md", "deep", "run.sh", "link"])
    listing = git(root, "ls-tree", "-r", s.sha)
    assert "README.md" not in listing
    assert "deep/er/still/x.txt" in listing
    assert "100755 blob" in next(line for line in listing.splitlines() if "run.sh" in line)
    assert "120000 blob" in next(line for line in listing.splitlines() if "link" in line)
    assert git(root, "status", "--porcelain") == ""
    # Removing the last file of a folder removes the folder from the tree.
    shutil.rmtree(root / "deep")
    s2 = step(history, 2, ["deep/er/still/x.txt"])
    assert "deep" not in git(root, "ls-tree", "-r", "--name-only", s2.sha)


def test_new_ignored_files_stay_out_of_a_step(history: History) -> None:
    root = history.root
    write(root, ".gitignore", "build/\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-qm", "ignore build")
    write(root, "build/out.o", "binary")
    write(root, "src/mod.py", "x = 1\n")
    s = step(history, 1, ["build/out.o", "src/mod.py"])
    assert git(root, "show", "--name-only", "--format=", s.sha).split() == ["src/mod.py"]
    assert (root / "build/out.o").read_text() == "binary"


def test_unknown_paths_take_every_change_like_add_all(history: History) -> None:
    root = history.root
    write(root, "made/by/command.txt", "out\n")
    write(root, "README.md", "changed by a command\n")
    s = step(history, 1, None, tool="run_command")
    assert sorted(git(root, "show", "--name-only", "--format=", s.sha).split()) == [
        "README.md",
        "made/by/command.txt",
    ]


def test_paths_outside_the_workspace_or_in_git_are_never_committed(history: History) -> None:
    s = step(history, 1, ["../outside.txt", ".git/config", "/etc/passwd"])
    assert git(history.root, "show", "--name-only", "--format=", s.sha).strip() == ""


def test_user_edits_become_the_users_commit(history: History) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "a\n")
    assert history.commit_user_edits() is None
    write(root, "README.md", "# edited by the user\n")
    write(root, "mine.txt", "new file of the user\n")
    commit = history.commit_user_edits()
    assert commit is not None
    assert commit.paths == ["README.md", "mine.txt"]
    assert git(root, "log", "-1", "--format=%an").strip() != "autogpt-tui agent"
    assert "Agent-Step" not in git(root, "log", "-1", "--format=%B")
    assert [s.step for s in history.steps()] == [1]
    assert git(root, "status", "--porcelain") == ""


def test_user_edits_limited_to_paths_a_watcher_saw(history: History) -> None:
    root = history.root
    write(root, "README.md", "# changed\n")
    write(root, "src/app.py", "# also changed\n")
    commit = history.commit_user_edits(["README.md"])
    assert commit is not None and commit.paths == ["README.md"]
    assert git(root, "status", "--porcelain").strip() == "M src/app.py"


# ------------------------------------------------------------------ reading


def test_steps_are_listed_newest_first_with_ratings_and_undone_marks(history: History) -> None:
    s1 = agent_write(history, 1, "a.txt", "1\n")
    agent_write(history, 2, "b.txt", "2\n")
    agent_write(history, 3, "c.txt", "3\n")
    history.rate(s1.sha, -1, "wrong file")
    history.undo(1)
    listed = history.steps()
    assert [(s.step, s.undone) for s in listed] == [(3, True), (2, False), (1, False)]
    assert listed[2].reward == -1 and listed[2].rating is not None
    assert listed[2].rating.comment == "wrong file"
    assert [s.step for s in history.steps(limit=2)] == [3, 2]


def test_resolve_rejects_what_is_not_an_agent_step(history: History) -> None:
    with pytest.raises(NotAnAgentStep, match="is not an agent step"):
        history.resolve("HEAD")
    with pytest.raises(NotAnAgentStep, match="does not name a commit"):
        history.resolve("no-such-rev")
    with pytest.raises(NotAnAgentStep):
        history.resolve("--all")
    s = agent_write(history, 1, "a.txt", "a\n")
    found = history.resolve(s.sha[:10])
    assert found.sha == s.sha and found.record is not None
    assert "+a" in history.diff(s.sha)


# ------------------------------------------------------------------ ratings


def test_the_latest_rating_wins_and_zero_clears(history: History) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    assert history.rate(s.sha, 1, "good").reward == 1
    assert history.rate(s.sha, -1, "actually no").reward == -1
    assert history.resolve(s.sha).rating is not None
    assert history.rate(s.sha, 0).rating is None
    assert history.steps()[0].reward is None
    assert [e.value for e in history.ratings(s.sha)] == [1, -1, 0]


def test_explicit_ratings_override_implicit_ones(history: History) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    history.rate(s.sha, -1, "undone", source="undo")
    history.rate(s.sha, 1, "it was fine")
    history.rate(s.sha, -1, "rejected later", source="reject")
    assert history.resolve(s.sha).reward == 1


def test_bad_ratings_change_nothing(history: History) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    before = git(history.root, "for-each-ref")
    with pytest.raises(InvalidRating):
        history.rate(s.sha, 2)
    with pytest.raises(NotAnAgentStep):
        history.rate("HEAD^", 1)
    assert git(history.root, "for-each-ref") == before


def test_a_copy_of_the_folder_carries_records_and_ratings(history: History, tmp_path: Path) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    history.rate(s.sha, 1, "nice")
    copy = tmp_path / "copy"
    shutil.copytree(history.root, copy, symlinks=True)
    with History.open(copy) as other:
        found = other.resolve(s.sha)
        assert found.reward == 1 and found.record is not None
        assert found.record.thought == "thinking 1"


# ------------------------------------------------------------------ undo/redo


def dirty_the_users_work(root: Path) -> None:
    """Uncommitted, partially staged, untracked and ignored work of the user's."""
    write(root, ".gitignore", "*.log\nsecret/\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-qm", "user: ignore logs")
    write(root, "README.md", "# staged version\n")
    git(root, "add", "README.md")
    write(root, "README.md", "# working version, differs from the staged one\n")
    write(root, "scratch.txt", "untracked\n")
    write(root, "debug.log", "ignored\n")
    write(root, "secret/key.txt", "ignored too\n")


def test_undo_and_redo_keep_every_byte_of_the_users_work(history: History) -> None:
    root = history.root
    agent_write(history, 1, "src/feature.py", "v1\n")
    s2 = agent_write(history, 2, "src/app.py", "def main():\n    return 42\n")
    dirty_the_users_work(root)
    s3 = agent_write(history, 3, "src/feature.py", "v2\n")
    user_files = {k: v for k, v in files(root).items() if k not in ("src/feature.py", "src/app.py")}
    staged = git(root, "diff", "--cached")

    undone = history.undo(1)
    assert [s.sha for s in undone] == [s3.sha]
    assert (root / "src/feature.py").read_text() == "v1\n"
    assert git(root, "rev-parse", "HEAD").strip() == git(root, "rev-parse", f"{s3.sha}^").strip()

    def users_work_intact() -> None:
        now = files(root)
        assert {k: now[k] for k in user_files} == user_files
        assert git(root, "diff", "--cached") == staged

    users_work_intact()
    # The user commit sits between step 2 and step 3, so step 2 is undone by a revert.
    history.undo(1)
    assert (root / "src/app.py").read_text() == "def main():\n    return 1\n"
    assert s2.sha in git(root, "log", "-1", "--format=%B")
    users_work_intact()

    history.redo(1)
    assert (root / "src/app.py").read_text() == "def main():\n    return 42\n"
    users_work_intact()
    history.redo(1)
    assert (root / "src/feature.py").read_text() == "v2\n"
    assert git(root, "rev-parse", "HEAD").strip() == s3.sha
    users_work_intact()
    assert [(s.step, s.undone) for s in history.steps()] == [(3, False), (2, False), (1, False)]


def test_undo_keeps_undone_steps_reachable_and_redo_restores_the_same_commits(
    history: History,
) -> None:
    root = history.root
    steps = [agent_write(history, n, f"f{n}.txt", f"{n}\n") for n in (1, 2, 3)]
    history.undo(3)
    git(root, "gc", "-q", "--prune=now")
    assert not (root / "f1.txt").exists()
    assert history.redo_depth() == 3
    assert [s.undone for s in history.steps()] == [True, True, True]
    redone = history.redo(2)
    assert [s.sha for s in redone] == [steps[0].sha, steps[1].sha]
    assert (root / "f2.txt").exists() and not (root / "f3.txt").exists()
    history.redo(1)
    assert git(root, "rev-parse", "HEAD").strip() == steps[2].sha
    assert git(root, "for-each-ref", "refs/autogpt-tui/") == ""


def test_undo_refuses_to_touch_a_file_the_user_changed_and_changes_nothing(
    history: History,
) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "agent\n")
    write(root, "a.txt", "agent\nplus the user's line\n")
    before = state(root)
    with pytest.raises(LocalChangesInTheWay, match=r"uncommitted changes in a\.txt"):
        history.undo(1)
    assert state(root) == before


def test_undo_refuses_to_overwrite_an_untracked_file_in_the_way(history: History) -> None:
    root = history.root
    (root / "README.md").unlink()
    step(history, 1, ["README.md"])
    write(root, "README.md", "the user's new readme\n")  # untracked now
    before = state(root)
    with pytest.raises(LocalChangesInTheWay, match=r"README\.md"):
        history.undo(1)
    assert state(root) == before


def test_a_merely_touched_file_does_not_block_undo(history: History) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "agent\n")
    os.utime(root / "a.txt", (1, 1))
    history.undo(1)
    assert not (root / "a.txt").exists()


def test_undo_past_the_first_step_changes_nothing(history: History) -> None:
    agent_write(history, 1, "a.txt", "a\n")
    agent_write(history, 2, "b.txt", "b\n")
    before = state(history.root)
    with pytest.raises(NothingToUndo, match="Only 2 steps can be undone, not 3"):
        history.undo(3)
    assert state(history.root) == before
    history.undo(2)
    with pytest.raises(NothingToUndo, match="There is no step to undo"):
        history.undo(1)


def test_redo_with_nothing_to_redo_changes_nothing(history: History) -> None:
    agent_write(history, 1, "a.txt", "a\n")
    before = state(history.root)
    with pytest.raises(NothingToRedo, match="nothing to redo"):
        history.redo(1)
    assert state(history.root) == before


def test_a_multi_step_undo_is_all_or_nothing(history: History) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "a\n")
    agent_write(history, 2, "b.txt", "b\n")
    agent_write(history, 3, "c.txt", "c\n")
    write(root, "a.txt", "the user changed it\n")  # blocks undoing step 1 only
    before = state(root)
    with pytest.raises(LocalChangesInTheWay):
        history.undo(3)
    assert state(root) == before
    assert history.redo_depth() == 0


def test_a_new_step_after_undo_clears_redo_but_keeps_the_undone_step_visible(
    history: History,
) -> None:
    agent_write(history, 1, "a.txt", "a\n")
    s2 = agent_write(history, 2, "b.txt", "b\n")
    history.undo(1)
    agent_write(history, 3, "c.txt", "c\n")
    with pytest.raises(NothingToRedo):
        history.redo(1)
    listed = {s.sha: s for s in history.steps()}
    assert listed[s2.sha].undone
    assert history.resolve(s2.sha).undone


def test_undo_merges_around_the_users_later_edits_to_the_same_file(history: History) -> None:
    root = history.root
    write(root, "src/app.py", "".join(f"line {i}\n" for i in range(20)))
    history.commit_user_edits()
    text = (root / "src/app.py").read_text().replace("line 2\n", "line 2 by agent\n")
    agent_write(history, 1, "src/app.py", text)
    write(root, "src/app.py", text.replace("line 17\n", "line 17 by user\n"))
    history.commit_user_edits()
    history.undo(1)
    result = (root / "src/app.py").read_text()
    assert "line 2\n" in result and "by agent" not in result
    assert "line 17 by user\n" in result


def test_undo_that_conflicts_with_the_users_later_commit_changes_nothing(
    history: History,
) -> None:
    root = history.root
    agent_write(history, 1, "README.md", "agent line\n")
    write(root, "README.md", "user rewrote the agent line\n")
    history.commit_user_edits()
    before = state(root)
    with pytest.raises(LocalChangesInTheWay, match=r"same lines of README\.md"):
        history.undo(1)
    assert state(root) == before


def test_undo_and_redo_on_a_detached_head(history: History) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "a\n")
    git(root, "checkout", "-q", "--detach")
    s2 = agent_write(history, 2, "b.txt", "b\n")
    assert git(root, "rev-parse", "HEAD").strip() == s2.sha
    history.undo(1)
    assert not (root / "b.txt").exists()
    history.redo(1)
    assert (root / "b.txt").read_text() == "b\n"
    assert git(root, "rev-parse", "HEAD").strip() == s2.sha


def test_steps_on_a_branch_with_the_users_own_history_and_merges(history: History) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "a\n")
    git(root, "checkout", "-q", "-b", "side")
    write(root, "side.txt", "side\n")
    git(root, "add", "side.txt")
    git(root, "commit", "-qm", "user on a side branch")
    git(root, "checkout", "-q", "-")
    agent_write(history, 2, "b.txt", "b\n")
    git(root, "merge", "-q", "--no-edit", "side")
    agent_write(history, 3, "c.txt", "c\n")
    assert [s.step for s in history.steps()] == [3, 2, 1]
    history.undo(2)  # step 3 by moving back, step 2 by a revert under the merge
    assert not (root / "c.txt").exists() and not (root / "b.txt").exists()
    assert (root / "side.txt").exists()


def test_undo_refuses_when_only_the_index_holds_the_users_version(history: History) -> None:
    root = history.root
    agent_write(history, 1, "a.txt", "agent\n")
    write(root, "a.txt", "the user's staged version\n")
    git(root, "add", "a.txt")
    write(root, "a.txt", "agent\n")  # the working tree is back to HEAD; the index is not
    before = state(root)
    with pytest.raises(LocalChangesInTheWay, match=r"a\.txt"):
        history.undo(1)
    assert state(root) == before
    assert git(root, "show", ":a.txt") == "the user's staged version\n"


def test_undo_refuses_a_mode_change_and_a_deleted_file(history: History) -> None:
    root = history.root
    agent_write(history, 1, "run.sh", "echo hi\n")
    (root / "run.sh").chmod(0o755)
    with pytest.raises(LocalChangesInTheWay, match=r"run\.sh"):
        history.undo(1)
    (root / "run.sh").chmod(0o644)
    (root / "run.sh").unlink()
    with pytest.raises(LocalChangesInTheWay, match=r"run\.sh"):
        history.undo(1)


def test_long_histories_are_read_past_the_first_window(history: History) -> None:
    root = history.root
    for n in range(1, 4):
        agent_write(history, n, f"s{n}.txt", f"{n}\n")
    # Many of the user's own commits between the steps and HEAD.
    for n in range(40):
        git(root, "commit", "-q", "--allow-empty", "-m", f"user {n}")
    assert [s.step for s in history.steps(limit=2)] == [3, 2]
    assert [s.step for s in history.undoable(3)] == [3, 2, 1]


def test_attributes_and_filters_are_honoured_when_hashing(history: History) -> None:
    root = history.root
    write(root, ".gitattributes", "*.txt text eol=lf\n")
    git(root, "add", ".gitattributes")
    git(root, "commit", "-qm", "attributes")
    (root / "dos.txt").write_bytes(b"line one\r\nline two\r\n")
    s = step(history, 1, ["dos.txt"])
    assert git(root, "cat-file", "-p", f"{s.sha}:dos.txt") == "line one\nline two\n"
    assert git(root, "status", "--porcelain") == ""
    (root / "plain.bin").write_bytes(b"a\r\nb\r\n")  # no attribute applies: stored as is
    s2 = step(history, 2, ["plain.bin"])
    raw = subprocess.run(
        ["git", "cat-file", "blob", f"{s2.sha}:plain.bin"], cwd=root, capture_output=True
    ).stdout
    assert raw == b"a\r\nb\r\n"


def test_records_are_real_git_notes(history: History) -> None:
    root = history.root
    s = agent_write(history, 1, "a.txt", "a\n")
    shown = git(root, "notes", "--ref=refs/notes/autogpt-tui/records", "show", s.sha)
    assert json.loads(shown)["thought"] == "thinking 1"
    logged = git(root, "log", "-1", "--notes=refs/notes/autogpt-tui/records", "--format=%N")
    assert "thinking 1" in logged
    # A note git itself wrote (flat layout) is replaced, not doubled, by ours.
    git(root, "notes", "--ref=refs/notes/autogpt-tui/ratings", "add", "-m", "[]", s.sha)
    history.rate(s.sha, 1, "fine")
    listed = git(root, "notes", "--ref=refs/notes/autogpt-tui/ratings", "list").splitlines()
    assert len(listed) == 1
    assert history.resolve(s.sha).reward == 1


def test_a_step_and_its_record_land_together(history: History) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    reflog = git(history.root, "reflog", "-1", "--format=%gs")
    assert "step 1" in reflog
    assert history.record(s.sha) is not None


def test_undo_is_an_implicit_minus_one_unless_the_user_rated(history: History) -> None:
    s1 = agent_write(history, 1, "a.txt", "a\n")
    s2 = agent_write(history, 2, "b.txt", "b\n")
    history.rate(s1.sha, 1, "good")
    history.undo(2)
    listed = {s.sha: s for s in history.steps()}
    rating = listed[s2.sha].rating
    assert rating is not None and rating.value == -1 and rating.source == "undo"
    assert listed[s1.sha].reward == 1  # the user's rating wins
    history.redo(1)
    history.redo(1)
    assert history.resolve(s2.sha).reward is None  # redo takes the judgement back
    history.rate(s2.sha, 1)
    assert history.resolve(s2.sha).reward == 1


def test_an_ignored_folder_inside_a_repository_gets_its_own(tmp_path: Path) -> None:
    outer = tmp_path / "project"
    outer.mkdir()
    git(outer, "init", "-q")
    write(outer, ".gitignore", "/workspace/\n")
    git(outer, "add", ".gitignore")
    git(outer, "commit", "-qm", "ignore the workspace")
    (outer / "workspace").mkdir()
    write(outer, "workspace/notes.txt", "mine\n")
    with History.open(outer / "workspace") as h:
        assert h.root == (outer / "workspace").resolve()
        assert (outer / "workspace" / ".git").is_dir()
        assert git(outer / "workspace", "ls-files").split() == ["notes.txt"]
    assert git(outer, "status", "--porcelain") == ""
    # A tracked subfolder still belongs to the enclosing repository.
    (outer / "src").mkdir()
    write(outer, "src/app.py", "x = 1\n")
    git(outer, "add", "src/app.py")
    git(outer, "commit", "-qm", "src")
    with History.open(outer / "src") as h:
        assert h.root == outer.resolve()
