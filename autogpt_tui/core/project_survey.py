"""What ``autogpt-tui init`` finds in a repository: its languages and its test and lint
commands, and the starting AGENTS.md written from them.

Only names are read (file extensions of the tracked files, script and target names),
never what a script runs: a ``package.json`` script is written as ``npm run lint``, not
as the command line behind it, so nothing in the file can smuggle text into AGENTS.md.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from autogpt_tui.core.git.runner import run_git

__all__ = ["LANGUAGES", "ProjectCommand", "ProjectSurvey", "agents_md", "survey"]

LANGUAGES = {
    ".py": "Python",
    ".pyi": "Python",
    ".js": "JavaScript",
    ".mjs": "JavaScript",
    ".cjs": "JavaScript",
    ".jsx": "JavaScript",
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".rs": "Rust",
    ".go": "Go",
    ".java": "Java",
    ".kt": "Kotlin",
    ".rb": "Ruby",
    ".php": "PHP",
    ".c": "C",
    ".h": "C",
    ".cc": "C++",
    ".cpp": "C++",
    ".hpp": "C++",
    ".cs": "C#",
    ".swift": "Swift",
    ".scala": "Scala",
    ".sh": "Shell",
    ".lua": "Lua",
    ".ex": "Elixir",
    ".exs": "Elixir",
    ".hs": "Haskell",
    ".zig": "Zig",
    ".dart": "Dart",
}
"""Language by file extension (lower case); other files are not counted."""

MAKE_TARGETS = ("test", "check", "lint", "typecheck", "format", "fmt")
"""Makefile targets worth naming, in the order they are listed."""
SCRIPT_NAMES = ("test", "lint", "typecheck", "check", "format")
"""package.json scripts worth naming, in the order they are listed."""
_PURPOSE = {
    "test": "Test",
    "check": "Check",
    "lint": "Lint",
    "typecheck": "Type-check",
    "format": "Format",
    "fmt": "Format",
}


@dataclass(frozen=True)
class ProjectCommand:
    """A command the project runs: what for, the command, and the file it came from."""

    purpose: str
    command: str
    source: str


@dataclass
class ProjectSurvey:
    """What a repository holds: tracked files per language, and its commands."""

    languages: list[tuple[str, int]] = field(default_factory=list)
    """(language, tracked files), most files first."""
    commands: list[ProjectCommand] = field(default_factory=list)


def survey(root: Path) -> ProjectSurvey:
    """Look at the repository at ``root``: its tracked files and its build files."""
    listed = run_git(root, ["ls-files", "-z"], check=False)
    names = [os.fsdecode(n) for n in listed.stdout.split(b"\0") if n]
    counts = Counter(
        LANGUAGES[suffix]
        for name in names
        if (suffix := PurePosixPath(name).suffix.lower()) in LANGUAGES
    )
    result = ProjectSurvey(languages=sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    for finder in (_python, _node, _make, _cargo, _go):
        for command in finder(root):
            if all(c.command != command.command for c in result.commands):
                result.commands.append(command)
    return result


def _read_toml(path: Path) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None  # a broken file names no command; init says what it found


def _python(root: Path) -> list[ProjectCommand]:
    found: list[ProjectCommand] = []
    data = _read_toml(root / "pyproject.toml")
    tool = data.get("tool", {}) if isinstance(data, dict) else {}
    tool = tool if isinstance(tool, dict) else {}
    text = (root / "pyproject.toml").read_text("utf-8", "replace") if data is not None else ""
    pytest_configured = (
        "pytest" in tool
        or any((root / n).is_file() for n in ("pytest.ini", "conftest.py"))
        or re.search(r"\bpytest\b", text) is not None
    )
    if pytest_configured:
        source = "pyproject.toml" if data is not None else "pytest.ini"
        found.append(ProjectCommand("Test", "pytest", source))
    if "ruff" in tool:
        found.append(ProjectCommand("Lint", "ruff check .", "pyproject.toml"))
        found.append(ProjectCommand("Format", "ruff format .", "pyproject.toml"))
    if "mypy" in tool:
        found.append(ProjectCommand("Type-check", "mypy", "pyproject.toml"))
    return found


def _node(root: Path) -> list[ProjectCommand]:
    try:
        data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return []
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return []
    runner = "npm"
    if (root / "pnpm-lock.yaml").is_file():
        runner = "pnpm"
    elif (root / "yarn.lock").is_file():
        runner = "yarn"
    found: list[ProjectCommand] = []
    for name in SCRIPT_NAMES:
        if name in scripts:
            command = f"{runner} test" if name == "test" else f"{runner} run {name}"
            found.append(ProjectCommand(_PURPOSE[name], command, "package.json"))
    return found


def _make(root: Path) -> list[ProjectCommand]:
    for name in ("Makefile", "makefile", "GNUmakefile"):
        try:
            text = (root / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        targets = set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, flags=re.MULTILINE))
        return [
            ProjectCommand(_PURPOSE[t], f"make {t}", name) for t in MAKE_TARGETS if t in targets
        ]
    return []


def _cargo(root: Path) -> list[ProjectCommand]:
    if not (root / "Cargo.toml").is_file():
        return []
    return [
        ProjectCommand("Test", "cargo test", "Cargo.toml"),
        ProjectCommand("Lint", "cargo clippy", "Cargo.toml"),
        ProjectCommand("Format", "cargo fmt", "Cargo.toml"),
    ]


def _go(root: Path) -> list[ProjectCommand]:
    if not (root / "go.mod").is_file():
        return []
    return [
        ProjectCommand("Test", "go test ./...", "go.mod"),
        ProjectCommand("Lint", "go vet ./...", "go.mod"),
    ]


def agents_md(found: ProjectSurvey) -> str:
    """A starting AGENTS.md for what ``survey`` found."""
    lines = [
        "# AGENTS.md",
        "",
        "Notes for coding agents working in this repository. Written by `autogpt-tui init`",
        "from what it found; correct and extend them: they are yours.",
        "",
        "## Languages",
        "",
    ]
    if found.languages:
        for language, count in found.languages:
            lines.append(f"- {language} ({count} tracked file{'s' if count != 1 else ''})")
    else:
        lines.append("- (none recognised among the tracked files)")
    lines += ["", "## Commands", ""]
    if found.commands:
        for c in found.commands:
            lines.append(f"- {c.purpose}: `{c.command}` (from {c.source})")
        lines.append("")
        lines.append("Run the tests after a change, and the linters before you finish.")
    else:
        lines.append("- (no test or lint command found: add them here)")
    lines += [
        "",
        "## Conventions",
        "",
        "- (How this project likes its code written: style, naming, what not to touch.)",
        "",
    ]
    return "\n".join(lines)
