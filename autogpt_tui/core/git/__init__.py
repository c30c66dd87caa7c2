"""Git plumbing for the step history: one way to reach git, and the objects in it.

- ``runner``: :class:`Git`, the one handle on a repository (commands, objects, refs,
  config) and :func:`run_git`, through which every short git process starts.
- ``objects``: blobs, trees and commits read and written in-process; tree surgery.
- ``notes``: notes refs; a note and other ref moves land in one transaction.
- ``worktree``: the working tree and the index, path by path.
- ``log``: `git log` streamed into log entries.
"""

from autogpt_tui.core.git.log import read_log
from autogpt_tui.core.git.notes import Notes
from autogpt_tui.core.git.objects import EMPTY_TREE, ZERO_SHA, ObjectStore, TreeEntry
from autogpt_tui.core.git.runner import Git, find_repository, run_git
from autogpt_tui.core.git.worktree import Change, WorkTree

__all__ = [
    "EMPTY_TREE",
    "ZERO_SHA",
    "Change",
    "Git",
    "Notes",
    "ObjectStore",
    "TreeEntry",
    "WorkTree",
    "find_repository",
    "read_log",
    "run_git",
]
