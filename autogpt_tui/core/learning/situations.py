"""The situation an action was taken in, in the user's words: "running the tests",
"editing `src/app.py`", "running `make build`".

A lesson is tied to its situation: "When running the tests: use -x --tb=short". Phrased
from the action alone ("avoid Run: python -m pytest -q"), the lesson a rated-down pytest
run gave read as "don't run the tests", when the user's comment only said how to run
them. One function decides the phrase, from the tool and its arguments as recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from autogpt_tui.core.records import one_line

__all__ = ["RUNNING_TESTS", "runs_tests", "situation_of"]

RUNNING_TESTS = "running the tests"
"""The situation of a command that runs a test suite."""

_SHOWN_CHARS = 60
"""A command, path or pattern is quoted in a situation up to this many characters."""

_SEGMENTS = re.compile(r"&&|\|\||[;&|()\n]")
"""What separates the commands of a shell line."""
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_WRAPPERS = {
    ("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("hatch", "run"), ("pdm", "run"),
    ("rye", "run"), ("pnpm", "exec"), ("npm", "exec"),
}  # fmt: skip
"""Two words that run the command after them."""
_PREFIXES = frozenset(("npx", "bunx", "time", "nice", "exec", "command", "xvfb-run"))
"""A word that runs the command after it."""
_RUNNERS = frozenset(
    ("pytest", "py.test", "tox", "nox", "jest", "vitest", "mocha", "rspec", "phpunit", "ctest")
)
"""Programs that only ever run tests."""
_TEST_TARGETS = frozenset(("test", "tests", "check", "t", "nextest"))
"""What asks a build tool (cargo, go, make, npm, …) to run the tests."""
_BUILD_TOOLS = frozenset(
    ("cargo", "go", "make", "dotnet", "mvn", "gradle", "gradlew", "npm", "pnpm", "yarn", "bun")
)
_MANY_TARGETS = frozenset(("make", "mvn", "gradle", "gradlew"))
"""Build tools given several targets at once (any of them may be the tests)."""
_PYTHON = re.compile(r"python[0-9.]*")


def _runs_tests(words: list[str]) -> bool:
    """Whether one command (its words) runs a test suite."""
    while words:
        if _ASSIGNMENT.match(words[0]):  # FOO=1 pytest
            words = words[1:]
        elif tuple(words[:2]) in _WRAPPERS:
            words = words[2:]
        elif words[0] in _PREFIXES:
            words = words[1:]
        elif words[0] == "timeout" and len(words) > 1:
            words = words[2:]
        else:
            break
    if not words:
        return False
    program = words[0].rsplit("/", 1)[-1]  # .venv/bin/pytest
    rest = [w for w in words[1:] if not w.startswith("-")]
    if program in _RUNNERS:
        return True
    if _PYTHON.fullmatch(program):
        return "-m" in words and words[words.index("-m") + 1 :][:1] in (["pytest"], ["unittest"])
    if program in _BUILD_TOOLS:
        # `make -j4 test`, `npm run test`, `cargo test`; not `npm install jest`.
        targets = rest[1:] if rest[:1] == ["run"] else rest
        if program in _MANY_TARGETS:  # `make -C src test`, `mvn clean test`
            return any(target in _TEST_TARGETS for target in targets)
        return bool(targets) and targets[0] in _TEST_TARGETS
    return False


def runs_tests(command: str) -> bool:
    """Whether a shell command runs a test suite (in any of its ``&&``/``;`` parts)."""
    return any(_runs_tests(part.split()) for part in _SEGMENTS.split(command))


def _quoted(value: object) -> str:
    """``value`` as one line in backticks, shortened."""
    return f"`{one_line(str(value), _SHOWN_CHARS)}`"


def situation_of(tool: str, arguments: Mapping[str, Any]) -> str:
    """The situation of calling ``tool`` with ``arguments``, to follow "When"."""
    path = arguments.get("path")
    if tool == "run_command":
        command = str(arguments.get("command") or "").strip()
        if not command:
            return "running a command"
        if runs_tests(command):
            return RUNNING_TESTS
        return f"running {_quoted(command)}"
    if tool in ("write_file", "edit_file", "read_file"):
        verb = {"write_file": "writing", "edit_file": "editing", "read_file": "reading"}[tool]
        return f"{verb} {_quoted(path)}" if path else f"{verb} a file"
    if tool == "list_files":
        return f"listing {_quoted(path or '.')}"
    if tool == "search":
        pattern = arguments.get("pattern")
        return f"searching for {_quoted(pattern)}" if pattern else "searching the files"
    if tool == "ask_user":
        return "asking the user"
    if tool == "finish":
        return "finishing"
    return f"using {tool}" if tool else "acting"
