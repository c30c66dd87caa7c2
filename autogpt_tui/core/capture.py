"""Exact capture of what a command changes in the workspace.

A command does not run on the live workspace: the user may be saving files meanwhile,
and the step's commit must hold the command's changes and nothing else. Two routes:

* **overlay** (Linux with unprivileged user namespaces): the command runs on a kernel
  overlay mount of the workspace, made inside a private user and mount namespace
  (``unshare -Urm``); everything it writes lands in the overlay's upper layer, a temporary
  folder outside the workspace. Deletions are whiteouts there (character devices 0,0), a
  folder the command replaced is marked opaque (``user.overlay.opaque``).
* **copy** (anywhere): the command runs on a copy of the workspace (without ``.git``); what
  it changed is found by comparing the copy with its state right after copying.

Either way the changes are then applied to the workspace by :meth:`CapturedRun.apply`:
never through a symlink, never inside ``.git`` or a nested repository, and never over a
path the user changed while the command ran (a *clash*: the user's version is kept).
"""

from __future__ import annotations

import contextlib
import errno
import filecmp
import functools
import hashlib
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from autogpt_tui.core.sandbox import CommandResult

__all__ = [
    "AppliedChanges",
    "CaptureRoute",
    "CapturedRun",
    "overlay_argv",
    "prepare_copy",
    "prepare_overlay",
    "probe_overlay",
]

CaptureRoute = Literal["overlay", "copy"]

# Mounts the overlay, then runs the command in it. The paths come as arguments, never
# inside the script, and the mount options name the layers by fixed relative names (the
# layers folder is the working folder): a workspace path holding a comma, a colon or odd
# bytes cannot break the option string. `userxattr` is required inside a user namespace
# (without it `rm -r dir` fails with EIO).
_MOUNT_SCRIPT = (
    'cd "$1" && mount -t overlay overlay '
    '-o userxattr,lowerdir=lower,upperdir=upper,workdir=work "$2" '
    '&& cd "$2" && shift 2 && exec "$@"'
)
_OPAQUE_XATTR = "user.overlay.opaque"
_ORIGIN_XATTR = "user.overlay.origin"
_TEMP_PREFIX = ".autogpt-tui-apply-"
# Files whose mtime is this close to the copy are hashed too: a write within the same
# timestamp tick would otherwise leave their stat unchanged.
_RACY_NS = 2_000_000_000


# ---------------------------------------------------------------------------------------
# Setting up a run


def overlay_argv(unshare: str, layers: Path, root: Path, inner: list[str]) -> list[str]:
    """The argument vector running ``inner`` on an overlay of ``root`` (layers in ``layers``)."""
    return [unshare, "-Urm", "sh", "-c", _MOUNT_SCRIPT, "sh", str(layers), str(root), *inner]


def _new_temp(temp_dir: Path | None) -> Path:
    return Path(tempfile.mkdtemp(prefix="autogpt-tui-capture-", dir=temp_dir))


def _stamp(folder: Path) -> int:
    """The start of a fresh tick of the file system clock, in ns.

    File times come from the kernel's coarse clock: a file saved just before a command
    starts can share its tick with one saved just after. So we wait for the clock to move
    on (a tick is a few ms; on kernels with fine-grained ctimes it moves at once): every
    change before the stamp then has a ctime below it, every change after one at or above.
    """
    marker = folder / "start"
    marker.write_bytes(b"")
    first = marker.stat().st_ctime_ns
    deadline = time.monotonic() + 2.5  # a file system with 1 s or 2 s times
    while time.monotonic() < deadline:
        os.utime(marker)
        now = marker.stat().st_ctime_ns
        if now > first:
            return now
    return first  # the clock did not move: later saves still count (safe side)


def prepare_overlay(root: Path, temp_dir: Path | None) -> tuple[Path, int]:
    """A layers folder for an overlay of ``root`` (``lower`` → root, ``upper``, ``work``)
    and the start stamp."""
    layers = _new_temp(temp_dir)
    try:
        (layers / "upper").mkdir()
        (layers / "work").mkdir()
        (layers / "lower").symlink_to(root)
        return layers, _stamp(layers)
    except BaseException:
        remove_tree(layers)
        raise


