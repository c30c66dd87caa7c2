"""Sessions in their own git worktree: starting one, finding and listing them.

``--worktree`` runs a new session in a linked worktree on the branch
``autogpt-tui/<session>``, started from the user's HEAD. The worktree lives in the
repository's common git directory, ``.git/autogpt-tui/worktrees/<session>``, rather than
next to the user's checkout: inside ``.git`` it adds not even an untracked folder to the
checkout (``git status`` and the checkout's watcher never see it), it goes wherever the
repository goes, and ``git worktree list`` still shows it. The user's uncommitted,
untracked and ignored files are neither copied into it nor touched: the session starts
from the last commit, and what the user has in hand stays theirs.

Landing the session's steps on the user's branch, and discarding the worktree, are in
:mod:`autogpt_tui.core.worktree_finish`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autogpt_tui.core.errors import SessionChoiceError
from autogpt_tui.core.git.runner import run_git
from autogpt_tui.core.session_state import new_session_id

if TYPE_CHECKING:
    from autogpt_tui.core.history import History
    from autogpt_tui.core.sessions import SessionChoice, SessionSummary

__all__ = [
    "BRANCH_PREFIX",
    "SessionWorktree",
    "WorktreePlace",
    "describe_worktree",
    "drop_if_unused",
    "enter_worktree",
    "find_worktree",
    "list_worktrees",
    "resolve_workspace",
    "start_worktree",
    "uncommitted_notice",
    "worktree_of",
    "worktree_sessions",
]

BRANCH_PREFIX = "autogpt-tui/"
"""A worktree session's branch is ``autogpt-tui/<session>``."""
WORKTREES = Path("autogpt-tui") / "worktrees"
"""Where the worktrees live, relative to the common git directory."""


@dataclass(frozen=True)
class SessionWorktree:
    """One session's worktree: where it is, its branch, and its tip."""

    session: str
    path: Path
    """The worktree's folder (it may be gone if someone removed it by hand)."""
    tip: str
    """The commit the session branch points at."""
    timestamp: int
    """When the tip was committed (seconds since the epoch)."""

    @property
    def branch(self) -> str:
        """The session's branch, ``autogpt-tui/<session>``."""
        return BRANCH_PREFIX + self.session

    @property
    def ref(self) -> str:
        """The branch's full ref name."""
        return "refs/heads/" + self.branch


def worktree_folder(common_dir: Path, session: str) -> Path:
    """Where ``session``'s worktree lives."""
    return common_dir / WORKTREES / session


def worktree_of(root: Path, common_dir: Path) -> str | None:
    """The session whose worktree ``root`` is, or None for any other working tree."""
    folder = common_dir / WORKTREES
    try:
        relative = root.resolve().relative_to(folder.resolve())
    except ValueError:
        return None
    return relative.parts[0] if len(relative.parts) == 1 else None


@dataclass(frozen=True)
class WorktreePlace:
    """Where a worktree session works, as the TUI shows it."""

    session: str
    folder: str
    """The worktree's folder, relative to the user's checkout when it is inside it
    (``.git/autogpt-tui/worktrees/<session>``)."""
    branch: str
    """The branch checked out there (``autogpt-tui/<session>``), or a commit when
    detached."""


def describe_worktree(root: Path) -> WorktreePlace | None:
    """Which session's worktree ``root`` is, read from git's files alone (no git process:
    the TUI asks before its first frame); None for any other working tree."""
    try:
        pointer = (root / ".git").read_text(encoding="utf-8").strip()
        if not pointer.startswith("gitdir:"):
            return None
        git_dir = (root / pointer.removeprefix("gitdir:").strip()).resolve()
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None  # a plain repository (.git is a folder), or not git's layout
    session = worktree_of(root, common)
    if session is None:
        return None
    folder = common / WORKTREES / session
    shown = folder.relative_to(common.parent) if common.name == ".git" else folder
    branch = head.removeprefix("ref: refs/heads/") if head.startswith("ref: ") else head[:8]
    return WorktreePlace(session, str(shown), branch)


def start_worktree(history: History, session: str | None = None) -> SessionWorktree:
    """Make a new session's worktree on ``autogpt-tui/<session>`` at the user's HEAD.

    Only the common git directory is written (the branch, the worktree's folder and
    git's own bookkeeping of it); the user's checkout, index and HEAD stay as they are.
    """
    session = session or new_session_id()
    head = history.head()
    path = worktree_folder(history.common_dir, session)
    path.parent.mkdir(parents=True, exist_ok=True)
    history.git("worktree", "add", "--quiet", "-b", BRANCH_PREFIX + session, str(path), head)
    return SessionWorktree(session, path, head, history.read_commit(head).timestamp)


def uncommitted_notice(history: History, worktree: SessionWorktree) -> str:
    """What the user is told as the session starts: where it works, and that their
    uncommitted work stayed behind, untouched."""
    changed = [line for line in history.git("status", "--porcelain", "-z").split("\0") if line]
    kept = (
        f" Your {len(changed)} uncommitted change{'s' if len(changed) != 1 else ''} stay in"
        " your checkout, untouched and not copied."
        if changed
        else ""
    )
    return (
        f"Working in the worktree {worktree.path} on the branch {worktree.branch}, from"
        f" {worktree.tip[:8]}; your checkout is left as it is.{kept}"
        " `autogpt-tui land` brings the steps over, `autogpt-tui discard` removes it."
    )


