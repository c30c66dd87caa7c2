"""Undo and redo of steps, and the redo stack.

When HEAD is the step, undo moves the branch back and keeps the step reachable under
``UNDONE_REFS`` for redo; when other commits sit on top, a new commit reverts it (with a
three-way merge where later commits changed the same file). Redo brings a step back the
way it was taken off. Every git command is limited to the paths the steps changed.

The user's own work is never lost: undo and redo refuse (with one clear sentence, and
without changing anything) when the user's uncommitted changes touch a file they would
have to change, and leave every other uncommitted, untracked or ignored file alone. A
multi-step undo or redo is all or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from autogpt_tui.core.errors import LocalChangesInTheWay, NothingToRedo, NothingToUndo
from autogpt_tui.core.git import EMPTY_TREE, Git, ObjectStore, TreeEntry, WorkTree
from autogpt_tui.core.ratings import Ratings
from autogpt_tui.core.records import SUMMARY_MAX, TRAILER_REDO, TRAILER_UNDO, StepCommit
from autogpt_tui.core.steps import UNDONE_REFS, AgentIdentity, StepLog


@dataclass
class RedoEntry:
    """How one undone step was taken back, so redo can bring it back the same way."""

    sha: str
    method: Literal["reset", "revert"]
    revert: str | None = None
    """The revert commit, when the step was taken back by one."""


class RedoStack:
    """The undone steps redo can bring back, one stack per branch (or detached HEAD).

    Kept in a file in the git directory, replaced atomically, so a crash never leaves
    half a stack.
    """

    def __init__(self, git: Git) -> None:
        self._git = git
        self._path = git.git_dir / "autogpt-tui" / "redo.json"

    def load(self) -> list[RedoEntry]:
        """The stack of the branch HEAD is on, most recently undone last."""
        raw = self._load_all().get(self._git.branch_key(), [])
        stack: list[RedoEntry] = []
        for item in raw if isinstance(raw, list) else []:
            try:
                stack.append(RedoEntry(item["sha"], item["method"], item.get("revert")))
            except (KeyError, TypeError):
                continue
        return stack

    def save(self, stack: list[RedoEntry]) -> None:
        """Replace the stack of the branch HEAD is on."""
        data = self._load_all()
        key = self._git.branch_key()
        if not stack and key not in data:
            return
        data[key] = [e.__dict__ for e in stack]
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self._path)  # atomic: a crash never leaves half a file

    def _load_all(self) -> dict[str, list[dict[str, Any]]]:
        try:
            data = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


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

    def forget_redo(self) -> None:
        """Empty the redo stack: a new action makes the undone steps unreachable by
        redo (as in any editor); they stay visible in the history as undone."""
        self._redo.save([])

    def undo(self, count: int = 1) -> list[StepCommit]:
        """Take back the last ``count`` steps; all or nothing.

        When HEAD is the step, the branch moves back and the step stays reachable for
        redo; when the user's commits sit on top, a new commit reverts it instead.
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
        start_head = self._git.head()
        stack = self._redo.load()
        made_refs: list[str] = []
        try:
            for target in targets:
                head = self._git.head()
                if head == target.sha and target.parent:
                    ref = f"{UNDONE_REFS}/{target.sha}"
                    self._move_head(
                        head,
                        target.parent,
                        why=f"undo step {target.step}",
                        refs=[f"update {ref} {target.sha}"],
                    )
                    made_refs.append(ref)
                    stack.append(RedoEntry(target.sha, "reset"))
                else:
                    revert = self._revert(
                        target.sha,
                        f"Undo step {target.step}: {target.summary}",
                        {TRAILER_UNDO: target.sha},
                        what=f"undo step {target.step}",
                    )
                    stack.append(RedoEntry(target.sha, "revert", revert))
        except Exception:
            self._roll_back(start_head, made_refs)
            raise
        self._redo.save(stack)
        for target in targets:
            # Undoing is a judgement: an implicit -1, which the user's own rating overrides.
            self._ratings.add_implicit(target.sha, -1, "undone by the user")
        return targets

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
        start_head = self._git.head()
        done: list[StepCommit] = []
        try:
            for _ in range(count):
                entry = stack.pop()
                step = self._step_at(entry.sha)
                head = self._git.head()
                if entry.method == "reset":
                    if step.parent != head:
                        raise NothingToRedo(
                            f"Can't redo step {step.step}: new commits were made since it "
                            "was undone."
                        )
                    # Back on the branch, the step no longer needs its undone ref.
                    self._move_head(
                        head,
                        entry.sha,
                        why=f"redo step {step.step}",
                        refs=[f"delete {UNDONE_REFS}/{entry.sha}"],
                    )
                elif entry.revert and head == entry.revert:
                    # Our own revert commit is on top: drop it rather than pile on another.
                    self._move_head(
                        head, self._objects.parent_of(entry.revert), why=f"redo step {step.step}"
                    )
                else:
                    self._revert(
                        entry.revert or entry.sha,
                        f"Redo step {step.step}: {step.summary}",
                        {TRAILER_REDO: entry.sha},
                        what=f"redo step {step.step}",
                    )
                done.append(step)
        except Exception:
            self._roll_back(start_head, [])
            raise
        self._redo.save(stack)
        for step in done:
            # Bringing a step back takes the undo's judgement back.
            self._ratings.add_implicit(step.sha, 0, "redone by the user")
        return done

    def _step_at(self, sha: str) -> StepCommit:
        try:
            step = self._objects.read_commit(sha).as_step(undone=True)
        except (ValueError, KeyError, OSError):
            step = None
        if step is None:
            raise NothingToRedo("The step to redo no longer exists in this repository.")
        return step

    def _roll_back(self, start_head: str, refs: list[str]) -> None:
        """Put HEAD and the touched files back after a failed multi-step undo/redo."""
        head = self._git.head()
        if head != start_head:
            self._move_head(head, start_head, why="roll back")
        for ref in refs:
            self._git.try_run("update-ref", "-d", ref)

    def _move_head(self, head: str, target: str, *, why: str, refs: Sequence[str] = ()) -> None:
        """Move HEAD to ``target``, changing only the files that differ between the two.

        ``refs`` are more `git update-ref --stdin` commands, applied in the same atomic
        transaction as the move of HEAD.
        """
        objects = self._objects
        paths = objects.diff_trees(objects.tree_of(head), objects.tree_of(target))
        blocked = self._worktree.local_changes(paths, head)
        if blocked:
            raise _in_the_way(why, blocked)
        if paths:
            self._worktree.restore_paths(target, paths)
        if refs:
            self._git.update_refs([f"update HEAD {target} {head}", *refs], why)
        else:
            self._git.advance_head(target, head, why)

    def _revert(self, sha: str, subject: str, trailers: dict[str, str], *, what: str) -> str:
        """Commit the inverse of commit ``sha`` on top of HEAD; returns the new commit."""
        head = self._git.head()
        parent = self._objects.parent_of(sha)
        paths = [
            p
            for p in self._git.run(
                "diff-tree", "-r", "-z", "--name-only", "--no-renames", parent, sha
            ).split("\0")
            if p
        ]
        blocked = self._worktree.local_changes(paths, head)
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
        new = self._objects.write_commit(tree, head, message, env)
        self._git.advance_head(new, head, what)
        if changes:
            self._worktree.restore_paths(new, list(changes))
        return new


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
