"""The working tree and the index, read and written path by path.

Every git command here is limited to the paths a step touched, so the cost follows the
change; the only whole-tree cost left is git's own index read and write. Two stamps
save work on the hot path: the stat of each file as the last commit took it (so the
agent's own writes, reported again by a watcher, need no hashing), and the stat of the
index as we last wrote it (so nobody staged anything since, and no index read is
needed to know it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autogpt_tui.core.git.ignore import IgnoreChecker
from autogpt_tui.core.git.objects import ObjectStore, TreeEntry, blob_id
from autogpt_tui.core.git.runner import Git, run_git

_STAT_CACHE = 10_000
GITLINK = "160000"
"""The tree-entry mode of a submodule (a commit of another repository)."""


@dataclass
class Change:
    """What one path becomes in a new commit: an entry, or None for removal."""

    path: str
    entry: TreeEntry | None
    tracked: bool = field(default=True)
    """Whether HEAD already has the path (a new path may be ignored, and left out)."""


class WorkTree:
    """The files of a repository's working tree and its index, as git would see them."""

    def __init__(self, git: Git, objects: ObjectStore) -> None:
        self._git = git
        self._objects = objects
        self.root = git.root
        """The top of the working tree."""
        self._filters_configured: bool | None = None
        # Stat stamps of files as the last commit took them (path -> ino, mtime, size).
        self._committed_stat: dict[str, tuple[int, int, int]] = {}
        self._stat_head: str | None = None
        # Our last write of the index: its stat stamp, the HEAD and the paths it synced.
        self._index_stamp: tuple[int, int, int] | None = None
        self._index_head: str | None = None
        self._index_paths: set[str] = set()
        # One long-lived `git check-ignore` for the new files of steps (core/git/ignore.py).
        self._ignore = IgnoreChecker(git)

    # ------------------------------------------------------------------ paths

    def expand(self, paths: Iterable[str], head: str) -> list[str]:
        """Normalise paths to files relative to the root; directories become files.

        Paths outside the root or inside ``.git`` are dropped, and so are submodules and
        nested repositories and everything in them (:meth:`foreign_filter`).
        """
        foreign = self.foreign_filter(head)
        out: list[str] = []
        for raw in paths:
            rel = relative(self.root, raw)
            if rel is None or rel == ".git" or rel.startswith(".git/") or foreign(rel):
                continue
            full = self.root / rel
            if full.is_dir() and not full.is_symlink():
                for dirpath, dirnames, filenames in os.walk(full):
                    # Never into another repository: its files are its own history's.
                    dirnames[:] = [
                        d
                        for d in dirnames
                        if d != ".git" and not os.path.lexists(os.path.join(dirpath, d, ".git"))
                    ]
                    for name in filenames:
                        out.append(relative(self.root, os.path.join(dirpath, name)) or name)
                # Files the directory had in HEAD but no longer has are removals.
                tracked = self._git.run("ls-tree", "-r", "-z", "--name-only", head, "--", rel)
                out.extend(p for p in tracked.split("\0") if p and not (self.root / p).exists())
            else:
                out.append(rel)
        # A gitlink in HEAD whose folder is empty or gone is caught by HEAD's tree.
        return sorted(p for p in set(out) if not foreign(p))

    def foreign_filter(self, head: str) -> Callable[[str], bool]:
        """Whether a path is, or lies inside, a submodule or a nested repository.

        A submodule is a gitlink (mode 160000) in ``head``'s tree, checked out or not; a
        nested repository is any folder under the root holding a ``.git`` file or
        folder. Steps never take such paths: a gitlink must never become a tree or a
        file, and another repository's files are not this one's to commit.

        The answer for each folder is worked out once per filter (a stat, and a look
        into HEAD's tree at that level), so filtering a big folder's files costs a stat
        per file, not a walk of the tree per file.
        """
        trees: dict[str, dict[str, TreeEntry] | None] = {
            "": self._objects.read_tree(self._objects.tree_of(head))
        }
        entries: dict[str, TreeEntry | None] = {}
        verdicts: dict[str, bool] = {}

        def tree_at(prefix: str) -> dict[str, TreeEntry] | None:
            if prefix not in trees:
                entry = entries.get(prefix)
                trees[prefix] = (
                    self._objects.read_tree(entry.sha) if entry and entry.is_tree else None
                )
            return trees[prefix]

        def foreign(path: str) -> bool:
            parent = ""
            for part in path.rstrip("/").split("/"):
                prefix = f"{parent}/{part}" if parent else part
                verdict = verdicts.get(prefix)
                if verdict is None:
                    listing = tree_at(parent)
                    entry = listing.get(part) if listing is not None else None
                    entries[prefix] = entry
                    # For a file the stat fails at once (not a directory).
                    verdict = (entry is not None and entry.mode == GITLINK) or os.path.lexists(
                        self.root / prefix / ".git"
                    )
                    verdicts[prefix] = verdict
                if verdict:
                    return True
                parent = prefix
            return False

        return foreign

    def dirty_paths(self) -> list[str]:
        """Every path `git status` reports (changed, staged or untracked), sorted."""
        out = self._git.run(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"
        )
        paths: list[str] = []
        for item in out.split("\0"):
            if len(item) > 3:
                paths.append(item[3:])
        return sorted(set(paths))

    # ---------------------------------------------------------------- hashing

    def changes(self, paths: Sequence[str], head: str) -> list[Change]:
        """Hash the working-tree state of ``paths`` into blobs, without the index.

        New files the workspace ignores are left out, as `git add` would; so are
        submodules and nested repositories (:meth:`foreign_filter`), as they are.
        """
        changes: list[Change] = []
        to_hash: list[str] = []
        foreign = self.foreign_filter(head)
        for path in paths:
            if foreign(path):
                continue
            full = self.root / path
            tracked = self._objects.entry_at(head, path) is not None
            if full.is_symlink():
                target = os.readlink(full).encode()
                changes.append(
                    Change(path, TreeEntry("120000", self._objects.write_blob(target)), tracked)
                )
            elif full.is_file():
                mode = "100755" if os.access(full, os.X_OK) else "100644"
                changes.append(Change(path, TreeEntry(mode, ""), tracked))
                to_hash.append(path)
            elif not full.exists():
                changes.append(Change(path, None, tracked))
            # A directory in the list is expanded by the caller; anything else is skipped.
        if to_hash:
            by_path = self._hash_files(to_hash, write=True)
            for change in changes:
                if change.entry is not None and not change.entry.sha:
                    change.entry.sha = by_path[change.path]
        self.rules_may_change(paths)
        new = [c.path for c in changes if not c.tracked and c.entry is not None]
        ignored = set(self._ignored(new))
        return [c for c in changes if c.path not in ignored]

    def _plain_content(self, path: str) -> bool:
        """True when no attribute or setting can make git store ``path`` differently
        from its bytes (eol conversion, clean filters such as LFS)."""
        if self._filters_configured is None:
            autocrlf = self._git.config_value("core", "autocrlf").lower()
            home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
            self._filters_configured = (
                autocrlf in ("true", "input")
                or self._git.has_config("core", "attributesFile")
                or self._git.has_config("core", "eol")
                or (home / "git" / "attributes").exists()
                or (self._git.common_dir / "info" / "attributes").exists()
                or Path("/etc/gitattributes").exists()
            )
        if self._filters_configured:
            return False
        folder = self.root
        for part in ["", *path.split("/")[:-1]]:
            folder = folder / part if part else folder
            if (folder / ".gitattributes").exists():
                return False
        return True

    def _hash_files(self, paths: Sequence[str], *, write: bool) -> dict[str, str]:
        """Blob ids of working-tree files: in-process for plain files, else by git."""
        out: dict[str, str] = {}
        by_git: list[str] = []
        for path in paths:
            if self._plain_content(path):
                data = (self.root / path).read_bytes()
                out[path] = self._objects.write_blob(data) if write else blob_id(data)
            else:
                by_git.append(path)
        if by_git:
            args = ["hash-object", *(["-w"] if write else []), "--", *by_git]
            out.update(zip(by_git, self._git.run(*args).split(), strict=True))
        return out

    def _ignored(self, paths: Sequence[str]) -> list[str]:
        return self._ignore.ignored(paths)

    def rules_may_change(self, paths: Iterable[str]) -> None:
        """Note paths a step or the user changed: a ``.gitignore`` among them makes
        the ignore checker read every rule anew (besides its own stat check)."""
        if any(p == ".gitignore" or p.endswith("/.gitignore") for p in paths):
            self._ignore.forget()

    def ignored_existing(self, paths: Sequence[str], head: str) -> list[str]:
        """Which of ``paths`` are files on disk that HEAD lacks and git ignores."""
        candidates = [
            p
            for p in paths
            if os.path.lexists(self.root / p)
            and not (self.root / p).is_dir()
            and self._objects.entry_at(head, p) is None
        ]
        return self._ignored(candidates)

    # ------------------------------------------------------------ stat stamps

    def remember_files(self, changes: Sequence[Change], parent: str, head: str) -> None:
        """Note the stat of files just committed, so re-checking them costs no hashing.

        Stamps stay good while HEAD moves only through our own commits; anything else
        (undo, a checkout by hand) makes us forget them.
        """
        if parent != self._stat_head:
            self._committed_stat.clear()
        self._stat_head = head
        for change in changes:
            try:
                st = os.lstat(self.root / change.path)
            except OSError:
                self._committed_stat.pop(change.path, None)
                continue
            if change.entry is not None:
                self._committed_stat[change.path] = (st.st_ino, st.st_mtime_ns, st.st_size)
        if len(self._committed_stat) > _STAT_CACHE:
            self._committed_stat.clear()

    def unchanged_since_commit(self, path: str, head: str) -> bool:
        """Whether ``path`` is exactly as our commit ``head`` took it (by its stat)."""
        stamp = self._committed_stat.get(path)
        if stamp is None or head != self._stat_head:
            return False
        try:
            st = os.lstat(self.root / path)
        except OSError:
            return False
        return stamp == (st.st_ino, st.st_mtime_ns, st.st_size)

    # ------------------------------------------------------------------ index

    def sync_index(self, paths: Sequence[str], head: str) -> None:
        """Make the user's index agree with the working tree (and ``head``) for ``paths``."""
        if paths:
            self._git.run(
                "-c",
                "core.preloadIndex=false",
                "update-index",
                "--add",
                "--remove",
                "--replace",
                "-z",
                "--stdin",
                input=nul_separated(paths),
            )
            self._remember_index(head, paths)

    def restore_paths(self, source: str, paths: Sequence[str]) -> None:
        """Make the index and working tree hold ``source``'s version of ``paths``."""
        self._git.run(
            # A few paths: preloading the index (a thread lstat-ing every entry)
            # only costs time here.
            "-c",
            "core.preloadIndex=false",
            "restore",
            f"--source={source}",
            "--staged",
            "--worktree",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
            input=nul_separated(paths),
        )
        self._remember_index(source, paths)

    def local_changes(self, paths: Sequence[str], head: str) -> list[str]:
        """Which of ``paths`` differ from HEAD in the working tree or the index.

        Untracked and ignored files standing where HEAD has nothing count too: an undo
        or redo would have to overwrite them. The working tree is compared by content
        (hashing just these files), so a merely touched file blocks nothing.
        """
        if not paths:
            return []
        changed: list[str] = []
        to_hash: dict[str, TreeEntry] = {}
        for path in paths:
            entry = self._objects.entry_at(head, path)
            full = self.root / path
            if entry is None or entry.is_tree:
                if os.path.lexists(full) and not (entry and full.is_dir()):
                    changed.append(path)  # an untracked or ignored file in the way
            elif entry.mode == "160000":
                continue  # a submodule: never ours to change
            elif entry.mode == "120000":
                if not full.is_symlink() or os.readlink(full).encode() != self._objects.read_blob(
                    entry.sha
                ):
                    changed.append(path)
            elif (
                full.is_symlink()
                or not full.is_file()
                or (entry.mode == "100755") != os.access(full, os.X_OK)
            ):
                changed.append(path)
            else:
                to_hash[path] = entry
        if to_hash:
            names = list(to_hash)
            shas = self._git.run("hash-object", "--", *names).split()
            changed += [p for p, sha in zip(names, shas, strict=True) if sha != to_hash[p].sha]
        changed += self._staged_changes(paths, head)
        return sorted(set(changed))

    def _staged_changes(self, paths: Sequence[str], head: str) -> list[str]:
        """Which of ``paths`` the index holds differently from HEAD.

        Reading the index costs a whole-index read; when the index file is exactly as
        our own last write left it, nobody staged anything since, and the paths we
        wrote agree with HEAD, so the read is skipped.
        """
        if (
            self._index_stamp is not None
            and self._index_stamp == self._stamp_index()
            and self._index_head == head
            and set(paths) <= self._index_paths
        ):
            return []
        out = self._git.run("diff-index", "--cached", "-z", "--name-only", head, "--", *paths)
        return [p for p in out.split("\0") if p]

    def _stamp_index(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._git.index_file)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _remember_index(self, head: str, paths: Iterable[str]) -> None:
        """Note that we just wrote the index, with ``paths`` agreeing with ``head``."""
        stamp = self._stamp_index()
        if stamp is None:
            self._index_stamp = None
            return
        self._index_stamp = stamp
        self._index_head = head
        self._index_paths = set(paths)