@dataclass
class CopyBaseline:
    """The copy's state right after copying: lstat stamps and, for racy files, a hash."""

    stats: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)


def prepare_copy(root: Path, temp_dir: Path | None) -> tuple[Path, Path, int, CopyBaseline]:
    """Copy ``root`` (tracked, untracked and ignored files; no ``.git``) into a new temp
    folder: returns the temp folder, the copy, the start stamp and the copy's baseline."""
    temp = _new_temp(temp_dir)
    try:
        start = _stamp(temp)
        copy = temp / "ws"
        copy.mkdir()
        _copy_tree(root, copy)
        return temp, copy, start, _baseline(copy, start)
    except BaseException:
        remove_tree(temp)
        raise


def _copy_tree(source: Path, target: Path) -> None:
    with os.scandir(source) as scan:
        entries = list(scan)
    for entry in entries:
        if entry.name == ".git":
            # The repository is not copied: the runner gives the copy the real one
            # (read-only under the sandbox); nested repositories are never applied.
            continue
        src = Path(entry.path)
        dst = target / entry.name
        try:
            if entry.is_symlink():
                os.symlink(os.readlink(src), dst)
            elif entry.is_dir(follow_symlinks=False):
                dst.mkdir()
                _copy_tree(src, dst)
                shutil.copystat(src, dst, follow_symlinks=False)
            elif entry.is_file(follow_symlinks=False):
                shutil.copy2(src, dst, follow_symlinks=False)
        except FileNotFoundError:
            continue  # the user removed it while we copied


def _walk(folder: Path, prefix: str = "") -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, lstat) of everything under ``folder``, parents first; no top .git."""
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if not prefix and entry.name == ".git":
            continue
        rel = prefix + entry.name
        info = entry.stat(follow_symlinks=False)
        yield rel, info
        if stat.S_ISDIR(info.st_mode):
            yield from _walk(Path(entry.path), rel + "/")


def _stat_key(info: os.stat_result) -> tuple[int, int, int, int]:
    return (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ino)


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _baseline(copy: Path, start: int) -> CopyBaseline:
    baseline = CopyBaseline()
    for rel, info in _walk(copy):
        baseline.stats[rel] = _stat_key(info)
        if stat.S_ISREG(info.st_mode) and info.st_mtime_ns >= start - _RACY_NS:
            baseline.hashes[rel] = _hash(copy / rel)
    return baseline


def git_file_for_copy(root: Path) -> bytes | None:
    """The content of a ``.git`` file making the copy use the workspace's repository."""
    dot_git = root / ".git"
    if dot_git.is_dir():
        return b"gitdir: " + os.fsencode(str(dot_git)) + b"\n"
    if dot_git.is_file():
        text = dot_git.read_bytes().strip()
        if text.startswith(b"gitdir: "):
            target = Path(os.fsdecode(text[len(b"gitdir: ") :]))
            return b"gitdir: " + os.fsencode(str(root / target)) + b"\n"
    return None


# ---------------------------------------------------------------------------------------
# Probing


def choose_route(
    wanted: str, inner: tuple[str, ...], temp_dir: Path | None
) -> tuple[CaptureRoute, str, str | None]:
    """The route for ``[sandbox] capture = wanted``, the clause saying which (for the
    sandbox's notice), and the ``unshare`` the overlay route runs."""
    if wanted == "copy":
        clause = "a command's changes are captured on a copy of the workspace"
        return "copy", clause + " (as the configuration asks).", None
    reason: str | None
    unshare = shutil.which("unshare")
    if not sys.platform.startswith("linux"):
        reason = "overlay mounts need Linux"
    elif unshare is None:
        reason = "unshare is not installed"
    else:
        reason = probe_overlay(unshare, inner, temp_dir)
    if reason is None:
        return (
            "overlay",
            "a command's changes are captured on an overlay of the workspace.",
            unshare,
        )
    if wanted == "overlay":
        return (
            "copy",
            (
                "a command's changes are captured on a copy of the workspace (the configured "
                f"overlay cannot work here: {reason})."
            ),
            None,
        )
    return (
        "copy",
        (
            "a command's changes are captured on a copy of the workspace "
            f"(slower: no overlay here because {reason})."
        ),
        None,
    )


