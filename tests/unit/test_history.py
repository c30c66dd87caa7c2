"""The history on real git repositories in temp folders: opening, step commits, reading."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.errors import (
    NotAnAgentStep,
    NotARepository,
    WorkspaceNotFound,
)
from autogpt_tui.core.history import History
from tests.conftest import git
from tests.unit.history_support import agent_write, step, write


@pytest.fixture
def history(workspace: Path) -> Iterator[History]:
    h = History.open(workspace)
    yield h
    h.close()


# ----------------------------------------------------------- opening


def test_open_initialises_a_plain_folder_with_a_first_commit(workspace: Path) -> None:
    with History.open(workspace) as h:
        assert (workspace / ".git").is_dir()
        tracked = git(workspace, "ls-files").split()
        assert tracked == ["README.md", "src/app.py"]
        assert git(workspace, "rev-list", "--count", "HEAD").strip() == "1"
        assert git(workspace, "status", "--porcelain") == ""
        assert h.steps() == []


def test_a_first_commit_keeps_secret_looking_files_out(workspace: Path) -> None:
    secrets = {
        ".env": b"KEY=1\n",
        ".env.local": b"KEY=2\n",
        "id_rsa": b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
        "id_ed25519.pub": b"ssh-ed25519 AAAA\n",
        "certs/server.pem": b"pem\n",
        "deep/a/tls.key": b"key\n",
        "store.p12": b"\x00\x01",
        "credentials/aws.json": b"{}\n",
        "secrets.toml": b"x = 1\n",
        ".npmrc": b"//registry:_authToken=t\n",
        "odd [name]*.pfx": b"pfx\n",
    }
    for name, data in secrets.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_bytes(data)
    (workspace / ".gitignore").write_text("ignored.key\n")
    (workspace / "ignored.key").write_text("already ignored by the user\n")
    (workspace / "keys.md").write_text("not a secret by name\n")
    with History.open(workspace) as h:
        kept_out = h.kept_out
        notice = h.kept_out_notice
    assert kept_out == sorted(secrets)
    assert notice is not None and "certs/server.pem" in notice and "ignored.key" not in notice
    tracked = git(workspace, "ls-files").split("\n")
    assert sorted(t for t in tracked if t) == [".gitignore", "README.md", "keys.md", "src/app.py"]
    # They stay on disk as they were, and out of later commits too.
    for name, data in secrets.items():
        assert (workspace / name).read_bytes() == data
    ignored = git(workspace, "check-ignore", "--no-index", "--stdin", input="\n".join(secrets))
    assert sorted(ignored.split("\n")[:-1]) == sorted(secrets)
    assert git(workspace, "status", "--porcelain") == ""


def test_a_folder_without_secrets_has_nothing_kept_out(workspace: Path) -> None:
    with History.open(workspace) as h:
        assert h.kept_out == [] and h.kept_out_notice is None
    assert "autogpt-tui" not in (workspace / ".git" / "info" / "exclude").read_text()


def test_a_plain_folder_is_not_opened_without_create(workspace: Path) -> None:
    before = sorted(str(p) for p in workspace.rglob("*"))
    with pytest.raises(NotARepository, match="is not a git repository"):
        History.open(workspace, create=False)
    assert sorted(str(p) for p in workspace.rglob("*")) == before


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


# ----------------------------------------------------------- commits


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


def test_the_agent_identity_set_on_the_history_authors_steps_and_reverts(history: History) -> None:
    root = history.root
    history.agent_name, history.agent_email = "Robo Coder", "robo@example.com"
    assert (history.agent_name, history.agent_email) == ("Robo Coder", "robo@example.com")
    agent_write(history, 1, "a.txt", "a\n")
    write(root, "mine.txt", "the user's\n")
    history.commit_user_edits()
    history.undo(1)  # a user commit on top: undone by a revert commit
    authors = git(root, "log", "-3", "--format=%an <%ae>|%cn").splitlines()
    # The user (git's fallback identity here: the tests' git config has none) commits.
    user = "autogpt-tui user"
    assert authors == [
        f"Robo Coder <robo@example.com>|{user}",
        f"{user} <user@autogpt-tui.invalid>|{user}",
        f"Robo Coder <robo@example.com>|{user}",
    ]


def test_the_record_is_stored_in_the_repository(history: History) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    record = history.record(s.sha)
    assert record is not None
    assert record.thought == "thinking 1"
    assert record.observation == "done 1"
    assert record.usage.total_tokens == 11
    raw = git(history.root, "notes", "--ref=refs/notes/autogpt-tui/records", "show", s.sha)
    assert json.loads(raw)["tool"] == "write_file"


def test_a_step_and_its_record_land_together(history: History) -> None:
    s = agent_write(history, 1, "a.txt", "a\n")
    reflog = git(history.root, "reflog", "-1", "--format=%gs")
    assert "step 1" in reflog
    assert history.record(s.sha) is not None


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


# ----------------------------------------------------------- reading


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


def test_long_histories_are_read_past_the_first_window(history: History) -> None:
    root = history.root
    for n in range(1, 4):
        agent_write(history, n, f"s{n}.txt", f"{n}\n")
    # Many of the user's own commits between the steps and HEAD.
    for n in range(40):
        git(root, "commit", "-q", "--allow-empty", "-m", f"user {n}")
    assert [s.step for s in history.steps(limit=2)] == [3, 2]
    assert [s.step for s in history.undoable(3)] == [3, 2, 1]


def test_a_step_over_a_name_that_is_not_utf8_commits_and_its_record_reads_back(
    history: History,
) -> None:
    from autogpt_tui.core.records import StepRecord

    raw = os.fsencode(history.root) + b"/caf\xe9.txt"
    with open(raw, "wb") as handle:
        handle.write(b"\xff bytes")
    name = os.fsdecode(b"caf\xe9.txt")  # "caf\udce9.txt", as os.listdir gives it
    commit = history.commit_step(
        session="s1",
        step=1,
        tool="write_file",
        policy="default",
        summary=f"Write {name}",
        record=StepRecord(tool="write_file", arguments={"path": name}, observation=name),
        paths=[name],
    )
    # The step holds exactly the file, bytes of its name and content kept.
    tree = subprocess.run(
        ["git", "-C", str(history.root), "ls-tree", "-z", "--name-only", commit.sha],
        capture_output=True,
        check=True,
    ).stdout
    assert b"caf\xe9.txt\0" in tree
    spec = f"{commit.sha}:".encode() + b"caf\xe9.txt"
    blob = subprocess.run(
        [b"git", b"-C", os.fsencode(history.root), b"cat-file", b"blob", spec],
        capture_output=True,
        check=True,
    ).stdout
    assert blob == b"\xff bytes"
    # The record and the subject show the byte escaped; reading it back works.
    latest = history.resolve(commit.sha)
    assert latest.record is not None
    assert latest.record.observation == "caf\\xe9.txt"
    assert latest.record.arguments == {"path": "caf\\xe9.txt"}
    assert latest.summary == "Write caf\\xe9.txt"
    json.dumps(latest.to_json(), ensure_ascii=False).encode("utf-8")


def test_a_first_commit_that_fails_leaves_no_half_made_repository(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autogpt_tui.core.errors import GitFailure
    from autogpt_tui.core.steps import StepLog

    def fail(self: StepLog, *, take_files: bool) -> list[str]:
        raise GitFailure("git write-tree failed: no space left on device")

    monkeypatch.setattr(StepLog, "make_first_commit", fail)
    with pytest.raises(GitFailure):
        History.open(workspace)
    assert not (workspace / ".git").exists()
    assert sorted(p.name for p in workspace.iterdir()) == ["README.md", "src"]
