"""Finishing a worktree session: landing its steps on the user's branch, or discarding it.

Landing brings the session's steps onto the user's current branch without ever writing
over their work: the new commits are made first (a fast-forward, or the steps replayed
three-way, as cherry-pick would, in a scratch index under ``.git``); git's own two-tree
check (``read-tree -m -u -n``) refuses before anything is written when a file that
changes has uncommitted edits or an untracked (or ignored) file is in the way; then the
checkout moves journalled, as undo and redo do (crash-safe). The worktree stays after
landing (the session can go on; a second land brings only the newer steps, from
``refs/autogpt-tui/landed/<session>``) until ``discard``, which keeps every step not on
the current branch reachable under the undone refs.

Split from :mod:`autogpt_tui.core.worktree` (starting, finding and listing worktree
sessions), which this module builds on.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autogpt_tui.core.errors import UserError
from autogpt_tui.core.git.runner import Git, run_git
from autogpt_tui.core.records import TRAILER_SESSION, LogEntry, escape_surrogates, one_line
from autogpt_tui.core.session_state import new_session_id
from autogpt_tui.core.steps import RATINGS_REF, RECORDS_REF, UNDONE_REFS
from autogpt_tui.core.worktree import SessionWorktree, worktree_of

if TYPE_CHECKING:
    from autogpt_tui.core.history import History

__all__ = ["TRAILER_LANDED", "Discarded", "LandRefused", "Landed", "discard", "land"]

LANDED_REFS = "refs/autogpt-tui/landed"
"""``<LANDED_REFS>/<session>``: the session branch's tip as it was last landed."""
TRAILER_LANDED = "Agent-Landed-Step"
"""One per step a squashed landing holds: ``<n> <sha>`` (the step's own commit)."""
_LAND_SCRATCH = Path("autogpt-tui") / "landing"


class LandRefused(UserError):
    """Landing (or discarding) would overwrite the user's work, or cannot be done;
    nothing was changed."""


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