@functools.cache
def probe_overlay(unshare: str, inner: tuple[str, ...], temp_dir: Path | None = None) -> str | None:
    """Why an overlay cannot capture commands here, or None when it works (cached).

    ``inner`` is the wrapper the real runs use before ``bash -c`` (bubblewrap's arguments
    with ``{root}`` for the workspace, or nothing). The probe makes the real mount and
    checks that a deletion and a replaced folder come out as whiteout and opaque folder.
    The layers go where real runs put theirs (``temp_dir``): not every file system can
    hold an upper layer.
    """
    temp = Path(tempfile.mkdtemp(prefix="autogpt-tui-probe-", dir=temp_dir))
    try:
        ws = temp / "ws"
        (ws / "d").mkdir(parents=True)
        (ws / "f").write_bytes(b"f")
        (ws / "d" / "g").write_bytes(b"g")
        layers, _ = prepare_overlay(ws, temp)
        wrapper = [part.replace("{root}", str(ws)) for part in inner]
        script = "rm f && rm -r d && mkdir d && echo n > d/n"
        argv = overlay_argv(unshare, layers, ws, [*wrapper, "bash", "-c", script])
        try:
            result = subprocess.run(
                argv, cwd=ws, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"the overlay could not be tried ({error})"
        if result.returncode != 0:
            detail = next((ln.strip() for ln in result.stderr.splitlines() if ln.strip()), "")
            return "an overlay mount is not possible here" + (f" ({detail})" if detail else "")
        upper = layers / "upper"
        try:
            whiteout = os.lstat(upper / "f")
            opaque = os.getxattr(upper / "d", _OPAQUE_XATTR, follow_symlinks=False)
        except OSError:
            return "the overlay does not record deletions as expected"
        if not _is_whiteout(whiteout) or opaque != b"y" or not (ws / "f").exists():
            return "the overlay does not record deletions as expected"
        return None
    finally:
        remove_tree(temp)


def _is_whiteout(info: os.stat_result) -> bool:
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == 0


def remove_tree(path: Path) -> None:
    """Remove a temp folder of ours, including the overlay's 000-mode work folder."""

    def fix(function: object, failed: str, error: object) -> None:
        del function, error
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed), 0o700)
            os.chmod(failed, 0o700)
        with contextlib.suppress(OSError):
            if os.path.isdir(failed) and not os.path.islink(failed):
                shutil.rmtree(failed, ignore_errors=True)
            else:
                os.unlink(failed)

    if os.path.lexists(path):
        shutil.rmtree(path, onerror=fix)


# ---------------------------------------------------------------------------------------
# What changed


@dataclass
class _Change:
    rel: str
    kind: Literal["file", "symlink", "dir", "delete"]
    source: Path | None = None
    opaque: bool = False
    existed: bool | None = None
    """Whether the path existed when the command started (None: unknown)."""


def _overlay_changes(upper: Path) -> list[_Change]:
    changes: list[_Change] = []

    def walk(folder: Path, prefix: str) -> None:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            rel = prefix + entry.name
            path = Path(entry.path)
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                changes.append(_Change(rel, "symlink", path))
            elif _is_whiteout(info):
                changes.append(_Change(rel, "delete"))
            elif stat.S_ISDIR(info.st_mode):
                opaque = _xattr(path, _OPAQUE_XATTR) == b"y"
                changes.append(_Change(rel, "dir", path, opaque=opaque))
                walk(path, rel + "/")
            elif stat.S_ISREG(info.st_mode):
                # Copied up from the lower layer: this path or (after a rename) another
                # existed when the command began; without it the file is new.
                existed = None if _xattr(path, _ORIGIN_XATTR) is not None else False
                changes.append(_Change(rel, "file", path, existed=existed))
            # FIFOs, sockets and devices are not something git can hold: left out.

    walk(upper, "")
    return changes


