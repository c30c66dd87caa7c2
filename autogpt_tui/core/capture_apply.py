"""Applying a captured command's changes to the workspace, exactly and safely.

:mod:`autogpt_tui.core.capture` runs a command apart from the workspace and lists what it
changed (:class:`Change`); this module decides, before touching anything, what each
change becomes (:class:`Planner`), then carries it out: never through a symlink, never
inside ``.git`` or a nested repository, and never over a path the user changed while the
command ran (a *clash*: the user's version is kept).
"""

from __future__ import annotations

import contextlib
import errno
import filecmp
import os
import secrets
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["AppliedChanges", "Change", "Planner", "execute"]

_TEMP_PREFIX = ".autogpt-tui-apply-"


@dataclass
class Change:
    """One path a command changed, as found in its layer or its copy."""

    rel: str
    kind: Literal["file", "symlink", "dir", "delete"]
    source: Path | None = None
    opaque: bool = False
    existed: bool | None = None
    """Whether the path existed when the command started (None: unknown)."""


# ---------------------------------------------------------------------------------------
# Applying


@dataclass(frozen=True)
class AppliedChanges:
    """What applying a command's changes did to the workspace."""

    paths: list[str]
    """Workspace-relative files written or deleted, sorted."""
    clashes: list[str]
    """Paths the user changed while the command ran: the user's version was kept."""
    skipped: list[str]
    """Paths never applied: ``.git`` and nested repositories (their top folder)."""

    def notes(self) -> list[str]:
        """Sentences for the model's observation (none when all went in)."""
        from autogpt_tui.core.sandbox import display_path

        out: list[str] = []
        for path in self.clashes:
            out.append(
                f"Not applied: you and the user both changed {display_path(path)}; "
                "the user's version was kept."
            )
        for path in self.skipped:
            if path == ".git" or path.endswith("/.git"):
                out.append(
                    f"Not applied: the command's changes inside {display_path(path)} "
                    "(only autogpt-tui's history changes the repository)."
                )
            else:
                out.append(
                    f"Not applied: the command's changes inside {display_path(path)}, "
                    "a nested repository (steps never touch one)."
                )
        return out


@dataclass
class _Op:
    kind: Literal["write", "unlink", "rmdir", "mkdir"]
    rel: str
    source: Path | None = None
    mode: int = 0o777


