"""Lessons phrased from the user's comment and tied to the situation, not from the action:
a `-` with "use -x --tb=short" on a pytest step is "When running the tests: use -x
--tb=short", never "avoid Run: python -m pytest -q"."""

from __future__ import annotations

from typing import Any

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.learning import AVOID_HEADING, RewardModel
from autogpt_tui.core.learning.situations import RUNNING_TESTS, runs_tests, situation_of
from tests.unit.learning.steps import make_step, rejection


@pytest.mark.parametrize(
    "command",
    [
        "pytest",
        "python -m pytest -q",
        "python3.11 -m unittest discover",
        "cd pkg && uv run pytest -x",
        ".venv/bin/pytest tests/test_slug.py",
        "FOO=1 timeout 60 pytest",
        "npm test",
        "npm run test",
        "npx jest",
        "cargo test",
        "go test ./...",
        "make -j4 check",
        "mvn clean test",
        "./gradlew test",
    ],
)
def test_test_runs_are_recognised(command: str) -> None:
    assert runs_tests(command)
    assert situation_of("run_command", {"command": command}) == RUNNING_TESTS


@pytest.mark.parametrize(
    "command",
    [
        "pip install pytest",
        "python -m pip install pytest",
        "uv add pytest",
        "npm install jest",
        "python hello.py",
        "make build",
        "cargo build",
        "cat pytest.ini",
        "echo pytest",
        "git commit -m test",
    ],
)
def test_other_commands_are_quoted(command: str) -> None:
    assert not runs_tests(command)
    assert situation_of("run_command", {"command": command}) == f"running `{command}`"


@pytest.mark.parametrize(
    ("tool", "arguments", "situation"),
    [
        ("edit_file", {"path": "src/slug.py", "old_text": "a"}, "editing `src/slug.py`"),
        ("write_file", {"path": "README.md", "content": "x"}, "writing `README.md`"),
        ("read_file", {"path": "a.py"}, "reading `a.py`"),
        ("write_file", {}, "writing a file"),
        ("list_files", {}, "listing `.`"),
        ("search", {"pattern": "def slug"}, "searching for `def slug`"),
        ("run_command", {"command": ""}, "running a command"),
        ("run_command", {"command": "echo " + "x" * 100}, "running `echo " + "x" * 54 + "…`"),
        ("ask_user", {"question": "?"}, "asking the user"),
        ("finish", {"summary": "done"}, "finishing"),
        ("docs_lookup", {"q": "x"}, "using docs_lookup"),
    ],
)  # fmt: skip
def test_situations_of_each_tool(tool: str, arguments: dict[str, Any], situation: str) -> None:
    assert situation_of(tool, arguments) == situation


def test_a_comment_on_a_pytest_step_is_a_lesson_about_running_the_tests(
    history: History,
) -> None:
    step = make_step(history, 1, "run_command", {"command": "python -m pytest -q"})
    history.rate(step.sha, -1, "use -x --tb=short")
    model = RewardModel.load(history, ["default"])
    (lesson,) = model.lessons("Fix slugify", [])
    assert lesson.text == "When running the tests: use -x --tb=short"
    section = model.prompt_section("Fix slugify", [])
    assert "- When running the tests: use -x --tb=short" in section.splitlines()
    assert "Avoid" not in section and "avoid" not in section
    assert AVOID_HEADING in section


def test_without_a_comment_the_lesson_says_what_happened_there(history: History) -> None:
    step = make_step(history, 1, "edit_file", {"path": "src/slug.py"}, goal="Fix slugify")
    history.rate(step.sha, -1)
    model = RewardModel.load(history, ["default"])
    (lesson,) = model.lessons("Fix slugify", [])
    assert lesson.text == (
        'When editing `src/slug.py`: the step "Edit src/slug.py" was rated down'
        ' (goal: "Fix slugify").'
    )


def test_a_rejection_reason_is_phrased_the_same_way(history: History) -> None:
    make_step(
        history,
        1,
        rejected=[
            rejection("edit_file", {"path": "tests/test_slug.py"}, "change slug.py, not the tests"),
            rejection("run_command", {"command": "pytest"}, "no reason given"),
        ],
    )
    model = RewardModel.load(history, ["default"])
    texts = {lesson.text for lesson in model.lessons("slug tests", [])}
    assert texts == {
        "When editing `tests/test_slug.py`: change slug.py, not the tests",
        'When running the tests: the proposal "Run: pytest" was rejected'
        ' (goal: "Add a CSV export").',
    }


def test_the_same_advice_in_the_same_situation_is_one_lesson(history: History) -> None:
    for n, command in enumerate(("pytest -q", "python -m pytest tests"), start=1):
        step = make_step(history, n, "run_command", {"command": command})
        history.rate(step.sha, -1, "use -x --tb=short")
    model = RewardModel.load(history, ["default"])
    assert [x.text for x in model.lessons("tests", [])] == [
        "When running the tests: use -x --tb=short"
    ]


def test_a_key_in_a_comment_or_a_command_never_reaches_the_lesson(history: History) -> None:
    secret = "sk-test-SECRET-1234567890abcdef"
    step = make_step(history, 1, "run_command", {"command": f"curl -H 'key: {secret}' x"})
    history.rate(step.sha, -1, f"do not paste {secret}")
    model = RewardModel.load(history, ["default"])
    (lesson,) = model.lessons("curl", [])
    assert secret not in lesson.text and lesson.text.startswith("When running `curl")
