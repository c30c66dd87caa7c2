"""What a sandboxed command needs to use git in a linked worktree (a ``--worktree``
session's): the mounts that show it the repository, read-only.

In an ordinary checkout the sandbox shows ``.git`` read-only in place. A linked
worktree's ``.git`` is a file naming its git directory under the repository's common
one, which lies outside the workspace: without these mounts every git command there
fails (``not a git repository``). Only what git reads is shown, never the common
directory whole (it holds the other sessions' worktrees and this tool's lock), and its
config without credentials, as for an ordinary checkout.
"""

from __future__ import annotations

from pathlib import Path

from autogpt_tui.core.sandbox_layout import sanitized_git_config

__all__ = ["linked_worktree_mounts"]

_COMMON_PARTS = ("objects", "refs", "packed-refs", "info", "HEAD")
"""What git reads in the common directory (besides its config)."""


def linked_worktree_mounts(root: Path, scratch: Path) -> list[str]:
    """bubblewrap's read-only mounts of the git directories of the linked worktree at
    ``root``; empty when ``root/.git`` is not a linked worktree's pointer file."""
    try:
        pointer = (root / ".git").read_text(encoding="utf-8").strip()
        if not pointer.startswith("gitdir:"):
            return []
        git_dir = (root / pointer.removeprefix("gitdir:").strip()).resolve()
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
    except (OSError, UnicodeDecodeError):
        return []
    mounts = ["--ro-bind", str(git_dir), str(git_dir)]
    for name in _COMMON_PARTS:
        # -try: a part git did not make (no packed-refs yet) is skipped, not an error.
        mounts += ["--ro-bind-try", str(common / name), str(common / name)]
    config = common / "config"
    clean = sanitized_git_config(config, scratch)
    mounts += ["--ro-bind-try", str(clean or config), str(config)]
    return mounts
