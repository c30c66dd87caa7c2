"""Sessions in their own git worktree: starting one, landing its steps, discarding it.

``--worktree`` runs a new session in a linked worktree on the branch
``autogpt-tui/<session>``, started from the user's HEAD. The worktree lives in the
repository's common git directory, ``.git/autogpt-tui/worktrees/<session>``, rather than
next to the user's checkout: inside ``.git`` it adds not even an untracked folder to the
checkout (``git status`` and the checkout's watcher never see it), it goes wherever the
repository goes, and ``git worktree list`` still shows it. The user's uncommitted,
untracked and ignored files are neither copied into it nor touched: the session starts
from the last commit, and what the user has in hand stays theirs.

Landing brings the session's steps onto the user's current branch without ever writing
over their work: the new commits are made first (a fast-forward, or the steps replayed
three-way, as cherry-pick would, in a scratch index under ``.git``); git's own two-tree check
(``read-tree -m -u -n``) refuses before anything is written when a file that changes has
uncommitted edits or an untracked (or ignored) file is in the way; then the checkout
moves journalled, as undo and redo do (crash-safe). The worktree
stays after landing (the session can go on; a second land brings only the newer steps,
from ``refs/autogpt-tui/landed/<session>``) until ``discard``, which keeps every step not
on the current branch reachable under the undone refs.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autogpt_tui.core.errors import SessionChoiceError, UserError
from autogpt_tui.core.git.runner import Git, run_git
from autogpt_tui.core.records import (
    TRAILER_SESSION,
    LogEntry,
    escape_surrogates,
    one_line,
)
from autogpt_tui.core.session_state import new_session_id
from autogpt_tui.core.steps import RATINGS_REF, RECORDS_REF, UNDONE_REFS

if TYPE_CHECKING:
    from autogpt_tui.core.history import History
    from autogpt_tui.core.sessions import SessionChoice, SessionSummary

__all__ = [
    "BRANCH_PREFIX",
    "TRAILER_LANDED",
    "Discarded",
    "LandRefused",
    "Landed",
    "SessionWorktree",
    "WorktreePlace",
    "describe_worktree",
    "discard",
    "drop_if_unused",
    "enter_worktree",
    "find_worktree",
    "land",
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
LANDED_REFS = "refs/autogpt-tui/landed"
"""``<LANDED_REFS>/<session>``: the session branch's tip as it was last landed."""
TRAILER_LANDED = "Agent-Landed-Step"
"""One per step a squashed landing holds: ``<n> <sha>`` (the step's own commit)."""
_LAND_SCRATCH = Path("autogpt-tui") / "landing"


class LandRefused(UserError):
    """Landing (or discarding) would overwrite the user's work, or cannot be done;
    nothing was changed."""


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


@dataclass(frozen=True)
class Landed:
    """What ``land`` did."""

    session: str
    commits: list[str]
    """The new commits on the user's branch, oldest first (one when squashed)."""
    how: str
    """``fast-forward``, ``replayed`` or ``squashed``."""
    steps: int
    """How many of the session's steps it brought."""


def _entries(history: History, *args: str) -> list[LogEntry]:
    """Commits of ``args`` oldest first, with their trailers (no notes)."""
    return list(reversed(list(history.log_entries(*args))))


def land(history: History, worktree: SessionWorktree, *, squash: bool) -> Landed:
    """Bring ``worktree``'s steps not landed yet onto the branch of ``history``'s checkout.

    The caller holds the workspace lock. Refuses (LandRefused, nothing changed) when
    the repository is mid-merge or the like, when the steps conflict with the branch, or
    when moving the checkout would overwrite the user's uncommitted or untracked files.
    """
    history.ensure_quiet("land a session")
    if worktree_of(history.root, history.common_dir) is not None:
        raise LandRefused("Land from your own checkout, not from a session's worktree.")
    head = history.head()
    since = history.ref_value(f"{LANDED_REFS}/{worktree.session}")
    if since is None or not _is_ancestor(history, since, worktree.tip):
        since = history.git("merge-base", head, worktree.tip).strip()
    commits = _entries(history, f"{since}..{worktree.tip}")
    if not commits:
        raise LandRefused(f"Session {worktree.session} has nothing new to land.")
    if any(len(c.parents) > 1 for c in commits):
        raise LandRefused(
            f"Session {worktree.session}'s branch has a merge commit; land it by hand"
            f" (git merge {worktree.branch})."
        )
    steps = [c for c in commits if c.step_number is not None]
    fast = _is_ancestor(history, head, worktree.tip)
    if fast and not squash:
        new, made, how = worktree.tip, [c.sha for c in commits], "fast-forward"
    else:
        tree = worktree.tip if fast else _replay(history, head, [c.sha for c in commits])
        if squash:
            message = _squash_message(history, worktree, steps)
            new = history.git(
                "commit-tree", f"{tree}^{{tree}}", "-p", head, "-F", "-",
                input=message.encode(), env=_identity(history),
            ).strip()  # fmt: skip
            made, how = [new], "squashed"
        else:
            new, how = tree, "replayed"
            made = [e.sha for e in _entries(history, f"{head}..{new}")]
    _check_checkout(history, head, new, worktree)
    if how == "replayed":  # after the check: a refused land adds no note
        _copy_notes(history, [(old.sha, copy) for old, copy in zip(commits, made, strict=True)])
    history.move_to(
        new,
        reason=f"land {worktree.session}",
        refs=[(f"{LANDED_REFS}/{worktree.session}", worktree.tip)],
    )
    return Landed(worktree.session, made, how, len(steps))