class Planner:
    """Decides, before anything is touched, what applying the changes does."""

    def __init__(self, root: Path, start_ns: int, changes: list[Change], *, overlay: bool) -> None:
        self.root = root
        self._overlay = overlay
        self.start = start_ns
        self.changes = changes
        self.ops: list[_Op] = []
        self.paths: list[str] = []
        self.clashes: list[str] = []
        self.skipped: set[str] = set()
        self._dirs: set[str] = set()  # folders that will be real folders after the ops
        self._blocked: set[str] = set()  # folders whose contents stay the user's
        self._nested = _NestedRepos(root, [c.rel for c in changes])

    def plan(self) -> None:
        for change in self.changes:
            rel = change.rel
            parts = rel.split("/")
            if any(part.casefold() == ".git" for part in parts):
                at = next(i for i, p in enumerate(parts) if p.casefold() == ".git")
                self.skipped.add("/".join(parts[: at + 1]))
                continue
            nested = self._nested.owner(rel)
            if nested is not None:
                self.skipped.add(nested)
                continue
            if any(rel.startswith(b + "/") for b in self._blocked):
                continue
            if not self._parents_ok(parts):
                self.clashes.append(rel)
                self._blocked.add(rel)
                continue
            getattr(self, f"_plan_{change.kind}")(change)

    # -- helpers

    def _lstat(self, rel: str) -> os.stat_result | None:
        try:
            return os.lstat(self.root / rel)
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None

    def _user_changed(self, info: os.stat_result) -> bool:
        return info.st_ctime_ns >= self.start

    def _deleted_meanwhile(self, change: Change) -> bool:
        """On an overlay, whether the user deleted this path while the command ran.

        The overlay does not say whether the path existed at the start (the lower layer
        is the live workspace). Its folder changed meanwhile, and the file was copied up
        (it existed when the command touched it) or git tracks it: then the user did it.
        """
        if not self._parent_changed(change.rel):
            return False
        return change.existed is None or _tracked(self.root, change.rel)

    def _parent_changed(self, rel: str) -> bool:
        """Whether entries came or went in ``rel``'s folder while the command ran (the
        folder is the workspace's: the command's own changes are not there yet)."""
        parent = self._lstat(rel.rsplit("/", 1)[0]) if "/" in rel else os.lstat(self.root)
        return parent is not None and self._user_changed(parent)

    def _parents_ok(self, parts: list[str]) -> bool:
        """Whether every parent folder is (or will be) a real folder, not a symlink."""
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in self._dirs:
                continue
            info = self._lstat(parent)
            if info is None or not stat.S_ISDIR(info.st_mode):
                return False
            self._dirs.add(parent)
        return True

    def _plan_removal(self, rel: str) -> tuple[list[_Op], list[str], list[str]]:
        """Ops removing the workspace folder ``rel``: files the user changed meanwhile
        (clashes), ``.git`` entries and nested repositories stay."""
        ops: list[_Op] = []
        removed: list[str] = []
        clashes: list[str] = []

        def walk(folder_rel: str) -> None:
            try:
                with os.scandir(self.root / folder_rel) as scan:
                    entries = sorted(scan, key=lambda entry: entry.name)
            except OSError:
                return
            for entry in entries:
                child = f"{folder_rel}/{entry.name}"
                if entry.name.casefold() == ".git":
                    self.skipped.add(folder_rel)
                    continue
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    if os.path.lexists(os.path.join(entry.path, ".git")):
                        self.skipped.add(child)
                        continue
                    walk(child)
                elif self._user_changed(info):
                    clashes.append(child)
                else:
                    ops.append(_Op("unlink", child))
                    removed.append(child)
            ops.append(_Op("rmdir", folder_rel))

        walk(rel)
        return ops, removed, clashes

    def _take(self, ops: list[_Op], removed: list[str]) -> None:
        self.ops += ops
        self.paths += removed

    # -- per kind

    def _plan_delete(self, change: Change) -> None:
        info = self._lstat(change.rel)
        if info is None:
            return  # gone already: nothing to take back
        if stat.S_ISDIR(info.st_mode):
            ops, removed, clashes = self._plan_removal(change.rel)
            self._take(ops, removed)
            self.clashes += clashes
        elif self._user_changed(info):
            self.clashes.append(change.rel)
        else:
            self._take([_Op("unlink", change.rel)], [change.rel])

    def _plan_dir(self, change: Change) -> None:
        rel = change.rel
        info = self._lstat(rel)
        assert change.source is not None
        mode = stat.S_IMODE(os.lstat(change.source).st_mode)
        if info is None:
            self.ops.append(_Op("mkdir", rel, mode=mode))
        elif not stat.S_ISDIR(info.st_mode):
            if self._user_changed(info):
                self.clashes.append(rel)
                self._blocked.add(rel)
                return
            self._take([_Op("unlink", rel), _Op("mkdir", rel, mode=mode)], [rel])
        elif change.opaque:
            keep = set(os.listdir(change.source))
            for name in sorted(os.listdir(self.root / rel)):
                if name in keep:
                    continue
                child = f"{rel}/{name}"
                self._plan_delete(Change(child, "delete"))
        self._dirs.add(rel)

    def _plan_file(self, change: Change) -> None:
        self._plan_write(change)

    def _plan_symlink(self, change: Change) -> None:
        self._plan_write(change)

    def _plan_write(self, change: Change) -> None:
        rel = change.rel
        assert change.source is not None
        info = self._lstat(rel)
        if info is None:
            if change.existed or (self._overlay and self._deleted_meanwhile(change)):
                self.clashes.append(rel)  # the user deleted it meanwhile
                return
            self._take([_Op("write", rel, change.source)], [rel])
            return
        if stat.S_ISDIR(info.st_mode):
            ops, removed, clashes = self._plan_removal(rel)
            if clashes or rel in self.skipped or any(s.startswith(rel + "/") for s in self.skipped):
                self.clashes.append(rel)
                return
            self._take([*ops, _Op("write", rel, change.source)], [*removed, rel])
            return
        if self._user_changed(info):
            self.clashes.append(rel)
            return
        if _same(change.source, self.root / rel, info):
            return
        self._take([_Op("write", rel, change.source)], [rel])


