"""Undo and redo of steps, and the redo stack.

When HEAD is the step, undo moves the branch back and keeps the step reachable under
``UNDONE_REFS`` for redo; when other commits sit on top, a new commit reverts it (with a
three-way merge where later commits changed the same file). Redo brings a step back the
way it was taken off. Every git command is limited to the paths the steps changed.

The user's own work is never lost: undo and redo refuse (with one clear sentence, and
without changing anything) when the user's uncommitted changes touch a file they would
have to change, and leave every other uncommitted, untracked or ignored file alone.

A multi-step undo or redo is all or nothing, and crash-safe: it is first planned in
full, writing only objects (the revert commits, the notes of its implicit ratings);
then one journalled ref transaction moves HEAD, the undone-step refs and the ratings
together, and the files follow (see ``core/journal.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from autogpt_tui.core.errors import LocalChangesInTheWay, NothingToRedo, NothingToUndo
from autogpt_tui.core.git import EMPTY_TREE, ZERO_SHA, Git, ObjectStore, TreeEntry, WorkTree
from autogpt_tui.core.journal import Intent, Journal, Operation, RedoEntry, RedoStack, RefMove
from autogpt_tui.core.ratings import Ratings
from autogpt_tui.core.records import (
    SUMMARY_MAX,
    TRAILER_REDO,
    TRAILER_UNDO,
    Rating,
    StepCommit,
    effective_rating,
    review_of,
)
from autogpt_tui.core.step_index import Node
from autogpt_tui.core.steps import UNDONE_REFS, AgentIdentity, StepLog, index_move

__all__ = ["UNDO_COMMENT", "UNDO_RATING", "RedoEntry", "RedoStack", "Undo"]

UNDO_COMMENT = "undone by the user"
"""The comment of the implicit -1 an undo gives (``[rewards] undo_is_negative``)."""
UNDO_RATING = Rating(value=-1.0, comment=UNDO_COMMENT, source="undo")
"""The rating in effect on a step an undo counted as -1."""


@dataclass
class _Plan:
    """An undo or redo worked out before anything but objects is written."""

    start: str
    """HEAD when it began; every check of the user's files is against it."""
    head: str
    """Where HEAD will be once the moves planned so far are made."""
    refs: list[RefMove] = field(default_factory=list)
    """The other refs to move with HEAD (undone-step refs)."""
    index: Node | None = None
    """The step index for the planned head, kept in step with it; None once unknown (the
    index is then left as it was, which no longer holds for HEAD, so the next listing
    rebuilds it)."""
    index_ref: str = ""
    """The step index's ref."""
    index_old: str | None = None
    """The step index's ref value when the plan began."""