def _copy_notes(history: History, pairs: list[tuple[str, str]]) -> None:
    """Give each replayed step its original's record and ratings (notes follow a commit's
    id, and a cherry-pick makes a new one)."""
    identity = _identity(history)
    for ref in (RECORDS_REF, RATINGS_REF):
        script = "".join(f"{old} {new}\n" for old, new in pairs).encode()
        # --stdin copies what has a note and skips what has none (a step never rated).
        run_git(
            history.root,
            ["notes", f"--ref={ref}", "copy", "--stdin"],
            input=script,
            env=identity,
            check=False,
        )


def _is_ancestor(history: History, older: str, newer: str) -> bool:
    return _try(history, "merge-base", "--is-ancestor", older, newer)


def _try(history: History, *args: str) -> bool:
    """Run git in the checkout; whether it succeeded (its failure is expected, and
    harmless, where this is used)."""
    return run_git(history.root, list(args), check=False).returncode == 0


def _identity(history: History) -> dict[str, str]:
    """The user as author and committer, as their own commits name them."""
    git = Git(history.root)
    try:
        return git.user_identity()
    finally:
        git.close()


def _replay(history: History, onto: str, commits: list[str]) -> str:
    """``commits`` replayed onto ``onto`` as cherry-pick would (each one's change merged
    three-way, its author and message kept, the user as committer); the new tip.

    Done in a scratch index under the common git directory, with no working tree: a
    scratch worktree made git check out (and then delete) every tracked file, seconds
    on a large repository, for a replay that only needs the changed files. A conflict is
    LandRefused; only unreferenced objects are left behind.
    """
    scratch = history.common_dir / _LAND_SCRATCH
    scratch.mkdir(parents=True, exist_ok=True)
    index = scratch / f"index-{new_session_id()}"
    env = {**os.environ, **_identity(history), "GIT_INDEX_FILE": str(index)}

    def git(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", *args], cwd=history.root, env=env, input=data, capture_output=True,
            check=False,
        )  # fmt: skip

    try:
        tip = onto
        git("read-tree", onto).check_returncode()
        for sha in commits:
            # Plumbing: no diff configuration of the user's (prefixes, colours) applies;
            # and their apply.whitespace=error must not refuse a step they never checked.
            patch = git("diff-tree", "-p", "--binary", "--full-index", f"{sha}^", sha)
            patch.check_returncode()
            if (
                patch.stdout
                and git(
                    "apply", "--cached", "--3way", "--whitespace=nowarn", data=patch.stdout
                ).returncode
            ):
                raise LandRefused(
                    "The session's steps conflict with your branch; nothing was changed"
                    " (land with --squash, or merge its branch by hand)."
                )
            tree = git("write-tree")
            tree.check_returncode()
            author, message = _author_and_message(git("cat-file", "commit", sha).stdout)
            made = subprocess.run(
                ["git", "commit-tree", tree.stdout.decode().strip(), "-p", tip, "-F", "-"],
                cwd=history.root, env=env | author, input=message, capture_output=True,
                check=True,
            )  # fmt: skip
            tip = made.stdout.decode().strip()
        return tip
    finally:
        index.unlink(missing_ok=True)


def _author_and_message(raw: bytes) -> tuple[dict[str, str], bytes]:
    """A commit object's author (as git's environment variables) and its message, as is."""
    header, _, message = raw.partition(b"\n\n")
    author: dict[str, str] = {}
    for line in header.split(b"\n"):
        if line.startswith(b"author "):
            who, _, when = line[7:].decode(errors="surrogateescape").rpartition("> ")
            name, _, email = who.partition(" <")
            seconds, _, zone = when.partition(" ")
            author = {
                "GIT_AUTHOR_NAME": name,
                "GIT_AUTHOR_EMAIL": email,
                "GIT_AUTHOR_DATE": f"@{seconds} {zone}",
            }
    return author, message