def nul_separated(paths: Iterable[str]) -> bytes:
    """Paths as git's ``-z``/``--stdin`` options read them."""
    return b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths)


def relative(root: Path, path: str | os.PathLike[str]) -> str | None:
    """``path`` relative to the root in git's form, or None if it lies outside."""
    full = Path(path) if os.path.isabs(path) else root / path
    try:
        rel = os.path.relpath(os.path.normpath(full), root)
    except ValueError:
        return None
    if rel == "." or rel.startswith(".." + os.sep) or rel == "..":
        return None
    return rel.replace(os.sep, "/")


def enclosing_repository(root: Path, rel: str) -> tuple[str, str] | None:
    """The submodule or nested repository ``rel`` is or lies in, as ``(kind, path)``
    with kind ``"submodule"`` or ``"nested repository"``; None when it is the root's.

    For the file tools, which have no repository handle: a gitlink in HEAD (a
    submodule, checked out or not) is found with one `git ls-tree` of the path's
    prefixes, which lists a gitlink on the way because it cannot descend into it; any
    other folder holding ``.git`` with a stat per level. Steps filter on HEAD's tree
    themselves (:meth:`WorkTree.foreign_filter`), whatever this finds.
    """
    parts = rel.rstrip("/").split("/")
    if rel in ("", ".") or not parts:
        return None
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    gitlinks: set[str] = set()
    # Without .gitmodules a gitlink is a repository added by hand, whose folder holds
    # .git (the stat below finds it); the git process is only paid where submodules are.
    has_submodules = os.path.lexists(root / ".gitmodules")
    result = (
        run_git(root, ["ls-tree", "-z", "--full-tree", "HEAD", "--", *prefixes], check=False)
        if has_submodules
        else None
    )
    if result is not None and result.returncode == 0:  # else no commit: no submodule
        for item in result.stdout.split(b"\0"):
            meta, _, name = item.partition(b"\t")
            if meta.startswith(GITLINK.encode() + b" "):
                gitlinks.add(name.decode("utf-8", "surrogateescape"))
    for prefix in prefixes:  # the outermost one names it
        if prefix in gitlinks:
            return "submodule", prefix
        if os.path.lexists(root / prefix / ".git"):
            return "nested repository", prefix
    return None
