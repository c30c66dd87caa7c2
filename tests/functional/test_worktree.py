"""Sessions in their own worktree: ``run --worktree``, ``land`` (as they are, replayed,
squashed, refused), ``discard``, and the history commands on a worktree session, in real
repositories in temporary folders, as a user would run them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.journal import CHECKPOINTS
from autogpt_tui.core.records import StepRecord
from autogpt_tui.core.steps import UNDONE_REFS
from autogpt_tui.core.worktree import describe_worktree, start_worktree
from tests.conftest import git
from tests.functional.test_cli import assert_one_sentence, cli
from tests.functional.test_run_cli import call, events, run
from tests.support.scripted_llm import ScriptedLLM
from tests.support.steps import commit_write_step

SESSION = "wt1234abcd"
"""The worktree session the CLI tests make by hand (ids are random otherwise)."""


def checkout_state(root: Path) -> dict[str, str]:
    """Every file of the user's checkout hashed (its own .git left out: the worktree and
    its refs live there), with HEAD, the branch and the index's bytes."""
    hashes = {}
    for folder, dirs, files in os.walk(root):
        if Path(folder) == root:
            dirs.remove(".git")
        for name in files:
            path = Path(folder) / name
            hashes[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    hashes["<HEAD>"] = (root / ".git" / "HEAD").read_text()
    hashes["<head commit>"] = git(root, "rev-parse", "HEAD")
    hashes["<index>"] = hashlib.sha256((root / ".git" / "index").read_bytes()).hexdigest()
    return hashes


@pytest.fixture
def repo(workspace: Path) -> Path:
    """A repository with a commit of the user's, an ignored file, an uncommitted edit
    and an untracked file."""
    (workspace / ".gitignore").write_text("*.log\n")
    with History.open(workspace):
        pass  # makes the repository and its first commit
    (workspace / "debug.log").write_text("ignored\n")
    (workspace / "README.md").write_text("# demo\n\nmy uncommitted edit\n")
    (workspace / "scratch.txt").write_text("untracked\n")
    return workspace


def make_steps(worktree: Path, session: str, numbers: range) -> None:
    """Commit one write_file step per number in ``worktree``, as the agent would."""
    with History.open(worktree, create=False) as history:
        for n in numbers:
            commit_write_step(
                history,
                session=session,
                step=n,
                path=f"step{n}.txt",
                content=f"step {n}\n",
                goal="Write the step files",
            )


@pytest.fixture
def session_worktree(repo: Path) -> Path:
    """``repo`` with a worktree session of two steps; the worktree's folder."""
    with History.open(repo, create=False) as history:
        worktree = start_worktree(history, SESSION)
    make_steps(worktree.path, SESSION, range(1, 3))
    return worktree.path


def test_run_worktree_leaves_the_checkout_byte_for_byte_and_lands(
    repo: Path, llm_server: ScriptedLLM
) -> None:
    before = checkout_state(repo)
    llm_server.script(
        call("write_file", path="hello.py", content="print('hello')\n"),
        call("edit_file", path="README.md", old_text="# demo", new_text="# demo app"),
        call("finish", summary="hello.py written"),
    )
    result = run(
        str(repo), "--worktree", "--goal", "Write hello.py",
        "--base-url", llm_server.base_url, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = events(result)
    session = next(e["session"] for e in lines if e["type"] == "session")
    notice = next(
        e["message"] for e in lines if e["type"] == "notice" and "worktree" in e["message"]
    )
    assert f"branch autogpt-tui/{session}" in notice and "1 uncommitted change" not in notice
    assert "uncommitted changes stay in your checkout" in notice
    assert checkout_state(repo) == before  # not a byte of the checkout changed
    worktree = repo / ".git" / "autogpt-tui" / "worktrees" / session
    assert (worktree / "hello.py").read_text() == "print('hello')\n"
    # The agent started from the last commit: the user's edit was not copied.
    assert (worktree / "README.md").read_text() == "# demo app\n"
    assert not (worktree / "scratch.txt").exists() and not (worktree / "debug.log").exists()
    branch_log = git(
        repo, "log", "--format=%(trailers:key=Agent-Step,valueonly)", f"autogpt-tui/{session}"
    )
    assert branch_log.split() == ["3", "2", "1"]

    listed = cli("sessions", str(repo))
    assert listed.returncode == 0, listed.stderr
    assert f"branch autogpt-tui/{session}" in listed.stdout and "Write hello.py" in listed.stdout
    data = json.loads(cli("sessions", str(repo), "--json").stdout)
    mine = next(s for s in data if s["id"] == session)
    assert mine["branch"] == f"autogpt-tui/{session}" and mine["steps"] == 3
    assert mine["worktree"] == str(worktree)

    # The user's README edit is in the way of the agent's: refused, nothing changed.
    refused = cli("land", str(repo))
    assert_one_sentence(
        refused, 1, "would overwrite your uncommitted or untracked files (README.md)"
    )
    assert checkout_state(repo) == before

    (repo / "README.md").write_text("# demo\n")  # the user puts their edit away
    kept = checkout_state(repo)
    landed = cli("land", str(repo))
    assert landed.returncode == 0, landed.stderr
    assert "Landed 3 steps" in landed.stdout and "fast-forward" in landed.stdout
    assert git(repo, "rev-parse", "HEAD") == git(repo, "rev-parse", f"autogpt-tui/{session}")
    assert (repo / "hello.py").read_text() == "print('hello')\n"
    assert (repo / "scratch.txt").read_text() == "untracked\n"
    assert (repo / "debug.log").read_text() == "ignored\n"
    assert git(repo, "status", "--porcelain") == "?? scratch.txt\n"
    log = json.loads(cli("log", str(repo), "--json").stdout)
    assert [(e["session"], e["step"]) for e in log[:3]] == [
        (session, 3),
        (session, 2),
        (session, 1),
    ]
    assert kept["scratch.txt"] == checkout_state(repo)["scratch.txt"]


def test_land_replays_the_steps_on_a_branch_that_moved_with_their_records(
    repo: Path, session_worktree: Path
) -> None:
    git(repo, "add", "README.md")
    git(repo, "commit", "-qm", "The user's own work")
    user_head = git(repo, "rev-parse", "HEAD").strip()
    result = cli("land", str(repo), SESSION[:4])
    assert result.returncode == 0, result.stderr
    assert "Landed 2 steps" in result.stdout and "replayed" in result.stdout
    messages = git(repo, "log", "--format=%B%x00", f"{user_head}..HEAD").split("\0")
    assert [m.strip().splitlines()[0] for m in messages if m.strip()] == [
        "Write step2.txt",
        "Write step1.txt",
    ]
    assert f"Agent-Session: {SESSION}\nAgent-Step: 2\nAgent-Tool: write_file" in messages[0]
    assert git(repo, "rev-parse", "HEAD~2").strip() == user_head
    shown = json.loads(cli("show", str(repo), "HEAD", "--json").stdout)
    assert shown["record"]["observation"] == "Wrote it."  # the record came along
    assert (repo / "step2.txt").read_text() == "step 2\n"
    assert (repo / "scratch.txt").exists() and (repo / "debug.log").exists()
    again = cli("land", str(repo))
    assert_one_sentence(again, 1, f"Session {SESSION} has nothing new to land.")


def test_land_squash_is_one_commit_whose_trailers_list_the_steps(
    repo: Path, session_worktree: Path
) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    steps = git(repo, "rev-list", "--reverse", f"{head}..autogpt-tui/{SESSION}").split()
    result = cli("land", str(repo), "--squash")
    assert result.returncode == 0, result.stderr
    assert "squashed" in result.stdout
    assert git(repo, "rev-parse", "HEAD~1").strip() == head
    message = git(repo, "log", "-1", "--format=%B")
    assert message.splitlines()[0] == f"Land session {SESSION}: Write the step files"
    assert "- step 1: Write step1.txt\n- step 2: Write step2.txt" in message
    assert message.rstrip().endswith(
        f"Agent-Session: {SESSION}\n"
        f"Agent-Landed-Step: 1 {steps[0]}\n"
        f"Agent-Landed-Step: 2 {steps[1]}"
    )
    assert "Agent-Step:" not in message  # the user's commit, not a step undo takes back
    assert git(repo, "diff", "--stat", "HEAD~1", "HEAD").count("step") == 2
    assert (repo / "README.md").read_text().endswith("my uncommitted edit\n")


@pytest.mark.parametrize("moved", [False, True], ids=["fast-forward", "replay"])
def test_land_refuses_a_conflict_with_uncommitted_work_and_changes_nothing(
    repo: Path, session_worktree: Path, moved: bool
) -> None:
    if moved:  # the user's branch moved on: the steps would be replayed, notes copied
        git(repo, "commit", "-qm", "mine", "--allow-empty")
    (repo / "step1.txt").write_text("the user's own step1\n")  # untracked, in the way
    before = checkout_state(repo)
    branches = git(repo, "for-each-ref")
    for squash in ([], ["--squash"]):
        result = cli("land", str(repo), SESSION, *squash)
        assert_one_sentence(result, 1, "would overwrite your uncommitted or untracked files")
        assert "step1.txt" in result.stderr
        assert checkout_state(repo) == before
        assert git(repo, "for-each-ref") == branches


def test_land_refuses_steps_that_conflict_with_the_branch(
    repo: Path, session_worktree: Path
) -> None:
    (repo / "step2.txt").write_text("the user's step2\n")
    git(repo, "add", "step2.txt")
    git(repo, "commit", "-qm", "mine")
    before = checkout_state(repo)
    result = cli("land", str(repo))
    assert_one_sentence(result, 1, "conflict with your branch; nothing was changed")
    assert checkout_state(repo) == before
    assert git(repo, "worktree", "list").count("\n") == 2  # no scratch worktree left


def test_land_replay_merges_three_way_and_keeps_each_steps_author(repo: Path) -> None:
    lines = [f"line {n}\n" for n in range(20)]
    (repo / "poem.txt").write_text("".join(lines))
    git(repo, "add", "poem.txt")
    git(repo, "commit", "-qm", "poem", "--", "poem.txt")
    with History.open(repo, create=False) as history:
        worktree = start_worktree(history, SESSION)
    agents = [*lines[:19], "line 19, the agent's   \n"]  # trailing blanks: see below
    (worktree.path / "poem.txt").write_text("".join(agents))
    with History.open(worktree.path, create=False) as inside:
        inside.commit_step(
            session=SESSION, step=1, tool="edit_file", policy="default", summary="Edit poem",
            record=StepRecord(thought="t", tool="edit_file", observation="Edited.",
                              goal="g", session=SESSION),
            paths=["poem.txt"],
        )  # fmt: skip
    author = git(repo, "log", "-1", "--format=%an %ae %at", f"autogpt-tui/{SESSION}")
    (repo / "poem.txt").write_text("".join(["line 0, mine\n", *lines[1:]]))
    git(repo, "commit", "-qm", "mine", "--", "poem.txt")
    # The user's own strictness about whitespace is for their patches, not a replay's.
    git(repo, "config", "apply.whitespace", "error")
    result = cli("land", str(repo))
    assert result.returncode == 0, result.stderr
    assert "replayed" in result.stdout
    assert (repo / "poem.txt").read_text() == "".join(["line 0, mine\n", *agents[1:]])
    assert git(repo, "log", "-1", "--format=%an %ae %at") == author
    assert git(repo, "log", "-1", "--format=%s") == "Edit poem\n"
    scratch = repo / ".git" / "autogpt-tui" / "landing"
    assert not list(scratch.glob("*"))  # the scratch index went with the replay


def test_discard_removes_the_worktree_and_keeps_the_steps_under_the_undone_refs(
    repo: Path, session_worktree: Path
) -> None:
    tip = git(repo, "rev-parse", f"autogpt-tui/{SESSION}").strip()
    (session_worktree / "by-hand.txt").write_text("mine\n")
    refused = cli("discard", str(repo))
    assert_one_sentence(refused, 1, "has uncommitted changes made by hand")
    assert session_worktree.is_dir()
    (session_worktree / "by-hand.txt").unlink()

    before = checkout_state(repo)
    result = cli("discard", str(repo), SESSION)
    assert result.returncode == 0, result.stderr
    assert "2 steps kept under the undone refs" in result.stdout
    assert not session_worktree.exists()
    assert git(repo, "branch", "--list", "autogpt-tui/*") == ""
    assert SESSION not in git(repo, "worktree", "list")
    assert tip in git(repo, "for-each-ref", "--format=%(objectname)", UNDONE_REFS)
    log = json.loads(cli("log", str(repo), "--json").stdout)
    assert [(e["step"], e["undone"]) for e in log if e["session"] == SESSION] == [
        (2, True),
        (1, True),
    ]
    assert checkout_state(repo) == before
    gone = cli("discard", str(repo))
    assert_one_sentence(gone, 2, "no worktree session")


def test_history_commands_find_a_worktree_session_by_its_folder_or_its_id(
    repo: Path, session_worktree: Path
) -> None:
    by_id = json.loads(cli("log", SESSION[:6], "--json", cwd=repo).stdout)
    by_folder = json.loads(cli("log", str(session_worktree), "--json").stdout)
    assert [e["step"] for e in by_id] == [e["step"] for e in by_folder] == [2, 1]
    assert cli("rate", SESSION, "2", "+1", cwd=repo).returncode == 0
    shown = json.loads(cli("show", SESSION, "2", "--json", cwd=repo).stdout)
    assert shown["reward"] == 1
    undone = cli("undo", SESSION, cwd=repo)
    assert undone.returncode == 0, undone.stderr
    assert not (session_worktree / "step2.txt").exists()
    assert cli("redo", SESSION, cwd=repo).returncode == 0
    assert (session_worktree / "step2.txt").read_text() == "step 2\n"
    assert (repo / "README.md").read_text().endswith("my uncommitted edit\n")


def test_unknown_or_ambiguous_sessions_are_one_sentence_and_exit_2(
    repo: Path, session_worktree: Path
) -> None:
    with History.open(repo, create=False) as history:
        start_worktree(history, SESSION[:4] + "ffffff")
    assert_one_sentence(cli("land", str(repo), "nosuch"), 2, "No worktree session's id starts")
    assert_one_sentence(cli("land", "nosuch", cwd=repo), 2, "No worktree session's id starts")
    listed = json.loads(cli("sessions", str(repo), "--json").stdout)
    empty = next(s for s in listed if s["id"] == SESSION[:4] + "ffffff")
    assert (empty["steps"], empty["branch"], empty["finished"]) == (
        0,
        "autogpt-tui/wt12ffffff",
        False,
    )
    assert set(empty) == set(listed[0])  # the same fields as every other session
    assert_one_sentence(cli("discard", str(repo), SESSION[:4]), 2, "fits 2 worktree sessions")
    both = run(str(repo), "--worktree", "--continue")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_describe_worktree_names_the_branch_and_the_folder_inside_the_checkout(
    repo: Path, session_worktree: Path
) -> None:
    place = describe_worktree(session_worktree)
    assert place is not None
    assert (place.session, place.branch) == (SESSION, f"autogpt-tui/{SESSION}")
    assert place.folder == f".git/autogpt-tui/worktrees/{SESSION}"
    assert describe_worktree(repo) is None


def test_run_goes_on_with_a_worktree_session_named_by_its_id(
    repo: Path, session_worktree: Path, llm_server: ScriptedLLM
) -> None:
    before = checkout_state(repo)
    llm_server.script(call("write_file", path="step3.txt", content="step 3\n"))
    result = subprocess.run(
        [sys.executable, "-m", "autogpt_tui", "run", SESSION[:5], "--continue",
         "--max-steps", "3", "--base-url", llm_server.base_url, "--json"],
        cwd=repo, env=dict(os.environ, OPENAI_API_KEY="sk-test"),
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr  # the step budget: 3 steps
    commits = [e for e in events(result) if e["type"] == "commit"]
    assert [c["step"] for c in commits] == [3]
    assert git(repo, "rev-parse", f"autogpt-tui/{SESSION}").strip() == commits[0]["sha"]
    assert checkout_state(repo) == before


def test_land_refuses_to_run_inside_the_sessions_worktree(
    repo: Path, session_worktree: Path
) -> None:
    result = cli("land", str(session_worktree), SESSION)
    assert_one_sentence(result, 1, "Land from your own checkout")


@pytest.mark.parametrize("checkpoint", CHECKPOINTS["land"])
def test_a_land_killed_at_any_moment_is_finished_or_never_began(
    repo: Path, session_worktree: Path, checkpoint: str
) -> None:
    tip = git(repo, "rev-parse", f"autogpt-tui/{SESSION}").strip()
    killed = subprocess.run(
        [sys.executable, "-m", "autogpt_tui", "land", str(repo)],
        env=dict(os.environ, AUTOGPT_TUI_CRASH_AT=f"{checkpoint}:1"),
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    result = cli("log", str(repo))
    assert result.returncode == 0, result.stderr
    if checkpoint == "land:objects":  # before the journal: the land never began
        assert "interrupted" not in result.stderr
        assert cli("land", str(repo)).returncode == 0
    else:
        assert "rolled forward land" in result.stderr
    assert git(repo, "rev-parse", "HEAD").strip() == tip
    assert (repo / "step2.txt").read_text() == "step 2\n"
    assert git(repo, "status", "--porcelain") == " M README.md\n?? scratch.txt\n"
    assert (repo / "README.md").read_text().endswith("my uncommitted edit\n")
    again = cli("land", str(repo))
    assert_one_sentence(again, 1, "has nothing new to land")


def test_a_run_that_takes_no_step_leaves_no_worktree_behind(
    repo: Path, llm_server: ScriptedLLM
) -> None:
    before = checkout_state(repo)
    no_model = run(str(repo), "--worktree", "--goal", "Anything", key=None)
    assert no_model.returncode == 1, no_model.stderr
    failed = run(str(repo), "--worktree", "--goal", "Anything", "--base-url", llm_server.base_url)
    assert failed.returncode == 1  # the script is empty: the model answers 500
    assert git(repo, "branch", "--list", "autogpt-tui/*") == ""
    assert git(repo, "worktree", "list").count("\n") == 1
    assert not any((repo / ".git" / "autogpt-tui" / "worktrees").iterdir())
    assert checkout_state(repo) == before