def _squash_message(history: History, worktree: SessionWorktree, steps: list[LogEntry]) -> str:
    """The squashed commit's message: the goal, one line per step, and trailers that
    list the steps (their numbers and commits)."""
    goal = ""
    if steps:
        record = history.record(steps[-1].sha)
        goal = one_line(record.goal, 60) if record is not None and record.goal else ""
    subject = f"Land session {worktree.session}" + (f": {goal}" if goal else "")
    lines = [f"- step {c.step_number}: {c.subject}" for c in steps]
    trailers = [f"{TRAILER_SESSION}: {worktree.session}"]
    trailers += [f"{TRAILER_LANDED}: {c.step_number} {c.sha}" for c in steps]
    body = "\n".join(lines) if lines else "(commits without agent steps)"
    return f"{subject}\n\n{body}\n\n" + "\n".join(trailers) + "\n"


def _check_checkout(history: History, head: str, new: str, worktree: SessionWorktree) -> None:
    """Refuse (LandRefused) when moving the user's checkout from ``head`` to ``new`` would
    overwrite a file of theirs: git's own two-tree check (a dry-run ``read-tree``), which
    names a changed file with uncommitted edits and an untracked (or ignored) file in the
    way. The move itself is journalled (History.move_to), so a crash at any moment is
    finished by the next open."""
    # Stat data first, as `git status` would: a file edited and put back is not in the way.
    _try(history, "update-index", "-q", "--refresh")
    check = run_git(history.root, ["read-tree", "-m", "-u", "-n", head, new], check=False)
    if check.returncode != 0:
        in_way = _paths_in_message(check.stderr.decode(errors="replace"))
        which = f" ({escape_surrogates(', '.join(in_way[:5]))})" if in_way else ""
        raise LandRefused(
            f"Landing session {worktree.session} would overwrite your uncommitted or untracked"
            f" files{which}; nothing was changed (commit or move them, then land again)."
        )


def _paths_in_message(stderr: str) -> list[str]:
    """The paths git names in a read-tree refusal (``error: Entry 'a' not uptodate`` or
    a list of files indented by a tab)."""
    paths = [line.strip() for line in stderr.splitlines() if line.startswith("\t")]
    for line in stderr.splitlines():
        if "'" in line and ("entry" in line.lower() or "untracked" in line.lower()):
            paths.append(line.split("'")[1])
    return list(dict.fromkeys(paths))


# ------------------------------------------------------------------ discarding


def _update_refs(history: History, commands: list[str], worktree: SessionWorktree) -> None:
    """Apply ``update-ref --stdin`` commands as one transaction."""
    if commands:
        script = "".join(f"{line}\n" for line in commands).encode()
        history.git(
            "update-ref", "-m", f"autogpt-tui: discard {worktree.session}", "--stdin",
            input=script,
        )  # fmt: skip


@dataclass(frozen=True)
class Discarded:
    """What ``discard`` did."""

    session: str
    kept: int
    """Steps kept under the undone refs (those not on the current branch)."""


def discard(history: History, worktree: SessionWorktree) -> Discarded:
    """Remove ``worktree`` and its branch; its steps not on the current branch stay
    reachable under the undone refs. The caller holds the workspace lock.

    Refuses (LandRefused, nothing changed) when the worktree has uncommitted or untracked
    files: the agent commits everything it does, so those were made by hand.
    """
    if worktree.path.is_dir():
        status = subprocess.run(
            ["git", "status", "--porcelain", "-z"],
            cwd=worktree.path,
            capture_output=True,
            check=False,
        )
        if status.returncode != 0 or status.stdout.strip(b"\0"):
            raise LandRefused(
                f"The worktree of session {worktree.session} ({worktree.path}) has uncommitted"
                " changes made by hand; commit or remove them there first. Nothing was changed."
            )
    landed = {
        (s.session, s.step) for s in history.steps_on_branch() if s.session == worktree.session
    }
    head = history.head()
    kept = [
        e.sha
        for e in _entries(history, worktree.tip, "--not", head)
        if e.step_number is not None
        and e.trailers.get(TRAILER_SESSION) == worktree.session
        and (worktree.session, e.step_number) not in landed
    ]
    # The steps are made safe first: a crash after this leaves a worktree to discard
    # again, never a step that nothing reaches.
    _update_refs(history, [f"update {UNDONE_REFS}/{sha} {sha}" for sha in kept], worktree)
    if worktree.path.is_dir():
        history.git("worktree", "remove", "--force", str(worktree.path))
    _try(history, "worktree", "prune")
    from autogpt_tui.core.step_index import index_ref

    gone = [worktree.ref, f"{LANDED_REFS}/{worktree.session}", index_ref(worktree.ref)]
    _update_refs(history, [f"delete {ref}" for ref in gone], worktree)
    return Discarded(worktree.session, len(kept))


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