def _xattr(path: Path, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None


def _copy_changes(copy: Path, baseline: CopyBaseline) -> list[_Change]:
    changes: list[_Change] = []
    after = dict(_walk(copy))
    gone_dirs: list[str] = []
    for rel, old in baseline.stats.items():
        if rel in after or any(rel.startswith(d + "/") for d in gone_dirs[-1:]):
            continue
        changes.append(_Change(rel, "delete", existed=True))
        if stat.S_ISDIR(old[0]):
            gone_dirs.append(rel)
    for rel, info in after.items():
        old_key = baseline.stats.get(rel)
        path = copy / rel
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            if old_key is None or not stat.S_ISDIR(old_key[0]):
                existed = old_key is not None
                changes.append(_Change(rel, "dir", path, opaque=existed, existed=existed))
            continue
        if old_key is not None and stat.S_IFMT(old_key[0]) == stat.S_IFMT(mode):
            same = _stat_key(info) == old_key
            if same and rel in baseline.hashes:
                same = _hash(path) == baseline.hashes[rel]
            if same:
                continue
        kind: Literal["file", "symlink"]
        if stat.S_ISLNK(mode):
            kind = "symlink"
        elif stat.S_ISREG(mode):
            kind = "file"
        else:
            continue
        changes.append(_Change(rel, kind, path, existed=old_key is not None))
    # Parents before children; a deletion before whatever replaces it.
    order = {"delete": 0, "dir": 1, "file": 2, "symlink": 2}
    changes.sort(key=lambda c: (c.rel.split("/"), order[c.kind]))
    return changes


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


class _Planner:
    """Decides, before anything is touched, what applying the changes does."""

    def __init__(self, root: Path, start_ns: int, changes: list[_Change], *, overlay: bool) -> None:
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

    def _deleted_meanwhile(self, change: _Change) -> bool:
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

    def _plan_delete(self, change: _Change) -> None:
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

    def _plan_dir(self, change: _Change) -> None:
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
                self._plan_delete(_Change(child, "delete"))
        self._dirs.add(rel)

    def _plan_file(self, change: _Change) -> None:
        self._plan_write(change)

    def _plan_symlink(self, change: _Change) -> None:
        self._plan_write(change)

    def _plan_write(self, change: _Change) -> None:
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


def _execute(root: Path, ops: list[_Op]) -> None:
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


# ---------------------------------------------------------------------------------------
# The run


class CapturedRun:
    """A finished command whose changes are held apart, not yet in the workspace.

    Use it as a context manager (or call :meth:`discard`): its temporary folder goes
    away however the caller leaves.
    """

    def __init__(
        self,
        *,
        root: Path,
        route: CaptureRoute,
        temp: Path,
        start_ns: int,
        result: CommandResult,
        copy: Path | None = None,
        baseline: CopyBaseline | None = None,
    ) -> None:
        self.root = root
        self.route = route
        self.result = result
        """The command's exit status and output."""
        self._temp = temp
        self._start = start_ns
        self._copy = copy
        self._baseline = baseline
        self._changes: list[_Change] | None = None
        self._planner: _Planner | None = None

    def __enter__(self) -> CapturedRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def _plan(self) -> _Planner:
        if self._changes is None:
            if self.route == "overlay":
                self._changes = _overlay_changes(self._temp / "upper")
            else:
                assert self._copy is not None and self._baseline is not None
                self._changes = _copy_changes(self._copy, self._baseline)
        planner = _Planner(self.root, self._start, self._changes, overlay=self.route == "overlay")
        planner.plan()
        return planner

    def paths(self) -> list[str]:
        """The workspace-relative files applying would write or delete now."""
        return sorted(set(self._plan().paths))

    def apply(self, before_change: Callable[[list[str]], None] | None = None) -> AppliedChanges:
        """Apply the command's changes to the workspace, except clashes and skipped paths.

        ``before_change`` gets the paths about to change first; if it raises, nothing is
        applied (the exception propagates).
        """
        planner = self._plan()
        paths = sorted(set(planner.paths))
        if paths and before_change is not None:
            before_change(paths)
        _execute(self.root, planner.ops)
        return AppliedChanges(
            paths=paths, clashes=sorted(set(planner.clashes)), skipped=sorted(planner.skipped)
        )

    def discard(self) -> None:
        """Drop the command's changes (and the temporary folder); safe to call twice."""
        remove_tree(self._temp)
