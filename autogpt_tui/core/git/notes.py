"""Git notes refs, read and written in-process.

A note is a blob in the notes ref's tree, named by the commit it annotates. Notes are
written the way git lays out large notes trees (two levels, ``ab/cdef…``) and read at
either level, so notes git itself wrote (flat) are found and replaced, never doubled.
A note is staged (:meth:`Notes.stage`: its objects written, the ref not moved) and the
ref moved with other refs in one `git update-ref` transaction, so a commit and its note
land together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from autogpt_tui.core.git.objects import EMPTY_TREE, ZERO_SHA, ObjectStore, TreeEntry
from autogpt_tui.core.git.runner import Git


class Notes:
    """Notes refs of one repository."""

    def __init__(self, git: Git, objects: ObjectStore) -> None:
        self._git = git
        self._objects = objects

    def read(self, ref: str, sha: str) -> str | None:
        """The note on commit ``sha`` in notes ref ``ref``, or None."""
        notes = self._git.ref_value(ref)
        if notes is None:
            return None
        tree = self._objects.read_tree(self._objects.tree_of(notes))
        entry = tree.get(sha)
        if entry is None:
            fan = tree.get(sha[:2])
            if fan is not None and fan.is_tree:
                entry = self._objects.read_tree(fan.sha).get(sha[2:])
        if entry is None or entry.is_tree:
            return None
        return self._objects.read_blob(entry.sha).decode("utf-8", "replace")

    def stage(self, ref: str, sha: str, text: str) -> str:
        """Write a new commit of ``ref`` with ``text`` as the note on ``sha``.

        Returns the `git update-ref --stdin` command that moves the ref to it, for the
        caller to apply in a transaction (:meth:`Git.update_refs`). Any note for
        ``sha`` at the other level of the tree is dropped so there is only one.
        """
        return self.stage_many(ref, {sha: text})

    def stage_many(self, ref: str, notes: dict[str, str]) -> str:
        """:meth:`stage` for several commits at once: one new commit of ``ref``."""
        old = self._git.ref_value(ref)
        tree = self._objects.tree_of(old) if old else None
        changes: dict[str, TreeEntry | None] = {}
        for sha, text in notes.items():
            blob = self._objects.write_blob(text.encode())
            changes[sha] = None
            changes[f"{sha[:2]}/{sha[2:]}"] = TreeEntry("100644", blob)
        new_tree = self._objects.rewrite_tree(tree, changes) or EMPTY_TREE
        names = ", ".join(sha[:12] for sha in notes)
        message = f"autogpt-tui: note on {names}\n"
        commit = self._objects.write_commit(new_tree, old, message, self._git.user_identity())
        return f"update {ref} {commit} {old or ZERO_SHA}"

    def apply(self, commands: Sequence[str], reason: str) -> None:
        """Apply `update-ref --stdin` commands (from :meth:`stage`) in one transaction."""
        self._git.update_refs(commands, reason)
