"""The git-backed step history: step commits, their records and ratings, undo and redo.

Every action the agent takes becomes exactly one commit on the workspace's current
branch; its record and its ratings live in git notes, so a copy of the folder carries
everything. :class:`History` is the one object callers hold; the work is done by

- ``core/steps.py``: step commits, the user's own commits, reading steps back;
- ``core/ratings.py``: explicit and implicit ratings;
- ``core/undo.py``: undo, redo and the redo stack;
- ``core/git/``: the plumbing (one :class:`Git` per History: commands, objects, notes,
  the working tree and index).

Speed follows what changed, not the size of the tree: step commits are built by
rewriting only the trees on the paths a step touched, and undo/redo limit every git
command to the paths the steps changed. The only whole-tree cost left is git's own
index read and write, which every command that updates the index pays.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from autogpt_tui.core.errors import WorkspaceNotFound
from autogpt_tui.core.git import Git, Notes, ObjectStore, WorkTree, find_repository
from autogpt_tui.core.git.state import AGENT_WAITS, ensure_quiet
from autogpt_tui.core.journal import Journal
from autogpt_tui.core.ratings import Ratings
from autogpt_tui.core.records import (
    LogEntry,
    RatingSource,
    StepCommit,
    UserCommit,
)
from autogpt_tui.core.snapshots import Recovered, Snapshot, Snapshots, Taken
from autogpt_tui.core.steps import (
    RATINGS_REF,
    RECORDS_REF,
    UNDONE_REFS,
    AgentIdentity,
    StepLog,
)
from autogpt_tui.core.undo import Undo

if TYPE_CHECKING:  # pydantic models, loaded only when a record or rating is read
    from autogpt_tui.core.record_models import RatingEvent, StepRecord

__all__ = ["RATINGS_REF", "RECORDS_REF", "UNDONE_REFS", "History"]


class History:
    """A workspace folder as a git repository of agent steps.

    Open one per thread and close it when done (GitPython keeps ``git cat-file``
    processes alive for the life of a repository handle).
    """

    def __init__(self, git: Git) -> None:
        self._repository = git
        self.root = git.root
        """The top of the workspace's working tree."""
        self._agent = AgentIdentity()
        self._objects = ObjectStore(git)
        self._notes = Notes(git, self._objects)
        self._worktree = WorkTree(git, self._objects)
        self._steps = StepLog(git, self._objects, self._notes, self._worktree, self._agent)
        self._ratings = Ratings(self._notes, self._steps)
        self._undo = Undo(
            git, self._objects, self._worktree, self._steps, self._ratings, self._agent
        )
        self._snapshots = Snapshots(git, self._objects, self._worktree)
        self._journal = Journal(git, self._objects, self._worktree)
        self.recovered: list[str] = []
        """Operations a crash had cut short that this open finished or rolled back, one
        line each (``rolled forward undo step 12``)."""
        self.kept_out: list[str] = []
        """Files that look like secrets which this open, making the folder a repository,
        kept out of the first commit (and listed in ``.git/info/exclude``)."""

    # ----------------------------------------------------------------- opening

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True) -> History:
        """Open the workspace at ``path``, initialising it as a repository if needed.

        A folder that is not inside a git repository becomes one, with a first commit of
        the files already there but those that look like secrets (see ``kept_out``).
        With ``create`` false it raises NotARepository instead, having written nothing:
        only the TUI and ``run`` make repositories. A repository without any commit gets
        an empty first commit, so that every step has a parent to go back to.

        A step, undo or redo that a crash (even SIGKILL) cut short is finished or rolled
        back first, from its journal (see ``core/journal.py`` and ``recovered``).
        """
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise WorkspaceNotFound(
                f"The workspace {str(folder)!r} does not exist or is not a folder."
            )
        root, fresh = find_repository(folder.resolve(), create=create)
        history = cls(Git(root))
        try:
            history.recovered = history._journal.recover()
            if history._repository.head_or_none() is None:
                history.kept_out = history._steps.make_first_commit(take_files=fresh)
        except BaseException:
            history.close()  # no git helper process outlives a failed open
            if fresh:
                # We made this repository a moment ago and could not finish it (a full
                # disk, an unreadable file): leave the folder as the user had it.
                shutil.rmtree(root / ".git", ignore_errors=True)
            raise
        return history

    @property
    def recovered_notice(self) -> str | None:
        """One sentence saying which interrupted operations this open finished or rolled
        back, or None."""
        if not self.recovered:
            return None
        return (
            "An earlier run was interrupted; its history operation was recovered: "
            + "; ".join(self.recovered)
            + "."
        )

    @property
    def kept_out_notice(self) -> str | None:
        """One sentence telling the user which files the first commit kept out, or None."""
        if not self.kept_out:
            return None
        names = ", ".join(self.kept_out)
        return (
            f"Kept {names} out of the first commit because they look like secrets "
            "(listed in .git/info/exclude; the files are untouched)."
        )

    def close(self) -> None:
        """Stop the git helper processes this object keeps."""
        self._repository.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def agent_name(self) -> str:
        """The author name of step commits ([history] agent_name in the config)."""
        return self._agent.name

    @agent_name.setter
    def agent_name(self, name: str) -> None:
        self._agent.name = name

    @property
    def agent_email(self) -> str:
        """The author email of step commits ([history] agent_email in the config)."""
        return self._agent.email

    @agent_email.setter
    def agent_email(self, email: str) -> None:
        self._agent.email = email

    @property
    def common_dir(self) -> Path:
        """The git directory shared by all working trees (objects, refs, packed-refs)."""
        return self._repository.common_dir

    # -------------------------------------------------------------- low level

    def git(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
        """Run git in the workspace and return its standard output as text.

        Raises GitFailure with git's own message when it exits non-zero.
        """
        return self._repository.run(*args, input=input, env=env)

    def head(self) -> str:
        """The commit HEAD names."""
        return self._repository.head()

    def ref_value(self, ref: str) -> str | None:
        """The commit a ref points at, or None when the ref does not exist."""
        return self._repository.ref_value(ref)

    def read_commit(self, sha: str) -> LogEntry:
        """A commit read in-process (GitPython's persistent cat-file), without notes."""
        return self._objects.read_commit(sha)

    def tree_of(self, commit: str) -> str:
        """The tree id of a commit."""
        return self._objects.tree_of(commit)

    def diff_trees(self, a: str | None, b: str | None, prefix: str = "") -> list[str]:
        """Paths of files that differ between two trees, read in-process.

        Only subtrees whose ids differ are opened, so the cost follows the change.
        """
        return self._objects.diff_trees(a, b, prefix)

    def read_note(self, ref: str, sha: str) -> str | None:
        """The note on a commit in a notes ref, or None."""
        return self._notes.read(ref, sha)

    def ensure_quiet(self, before: str = AGENT_WAITS) -> None:
        """Raise RepositoryBusy, one sentence ending "… ``before``.", when the user is in
        the middle of a merge, rebase, cherry-pick, revert, bisect or `git am`."""
        ensure_quiet(self._repository, before)

    def maintain(self, *, background: bool = False) -> None:
        """Pack the loose objects of the last steps and tidy the step index.

        The agent calls this every MAINTAIN_EVERY (100) steps. Step commits are written
        with plumbing, which never triggers git's automatic housekeeping; without it a
        long session leaves tens of thousands of loose objects, every git command slows
        down, and each step costs its loose objects in full: above all the notes trees'
        256-entry fan-out root, rewritten by every step (some 7 KiB a step loose, a few
        dozen bytes as a delta in a pack).

        So the loose objects go into a small pack (`git repack --geometric=2 -d`: small
        packs are rolled into bigger ones in a geometric progression, so the pack count
        stays logarithmic and the big history pack is left alone, and no history walk is
        made); then `git gc --auto` does whatever else git thinks due. The step index's
        single-step nodes are folded into one (see core/step_index.py), and an index
        that is missing or no longer holds for HEAD (an old repository, a rewritten
        branch) is rebuilt here, off the step path. The step index is tidied first, so
        that what it writes is packed too.

        With ``background`` (the agent's loop) the repack runs as a background process
        that the next call (or :meth:`close`) reaps, so the loop never waits seconds for
        it. That is safe while steps go on writing objects and moving refs: the repack
        packs the loose objects it lists, and its ``-d`` then removes only loose objects
        found in a pack (`prune-packed`) and the packs it rolled up, so an object written
        meanwhile stays loose until the next repack (the object writer survives the
        fan-out folders being removed; see core/git/runner.py); a repack moves no ref.
        `gc --auto` (which may pack refs and prune) is never run beside it: only in a
        later call, once the repack is reaped, in the foreground as before. While the
        last repack still runs, a call only tidies the index.
        """
        # The index first: its new objects go into the pack too.
        self._steps.index.compact()
        self._steps.ensure_index()
        repack = ("-c", "repack.writeBitmaps=false", "repack", "--geometric=2", "-d", "-q")
        if background:
            if not self._repository.background_done():
                return  # the last repack is still at work: next time
            self._repository.gc_auto()
            self._repository.start_background(*repack)
            return
        self._repository.wait_background()
        self._repository.try_run(*repack)
        self._repository.gc_auto()

    # ------------------------------------------------------------------ steps

    def commit_step(
        self,
        *,
        session: str,
        step: int,
        tool: str,
        policy: str,
        summary: str,
        record: StepRecord,
        paths: Iterable[str] | None = None,
        role: str | None = None,
    ) -> StepCommit:
        """Commit one agent step: the files it changed (or none: an empty commit).

        ``paths`` names what the action changed; only those are staged, so the cost
        follows the change. ``None`` means "unknown" (a shell command): every change in
        the working tree is taken, as `git add -A` would.
        """
        # The step also empties the redo stack (in the same journalled operation): a new
        # action makes the undone steps unreachable by redo, as in any editor; they stay
        # visible in the history as undone.
        return self._steps.commit_step(
            session=session,
            step=step,
            tool=tool,
            policy=policy,
            summary=summary,
            record=record,
            paths=paths,
            role=role,
        )

    def commit_user_edits(self, paths: Iterable[str] | None = None) -> UserCommit | None:
        """Commit the user's own edits made since the last step as the user's commit.

        Returns None when there is nothing to commit. ``paths`` limits the commit to
        files a watcher saw change; None scans the whole working tree.
        """
        return self._steps.commit_user_edits(paths)

    def protect_user_work(self, paths: Iterable[str]) -> UserCommit | None:
        """Make sure the agent changing ``paths`` loses nothing of the user's.

        Called right before an action changes files. Files among ``paths`` holding the
        user's uncommitted changes (or untracked files of theirs) are committed first, as
        the user's commit, so the agent's commit holds only the agent's change and undo
        brings the user's version back; files git ignores are kept in a snapshot
        instead (they are never committed). Returns the user's commit, if one was made.
        """
        wanted = list(paths)
        if not wanted:
            return None
        ignored = self._worktree.ignored_existing(wanted, self.head())
        if ignored:
            self._snapshots.take_paths("before the agent changed ignored files", ignored)
        return self._steps.commit_user_edits(wanted)

    # ------------------------------------------------------------- snapshots

    def snapshot(self, reason: str, changed: Iterable[str] | None = None) -> Taken:
        """Store the user's uncommitted work in a snapshot if it changed since the last.

        ``changed`` lists paths a watcher saw change since the last call; None scans
        the working tree. Nothing in the working tree, the index or HEAD changes.
        """
        return self._snapshots.take(reason, changed)

    def snapshots(self) -> list[Snapshot]:
        """The kept snapshots of the user's work, newest first."""
        return self._snapshots.all()

    def find_snapshot(self, name: str) -> Snapshot:
        """The snapshot numbered ``name``, or SnapshotNotFound (one sentence)."""
        return self._snapshots.find(name)

    def snapshot_files(self, snapshot: Snapshot) -> list[str]:
        """The paths a snapshot holds the user's work for."""
        return self._snapshots.files(snapshot)

    def recover(self, snapshot: Snapshot) -> Recovered:
        """Put a snapshot's files back in the working tree (saving the current ones in a
        new snapshot first); HEAD and the index are left alone."""
        return self._snapshots.recover(snapshot)

    # --------------------------------------------------------------- reading

    def log_entries(
        self,
        *revs: str,
        records: bool = False,
        max_count: int | None = None,
        skip: int | None = None,
    ) -> Iterator[LogEntry]:
        """Stream commits newest first; stops reading git as soon as the caller stops.

        Each entry carries its ratings note and, with ``records``, its record note too.
        """
        return self._steps.log_entries(*revs, records=records, max_count=max_count, skip=skip)

    def steps(self, limit: int | None = None) -> list[StepCommit]:
        """Agent steps newest first, with rating and undone mark (records not loaded).

        Steps on the current branch come with those that undo took off it, so the
        history shows what was undone too.
        """
        return self._steps.steps(limit)

    def steps_on_branch(
        self, *, records: bool = False, expect: int | None = None
    ) -> Iterator[StepCommit]:
        """Steps reachable from HEAD newest first, each marked undone if reverted.

        With ``records`` each step carries its record; ``expect`` says how many steps
        the caller wants, so git can stop early.
        """
        return self._steps.steps_on_branch(records=records, expect=expect)

    def steps_taken_off(self) -> Iterator[StepCommit]:
        """The steps undo took off the branch (kept for redo), newest first, all undone."""
        return self._steps.steps_taken_off()

    def last_step_number(self, session: str) -> int:
        """The highest step number ``session`` ever used, undone steps included (0: none);
        the session's next step is numbered one more, so numbers are never reused."""
        return self._steps.last_step_number(session)

    def resolve(self, rev: str) -> StepCommit:
        """The agent step ``rev`` names (with its record), or NotAnAgentStep."""
        return self._steps.resolve(rev)

    def record(self, sha: str) -> StepRecord | None:
        """The step record stored for commit ``sha``, or None if it has none."""
        return self._steps.record(sha)

    def diff(self, sha: str) -> str:
        """The patch a step made (against its parent)."""
        return self._steps.diff(sha)

    # --------------------------------------------------------------- ratings

    def rate(
        self,
        rev: str,
        value: float,
        comment: str | None = None,
        source: RatingSource = "user",
        model: str | None = None,
    ) -> StepCommit:
        """Rate a step: -1, 0 (clears) or +1, with an optional comment; the latest wins.

        A reviewer agent's verdict: ``rate(rev, value, reason, source="reviewer",
        model="<model name>")`` (-1, 0 or +1). It is kept beside the user's rating, never
        replaces it, and counts for learning only while the user has not rated, cleared
        or undone the step (``StepCommit.review`` and ``review_counts``).
        """
        return self._ratings.rate(rev, value, comment, source, model)

    def ratings(self, sha: str) -> list[RatingEvent]:
        """Every rating event given to a step, oldest first."""
        return self._ratings.of(sha)

    # ------------------------------------------------------------ undo/redo

    def move_to(self, new: str, *, reason: str, refs: Iterable[tuple[str, str]] = ()) -> None:
        """Move HEAD (its branch) to ``new`` with the files that differ, journalled as undo
        and redo are (``land``: core/worktree.py); ``refs`` (ref, value) move in the same
        transaction. The caller made sure no uncommitted file of the user's is in the way."""
        from autogpt_tui.core.git import ZERO_SHA
        from autogpt_tui.core.journal import Intent, RefMove

        head = self.head()
        moves = [RefMove("HEAD", head, new)]
        moves += [RefMove(ref, self.ref_value(ref) or ZERO_SHA, value) for ref, value in refs]
        paths = self._objects.diff_trees(self.tree_of(head), self.tree_of(new))
        branch = self._repository.branch_key()
        self._journal.run(Intent("land", reason, moves, paths, True, branch, None))

    def undoable(self, limit: int | None = None) -> list[StepCommit]:
        """The steps in effect on the branch, newest first (what undo takes back next)."""
        return self._undo.undoable(limit)

    def undo(self, count: int = 1, *, negative: bool = True) -> list[StepCommit]:
        """Take back the last ``count`` steps; all or nothing.

        When HEAD is the step, the branch moves back and the step stays reachable for
        redo; when the user's commits sit on top, a new commit reverts it instead.
        ``negative`` (``[rewards] undo_is_negative``): each step the user has not rated
        counts as a -1 rating; otherwise nothing is rated. The steps are returned as they
        are after the undo (undone, with the rating in effect).
        Refused in the middle of a merge (or rebase, …): HEAD never moves under it.
        """
        self.ensure_quiet("before undoing a step")
        return self._undo.undo(count, negative=negative)

    def redo(self, count: int = 1) -> list[StepCommit]:
        """Bring back the last ``count`` undone steps, most recently undone first.

        Refused in the middle of a merge (or rebase, …): HEAD never moves under it.
        """
        self.ensure_quiet("before redoing a step")
        return self._undo.redo(count)

    def redo_depth(self) -> int:
        """How many undone steps redo can bring back."""
        return self._undo.redo_depth()
