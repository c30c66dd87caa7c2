"""What an MCP call changed in the workspace, so that its step commit holds exactly that.

An MCP server is not sandboxed like ``run_command``: it works on the live workspace. So
the state of every file git would show as changed (tracked or untracked, not ignored) is
taken before the call and again after it, and the files whose content differs are the
call's changes. The user's uncommitted version of a file the server changed is kept in
git's object store before the call; after it, that version is committed as the user's own
(the ``before_change`` hook, as for the other tools) beneath the server's, so the step's
commit holds only the server's change and undoing it gives the user their version back.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

__all__ = ["WorkspaceState", "changes_since"]

_GIT_TIMEOUT_S = 120


def _git(root: Path, *args: str, data: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["git", "-c", "core.quotepath=off", *args],
        cwd=root,
        input=data,
        capture_output=True,
        timeout=_GIT_TIMEOUT_S,
        check=True,
    )
    return result.stdout


class WorkspaceState:
    """The content (a blob id, None when missing) of each changed file at one moment."""

    def __init__(self, root: Path, *, keep: bool) -> None:
        """Take the state of ``root``; ``keep`` writes the files' content into git's object
        store, so it can be brought back."""
        self.root = root
        listed = _git(
            root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"
        )
        paths = [
            entry[3:] for entry in listed.decode("utf-8", "surrogateescape").split("\0") if entry
        ]
        self.blobs: dict[str, str | None] = self._hash(paths, keep=keep)

    def _hash(self, paths: list[str], *, keep: bool) -> dict[str, str | None]:
        present = [p for p in paths if (self.root / p).is_file()]
        blobs: dict[str, str | None] = dict.fromkeys(paths)
        if present:
            data = "\n".join(present).encode("utf-8", "surrogateescape")
            flags = ["-w"] if keep else []
            ids = _git(self.root, "hash-object", *flags, "--stdin-paths", data=data).split()
            blobs.update(zip(present, (i.decode() for i in ids), strict=True))
        return blobs


def _head_blobs(root: Path, paths: list[str]) -> dict[str, str]:
    """The blob id of each of ``paths`` in HEAD (a path not in HEAD is left out)."""
    if not paths:
        return {}
    try:
        listed = _git(
            root, "--literal-pathspecs", "ls-tree", "-z", "--full-tree", "HEAD", "--", *paths
        )
    except subprocess.CalledProcessError:
        return {}  # no commit yet
    blobs: dict[str, str] = {}
    for entry in listed.decode("utf-8", "surrogateescape").split("\0"):
        if "\t" in entry:
            info, path = entry.split("\t", 1)
            blobs[path] = info.split()[2]
    return blobs


def changes_since(
    before: WorkspaceState, before_change: Callable[[list[str]], None] | None
) -> list[str]:
    """The files whose content changed since ``before``; a file the user had changed is
    committed in the user's version first (through ``before_change``)."""
    root = before.root
    after = WorkspaceState(root, keep=False)
    candidates = set(before.blobs) | set(after.blobs)
    # A file git does not list at one moment held HEAD's version then (HEAD does not move
    # during the call).
    head = _head_blobs(
        root, sorted(p for p in candidates if p not in before.blobs or p not in after.blobs)
    )

    def at(state: WorkspaceState, path: str) -> str | None:
        return state.blobs[path] if path in state.blobs else head.get(path)

    changed = sorted(p for p in candidates if at(before, p) != at(after, p))
    theirs = [p for p in changed if p in before.blobs]
    if theirs and before_change is not None:
        hook = before_change
        for path in theirs:
            _with_version(root, path, before.blobs[path], functools.partial(hook, [path]))
    return changed


def _with_version(root: Path, path: str, blob: str | None, action: Callable[[], None]) -> None:
    """Run ``action`` with ``path`` holding ``blob`` (None: absent), then put back what
    the server left there."""
    target = root / path
    server_bytes = target.read_bytes() if target.is_file() else None
    mode = target.stat().st_mode if target.is_file() else None
    try:
        if blob is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_git(root, "cat-file", "blob", blob))
        action()
    finally:
        if server_bytes is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(server_bytes)
            if mode is not None:
                os.chmod(target, mode)
