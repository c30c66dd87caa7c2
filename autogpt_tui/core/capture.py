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
import functools
import hashlib
import os
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

from autogpt_tui.core.capture_apply import AppliedChanges, Change, Planner, execute

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


def _overlay_changes(upper: Path) -> list[Change]:
    changes: list[Change] = []

    def walk(folder: Path, prefix: str) -> None:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            rel = prefix + entry.name
            path = Path(entry.path)
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                changes.append(Change(rel, "symlink", path))
            elif _is_whiteout(info):
                changes.append(Change(rel, "delete"))
            elif stat.S_ISDIR(info.st_mode):
                opaque = _xattr(path, _OPAQUE_XATTR) == b"y"
                changes.append(Change(rel, "dir", path, opaque=opaque))
                walk(path, rel + "/")
            elif stat.S_ISREG(info.st_mode):
                # Copied up from the lower layer: this path or (after a rename) another
                # existed when the command began; without it the file is new.
                existed = None if _xattr(path, _ORIGIN_XATTR) is not None else False
                changes.append(Change(rel, "file", path, existed=existed))
            # FIFOs, sockets and devices are not something git can hold: left out.

    walk(upper, "")
    return changes


def _xattr(path: Path, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None


def _copy_changes(copy: Path, baseline: CopyBaseline) -> list[Change]:
    changes: list[Change] = []
    after = dict(_walk(copy))
    gone_dirs: list[str] = []
    for rel, old in baseline.stats.items():
        if rel in after or any(rel.startswith(d + "/") for d in gone_dirs[-1:]):
            continue
        changes.append(Change(rel, "delete", existed=True))
        if stat.S_ISDIR(old[0]):
            gone_dirs.append(rel)
    for rel, info in after.items():
        old_key = baseline.stats.get(rel)
        path = copy / rel
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            if old_key is None or not stat.S_ISDIR(old_key[0]):
                existed = old_key is not None
                changes.append(Change(rel, "dir", path, opaque=existed, existed=existed))
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
        changes.append(Change(rel, kind, path, existed=old_key is not None))
    # Parents before children; a deletion before whatever replaces it.
    order = {"delete": 0, "dir": 1, "file": 2, "symlink": 2}
    changes.sort(key=lambda c: (c.rel.split("/"), order[c.kind]))
    return changes


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
        self._changes: list[Change] | None = None
        self._planner: Planner | None = None

    def __enter__(self) -> CapturedRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def _plan(self) -> Planner:
        if self._changes is None:
            if self.route == "overlay":
                self._changes = _overlay_changes(self._temp / "upper")
            else:
                assert self._copy is not None and self._baseline is not None
                self._changes = _copy_changes(self._copy, self._baseline)
        planner = Planner(self.root, self._start, self._changes, overlay=self.route == "overlay")
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
        execute(self.root, planner.ops)
        return AppliedChanges(
            paths=paths, clashes=sorted(set(planner.clashes)), skipped=sorted(planner.skipped)
        )

    def discard(self) -> None:
        """Drop the command's changes (and the temporary folder); safe to call twice."""
        remove_tree(self._temp)
