"""The history commands of the CLI, run as a user would: in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepRecord
from tests.conftest import git


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autogpt_tui", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.fixture
def steps_workspace(workspace: Path) -> Path:
    """A workspace with three agent steps and some uncommitted work of the user's."""
    with History.open(workspace) as h:
        for n in (1, 2, 3):
            (workspace / f"f{n}.txt").write_text(f"content {n}\n")
            h.commit_step(
                session="sess",
                step=n,
                tool="write_file",
                policy="default",
                summary=f"Write f{n}.txt",
                record=StepRecord(
                    thought=f"I should write f{n}",
                    tool="write_file",
                    arguments={"path": f"f{n}.txt", "content": f"content {n}\n"},
                    observation="Wrote 10 bytes.",
                ),
                paths=[f"f{n}.txt"],
            )
    (workspace / "mine.txt").write_text("the user's own uncommitted file\n")
    return workspace


def assert_one_sentence(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("autogpt-tui:")]
    assert len(lines) == 1 and text in lines[0], result.stderr


def test_log_json_lists_steps_newest_first_with_the_contract_fields(steps_workspace: Path) -> None:
    result = cli("log", str(steps_workspace), "--json")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [e["step"] for e in entries] == [3, 2, 1]
    for key in ("sha", "session", "step", "tool", "summary", "reward", "undone"):
        assert key in entries[0]
    assert entries[0]["reward"] is None and entries[0]["undone"] is False
    assert entries[0]["session"] == "sess" and entries[0]["tool"] == "write_file"
    limited = json.loads(cli("log", str(steps_workspace), "--json", "-n", "2").stdout)
    assert [e["step"] for e in limited] == [3, 2]


def test_log_defaults_to_the_current_folder_and_reads_well(steps_workspace: Path) -> None:
    result = cli("log", cwd=steps_workspace)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and "Write f3.txt" in lines[0] and "sess#3" in lines[0]


def test_show_prints_the_record_and_the_diff(steps_workspace: Path) -> None:
    result = cli("show", str(steps_workspace), "HEAD~1")
    assert result.returncode == 0, result.stderr
    assert "I should write f2" in result.stdout
    assert "+content 2" in result.stdout
    data = json.loads(cli("show", str(steps_workspace), "HEAD", "--json").stdout)
    assert data["step"] == 3
    assert data["record"]["arguments"]["path"] == "f3.txt"
    assert "+content 3" in data["diff"]


def test_undo_redo_and_rate_from_the_command_line(steps_workspace: Path) -> None:
    ws = str(steps_workspace)
    result = cli("undo", ws, "2")
    assert result.returncode == 0, result.stderr
    assert "Undid step 3" in result.stdout and "Undid step 2" in result.stdout
    assert not (steps_workspace / "f3.txt").exists()
    assert (steps_workspace / "mine.txt").read_text() == "the user's own uncommitted file\n"
    entries = json.loads(cli("log", ws, "--json").stdout)
    assert [(e["step"], e["undone"]) for e in entries] == [(3, True), (2, True), (1, False)]

    assert cli("redo", ws).returncode == 0
    assert (steps_workspace / "f2.txt").exists() and not (steps_workspace / "f3.txt").exists()

    result = cli("rate", ws, "HEAD", "-1", "--comment", "wrong file name")
    assert result.returncode == 0, result.stderr
    assert "Rated step 2" in result.stdout
    entries = json.loads(cli("log", ws, "--json").stdout)
    rated = next(e for e in entries if e["step"] == 2)
    assert rated["reward"] == -1 and rated["comment"] == "wrong file name"
    assert cli("rate", ws, "HEAD", "0").returncode == 0
    assert (
        next(e for e in json.loads(cli("log", ws, "--json").stdout) if e["step"] == 2)["reward"]
        is None
    )


def snapshot(root: Path) -> tuple[str, str, str]:
    return (
        git(root, "for-each-ref", "--format=%(refname) %(objectname)"),
        git(root, "status", "--porcelain", "--untracked-files=all"),
        (root / "mine.txt").read_text(),
    )


@pytest.mark.parametrize(
    ("args", "code", "sentence"),
    [
        (["show", "{ws}", "HEAD~3"], 2, "is not an agent step"),
        (["show", "{ws}", "nonsense"], 2, "does not name a commit"),
        (["rate", "{ws}", "HEAD~3", "+1"], 2, "is not an agent step"),
        (["rate", "{ws}", "HEAD", "+2"], 2, "A rating must be +1, -1 or 0"),
        (["undo", "{ws}", "4"], 1, "Only 3 steps can be undone, not 4"),
        (["undo", "{ws}", "0"], 2, "must be at least 1"),
        (["undo", "{ws}", "many"], 2, "must be a whole number"),
        (["redo", "{ws}"], 1, "There is nothing to redo"),
        (["log", "{ws}", "-n", "-3"], 2, "-n must be 0 or more"),
        (["show", "{ws}"], 2, "Usage: autogpt-tui show"),
    ],
)
def test_bad_input_is_one_sentence_and_changes_nothing(
    steps_workspace: Path, args: list[str], code: int, sentence: str
) -> None:
    before = snapshot(steps_workspace)
    result = cli(*[a.replace("{ws}", str(steps_workspace)) for a in args])
    assert_one_sentence(result, code, sentence)
    assert snapshot(steps_workspace) == before


def test_a_missing_workspace_is_one_sentence(tmp_path: Path) -> None:
    for command in (["log"], ["undo"], ["redo"], ["show", "HEAD"], ["rate", "HEAD", "+1"]):
        result = cli(command[0], str(tmp_path / "missing"), *command[1:])
        assert_one_sentence(result, 1, "does not exist")
    assert not (tmp_path / "missing").exists()