def _same(source: Path, target: Path, info: os.stat_result) -> bool:
    """Whether ``source`` (the command's version) equals the workspace's ``target``."""
    new = os.lstat(source)
    if new.st_mode != info.st_mode:
        return False
    if stat.S_ISLNK(new.st_mode):
        return os.readlink(source) == os.readlink(target)
    if new.st_size != info.st_size:
        return False
    return filecmp.cmp(source, target, shallow=False)


class _NestedRepos:
    """Folders below the root that are repositories of their own (a ``.git`` entry, or a
    gitlink in HEAD): what lies inside them is never applied."""

    def __init__(self, root: Path, rels: list[str]) -> None:
        self._root = root
        self._cache: dict[str, bool] = {}
        # The command may have made one itself (git init sub).
        self._made = {rel.rsplit("/", 1)[0] for rel in rels if rel.endswith("/.git")}
        self._gitlinks: set[str] = set()
        # An uninitialised submodule is an empty folder: only HEAD's gitlink tells. Every
        # submodule has an entry in .gitmodules, so without one no git call is needed.
        if rels and (root / ".gitmodules").exists():
            folders = {"/".join(rel.split("/")[:n]) for rel in rels for n in _depths(rel)}
            self._gitlinks = _gitlinks(root, sorted(folders))

    def owner(self, rel: str) -> str | None:
        """The nested repository ``rel`` lies in (or is), else None."""
        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if self._is_repo(folder):
                return folder
        return None

    def _is_repo(self, folder: str) -> bool:
        known = self._cache.get(folder)
        if known is None:
            known = (
                folder in self._gitlinks
                or folder in self._made
                or os.path.lexists(self._root / folder / ".git")
            )
            self._cache[folder] = known
        return known


def _tracked(root: Path, rel: str) -> bool:
    """Whether git's index holds ``rel``."""
    try:
        result = subprocess.run(
            ["git", "--literal-pathspecs", "ls-files", "-z", "--", rel],
            cwd=root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return bool(result.stdout.strip(b"\0"))


def _depths(rel: str) -> range:
    return range(1, rel.count("/") + 2)


def _gitlinks(root: Path, folders: list[str]) -> set[str]:
    """Which of ``folders`` are gitlinks (submodules) in HEAD."""
    if not (root / ".git").exists():
        return set()
    try:
        result = subprocess.run(
            ["git", "--literal-pathspecs", "ls-tree", "-z", "HEAD", "--", *folders],
            cwd=root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()
    found: set[str] = set()
    for item in result.stdout.split(b"\0"):
        meta, _, name = item.partition(b"\t")
        if meta.startswith(b"160000 "):
            found.add(os.fsdecode(name))
    return found


def execute(root: Path, ops: list[_Op]) -> None:
    for op in ops:
        target = root / op.rel
        if op.kind == "unlink":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
        elif op.kind == "rmdir":
            # Something the user kept (or .git) may still be inside: then it stays.
            with contextlib.suppress(OSError):
                os.rmdir(target)
        elif op.kind == "mkdir":
            try:
                os.mkdir(target, op.mode)
            except FileExistsError:
                if not target.is_dir() or target.is_symlink():
                    raise
            with contextlib.suppress(OSError):
                os.chmod(target, op.mode)
        else:
            assert op.source is not None
            _place(op.source, target)


def _place(source: Path, target: Path) -> None:
    """Put ``source`` at ``target`` (replacing a file or symlink there, never following
    it): a rename where both share a file system, else a copy renamed into place."""
    info = os.lstat(source)
    if stat.S_ISREG(info.st_mode):
        try:
            os.replace(source, target)
            return
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
    temp = _free_name(target.parent)
    try:
        if stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(source), temp)
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            fd = os.open(temp, flags, 0o600)
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                os.fchmod(out.fileno(), stat.S_IMODE(info.st_mode))
            os.utime(temp, ns=(info.st_atime_ns, info.st_mtime_ns))
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _free_name(folder: Path) -> Path:
    for _ in range(100):
        candidate = folder / f"{_TEMP_PREFIX}{secrets.token_hex(6)}"
        if not os.path.lexists(candidate):
            return candidate
    raise OSError(errno.EEXIST, "no free temporary file name", str(folder))
