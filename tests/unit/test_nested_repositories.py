"""Submodules and nested repositories: the file tools refuse paths in them, steps never
take them (a gitlink stays a gitlink), and undo and redo never break because of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.tools import ToolResult, ToolRunner, parse_call
from tests.conftest import git
from tests.unit.history_support import files, step, write


def ls_tree(root: Path, rev: str = "HEAD") -> dict[str, str]:
    """Every entry of ``rev`` (recursively, gitlinks included): path -> "mode sha"."""
    out = git(root, "ls-tree", "-r", "-z", rev)
    entries: dict[str, str] = {}
    for item in out.split("\0"):
        if item:
            meta, path = item.split("\t", 1)
            mode, _kind, sha = meta.split()
            entries[path] = f"{mode} {sha}"
    return entries


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace with a submodule ``subm``, a nested repository ``nested`` and one
    deeper, ``vendor/inner``, each holding work of its own."""
    lib = tmp_path / "lib"
    lib.mkdir()
    git(lib, "init", "-q", "-b", "main")
    write(lib, "lib.txt", "library\n")
    git(lib, "add", "-A")
    git(lib, "commit", "-qm", "lib")
    ws = tmp_path / "ws"
    ws.mkdir()
    git(ws, "init", "-q", "-b", "main")
    write(ws, "README.md", "# demo\n")
    write(ws, "vendor/keep.txt", "ours\n")
    git(ws, "add", "-A")
    git(ws, "commit", "-qm", "init")
    git(ws, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "subm")
    git(ws, "commit", "-qm", "add the submodule")
    for inner in ("nested", "vendor/inner"):
        (ws / inner).mkdir(parents=True)
        git(ws / inner, "init", "-q", "-b", "main")
        write(ws / inner, "theirs.txt", f"{inner}'s own file\n")
        git(ws / inner, "add", "-A")
        git(ws / inner, "commit", "-qm", "inner")
    return ws


@pytest.fixture
def tools(root: Path) -> ToolRunner:
    return ToolRunner(root, CommandRunner(root, sandbox=False, default_timeout_s=10))


@pytest.fixture
def history(root: Path) -> Iterator[History]:
    with History.open(root, create=False) as h:
        yield h


def call(tools: ToolRunner, name: str, **arguments: Any) -> ToolResult:
    import json

    return tools.execute(name, parse_call(name, json.dumps(arguments)))


INSIDE = [
    ("subm/agent.txt", "subm", "submodule"),
    ("subm/lib.txt", "subm", "submodule"),
    ("nested/theirs.txt", "nested", "nested repository"),
    ("nested/deeper/new.txt", "nested", "nested repository"),
    ("vendor/inner/theirs.txt", "vendor/inner", "nested repository"),
]


@pytest.mark.parametrize(("path", "where", "kind"), INSIDE)
def test_file_tools_refuse_paths_inside_another_repository(
    root: Path, tools: ToolRunner, path: str, where: str, kind: str
) -> None:
    before = files(root)
    sentence = f"'{path}' is inside {where}, which is a {kind} with its own history"
    results = [
        call(tools, "write_file", path=path, content="agent\n"),
        call(tools, "edit_file", path=path, old_text="own", new_text="agent's"),
        call(tools, "read_file", path=path),
        call(tools, "list_files", path=path),
        call(tools, "search", pattern="own", path=path),
    ]
    for result in results:
        assert not result.ok
        assert result.output.startswith(sentence), result.output
        assert result.changed_paths == []
    assert files(root) == before


@pytest.mark.parametrize(
    ("where", "kind"), [("subm", "submodule"), ("nested", "nested repository")]
)
def test_the_other_repository_itself_is_refused_too(
    tools: ToolRunner, where: str, kind: str
) -> None:
    for result in (
        call(tools, "list_files", path=where),
        call(tools, "search", pattern="own", path=where + "/"),
    ):
        assert not result.ok
        assert result.output.startswith(f"'{where}' is a {kind} with its own history")


def test_a_submodule_that_is_not_checked_out_is_refused_by_its_gitlink(
    root: Path, tools: ToolRunner
) -> None:
    git(root, "submodule", "deinit", "-q", "-f", "subm")
    assert not (root / "subm" / ".git").exists()  # nothing on disk says "repository"
    result = call(tools, "write_file", path="subm/agent.txt", content="agent\n")
    assert not result.ok and "inside subm, which is a submodule" in result.output
    assert not (root / "subm" / "agent.txt").exists()


