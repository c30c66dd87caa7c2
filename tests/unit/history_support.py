"""Helpers shared by the history tests: writing files, taking steps, snapshots of state."""

from __future__ import annotations

import os
from pathlib import Path

from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepCommit, StepRecord, Usage
from tests.conftest import git


def write(root: Path, rel: str, text: str) -> None:
    """Write ``text`` to ``root/rel``, making its folders."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def step(h: History, n: int, paths: list[str] | None, tool: str = "write_file") -> StepCommit:
    """Commit agent step ``n`` of session ``s1`` over ``paths``, with a full record."""
    return h.commit_step(
        session="s1",
        step=n,
        tool=tool,
        policy="default",
        summary=f"step {n}",
        record=StepRecord(
            thought=f"thinking {n}",
            tool=tool,
            arguments={"paths": paths},
            observation=f"done {n}",
            usage=Usage(prompt_tokens=10, completion_tokens=n, total_tokens=10 + n),
        ),
        paths=paths,
    )


def agent_write(h: History, n: int, rel: str, text: str) -> StepCommit:
    """Write a file as the agent would and commit it as step ``n``."""
    write(h.root, rel, text)
    return step(h, n, [rel])


def files(root: Path) -> dict[str, bytes]:
    """Every file under root (outside .git) with its bytes, symlinks as their target."""
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            out[rel] = os.readlink(full).encode() if full.is_symlink() else full.read_bytes()
    return out


def state(root: Path) -> tuple[dict[str, bytes], str, str, str]:
    """Everything an operation that "changes nothing" must leave alone."""
    return (
        files(root),
        git(root, "rev-parse", "HEAD"),
        git(root, "status", "--porcelain=v1", "--untracked-files=all", "--ignored"),
        git(root, "diff", "--cached"),
    )


def dirty_the_users_work(root: Path) -> None:
    """Uncommitted, partially staged, untracked and ignored work of the user's."""
    write(root, ".gitignore", "*.log\nsecret/\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-qm", "user: ignore logs")
    write(root, "README.md", "# staged version\n")
    git(root, "add", "README.md")
    write(root, "README.md", "# working version, differs from the staged one\n")
    write(root, "scratch.txt", "untracked\n")
    write(root, "debug.log", "ignored\n")
    write(root, "secret/key.txt", "ignored too\n")
