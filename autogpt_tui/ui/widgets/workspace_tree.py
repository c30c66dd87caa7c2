"""The workspace's files as a tree, without ``.git`` and what the workspace ignores."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from textual.widgets import DirectoryTree

GIT_DIR_NAME = ".git"


def ignored_paths(root: Path, paths: Sequence[Path]) -> set[Path]:
    """Which of ``paths`` git ignores in the repository holding ``root``.

    Asks ``git check-ignore`` once for the whole batch. Tracked files are never reported
    (an ignore rule does not apply to them), and a folder that is not a repository, or a
    git that fails, hides nothing: the tree errs on the side of showing files.
    """
    if not paths:
        return set()
    try:
        result = subprocess.run(
            ["git", "check-ignore", "-z", "--stdin"],
            cwd=root,
            input=b"".join(os.fsencode(p) + b"\0" for p in paths),
            capture_output=True,
            env={**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"},
            check=False,
        )
    except OSError:
        return set()
    # 0: some ignored, 1: none ignored, anything else: git could not tell.
    if result.returncode not in (0, 1):
        return set()
    return {Path(os.fsdecode(item)) for item in result.stdout.split(b"\0") if item}


class WorkspaceTree(DirectoryTree):
    """A DirectoryTree of the workspace that hides ``.git`` and files git ignores."""

    def __init__(
        self,
        path: Path,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(path, name=name, id=id, classes=classes)
        self._workspace = path

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Drop ``.git`` and ignored paths.

        DirectoryTree calls this from its loader thread, so running git here keeps the
        UI responsive on large folders.
        """
        visible = [path for path in paths if path.name != GIT_DIR_NAME]
        hidden = ignored_paths(self._workspace, visible)
        return [path for path in visible if path not in hidden]
