"""Agent steps written straight into a workspace's history, for tests that start from one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepCommit, StepRecord


def write_file_steps(
    workspace: Path, files: Mapping[str, str], *, session: str = "s1"
) -> list[str]:
    """Commit one ``write_file`` step per file (numbered from 1, in order), each writing
    its content, as the agent would have; returns the steps' shas, oldest first."""
    shas: list[str] = []
    with History.open(workspace) as history:
        for number, (name, content) in enumerate(files.items(), start=1):
            (workspace / name).write_text(content)
            step = history.commit_step(
                session=session,
                step=number,
                tool="write_file",
                policy="default",
                summary=f"Write {name}",
                record=StepRecord(thought="t", tool="write_file", arguments={"path": name}),
                paths=[name],
            )
            shas.append(step.sha)
    return shas


def commit_write_step(
    history: History, *, session: str, step: int, path: str, content: str, goal: str = ""
) -> StepCommit:
    """Write ``content`` to ``path`` (making its folders) and commit it as ``write_file``
    step ``step`` of ``session``, with the record the agent would have left."""
    full = history.root / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(content)
    return history.commit_step(
        session=session,
        step=step,
        tool="write_file",
        policy="default",
        summary=f"Write {path}",
        record=StepRecord(
            thought="t",
            tool="write_file",
            arguments={"path": path, "content": content},
            observation="Wrote it.",
            goal=goal,
            session=session,
        ),
        paths=[path],
    )