class Undo:
    """Takes steps back and brings them back."""

    def __init__(
        self,
        git: Git,
        objects: ObjectStore,
        worktree: WorkTree,
        steps: StepLog,
        ratings: Ratings,
        agent: AgentIdentity,
    ) -> None:
        self._git = git
        self._objects = objects
        self._worktree = worktree
        self._steps = steps
        self._ratings = ratings
        self._agent = agent
        self._redo = RedoStack(git)
        self._journal = Journal(git, objects, worktree)

    def undoable(self, limit: int | None = None) -> list[StepCommit]:
        """The steps in effect on the branch, newest first (what undo takes back next)."""
        if limit == 1:
            # The common case, HEAD being the step, needs no walk of the history: nothing
            # sits above HEAD that could have reverted it.
            head = self._objects.read_commit(self._git.head()).as_step(undone=False)
            if head is not None:
                return [head]
        found: list[StepCommit] = []
        for step in self._steps.steps_on_branch(expect=limit):
            if not step.undone:
                found.append(step)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def redo_depth(self) -> int:
        """How many undone steps redo can bring back."""
        return len(self._redo.load())

    def undo(self, count: int = 1, *, negative: bool = True) -> list[StepCommit]:
        """Take back the last ``count`` steps; all or nothing.

        When HEAD is the step, the branch moves back and the step stays reachable for
        redo; when the user's commits sit on top, a new commit reverts it instead.
        With ``negative`` (``[rewards] undo_is_negative``) each step the user has not
        rated gets an implicit -1; without it nothing is rated. The steps come back as
        they are after the undo: undone, with the rating in effect.
        """
        if count < 1:
            raise NothingToUndo("The number of steps to undo must be at least 1.")
        targets = self.undoable(count)
        if len(targets) < count:
            have = len(targets)
            if have == 0:
                raise NothingToUndo("There is no step to undo.")
            raise NothingToUndo(
                f"Only {have} step{'s' if have != 1 else ''} can be undone, not {count}."
            )
        start = self._git.head()
        plan = self._plan(start)
        stack = self._redo.load()
        for target in targets:
            if plan.head == target.sha and target.parent:
                self._check(plan, target.parent, why=f"undo step {target.step}")
                ref = f"{UNDONE_REFS}/{target.sha}"
                plan.refs.append(RefMove(ref, self._git.ref_value(ref) or ZERO_SHA, target.sha))
                plan.head = target.parent
                self._index_pop(plan, target.sha)
                stack.append(RedoEntry(target.sha, "reset"))
            else:
                plan.head = self._revert(
                    plan,
                    target.sha,
                    f"Undo step {target.step}: {target.summary}",
                    {TRAILER_UNDO: target.sha},
                    what=f"undo step {target.step}",
                )
                stack.append(RedoEntry(target.sha, "revert", plan.head))
        # Undoing is a judgement: an implicit -1, which the user's own rating overrides.
        rewards = [(t.sha, -1.0, UNDO_COMMENT) for t in targets] if negative else []
        rated = self._carry_out("undo", plan, stack, rewards, _count("undo", targets))
        return [self._as_undone(t, rated) for t in targets]

    def _as_undone(self, step: StepCommit, rated: set[str]) -> StepCommit:
        """``step`` after the undo: undone, with its rating and reviewer's rating."""
        events = self._ratings.of(step.sha)
        review, counts = review_of(events)
        rating = UNDO_RATING if step.sha in rated else effective_rating(events)
        return replace(step, undone=True, rating=rating, review=review, review_counts=counts)

    def redo(self, count: int = 1) -> list[StepCommit]:
        """Bring back the last ``count`` undone steps, most recently undone first."""
        if count < 1:
            raise NothingToRedo("The number of steps to redo must be at least 1.")
        stack = self._redo.load()
        if not stack:
            raise NothingToRedo("There is nothing to redo.")
        if len(stack) < count:
            raise NothingToRedo(
                f"Only {len(stack)} step{'s' if len(stack) != 1 else ''} can be redone, "
                f"not {count}."
            )
        start = self._git.head()
        plan = self._plan(start)
        done: list[StepCommit] = []
        for _ in range(count):
            entry = stack.pop()
            step = self._step_at(entry.sha)
            why = f"redo step {step.step}"
            if entry.method == "reset":
                if step.parent != plan.head:
                    raise NothingToRedo(
                        f"Can't redo step {step.step}: new commits were made since it was undone."
                    )
                self._check(plan, entry.sha, why=why)
                # Back on the branch, the step no longer needs its undone ref.
                ref = f"{UNDONE_REFS}/{entry.sha}"
                if (kept := self._git.ref_value(ref)) is not None:
                    plan.refs.append(RefMove(ref, kept, ZERO_SHA))
                plan.head = entry.sha
                self._index_push(plan, entry.sha)
            elif entry.revert and plan.head == entry.revert:
                # Our own revert commit is on top: drop it rather than pile on another.
                parent = self._objects.parent_of(entry.revert)
                self._check(plan, parent, why=why)
                plan.head = parent
                self._index_pop(plan, entry.revert)
            else:
                plan.head = self._revert(
                    plan,
                    entry.revert or entry.sha,
                    f"Redo step {step.step}: {step.summary}",
                    {TRAILER_REDO: entry.sha},
                    what=why,
                )
            done.append(step)
        # Bringing a step back takes the undo's judgement back, where it gave one.
        rewards = [(s.sha, 0.0, "redone by the user") for s in done if self._judged(s.sha)]
        self._carry_out("redo", plan, stack, rewards, _count("redo", done))
        return done

    def _judged(self, sha: str) -> bool:
        """Whether the latest rating event of step ``sha`` is an undo's -1."""
        # A reviewer's rating given after the undo is not a judgement on it.
        events = [e for e in self._ratings.of(sha) if e.source != "reviewer"]
        return bool(events) and events[-1].source == "undo" and events[-1].value < 0

    def _step_at(self, sha: str) -> StepCommit:
        try:
            step = self._objects.read_commit(sha).as_step(undone=True)
        except (ValueError, KeyError, OSError):
            step = None
        if step is None:
            raise NothingToRedo("The step to redo no longer exists in this repository.")
        return step

    def _carry_out(
        self,
        op: Operation,
        plan: _Plan,
        stack: list[RedoEntry],
        rewards: list[tuple[str, float, str]],
        reason: str,
    ) -> set[str]:
        """Move HEAD, the refs and the ratings in one journalled transaction; then the
        files that differ between the start and the end follow. Returns the steps whose
        implicit rating was recorded (those the user rated are left alone)."""
        objects = self._objects
        paths = objects.diff_trees(objects.tree_of(plan.start), objects.tree_of(plan.head))
        moves = [RefMove("HEAD", plan.start, plan.head), *plan.refs]
        if plan.index is not None and plan.index.sha != plan.index_old:
            moves.append(index_move(plan.index_ref, plan.index_old, plan.index.sha))
        ratings, rated = self._ratings.stage_implicit(rewards)
        if ratings is not None:
            moves.append(RefMove.parse(ratings))
        self._journal.run(
            Intent(
                op=op,
                reason=reason,
                refs=moves,
                paths=paths,
                restore=True,
                branch=self._git.branch_key(),
                redo_after=stack,
            )
        )
        return rated

    def _check(self, plan: _Plan, target: str, *, why: str) -> None:
        """Refuse when the user's uncommitted changes touch files moving HEAD from the
        planned head to ``target`` would change.

        The files are compared with HEAD as it is now: the moves planned before this one
        have not touched them yet.
        """
        objects = self._objects
        paths = objects.diff_trees(objects.tree_of(plan.head), objects.tree_of(target))
        blocked = self._worktree.local_changes(paths, plan.start)
        if blocked:
            raise _in_the_way(why, blocked)

    def _revert(
        self, plan: _Plan, sha: str, subject: str, trailers: dict[str, str], *, what: str
    ) -> str:
        """Write a commit with the inverse of commit ``sha`` on top of the planned head;
        returns it (nothing but objects is written)."""
        head = plan.head
        parent = self._objects.parent_of(sha)
        paths = [
            p
            for p in self._git.run(
                "diff-tree", "-r", "-z", "--name-only", "--no-renames", parent, sha
            ).split("\0")
            if p
        ]
        blocked = self._worktree.local_changes(paths, plan.start)
        if blocked:
            raise _in_the_way(what, blocked)
        changes: dict[str, TreeEntry | None] = {}
        for path in paths:
            base = self._objects.entry_at(sha, path)  # what the commit made
            wanted = self._objects.entry_at(parent, path)  # what was there before it
            ours = self._objects.entry_at(head, path)  # what is there now
            if ours == base:
                changes[path] = wanted
            elif ours == wanted:
                continue
            elif ours and base and wanted and not (ours.is_tree or base.is_tree or wanted.is_tree):
                merged = self._objects.merge_blobs(ours, base, wanted)
                if merged is None:
                    raise LocalChangesInTheWay(
                        f"Can't {what}: later commits changed the same lines of {path}.", [path]
                    )
                changes[path] = merged
            else:
                raise LocalChangesInTheWay(
                    f"Can't {what}: later commits changed {path} in a way that conflicts with it.",
                    [path],
                )
        tree = self._objects.rewrite_tree(self._objects.tree_of(head), changes) or EMPTY_TREE
        message = (
            subject.split("\n")[0][:SUMMARY_MAX]
            + "\n\n"
            + "".join(f"{k}: {v}\n" for k, v in trailers.items())
        )
        env = self._agent.commit_env(self._git.user_identity())
        commit = self._objects.write_commit(tree, head, message, env)
        self._index_push(plan, commit)
        return commit

    # The step index follows the planned head move by move: a reset takes the step off
    # its top, a new commit goes on top. Only objects are written here.

    def _plan(self, start: str) -> _Plan:
        ref, old, node = self._steps.index_for(start)
        return _Plan(start, start, index=node, index_ref=ref, index_old=old)

    def _index_pop(self, plan: _Plan, commit: str) -> None:
        if plan.index is not None:
            plan.index = self._steps.index.pop(plan.index, commit, plan.head)

    def _index_push(self, plan: _Plan, commit: str) -> None:
        if plan.index is not None:
            index = self._steps.index
            plan.index = index.node(index.push(plan.index, commit, commit))


def _count(op: str, steps: Sequence[StepCommit]) -> str:
    """The reflog message of an undo or redo: which steps it moved."""
    return f"{op} step{'s' if len(steps) > 1 else ''} " + ", ".join(str(s.step) for s in steps)


def _in_the_way(what: str, blocked: list[str]) -> LocalChangesInTheWay:
    """The refusal when the user's uncommitted changes touch files ``what`` would change."""
    return LocalChangesInTheWay(
        f"Can't {what}: you have uncommitted changes in {_list(blocked)}, which it would "
        "have to change; commit or stash them first.",
        blocked,
    )


def _list(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
