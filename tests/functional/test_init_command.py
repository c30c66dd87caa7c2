"""``autogpt-tui init`` writes a starting AGENTS.md from what it finds, never over one,
and never commits it (real repositories, the real command line)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git
from tests.functional.test_cli import assert_one_sentence, cli

PYPROJECT = """\
[project]
name = "slugs"
version = "0.1"

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100

[tool.mypy]
strict = true
"""

MAKEFILE = """\
VENV := .venv
test:
\tpytest -q
lint: $(VENV)
\truff check .
install:
\tpip install -e .
"""


def python_project(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "Makefile").write_text(MAKEFILE)
    (root / "slugs").mkdir()
    (root / "slugs" / "__init__.py").write_text("")
    (root / "slugs" / "core.py").write_text("def slug(s):\n    return s\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_core.py").write_text("def test():\n    pass\n")
    (root / "deploy.sh").write_text("echo hi\n")
    (root / "untracked.rs").write_text("fn main() {}\n")  # not tracked: not counted
    git(root, "init", "-q")
    git(root, "add", "pyproject.toml", "Makefile", "slugs", "tests", "deploy.sh")
    git(root, "commit", "-q", "-m", "start")
    return root


def test_init_writes_agents_md_from_a_small_python_project(tmp_path: Path) -> None:
    root = python_project(tmp_path / "slugs")
    head = git(root, "rev-parse", "HEAD")
    result = cli("init", str(root))
    assert result.returncode == 0, result.stderr
    written = (root / "AGENTS.md").read_text()
    assert f"Wrote {root / 'AGENTS.md'} (not committed" in result.stdout
    assert written in result.stdout  # it prints what it wrote
    assert "- Python (3 tracked files)\n- Shell (1 tracked file)\n" in written
    assert "Rust" not in written
    for line in (
        "- Test: `pytest` (from pyproject.toml)",
        "- Lint: `ruff check .` (from pyproject.toml)",
        "- Type-check: `mypy` (from pyproject.toml)",
        "- Test: `make test` (from Makefile)",
        "- Lint: `make lint` (from Makefile)",
    ):
        assert line in written, written
    assert "make install" not in written
    # Not committed, not staged: the user's file, the user decides.
    assert git(root, "rev-parse", "HEAD") == head
    assert git(root, "status", "--porcelain", "AGENTS.md") == "?? AGENTS.md\n"


def test_init_never_overwrites_an_existing_agents_md(tmp_path: Path) -> None:
    root = python_project(tmp_path / "slugs")
    (root / "AGENTS.md").write_text("My own notes.\n")
    result = cli("init", str(root))
    assert_one_sentence(result, 2, "AGENTS.md already exists; init never overwrites it.")
    assert (root / "AGENTS.md").read_text() == "My own notes.\n"
    assert result.stdout == ""


def test_init_finds_node_cargo_and_go_commands(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "package.json").write_text(
        '{"scripts": {"test": "rm -rf / # not copied", "lint": "eslint ."}}'
    )
    (root / "pnpm-lock.yaml").write_text("")
    (root / "Cargo.toml").write_text('[package]\nname = "x"\n')
    (root / "go.mod").write_text("module x\n")
    (root / "main.go").write_text("package main\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    result = cli("init", str(root))
    assert result.returncode == 0, result.stderr
    written = (root / "AGENTS.md").read_text()
    for command in ("pnpm test", "pnpm run lint", "cargo test", "cargo clippy", "go test ./..."):
        assert f"`{command}`" in written
    assert "rm -rf" not in written  # script names, never what they run
    assert "- Go (1 tracked file)" in written


def test_init_outside_a_repository_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    result = cli("init", str(folder))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert not (folder / "AGENTS.md").exists()