def test_an_undo_blocked_by_the_users_changes_is_one_sentence(steps_workspace: Path) -> None:
    (steps_workspace / "f3.txt").write_text("the user edited the agent's file\n")
    before = snapshot(steps_workspace)
    result = cli("undo", str(steps_workspace))
    assert_one_sentence(result, 1, "uncommitted changes in f3.txt")
    assert snapshot(steps_workspace) == before
    assert (steps_workspace / "f3.txt").read_text() == "the user edited the agent's file\n"


def listing(folder: Path) -> list[tuple[str, int, int, bytes]]:
    """Every entry below ``folder`` (and itself): path, mode, mtime and content, exactly."""
    entries = []
    for path in sorted([folder, *folder.rglob("*")]):
        info = path.lstat()
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        entries.append((str(path.relative_to(folder)), info.st_mode, info.st_mtime_ns, content))
    return entries


READ_ONLY_COMMANDS = [
    ["log"],
    ["log", "--json"],
    ["show", "HEAD"],
    ["undo"],
    ["redo", "2"],
    ["rate", "HEAD", "+1"],
    ["rewards"],
    ["export", "--format", "sft"],
]


@pytest.fixture
def plain_folder(tmp_path: Path) -> Path:
    """A folder inside no repository at all, holding a secret and a file in a subfolder."""
    folder = tmp_path / "plain"
    (folder / "src").mkdir(parents=True)
    (folder / "x.txt").write_text("x\n")
    (folder / ".env").write_text("API_KEY=do-not-commit\n")
    (folder / "src" / "app.py").write_text("print(1)\n")
    return folder


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=lambda c: "-".join(c))
def test_a_read_only_command_on_a_plain_folder_is_refused_and_writes_nothing(
    plain_folder: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No repository above the folder may be found, whatever holds the temp folder.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(plain_folder.parent))
    before = listing(plain_folder)
    result = cli(command[0], str(plain_folder), *command[1:])
    assert_one_sentence(result, 2, "is not a git repository")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert not (plain_folder / ".git").exists()
    assert listing(plain_folder) == before


@pytest.mark.parametrize("command", [["log"], ["undo"], ["export", "--format", "dpo"]])
def test_a_read_only_command_in_a_plain_current_folder_is_refused(
    plain_folder: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(plain_folder.parent))
    before = listing(plain_folder)
    result = cli(*command, cwd=plain_folder)
    assert_one_sentence(result, 2, "is not a git repository")
    assert listing(plain_folder) == before


def test_a_folder_its_enclosing_repository_ignores_is_refused_too(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q")
    (outer / ".gitignore").write_text("workspace/\n")
    git(outer, "add", ".gitignore")
    git(outer, "commit", "-q", "-m", "ignore the workspace")
    folder = outer / "workspace"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    before, outer_refs = listing(folder), git(outer, "for-each-ref")
    for command in READ_ONLY_COMMANDS:
        result = cli(command[0], str(folder), *command[1:])
        assert_one_sentence(result, 2, "is not a git repository")
    assert listing(folder) == before
    assert git(outer, "for-each-ref") == outer_refs
    assert git(outer, "status", "--porcelain") == ""


def test_the_tui_command_initialises_a_plain_folder_and_hands_the_notice_to_the_app(
    plain_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import autogpt_tui.ui.app as app_module
    from autogpt_tui import cli as cli_module

    handed: dict[str, Any] = {}

    def fake_run_app(workspace: Path, **kwargs: Any) -> int:
        handed.update(kwargs, workspace=workspace)
        return 0

    monkeypatch.setattr(app_module, "run_app", fake_run_app)
    assert cli_module.main([str(plain_folder)]) == 0
    assert handed["workspace"] == plain_folder.resolve()
    assert len(handed["notices"]) == 1 and ".env" in handed["notices"][0]
    assert git(plain_folder, "ls-files").split() == ["src/app.py", "x.txt"]
    assert (plain_folder / ".env").read_text() == "API_KEY=do-not-commit\n"


ARMS_FILE = """
[[policy.arms]]
name = "steered"
instructions = "Do what the repository says."
"""


def test_trust_lets_a_workspaces_arms_apply_until_the_file_changes(workspace: Path) -> None:
    History.open(workspace).close()
    config = workspace / ".autogpt-tui.toml"
    config.write_text(ARMS_FILE)
    before = cli("rewards", str(workspace), "--json")
    assert before.returncode == 0, before.stderr
    assert [a["name"] for a in json.loads(before.stdout)["arms"]] == ["default"]
    done = cli("trust", str(workspace / "src"))  # any folder inside the workspace
    assert done.returncode == 0, done.stderr
    assert f"Trusted {config}" in done.stdout
    after = cli("rewards", str(workspace), "--json")
    assert [a["name"] for a in json.loads(after.stdout)["arms"]] == ["steered"]
    config.write_text(ARMS_FILE.replace("says", "says, and more"))
    changed = cli("rewards", str(workspace), "--json")
    assert [a["name"] for a in json.loads(changed.stdout)["arms"]] == ["default"]


def test_trust_without_a_config_file_says_there_is_nothing_to_trust(workspace: Path) -> None:
    result = cli("trust", str(workspace))
    assert result.returncode == 0
    assert "nothing to trust" in result.stdout


def test_trust_of_a_missing_folder_is_one_sentence(tmp_path: Path) -> None:
    assert_one_sentence(cli("trust", str(tmp_path / "nope")), 2, "is not a folder")


def test_a_fifo_config_is_refused_in_one_sentence_without_hanging(workspace: Path) -> None:
    History.open(workspace).close()
    os.mkfifo(workspace / ".autogpt-tui.toml")
    result = cli("rewards", str(workspace))
    assert_one_sentence(result, 1, "must be a regular file")
