"""Whether the user is in the middle of a git operation: a merge, rebase, cherry-pick …

While one is under way the working tree holds the user's half-done work (conflict
markers, a partly applied series) and git's own state files say how to go on. A step
commit or an undo would move HEAD under it and erase that state, so the agent does not
step and undo/redo refuse, each with one sentence that says how to finish.

The checks read the same files ``git status`` reads (``wt_status_get_state`` in git's
wt-status.c), in this working tree's own git directory: a linked worktree has its own
merge or rebase.
"""

from __future__ import annotations

from pathlib import Path

from autogpt_tui.core.errors import RepositoryBusy
from autogpt_tui.core.git.runner import Git

STATES: dict[str, tuple[str, str]] = {
    "merge": ("a merge", "finish it (git commit) or abort it (git merge --abort)"),
    "rebase": ("a rebase", "finish it (git rebase --continue) or abort it (git rebase --abort)"),
    "am": (
        "applying patches (git am)",
        "finish it (git am --continue) or abort it (git am --abort)",
    ),
    "cherry-pick": (
        "a cherry-pick",
        "finish it (git cherry-pick --continue) or abort it (git cherry-pick --abort)",
    ),
    "revert": ("a revert", "finish it (git revert --continue) or abort it (git revert --abort)"),
    "bisect": ("a bisect", "end it (git bisect reset)"),
}
"""Each state: what the repository is in the middle of, and how to get out of it."""

AGENT_WAITS = "before the agent can work"
"""How :func:`busy_sentence` ends when the agent was about to step."""


def state_in(git_dir: Path) -> str | None:
    """The operation under way in the working tree whose git directory is ``git_dir``:
    a key of :data:`STATES`, or None when there is none."""
    if (git_dir / "MERGE_HEAD").exists():
        return "merge"
    if (git_dir / "rebase-apply").is_dir():
        # `git am` and the apply backend of rebase share the folder; am marks it.
        return "am" if (git_dir / "rebase-apply" / "applying").exists() else "rebase"
    if (git_dir / "rebase-merge").is_dir():
        return "rebase"
    if (git_dir / "CHERRY_PICK_HEAD").exists():
        return "cherry-pick"
    if (git_dir / "REVERT_HEAD").exists():
        return "revert"
    sequence = _sequencer_command(git_dir)
    if sequence is not None:
        # A multi-commit cherry-pick or revert between two of its commits: no *_HEAD
        # file, but the sequencer still has the rest to do.
        return sequence
    if (git_dir / "BISECT_START").exists():
        return "bisect"
    return None


def repository_state(git: Git) -> str | None:
    """The operation under way in ``git``'s working tree (a key of :data:`STATES`), or
    None."""
    return state_in(git.git_dir)


def busy_sentence(state: str, before: str = AGENT_WAITS) -> str:
    """The one sentence for a repository in ``state``: what it is in, and how to finish."""
    what, how = STATES[state]
    return f"This repository is in the middle of {what}; {how} {before}."


def ensure_quiet(git: Git, before: str = AGENT_WAITS) -> None:
    """Raise RepositoryBusy (one sentence) when an operation is under way."""
    state = repository_state(git)
    if state is not None:
        raise RepositoryBusy(busy_sentence(state, before), state)


def _sequencer_command(git_dir: Path) -> str | None:
    """``cherry-pick`` or ``revert`` when git's sequencer has a series under way."""
    try:
        todo = (git_dir / "sequencer" / "todo").read_text(errors="replace")
    except OSError:
        return None
    for line in todo.splitlines():
        word = line.strip().split(" ", 1)[0]
        if not word or word.startswith("#"):
            continue
        if word in ("pick", "p"):
            return "cherry-pick"
        if word == "revert":  # it has no one-letter form ("r" is reword)
            return "revert"
        return None
    return None
