"""Hunk-level review in the workstation, driven by Pilot against the scripted server:
move between the hunks of a proposed edit, reject one, apply the rest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from autogpt_tui.core.history import History
from autogpt_tui.ui.app import WorkstationApp
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from autogpt_tui.ui.widgets.hunk_review import ACCEPTED, CURRENT, REJECTED
from autogpt_tui.ui.widgets.step_history import StepHistory
from tests.conftest import git
from tests.functional.test_tui import call, last_tool_message, press, steps_in, until
from tests.functional.test_tui import make_app as make_app  # a fixture
from tests.support.scripted_llm import ScriptedLLM

OLD = "".join(f"line {n}\n" for n in range(1, 31))
NEW = (
    OLD.replace("line 2\n", "line two\n")
    .replace("line 15\n", "line fifteen\n")
    .replace("line 28\n", "line twenty-eight\n")
)


def headers(viewer: DiffViewer) -> list[str]:
    """The hunk header lines as drawn now (with their state)."""
    marks = viewer._marks
    assert marks is not None
    return [
        marks.line(n, line)[1] for n, line in enumerate(viewer.model.lines) if line[0] == "hunk"
    ]


def footer_keys(app: WorkstationApp) -> set[str]:
    return {b.action for (_, b, enabled, _) in app.screen.active_bindings.values() if enabled}


async def test_reject_one_hunk_and_apply_the_others(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    (workspace / "notes.txt").write_text(OLD)
    History.open(workspace).close()  # the first commit takes it
    llm_server.script(
        call("write_file", path="notes.txt", content=NEW), call("finish", summary="ok")
    )
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        assert "toggle_hunk" not in footer_keys(app)
        await press(app, "s")
        viewer = app.query_one(DiffViewer)
        await until(pilot, lambda: app.runner.awaiting_approval and viewer.review is not None)
        await until(pilot, lambda: "toggle_hunk" in footer_keys(app))
        assert {"next_hunk", "previous_hunk", "approve"} <= footer_keys(app)
        shown = headers(viewer)
        assert len(shown) == 3 and all(ACCEPTED in h for h in shown)
        assert shown[0].startswith(CURRENT) and not shown[1].startswith(CURRENT)
        # ] twice and back once: the second hunk is current; space rejects it.
        await press(app, "right_square_bracket", "right_square_bracket", "left_square_bracket")
        await press(app, "space")
        review = viewer.review
        assert review is not None
        await until(pilot, lambda: review.accepted == {0, 2})
        shown = headers(viewer)
        assert REJECTED in shown[1] and shown[1].startswith(CURRENT)
        assert ACCEPTED in shown[0] and ACCEPTED in shown[2]
        # The rejected hunk's lines are struck through (not told by colour alone).
        marks = viewer._marks
        assert marks is not None
        drawn = {
            text: marks.line(n, (kind, text))[0]
            for n, (kind, text) in enumerate(viewer.model.lines)
        }
        assert drawn["-line 15"] == drawn["+line fifteen"] == "rejected"
        assert drawn["-line 2"] == "del" and drawn["+line two"] == "add"
        await press(app, "a")
        await until(pilot, lambda: steps_in(app) == [1])
        assert "toggle_hunk" not in footer_keys(app)
        text = (workspace / "notes.txt").read_text()
        assert text == OLD.replace("line 2\n", "line two\n").replace(
            "line 28\n", "line twenty-eight\n"
        )
        shown_commit = git(workspace, "show", "--format=%s", "HEAD")
        assert shown_commit.startswith("Write notes.txt (2 of 3 hunks)")
        assert "fifteen" not in shown_commit and "+line two" in shown_commit
        # The model is told, in the next request, which hunk was left out.
        await until(pilot, lambda: "step" in footer_keys(app))
        await press(app, "s")
        await until(pilot, lambda: app.runner.awaiting_approval)
        told = last_tool_message(llm_server.requests[-1])
        assert "Applied 2 of the 3 hunks" in told and "+line fifteen" in told


async def test_rejecting_every_hunk_rejects_the_edit(
    make_app: Callable[..., WorkstationApp], llm_server: ScriptedLLM, workspace: Path
) -> None:
    (workspace / "notes.txt").write_text(OLD)
    History.open(workspace).close()
    llm_server.script(
        call("write_file", path="notes.txt", content=NEW), call("finish", summary="ok")
    )
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.query_one(StepHistory).loaded)
        await press(app, "s")
        viewer = app.query_one(DiffViewer)
        await until(pilot, lambda: app.runner.awaiting_approval and viewer.review is not None)
        for _ in range(3):
            await press(app, "space", "right_square_bracket")
        review = viewer.review
        assert review is not None
        await until(pilot, lambda: review.accepted == set())
        await press(app, "right_square_bracket")  # past the last hunk: said, not a crash
        await press(app, "a")
        await until(pilot, lambda: len(llm_server.requests) == 2)
        assert "rejected every hunk" in last_tool_message(llm_server.requests[-1])
        assert (workspace / "notes.txt").read_text() == OLD
        await until(pilot, lambda: app.runner.awaiting_approval)  # the finish proposal
        assert steps_in(app) == []