def list_worktrees(history: History) -> list[SessionWorktree]:
    """Every worktree session of the repository, newest tip first."""
    out = history.git(
        "for-each-ref",
        "--sort=-committerdate",
        "--format=%(refname)%00%(objectname)%00%(committerdate:unix)",
        "refs/heads/" + BRANCH_PREFIX,
    )
    found = []
    for line in out.splitlines():
        ref, sha, when = line.split("\0")
        session = ref.removeprefix("refs/heads/" + BRANCH_PREFIX)
        if "/" in session:
            continue  # not a branch of ours
        found.append(
            SessionWorktree(
                session,
                worktree_folder(history.common_dir, session),
                sha,
                int(when or 0),
            )
        )
    return found


def find_worktree(history: History, text: str | None) -> SessionWorktree:
    """The worktree session ``text`` names (its id or a prefix only it has); the latest
    one when ``text`` is None. SessionChoiceError (one sentence) when none or several fit."""
    listed = list_worktrees(history)
    if not listed:
        raise SessionChoiceError(
            "This repository has no worktree session (`--worktree` starts one)."
        )
    if text is None:
        return listed[0]
    text = text.strip()
    exact = [w for w in listed if w.session == text]
    fitting = exact or [w for w in listed if text and w.session.startswith(text)]
    if not fitting:
        raise SessionChoiceError(
            f"No worktree session's id starts with {text!r}; `autogpt-tui sessions` lists them."
        )
    if len(fitting) > 1:
        ids = ", ".join(w.session for w in fitting[:5])
        raise SessionChoiceError(
            f"{text!r} fits {len(fitting)} worktree sessions ({ids}); give more of the id."
        )
    return fitting[0]


def resolve_workspace(folder: str) -> Path | None:
    """The worktree a WORKSPACE argument names when it is no folder but a worktree
    session's id (or a prefix only it has) in the repository of the current directory;
    None when it names none (the caller then says the folder does not exist).

    Read with plain git commands: nothing is opened (or recovered) in a repository the
    user did not name.
    """
    if not folder or Path(folder).exists() or os.sep in folder:
        return None
    here = Path.cwd()
    common = run_git(here, ["rev-parse", "--git-common-dir"], check=False)
    refs = run_git(
        here,
        ["for-each-ref", "--format=%(refname:lstrip=3)", "refs/heads/" + BRANCH_PREFIX],
        check=False,
    )
    if common.returncode != 0 or refs.returncode != 0:
        return None
    sessions = refs.stdout.decode(errors="replace").split()
    fitting = [s for s in sessions if s == folder] or [s for s in sessions if s.startswith(folder)]
    if len(fitting) != 1:
        return None
    common_dir = here / common.stdout.decode(errors="replace").strip()
    return worktree_folder(common_dir.resolve(), fitting[0])


# ------------------------------------------------------------------ landing


def enter_worktree(history: History, choice: SessionChoice) -> tuple[History, SessionChoice, str]:
    """Start a new session's worktree from ``history``'s HEAD (the caller holds the lock)
    and open it: its History (``history`` is closed), the session chosen (the new one,
    with the goal asked for), and the sentence telling the user where it works."""
    from autogpt_tui.core.history import History
    from autogpt_tui.core.sessions import SessionChoice

    try:
        worktree = start_worktree(history)
        notice = uncommitted_notice(history, worktree)
    finally:
        history.close()
    inside = History.open(worktree.path, create=False)
    return inside, SessionChoice(worktree.session, choice.goal), notice


def worktree_sessions(history: History) -> list[tuple[SessionWorktree, SessionSummary | None]]:
    """Every worktree session with its summary as its own worktree lists it (None when
    the worktree is gone or holds no step of it yet), newest tip first."""
    from autogpt_tui.core.history import History
    from autogpt_tui.core.sessions import list_sessions

    found: list[tuple[SessionWorktree, SessionSummary | None]] = []
    for worktree in list_worktrees(history):
        summary = None
        if worktree.path.is_dir():
            with History.open(worktree.path, create=False) as inside:
                summary = next((s for s in list_sessions(inside) if s.id == worktree.session), None)
        found.append((worktree, summary))
    return found


def drop_if_unused(root: Path) -> bool:
    """Remove the worktree session at ``root`` when it holds nothing: no commit that
    another branch lacks, and no file changed (the TUI quit, or the model failed, before
    any step). ``--worktree`` then leaves nothing behind. True when it was removed.

    git's own ``worktree remove`` (without --force) is the last word: it refuses a
    worktree with any change, so nothing made there is ever removed.
    """
    place = describe_worktree(root)
    if place is None:
        return False
    common = root.resolve().parents[len(WORKTREES.parts)]
    ref = f"refs/heads/{BRANCH_PREFIX}{place.session}"
    tip = run_git(common, ["rev-parse", "--verify", "-q", ref], check=False)
    if tip.returncode != 0:
        return False
    sha = tip.stdout.decode().strip()
    holders = run_git(
        common, ["for-each-ref", "--contains", sha, "--format=%(refname)", "refs/heads"]
    )
    if not [r for r in holders.stdout.decode().split() if r != ref]:
        return False  # a commit only the session's branch has: kept for land or discard
    removed = run_git(common, ["worktree", "remove", str(root)], check=False)
    if removed.returncode != 0:
        return False
    run_git(common, ["update-ref", "-d", ref, sha], check=False)
    return True