def test_the_workspace_s_own_files_still_work(root: Path, tools: ToolRunner) -> None:
    assert call(tools, "write_file", path="vendor/mine.txt", content="mine\n").ok
    assert call(tools, "read_file", path="vendor/keep.txt").ok
    listing = call(tools, "list_files", path="vendor")
    assert listing.ok and "vendor/keep.txt" in listing.output


def _junk_in_other_repositories(root: Path, n: int) -> None:
    """What a command might do: write into the submodule and the nested repositories."""
    write(root, "subm/agent.txt", f"agent {n}\n")
    write(root, "subm/lib.txt", f"library, changed {n}\n")
    write(root, "nested/new.txt", f"new {n}\n")
    write(root, "vendor/inner/new.txt", f"new {n}\n")


def test_a_step_over_the_whole_tree_never_takes_another_repository(
    root: Path, history: History
) -> None:
    gitlink = ls_tree(root)["subm"]
    _junk_in_other_repositories(root, 1)
    write(root, "a.txt", "agent's own\n")
    commit = step(history, 1, None, tool="run_command")  # paths unknown: the whole tree
    changed = git(root, "diff-tree", "-r", "--name-only", "--no-commit-id", commit.sha).split()
    assert changed == ["a.txt"]
    tree = ls_tree(root)
    assert tree["subm"] == gitlink and gitlink.startswith("160000 ")
    assert not [p for p in tree if p.startswith(("subm/", "nested", "vendor/inner"))]


def test_a_step_naming_paths_in_other_repositories_takes_only_its_own(
    root: Path, history: History
) -> None:
    gitlink = ls_tree(root)["subm"]
    _junk_in_other_repositories(root, 1)
    write(root, "vendor/b.txt", "agent's own\n")
    paths = ["subm/agent.txt", "subm", "nested/new.txt", "nested", "vendor", "vendor/inner"]
    commit = step(history, 1, paths)
    changed = git(root, "diff-tree", "-r", "--name-only", "--no-commit-id", commit.sha).split()
    assert changed == ["vendor/b.txt"]
    assert ls_tree(root)["subm"] == gitlink


def test_new_commits_in_the_submodule_never_move_its_gitlink(root: Path, history: History) -> None:
    gitlink = ls_tree(root)["subm"]
    write(root, "subm/lib.txt", "moved on\n")
    git(root / "subm", "commit", "-qam", "the submodule moves on")
    assert git(root, "status", "--porcelain").startswith(" M subm")
    step(history, 1, None, tool="run_command")
    step(history, 2, ["subm"])
    assert ls_tree(root)["subm"] == gitlink
    assert git(root, "status", "--porcelain").startswith(" M subm")  # still the user's to commit


def test_undo_and_redo_many_times_never_break_on_other_repositories(
    root: Path, history: History
) -> None:
    gitlink = ls_tree(root)["subm"]
    heads = [git(root, "rev-parse", "HEAD").strip()]
    for n in range(1, 5):
        _junk_in_other_repositories(root, n)
        write(root, f"own{n}.txt", f"{n}\n")
        paths = None if n % 2 else [f"own{n}.txt", "subm/agent.txt", "nested/new.txt"]
        step(history, n, paths, tool="run_command" if paths is None else "write_file")
        heads.append(git(root, "rev-parse", "HEAD").strip())
    theirs = {p: b for p, b in files(root).items() if p.startswith(("subm/", "nested/", "vendor/"))}
    for _ in range(3):
        assert [s.step for s in history.undo(4)] == [4, 3, 2, 1]
        assert git(root, "rev-parse", "HEAD").strip() == heads[0]
        assert not any((root / f"own{n}.txt").exists() for n in range(1, 5))
        assert [s.step for s in history.redo(2)] == [1, 2]
        assert [s.step for s in history.redo(2)] == [3, 4]
        assert git(root, "rev-parse", "HEAD").strip() == heads[-1]
        assert all((root / f"own{n}.txt").read_text() == f"{n}\n" for n in range(1, 5))
    assert ls_tree(root)["subm"] == gitlink
    now = {p: b for p, b in files(root).items() if p.startswith(("subm/", "nested/", "vendor/"))}
    assert now == theirs  # the other repositories' work, byte for byte
    assert git(root / "subm", "status", "--porcelain") == " M lib.txt\n?? agent.txt\n"
