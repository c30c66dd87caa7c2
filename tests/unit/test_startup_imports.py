"""The CLI's start-up stays lean: `log` and `--help` load neither openai, pydantic nor
GitPython (each costs a tenth of a second or more of every start), and the shortcuts
that spare them (ratings read as plain JSON, git directories and the step index's own
objects read from their files) give what the full way gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from git import Repo, SymbolicReference

from autogpt_tui.core.git import Git, ObjectStore
from autogpt_tui.core.history import History
from autogpt_tui.core.records import effective_rating, effective_rating_of_note, parse_ratings
from tests.conftest import git
from tests.unit.history_support import agent_write

HEAVY = (
    *("openai", "pydantic", "pydantic_core", "pydantic_settings", "git", "httpx", "textual"),
    # What only `serve`, `acp` and MCP servers need.
    *("asyncio", "aiohttp", "textual_serve", "acp", "mcp"),
)
"""Packages `log` and `--help` must not import."""

_PROBE = """
import json, sys
from autogpt_tui.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as done:  # --help exits through argparse
    code = done.code
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(sys.stdin.read())))
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""
"""Runs the command line in a fresh interpreter, then names the heavy packages it loaded
(on stderr: the command prints on stdout)."""


def _loaded(*argv: str) -> tuple[int, list[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    verdict = json.loads(done.stderr.strip().splitlines()[-1])
    return verdict["code"], verdict["heavy"], done.stdout


@pytest.fixture
def stepped(workspace: Path) -> Path:
    """A workspace with two agent steps, one of them rated."""
    with History.open(workspace, create=True) as history:
        agent_write(history, 1, "a.txt", "one\n")
        second = agent_write(history, 2, "b.txt", "two\n")
        history.rate(second.sha, 1, "good")
    return workspace


def test_log_loads_no_heavy_package(stepped: Path) -> None:
    code, heavy, out = _loaded("log", "--json", "-n", "50", str(stepped))
    assert code == 0
    steps = json.loads(out)
    assert [s["step"] for s in steps] == [2, 1]  # it did list them
    assert steps[0]["reward"] == 1.0 and steps[0]["comment"] == "good"
    assert heavy == []


def test_plain_log_and_help_load_no_heavy_package(stepped: Path) -> None:
    code, heavy, out = _loaded("log", str(stepped))
    assert code == 0 and "step 2" in out
    assert heavy == []
    code, heavy, out = _loaded("--help")
    assert code == 0 and "usage: autogpt-tui" in out
    assert heavy == []
    code, heavy, out = _loaded("run", "--help")
    assert code == 0 and "--goal" in out
    assert heavy == []


NOTES = [
    "",
    "   ",
    "not json",
    "{}",
    '{"value": 1}',
    "5",
    '"text"',
    "[]",
    "[1, 2]",
    '[{"value": 1}]',
    '[{"value": -1, "comment": "bad", "source": "user", "at": "2024-01-01T00:00:00+00:00"}]',
    '[{"value": 0}]',
    '[{"value": 1}, {"value": 0}]',
    '[{"value": 1, "source": "user"}, {"value": -1, "source": "undo", "comment": "undone"}]',
    '[{"value": -1, "source": "undo"}, {"value": 1, "source": "reject"}]',
    '[{"value": 1.5, "comment": null}]',
    '[{"value": "1"}]',
    '[{"value": "x"}]',
    '[{"value": true}]',
    '[{"value": null}]',
    '[{"comment": "no value"}]',
    '[{"value": 1, "source": "robot"}]',
    '[{"value": 1, "source": 3}]',
    '[{"value": 1, "comment": 7}]',
    '[{"value": 1, "at": 5}]',
    '[{"value": 1, "extra": "ignored"}]',
    '[{"value": Infinity}]',
    '[{"value": NaN}]',
    '[{"value": 1, "comment": "\\ud800 lone"}]',
    '[{"value": 1}, "garbage"]',
]


@pytest.mark.parametrize("note", NOTES)
def test_ratings_read_as_plain_json_agree_with_the_model(note: str) -> None:
    fast = effective_rating_of_note(note)
    full = effective_rating(parse_ratings(note))
    if full is not None and full.value != full.value:  # NaN never equals itself
        assert fast is not None and fast.value != fast.value
        return
    assert fast == full


def test_git_directories_agree_with_gitpython(workspace: Path, tmp_path: Path) -> None:
    git(workspace, "init", "-q")
    git(workspace, "commit", "-q", "--allow-empty", "-m", "first")
    other = tmp_path / "linked"
    git(workspace, "worktree", "add", "-q", "-b", "wt", str(other))
    for root in (workspace, other, workspace / "src" / ".." / "src" / ".."):
        handle = Git(root)
        repo = Repo(root)
        try:
            assert handle.git_dir == Path(repo.git_dir)
            assert handle.common_dir == Path(repo.common_dir)
            expected = "HEAD" if repo.head.is_detached else str(repo.head.ref.path)
            assert handle.branch_key() == expected
        finally:
            handle.close()
            repo.close()
    git(other, "checkout", "-q", "--detach")
    handle = Git(other)
    try:
        assert handle.branch_key() == "HEAD"
    finally:
        handle.close()


def test_own_objects_read_from_their_files_agree_with_gitpython(workspace: Path) -> None:
    git(workspace, "init", "-q")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "first")
    handle = Git(workspace)
    try:
        store = ObjectStore(handle)
        loose = handle.write_object("blob", b"written here\n")
        tree = handle.run("rev-parse", "HEAD^{tree}").strip()
        for sha in (loose, tree, handle.head()):
            assert handle.read_own_object(sha) == handle.read_object(sha)
        git(workspace, "gc", "-q", "--prune=now")  # everything packed: no loose file left
        assert not (handle.objects_dir / loose[:2] / loose[2:]).exists()
        assert handle.read_own_object(tree) == handle.read_object(tree)
        assert store.read_tree(tree, own=True) == store.read_tree(tree)
    finally:
        handle.close()


def test_refs_read_from_their_files_agree_with_gitpython(workspace: Path) -> None:
    git(workspace, "init", "-q")
    git(workspace, "commit", "-q", "--allow-empty", "-m", "first")
    git(workspace, "commit", "-q", "--allow-empty", "-m", "second")
    git(workspace, "update-ref", "refs/notes/loose", "HEAD~1")
    git(workspace, "update-ref", "refs/autogpt-tui/packed", "HEAD")
    git(workspace, "pack-refs", "--all")
    git(workspace, "update-ref", "refs/autogpt-tui/packed-then-loose", "HEAD~1")
    git(workspace, "symbolic-ref", "refs/heads/alias", "refs/heads/main")
    names = [
        "refs/notes/loose",  # packed by pack-refs --all
        "refs/autogpt-tui/packed",
        "refs/autogpt-tui/packed-then-loose",
        "refs/heads/alias",
        "refs/heads/missing",
        "refs/heads",
        "HEAD",
        "refs/../HEAD",
    ]
    handle = Git(workspace)
    repo = Repo(workspace)
    try:
        for name in names:
            try:
                expected: str | None = str(SymbolicReference.dereference_recursive(repo, name))
            except (ValueError, OSError):
                expected = None
            assert handle.ref_value(name) == expected, name
        head = git(workspace, "rev-parse", "HEAD").strip()
        assert handle.ref_value("refs/autogpt-tui/packed") == head
    finally:
        handle.close()
        repo.close()


def test_a_packed_branch_is_read_without_gitpython(stepped: Path) -> None:
    """A cloned repository's branches are packed: HEAD is still read from the files
    (GitPython's import used to come before the TUI's first frame)."""
    git(stepped, "pack-refs", "--all")
    assert not (stepped / ".git" / "refs" / "heads" / "main").exists()
    probe = (
        "import json, sys\n"
        "from autogpt_tui.core.git import Git\n"
        f"head = Git({str(stepped)!r}).head_or_none()\n"
        "print(json.dumps([head, 'git' in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    head, gitpython_loaded = json.loads(done.stdout)
    assert head == git(stepped, "rev-parse", "HEAD").strip()
    assert not gitpython_loaded
