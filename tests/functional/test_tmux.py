"""The real app in a real terminal: tmux runs ``python -m autogpt_tui`` and we read the screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from autogpt_tui.core.history import History
from tests.support.scripted_llm import Reply, ScriptedLLM, ToolCall
from tests.support.steps import write_file_steps
from tests.support.tmux import START_TIMEOUT_S, TmuxApp, wait_for

pytestmark = [pytest.mark.tmux, pytest.mark.slow]


def write_steps(workspace: Path) -> None:
    """Two steps, the first one rated up."""
    shas = write_file_steps(workspace, {name: f"{name}\n" for name in ("alpha.txt", "beta.txt")})
    with History.open(workspace) as history:
        history.rate(shas[0], 1)


def test_a_user_steps_approves_undoes_and_quits_in_a_real_terminal(
    workspace: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    write_steps(workspace)
    llm_server.script(
        Reply(
            "I'll write the greeting.",
            tool_calls=[ToolCall("write_file", {"path": "hello.txt", "content": "hello\n"})],
        )
    )
    with TmuxApp(workspace, tmp_path, llm_server.base_url, size=(130, 36)) as app:
        text = app.expect("Write alpha.txt", "the history never appeared")
        lines = text.splitlines()
        newest = next(i for i, line in enumerate(lines) if "Write beta.txt" in line)
        oldest = next(i for i, line in enumerate(lines) if "Write alpha.txt" in line)
        assert newest < oldest, text
        assert "#1" in lines[oldest] and "+" in lines[oldest], text
        assert "Greet the user" in text, text

        app.press("s")
        app.expect("waiting for approval", "the proposed action never waited for approval")
        assert not (workspace / "hello.txt").exists()
        app.expect("+hello", "the proposed change was not shown")

        app.press("a")
        app.expect("Write hello.txt", "the approved step never reached the history")
        assert wait_for(lambda: (workspace / "hello.txt").exists(), START_TIMEOUT_S)

        app.press("u")
        app.expect("undone", "undo did not mark the step")
        assert wait_for(lambda: not (workspace / "hello.txt").exists(), START_TIMEOUT_S)

        assert app.quit() == "0"


def test_a_step_after_an_undo_is_a_new_branch_in_a_real_terminal(
    workspace: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    """Undo a step, take another: the log marks the undone one and starts a new branch,
    and the new step gets a number of its own (issue 12, item 4)."""
    llm_server.script(
        Reply(
            "I'll write the greeting.",
            tool_calls=[ToolCall("write_file", {"path": "hello.txt", "content": "hello\n"})],
        ),
        Reply(
            "A farewell instead.",
            tool_calls=[ToolCall("write_file", {"path": "bye.txt", "content": "bye\n"})],
        ),
    )

    def history_rows(text: str, label: str) -> list[str]:
        """The history panel's rows (the sidebar, left) naming step ``label``."""
        return [line[:58] for line in text.splitlines() if f"{label} " in line[:58]]

    with TmuxApp(workspace, tmp_path, llm_server.base_url, size=(160, 45)) as app:
        app.expect("No steps yet", "the empty history never appeared")

        app.press("s")
        app.expect("waiting for approval", "the first proposal never waited")
        app.press("a")
        app.expect(lambda s: bool(history_rows(s, "#1")), "the first step never reached history")
        assert wait_for(lambda: (workspace / "hello.txt").exists(), START_TIMEOUT_S)

        app.press("u")
        app.expect("↶ undone", "the log never marked the undone step")
        app.expect(
            lambda s: "undone" in "".join(history_rows(s, "#1")),
            "the history never marked the undone step",
        )
        assert not (workspace / "hello.txt").exists()

        app.press("s")
        app.expect("waiting for approval", "the second proposal never waited")
        app.press("a")
        app.expect(lambda s: bool(history_rows(s, "#2")), "the new step never reached history")
        assert wait_for(lambda: (workspace / "bye.txt").exists(), START_TIMEOUT_S)
        text = app.expect("── new branch after undoing #1 ──", "the log never showed the branch")
        # The new step is #2 (#1 stays the undone one), and each is listed once.
        (new,) = history_rows(text, "#2")
        (old,) = history_rows(text, "#1")
        assert "undone" not in new and "undone" in old, text
