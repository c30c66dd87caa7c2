"""The git-backed step history: step commits, their records and ratings, undo and redo.

Every action the agent takes becomes exactly one commit on the workspace's current
branch, with ``Agent-*`` trailers naming its session, step number, tool and policy arm.
The step's record (thought, tool call, observation, usage) and its ratings live in git
notes, so a copy of the folder carries everything.

Speed follows what changed, not the size of the tree: step commits are built by
rewriting only the trees on the paths a step touched, and undo/redo limit every git
command to the paths the steps changed. The only whole-tree cost left is git's own
index read and write, which every command that updates the index pays.

The user's own work is never lost: undo and redo refuse (with one clear sentence, and
without changing anything) when the user's uncommitted changes touch a file they would
have to change, and leave every other uncommitted, untracked or ignored file alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

from git import Repo, SymbolicReference
from gitdb import IStream, LooseObjectDB
from pydantic import ValidationError

from autogpt_tui.core.constants import (
    AGENT_EMAIL,
    AGENT_NAME,
    FALLBACK_USER_EMAIL,
    FALLBACK_USER_NAME,
)
from autogpt_tui.core.errors import (
    GitFailure,
    InvalidRating,
    LocalChangesInTheWay,
    NotAnAgentStep,
    NothingToRedo,
    NothingToUndo,
    WorkspaceNotFound,
)
from autogpt_tui.core.records import (
    SUMMARY_MAX,
    TRAILER_POLICY,
    TRAILER_REDO,
    TRAILER_SESSION,
    TRAILER_STEP,
    TRAILER_TOOL,
    TRAILER_UNDO,
    LogEntry,
    RatingEvent,
    RatingSource,
    StepCommit,
    StepRecord,
    UserCommit,
    effective_rating,
    one_line,
    parse_ratings,
    parse_trailers,
)

RECORDS_REF = "refs/notes/autogpt-tui/records"
"""Notes ref holding each step's record (JSON)."""
RATINGS_REF = "refs/notes/autogpt-tui/ratings"
"""Notes ref holding each step's rating events (JSON list; the latest wins)."""
UNDONE_REFS = "refs/autogpt-tui/undone"
"""Refs that keep steps taken back by moving the branch reachable (for redo and history)."""

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_ZERO_SHA = "0" * 40
_TREE_CACHE = 4096

# Field and record separators for `git log --format`; neither can occur in a
# commit subject, a trailer or a JSON note.
_FS = "\x1f"
_RS = "\x1e"


@dataclass
class _RedoEntry:
    """How one undone step was taken back, so redo can bring it back the same way."""

    sha: str
    method: Literal["reset", "revert"]
    revert: str | None = None


@dataclass
class _TreeEntry:
    mode: str
    sha: str

    @property
    def is_tree(self) -> bool:
        return self.mode == "40000"


@dataclass
class _Change:
    """What one path becomes in a new commit: an entry, or None for removal."""

    path: str
    entry: _TreeEntry | None
    tracked: bool = field(default=True)


class History:
    """A workspace folder as a git repository of agent steps.

    Open one per thread and close it when done (GitPython keeps ``git cat-file``
    processes alive for the life of a ``Repo``).
    """

    def __init__(self, root: Path, repo: Repo) -> None:
        self.root = root
        self._repo = repo
        self._git_dir = Path(repo.git_dir)
        self._identity: dict[str, str] | None = None
        self.agent_name = AGENT_NAME
        """The author name of step commits ([history] agent_name in the config)."""
        self.agent_email = AGENT_EMAIL
        """The author email of step commits ([history] agent_email in the config)."""
        self._trees: dict[str, dict[str, _TreeEntry]] = {}
        self._config_reader: Any = None
        self._filters_configured: bool | None = None
        # Stat stamps of files as the last step committed them (path -> ino, mtime, size).
        self._committed_stat: dict[str, tuple[int, int, int]] = {}
        self._stat_head: str | None = None
        self._index_file = Path(os.environ.get("GIT_INDEX_FILE") or (self._git_dir / "index"))
        # Our last write of the index: its stat stamp, the HEAD and the paths it synced.
        self._index_stamp: tuple[int, int, int] | None = None
        self._index_head: str | None = None
        self._index_paths: set[str] = set()
        self._loose = LooseObjectDB(os.path.join(repo.common_dir, "objects"))

    # ----------------------------------------------------------------- opening

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = True) -> History:
        """Open the workspace at ``path``, initialising it as a repository if needed.

        A folder that is not inside a git repository becomes one, with a first commit of
        the files already there. A repository without any commit gets an empty first
        commit, so that every step has a parent to go back to.
        """
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise WorkspaceNotFound(
                f"The workspace {str(folder)!r} does not exist or is not a folder."
            )
        folder = folder.resolve()
        top = _run_git(folder, ["rev-parse", "--show-toplevel"], check=False)
        in_repo = top.returncode == 0
        if in_repo and Path(top.stdout.decode().strip()) != folder:
            # A folder the enclosing repository ignores (like the checkout's own
            # workspace/) is not part of it: it gets a repository of its own.
            ignored = _run_git(
                folder.parent,
                ["check-ignore", "-q", "--no-index", folder.name + "/"],
                env={"GIT_LITERAL_PATHSPECS": "0"},
                check=False,
            )
            in_repo = ignored.returncode != 0
        if not in_repo:
            if not create:
                raise WorkspaceNotFound(f"{str(folder)!r} is not a git repository.")
            _run_git(folder, ["init", "-q"])
            root, fresh = folder, True
        else:
            root, fresh = Path(top.stdout.decode().strip()), False
        history = cls(root, Repo(root))
        if history._head() is None:
            history._make_first_commit(take_files=fresh)
        return history

    def close(self) -> None:
        """Stop the git helper processes this object keeps."""
        self._repo.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- low level

    def git(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
        """Run git in the workspace and return its standard output as text.

        Raises GitFailure with git's own message when it exits non-zero.
        """
        return _run_git(self.root, list(args), input=input, env=env).stdout.decode(
            "utf-8", "replace"
        )

    def _git_ok(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return _run_git(self.root, list(args), check=False)

    def _head(self) -> str | None:
        # GitPython resolves HEAD by reading the ref files: no process per call.
        try:
            return str(self._repo.head.commit.hexsha)
        except ValueError:  # an unborn branch: no commit yet
            return None

    def head(self) -> str:
        """The commit HEAD names."""
        head = self._head()
        if head is None:  # only possible if someone emptied the repository under us
            raise GitFailure("The workspace repository has no commit.")
        return head

    def _branch_key(self) -> str:
        head = self._repo.head
        return "HEAD" if head.is_detached else str(head.ref.path)

    def _user_identity(self) -> dict[str, str]:
        """Environment naming the user as committer, with a fallback when git has none."""
        if self._identity is None:
            config = self._config()
            name = str(config.get("user", "name", fallback="")).strip()
            email = str(config.get("user", "email", fallback="")).strip()
            name = os.environ.get("GIT_COMMITTER_NAME") or name or FALLBACK_USER_NAME
            email = os.environ.get("GIT_COMMITTER_EMAIL") or email or FALLBACK_USER_EMAIL
            self._identity = {
                "GIT_AUTHOR_NAME": name,
                "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name,
                "GIT_COMMITTER_EMAIL": email,
            }
        return dict(self._identity)

    def _agent_identity(self) -> dict[str, str]:
        env = self._user_identity()
        env["GIT_AUTHOR_NAME"] = self.agent_name
        env["GIT_AUTHOR_EMAIL"] = self.agent_email
        return env

    def _make_first_commit(self, *, take_files: bool) -> None:
        """Give a repository without commits its first one.

        A folder we just made a repository keeps its files in that commit; in a
        repository the user made, the first commit is empty and the index is left as
        the user staged it.
        """
        tree = EMPTY_TREE
        if take_files:
            self.git("add", "-A")
            tree = self.git("write-tree").strip()
        message = "Start the autogpt-tui workspace\n"
        sha = self._commit(tree, None, message, self._user_identity())
        self.git("update-ref", "-m", "autogpt-tui: first commit", "HEAD", sha, "")

    def _read_tree(self, sha: str | None) -> dict[str, _TreeEntry]:
        if sha is None:
            return {}
        cached = self._trees.get(sha)
        if cached is None:
            # Trees never change (they are named by their content), so caching is safe.
            cached = _parse_tree(self._repo.odb.stream(bytes.fromhex(sha)).read())
            if len(self._trees) >= _TREE_CACHE:
                self._trees.clear()
            self._trees[sha] = cached
        return dict(cached)

    def _write_object(self, kind: str, data: bytes) -> str:
        # Written as a loose object in-process (what `git hash-object -w` does), which
        # saves a process per tree; git reads loose objects like any other.
        stream = self._loose.store(IStream(kind, len(data), BytesIO(data)))
        sha = stream.hexsha
        return sha.decode() if isinstance(sha, bytes) else str(sha)

    def _write_tree(self, entries: dict[str, _TreeEntry]) -> str:
        # git orders tree entries by name, comparing a directory as if it ended in "/".
        def key(item: tuple[str, _TreeEntry]) -> bytes:
            name, entry = item
            return _fs(name) + (b"/" if entry.is_tree else b"")

        body = b"".join(
            entry.mode.encode() + b" " + _fs(name) + b"\0" + bytes.fromhex(entry.sha)
            for name, entry in sorted(entries.items(), key=key)
        )
        return self._write_object("tree", body)

    def _rewrite_tree(self, tree: str | None, changes: dict[str, _TreeEntry | None]) -> str | None:
        """A new tree: ``tree`` with ``changes`` (relative paths) applied; None if empty."""
        entries = self._read_tree(tree)
        direct: dict[str, _TreeEntry | None] = {}
        nested: dict[str, dict[str, _TreeEntry | None]] = {}
        for path, entry in changes.items():
            head, _, rest = path.partition("/")
            if rest:
                nested.setdefault(head, {})[rest] = entry
            else:
                direct[head] = entry
        for name, sub in nested.items():
            old = entries.get(name)
            new = self._rewrite_tree(old.sha if old and old.is_tree else None, sub)
            if new is None:
                entries.pop(name, None)
            else:
                entries[name] = _TreeEntry("40000", new)
        for name, entry in direct.items():
            if entry is None:
                old = entries.get(name)
                if old is not None and not old.is_tree:
                    entries.pop(name)
            else:
                entries[name] = entry
        if not entries:
            return None
        return self._write_tree(entries)

    def _entry_at(self, commit: str, path: str) -> _TreeEntry | None:
        tree = self._read_tree(self.tree_of(commit))
        parts = path.split("/")
        for part in parts[:-1]:
            entry = tree.get(part)
            if entry is None or not entry.is_tree:
                return None
            tree = self._read_tree(entry.sha)
        return tree.get(parts[-1])

    def tree_of(self, commit: str) -> str:
        """The tree id of a commit."""
        return self.read_commit(commit).tree

    def _commit_time(self, commit: str) -> int:
        return self.read_commit(commit).timestamp

    def _worktree_changes(self, paths: Sequence[str], head: str) -> list[_Change]:
        """Hash the working-tree state of ``paths`` into blobs, without the index."""
        changes: list[_Change] = []
        to_hash: list[str] = []
        for path in paths:
            full = self.root / path
            tracked = self._entry_at(head, path) is not None
            if full.is_symlink():
                target = os.readlink(full).encode()
                changes.append(
                    _Change(path, _TreeEntry("120000", self._write_object("blob", target)), tracked)
                )
            elif full.is_file():
                mode = "100755" if os.access(full, os.X_OK) else "100644"
                changes.append(_Change(path, _TreeEntry(mode, ""), tracked))
                to_hash.append(path)
            elif not full.exists():
                changes.append(_Change(path, None, tracked))
            # A directory in the list is expanded by the caller; anything else is skipped.
        if to_hash:
            by_path = self._hash_files(to_hash, write=True)
            for change in changes:
                if change.entry is not None and not change.entry.sha:
                    change.entry.sha = by_path[change.path]
        # New files the workspace ignores stay out of the step, as `git add` would.
        new = [c.path for c in changes if not c.tracked and c.entry is not None]
        ignored = set(self._ignored(new))
        return [c for c in changes if c.path not in ignored]

    def _config(self) -> Any:
        """The repository's git configuration (all levels), read in-process once."""
        if self._config_reader is None:
            self._config_reader = self._repo.config_reader()
        return self._config_reader

    def _plain_content(self, path: str) -> bool:
        """True when no attribute or setting can make git store ``path`` differently
        from its bytes (eol conversion, clean filters such as LFS)."""
        if self._filters_configured is None:
            config = self._config()
            autocrlf = str(config.get("core", "autocrlf", fallback="false")).lower()
            home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
            self._filters_configured = (
                autocrlf in ("true", "input")
                or config.has_option("core", "attributesFile")
                or config.has_option("core", "eol")
                or (home / "git" / "attributes").exists()
                or (Path(self._repo.common_dir) / "info" / "attributes").exists()
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
                out[path] = self._write_object("blob", data) if write else _blob_id(data)
            else:
                by_git.append(path)
        if by_git:
            args = ["hash-object", *(["-w"] if write else []), "--", *by_git]
            out.update(zip(by_git, self.git(*args).split(), strict=True))
        return out

    def _remember_files(self, changes: Sequence[_Change], parent: str, head: str) -> None:
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
        if len(self._committed_stat) > 10_000:
            self._committed_stat.clear()

    def _unchanged_since_commit(self, path: str, head: str) -> bool:
        stamp = self._committed_stat.get(path)
        if stamp is None or head != self._stat_head:
            return False
        try:
            st = os.lstat(self.root / path)
        except OSError:
            return False
        return stamp == (st.st_ino, st.st_mtime_ns, st.st_size)

    def _ignored(self, paths: Sequence[str]) -> list[str]:
        if not paths:
            return []
        # check-ignore rejects the literal-pathspec magic our other commands use. The
        # paths are untracked, so --no-index answers the same without reading the index.
        result = _run_git(
            self.root,
            ["check-ignore", "--no-index", "-z", "--stdin"],
            input=_nul(paths),
            env={"GIT_LITERAL_PATHSPECS": "0"},
            check=False,
        )
        return [p for p in result.stdout.decode().split("\0") if p]

    def _expand(self, paths: Iterable[str], head: str) -> list[str]:
        """Normalise step paths to files relative to the root; directories become files."""
        out: list[str] = []
        for raw in paths:
            rel = _relative(self.root, raw)
            if rel is None or rel == ".git" or rel.startswith(".git/"):
                continue
            full = self.root / rel
            if full.is_dir() and not full.is_symlink():
                for dirpath, dirnames, filenames in os.walk(full):
                    dirnames[:] = [d for d in dirnames if d != ".git"]
                    for name in filenames:
                        out.append(_relative(self.root, os.path.join(dirpath, name)) or name)
                # Files the directory had in HEAD but no longer has are removals.
                tracked = self.git("ls-tree", "-r", "-z", "--name-only", head, "--", rel)
                out.extend(p for p in tracked.split("\0") if p and not (self.root / p).exists())
            else:
                out.append(rel)
        return sorted(set(out))

    def _commit(self, tree: str, parent: str | None, message: str, env: dict[str, str]) -> str:
        """Write a commit object; in-process unless the environment fixes its dates."""
        if "GIT_AUTHOR_DATE" in os.environ or "GIT_COMMITTER_DATE" in os.environ:
            # git parses the many date formats these variables accept; we do not.
            args = ["commit-tree", tree]
            if parent:
                args += ["-p", parent]
            return self.git(*args, "-F", "-", input=message.encode(), env=env).strip()
        now = int(time.time())
        offset = datetime.now().astimezone().utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        zone = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"

        def person(kind: str) -> str:
            name = _ident_part(env[f"GIT_{kind}_NAME"])
            email = _ident_part(env[f"GIT_{kind}_EMAIL"])
            return f"{name} <{email}> {now} {zone}"

        lines = [f"tree {tree}"]
        if parent:
            lines.append(f"parent {parent}")
        lines += [f"author {person('AUTHOR')}", f"committer {person('COMMITTER')}"]
        return self._write_object("commit", ("\n".join(lines) + "\n\n" + message).encode())

    def _advance(self, new: str, old: str, reason: str) -> None:
        self.git("update-ref", "-m", f"autogpt-tui: {reason}", "HEAD", new, old)

    def _sync_index(self, paths: Sequence[str], head: str) -> None:
        """Make the user's index agree with the working tree (and ``head``) for ``paths``."""
        if paths:
            self.git(
                "-c",
                "core.preloadIndex=false",
                "update-index",
                "--add",
                "--remove",
                "--replace",
                "-z",
                "--stdin",
                input=_nul(paths),
            )
            self._remember_index(head, paths)

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
    ) -> StepCommit:
        """Commit one agent step: the files it changed (or none: an empty commit).

        ``paths`` names what the action changed; only those are staged, so the cost
        follows the change. ``None`` means "unknown" (a shell command): every change in
        the working tree is taken, as `git add -A` would.
        """
        head = self.head()
        files = self._dirty_paths() if paths is None else self._expand(paths, head)
        changes = self._worktree_changes(files, head) if files else []
        tree = (
            self._rewrite_tree(self.tree_of(head), {c.path: c.entry for c in changes}) or EMPTY_TREE
        )
        message = _step_message(summary, session=session, step=step, tool=tool, policy=policy)
        sha = self._commit(tree, head, message, self._agent_identity())
        note, old_note = self._note_commit(RECORDS_REF, sha, record.model_dump_json())
        # The branch and the record move together: no step without its record.
        self._update_refs(
            [f"update HEAD {sha} {head}", f"update {RECORDS_REF} {note} {old_note or _ZERO_SHA}"],
            f"step {step} ({tool})",
        )
        self._sync_index([c.path for c in changes], sha)
        self._remember_files(changes, head, sha)
        # A new action makes the undone steps unreachable by redo (as in any editor);
        # they stay visible in the history as undone.
        self._save_redo_stack([])
        return StepCommit(
            sha=sha,
            parent=head,
            session=session,
            step=step,
            tool=tool,
            policy=policy,
            summary=one_line(summary),
            timestamp=self._commit_time(sha),
            record=record,
        )

    def maintain(self) -> None:
        """Let git pack loose objects when it thinks it should (`git gc --auto`).

        Step commits are written with plumbing, which never triggers git's automatic
        housekeeping; without it a long session leaves tens of thousands of loose
        objects and every git command slows down.
        """
        self._git_ok("gc", "--auto", "--quiet")

    def _dirty_paths(self) -> list[str]:
        out = self.git("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
        paths: list[str] = []
        for item in out.split("\0"):
            if len(item) > 3:
                paths.append(item[3:])
        return sorted(set(paths))

    def commit_user_edits(self, paths: Iterable[str] | None = None) -> UserCommit | None:
        """Commit the user's own edits made since the last step as the user's commit.

        Returns None when there is nothing to commit. ``paths`` limits the commit to
        files a watcher saw change; None scans the whole working tree.
        """
        head = self.head()
        dirty = self._dirty_paths() if paths is None else self._expand(paths, head)
        # Files exactly as our last commit left them (the agent's own writes, which the
        # watcher reports too) need no hashing to know they are unchanged.
        dirty = [p for p in dirty if not self._unchanged_since_commit(p, head)]
        if not dirty:
            return None
        changes = self._worktree_changes(dirty, head)
        # Only paths whose content differs from HEAD count as edits.
        real = [c for c in changes if c.entry != self._entry_at(head, c.path)]
        if not real:
            return None
        tree = self._rewrite_tree(self.tree_of(head), {c.path: c.entry for c in real})
        names = [c.path for c in real]
        message = "User edits: " + one_line(", ".join(names), 80) + "\n"
        sha = self._commit(tree or EMPTY_TREE, head, message, self._user_identity())
        self._advance(sha, head, "user edits")
        self._sync_index(names, sha)
        self._remember_files(real, head, sha)
        return UserCommit(sha=sha, paths=names)

    # --------------------------------------------------------------- reading

    def log_entries(
        self,
        *revs: str,
        records: bool = False,
        max_count: int | None = None,
        skip: int | None = None,
    ) -> Iterator[LogEntry]:
        """Stream commits newest first; stops reading git as soon as the caller stops.

        Each entry carries its ratings note and, with ``records``, its record note too:
        both are one-line JSON, a record an object and ratings an array, so the two
        notes refs can share git's single ``%N`` placeholder.
        """
        fmt = _FS.join(["%H", "%P", "%ct", "%s", "%(trailers:only,unfold)", "%N"]) + _RS
        notes = [f"--notes={RATINGS_REF}"] + ([f"--notes={RECORDS_REF}"] if records else [])
        bounds = [f"--max-count={max_count}"] if max_count else []
        bounds += [f"--skip={skip}"] if skip else []
        args = ["git", "log", "--no-notes", *notes, f"--format={fmt}", *bounds, *revs, "--"]
        proc = subprocess.Popen(
            args, cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env()
        )
        assert proc.stdout is not None
        buffer = b""
        try:
            while True:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
                *complete, buffer = buffer.split(_RS.encode())
                for raw in complete:
                    entry = _parse_log_record(raw)
                    if entry is not None:
                        yield entry
        finally:
            proc.stdout.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()

    def steps(self, limit: int | None = None) -> list[StepCommit]:
        """Agent steps newest first, with rating and undone mark (records not loaded).

        Steps on the current branch come with those that undo took off it, so the
        history shows what was undone too.
        """
        live: list[StepCommit] = []
        for step in self.steps_on_branch(expect=limit):
            live.append(step)
            if limit is not None and len(live) >= limit:
                break
        taken_off: list[StepCommit] = []
        if self._has_undone_refs():
            for entry in self.log_entries(f"--glob={UNDONE_REFS}/*", "--not", "HEAD"):
                gone = entry.as_step(undone=True)
                if gone is not None:
                    taken_off.append(gone)
        merged = live + taken_off
        if taken_off:
            merged.sort(key=lambda s: (s.timestamp, s.step), reverse=True)
        return merged[:limit] if limit is not None else merged

    def _has_undone_refs(self) -> bool:
        # Looked up in the files rather than with a git process: this runs on every log.
        common = Path(self._repo.common_dir)
        loose = common / UNDONE_REFS
        if loose.is_dir() and any(loose.iterdir()):
            return True
        try:
            return (UNDONE_REFS + "/") in (common / "packed-refs").read_text(errors="replace")
        except OSError:
            return False

    def resolve(self, rev: str) -> StepCommit:
        """The agent step ``rev`` names (with its record), or NotAnAgentStep."""
        if not rev or rev.startswith("-"):
            raise NotAnAgentStep(f"{rev!r} is not a revision.")
        result = self._git_ok(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
        if result.returncode != 0:
            raise NotAnAgentStep(f"{rev!r} does not name a commit in this workspace.")
        sha = result.stdout.decode().strip()
        entry = next(self.log_entries("-n", "1", sha), None)
        step = entry.as_step(undone=False) if entry else None
        if step is None:
            raise NotAnAgentStep(f"{rev!r} ({sha[:8]}) is not an agent step.")
        undone = self._is_undone(sha)
        record = self.record(sha)
        return StepCommit(**{**step.__dict__, "undone": undone, "record": record})

    def _is_undone(self, sha: str) -> bool:
        on_branch = self._git_ok("merge-base", "--is-ancestor", sha, "HEAD").returncode == 0
        if not on_branch:
            return True
        for entry in self.log_entries(f"{sha}..HEAD"):
            if entry.trailers.get(TRAILER_UNDO) == sha:
                return True
            if entry.trailers.get(TRAILER_REDO) == sha:
                return False
        return False

    def record(self, sha: str) -> StepRecord | None:
        """The step record stored for commit ``sha``, or None if it has none."""
        note = self.read_note(RECORDS_REF, sha)
        if note is None:
            return None
        try:
            return StepRecord.model_validate_json(note)
        except ValidationError:
            return None

    def diff(self, sha: str) -> str:
        """The patch a step made (against its parent)."""
        return self.git("diff-tree", "-p", "--root", "--no-color", "--no-commit-id", "-M", sha)

    def changed_paths(self, sha: str) -> list[str]:
        """The files a commit changed."""
        out = self.git(
            "diff-tree", "-r", "-z", "--root", "--no-commit-id", "--name-only", "--no-renames", sha
        )
        return [p for p in out.split("\0") if p]

    # ---------------------------------------------------------------- notes

    def read_note(self, ref: str, sha: str) -> str | None:
        """The note on a commit in a notes ref, or None."""
        notes = self.ref_value(ref)
        if notes is None:
            return None
        tree = self._read_tree(self.tree_of(notes))
        entry = tree.get(sha)
        if entry is None:
            fan = tree.get(sha[:2])
            if fan is not None and fan.is_tree:
                entry = self._read_tree(fan.sha).get(sha[2:])
        if entry is None or entry.is_tree:
            return None
        return self._blob(entry.sha).decode("utf-8", "replace")

    def _note_commit(self, ref: str, sha: str, text: str) -> tuple[str, str | None]:
        """A new commit of notes ref ``ref`` with ``text`` as the note on ``sha``.

        Returns the commit and the ref's old value, for one update-ref transaction.
        Notes go two levels deep (``ab/cdef…``), as git lays out large notes trees; any
        note for ``sha`` at the other level is dropped so there is only one.
        """
        old = self.ref_value(ref)
        tree = self.tree_of(old) if old else None
        blob = self._write_object("blob", text.encode())
        changes: dict[str, _TreeEntry | None] = {
            sha: None,
            f"{sha[:2]}/{sha[2:]}": _TreeEntry("100644", blob),
        }
        new_tree = self._rewrite_tree(tree, changes) or EMPTY_TREE
        message = f"autogpt-tui: note on {sha[:12]}\n"
        return self._commit(new_tree, old, message, self._user_identity()), old

    def ref_value(self, ref: str) -> str | None:
        """The commit a ref points at, or None when the ref does not exist."""
        try:
            return str(SymbolicReference(self._repo, ref).commit.hexsha)
        except (ValueError, OSError):
            return None

    def _write_note(self, ref: str, sha: str, text: str) -> None:
        commit, old = self._note_commit(ref, sha, text)
        self._update_refs([f"update {ref} {commit} {old or _ZERO_SHA}"], f"note on {sha[:12]}")

    def _update_refs(self, commands: Sequence[str], reason: str) -> None:
        """Apply `git update-ref --stdin` commands as one atomic transaction."""
        script = "".join(f"{line}\n" for line in commands).encode()
        self.git("update-ref", "-m", f"autogpt-tui: {reason}", "--stdin", input=script)

    # --------------------------------------------------------------- ratings

    def rate(
        self,
        rev: str,
        value: float,
        comment: str | None = None,
        source: RatingSource = "user",
    ) -> StepCommit:
        """Rate a step: -1, 0 (clears) or +1, with an optional comment; the latest wins."""
        if source == "user" and value not in (-1, 0, 1):
            raise InvalidRating(f"A rating must be -1, 0 or +1, not {value:g}.")
        step = self.resolve(rev)
        events = parse_ratings(self.read_note(RATINGS_REF, step.sha) or "")
        events.append(RatingEvent(value=value, comment=comment or None, source=source))
        self._write_note(
            RATINGS_REF, step.sha, json.dumps([e.model_dump(mode="json") for e in events])
        )
        return StepCommit(**{**step.__dict__, "rating": effective_rating(events)})

    def _implicit_rating(self, sha: str, value: float, comment: str) -> None:
        """Record an undo/redo's implicit reward, unless the user rated the step."""
        events = self.ratings(sha)
        if any(e.source == "user" for e in events):
            return
        events.append(RatingEvent(value=value, comment=comment, source="undo"))
        self._write_note(RATINGS_REF, sha, json.dumps([e.model_dump(mode="json") for e in events]))

    def ratings(self, sha: str) -> list[RatingEvent]:
        """Every rating event given to a step, oldest first."""
        return parse_ratings(self.read_note(RATINGS_REF, sha) or "")

    # ------------------------------------------------------------ undo/redo

    def _redo_path(self) -> Path:
        return self._git_dir / "autogpt-tui" / "redo.json"

    def _load_redo_all(self) -> dict[str, list[dict[str, Any]]]:
        try:
            data = json.loads(self._redo_path().read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _load_redo_stack(self) -> list[_RedoEntry]:
        raw = self._load_redo_all().get(self._branch_key(), [])
        stack: list[_RedoEntry] = []
        for item in raw if isinstance(raw, list) else []:
            try:
                stack.append(_RedoEntry(item["sha"], item["method"], item.get("revert")))
            except (KeyError, TypeError):
                continue
        return stack

    def _save_redo_stack(self, stack: list[_RedoEntry]) -> None:
        data = self._load_redo_all()
        key = self._branch_key()
        if not stack and key not in data:
            return
        data[key] = [e.__dict__ for e in stack]
        path = self._redo_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)  # atomic: a crash never leaves half a file

    def undoable(self, limit: int | None = None) -> list[StepCommit]:
        """The steps in effect on the branch, newest first (what undo takes back next)."""
        if limit == 1:
            # The common case, HEAD being the step, needs no walk of the history: nothing
            # sits above HEAD that could have reverted it.
            head = self.read_commit(self.head()).as_step(undone=False)
            if head is not None:
                return [head]
        found: list[StepCommit] = []
        for step in self.steps_on_branch(expect=limit):
            if not step.undone:
                found.append(step)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def steps_on_branch(
        self, *, records: bool = False, expect: int | None = None
    ) -> Iterator[StepCommit]:
        """Steps reachable from HEAD newest first, each marked undone if reverted.

        With ``records`` each step carries its record, read in the same git call.
        ``expect`` says how many steps the caller wants: git is first asked for a
        bounded number of commits (so it stops early instead of filling a pipe buffer
        nobody reads), and the walk only goes on past that if it has to.
        """
        actions: dict[str, bool] = {}  # step sha -> undone, from the newest undo/redo commit
        window = expect * 2 + 20 if expect else None
        seen = 0
        for entry in self.log_entries("HEAD", records=records, max_count=window):
            seen += 1
            yield from self._branch_step(entry, actions)
        if window is None or seen < window:
            return
        for entry in self.log_entries("HEAD", records=records, skip=window):
            yield from self._branch_step(entry, actions)

    @staticmethod
    def _branch_step(entry: LogEntry, actions: dict[str, bool]) -> Iterator[StepCommit]:
        """The step ``entry`` is, if any, noting the undo/redo commits on the way."""
        if undo := entry.trailers.get(TRAILER_UNDO):
            actions.setdefault(undo, True)
        if redo := entry.trailers.get(TRAILER_REDO):
            actions.setdefault(redo, False)
        step = entry.as_step(undone=actions.get(entry.sha, False))
        if step is not None:
            yield step

    def redo_depth(self) -> int:
        """How many undone steps redo can bring back."""
        return len(self._load_redo_stack())

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
        start_head = self.head()
        start_stack = self._load_redo_stack()
        stack = list(start_stack)
        made_refs: list[str] = []
        try:
            for target in targets:
                head = self.head()
                if head == target.sha and target.parent:
                    ref = f"{UNDONE_REFS}/{target.sha}"
                    self._move_head(
                        head,
                        target.parent,
                        why=f"undo step {target.step}",
                        refs=[f"update {ref} {target.sha}"],
                    )
                    made_refs.append(ref)
                    stack.append(_RedoEntry(target.sha, "reset"))
                else:
                    revert = self._revert(
                        target.sha,
                        f"Undo step {target.step}: {target.summary}",
                        {TRAILER_UNDO: target.sha},
                        what=f"undo step {target.step}",
                    )
                    stack.append(_RedoEntry(target.sha, "revert", revert))
        except Exception:
            self._restore(start_head, made_refs)
            raise
        self._save_redo_stack(stack)
        for target in targets:
            # Undoing is a judgement: an implicit -1, which the user's own rating overrides.
            self._implicit_rating(target.sha, -1, "undone by the user")
        return targets

    def redo(self, count: int = 1) -> list[StepCommit]:
        """Bring back the last ``count`` undone steps, most recently undone first."""
        if count < 1:
            raise NothingToRedo("The number of steps to redo must be at least 1.")
        stack = self._load_redo_stack()
        if not stack:
            raise NothingToRedo("There is nothing to redo.")
        if len(stack) < count:
            raise NothingToRedo(
                f"Only {len(stack)} step{'s' if len(stack) != 1 else ''} can be redone, "
                f"not {count}."
            )
        start_head = self.head()
        done: list[StepCommit] = []
        try:
            for _ in range(count):
                entry = stack.pop()
                step = self._step_at(entry.sha)
                head = self.head()
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
                    self._move_head(head, self._parent(entry.revert), why=f"redo step {step.step}")
                else:
                    self._revert(
                        entry.revert or entry.sha,
                        f"Redo step {step.step}: {step.summary}",
                        {TRAILER_REDO: entry.sha},
                        what=f"redo step {step.step}",
                    )
                done.append(step)
        except Exception:
            self._restore(start_head, [])
            raise
        self._save_redo_stack(stack)
        for step in done:
            # Bringing a step back takes the undo's judgement back.
            self._implicit_rating(step.sha, 0, "redone by the user")
        return done

    def _step_at(self, sha: str) -> StepCommit:
        try:
            step = self.read_commit(sha).as_step(undone=True)
        except (ValueError, KeyError, OSError):
            step = None
        if step is None:
            raise NothingToRedo("The step to redo no longer exists in this repository.")
        return step

    def _parent(self, sha: str) -> str:
        parents = self.read_commit(sha).parents
        if not parents:
            raise GitFailure(f"Commit {sha[:8]} has no parent.")
        return parents[0]

    def read_commit(self, sha: str) -> LogEntry:
        """A commit read in-process (GitPython's persistent cat-file), without notes."""
        raw: bytes = self._repo.odb.stream(bytes.fromhex(sha)).read()
        header, _, message = raw.decode("utf-8", "replace").partition("\n\n")
        tree, parents, timestamp = "", [], 0
        for line in header.split("\n"):
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key == "committer":
                timestamp = int(value.rsplit(" ", 2)[1])
        paragraphs = message.strip("\n").split("\n\n")
        subject = paragraphs[0].split("\n")[0] if paragraphs else ""
        trailers = parse_trailers(paragraphs[-1]) if len(paragraphs) > 1 else {}
        return LogEntry(sha, parents, timestamp, subject, trailers, "", tree=tree)

    def _restore(self, start_head: str, refs: list[str]) -> None:
        """Put HEAD and the touched files back after a failed multi-step undo/redo."""
        head = self.head()
        if head != start_head:
            self._move_head(head, start_head, why="roll back")
        for ref in refs:
            self._git_ok("update-ref", "-d", ref)

    def _restore_paths(self, source: str, paths: Sequence[str]) -> None:
        """Make the index and working tree hold ``source``'s version of ``paths``."""
        _run_git(
            self.root,
            [
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
            ],
            input=_nul(paths),
        )
        self._remember_index(source, paths)

    def diff_trees(self, a: str | None, b: str | None, prefix: str = "") -> list[str]:
        """Paths of files that differ between two trees, read in-process.

        Only subtrees whose ids differ are opened, so the cost follows the change.
        """
        if a == b:
            return []
        left, right = self._read_tree(a), self._read_tree(b)
        out: list[str] = []
        for name in sorted(left.keys() | right.keys()):
            x, y = left.get(name), right.get(name)
            if x == y:
                continue
            path = prefix + name
            x_tree = x.sha if x is not None and x.is_tree else None
            y_tree = y.sha if y is not None and y.is_tree else None
            if (x is not None and not x.is_tree) or (y is not None and not y.is_tree):
                out.append(path)  # a file on one side (or both)
            if x_tree or y_tree:
                out.extend(self.diff_trees(x_tree, y_tree, path + "/"))
        return out

    def _local_changes(self, paths: Sequence[str], head: str) -> list[str]:
        """Which of ``paths`` differ from HEAD in the working tree or the index.

        Untracked and ignored files standing where HEAD has nothing count too: an undo
        or redo would have to overwrite them. The working tree is compared by content
        (hashing just these files), so a merely touched file blocks nothing.
        """
        if not paths:
            return []
        changed: list[str] = []
        to_hash: dict[str, _TreeEntry] = {}
        for path in paths:
            entry = self._entry_at(head, path)
            full = self.root / path
            if entry is None or entry.is_tree:
                if os.path.lexists(full) and not (entry and full.is_dir()):
                    changed.append(path)  # an untracked or ignored file in the way
            elif entry.mode == "160000":
                continue  # a submodule: never ours to change
            elif entry.mode == "120000":
                if not full.is_symlink() or os.readlink(full).encode() != self._blob(entry.sha):
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
            shas = self.git("hash-object", "--", *names).split()
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
        out = self.git("diff-index", "--cached", "-z", "--name-only", head, "--", *paths)
        return [p for p in out.split("\0") if p]

    def _stamp_index(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._index_file)
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

    def _blob(self, sha: str) -> bytes:
        data: bytes = self._repo.odb.stream(bytes.fromhex(sha)).read()
        return data

    def _index_shas(self, paths: Sequence[str]) -> dict[str, str]:
        out = self.git("ls-files", "-s", "-z", "--", *paths)
        shas: dict[str, str] = {}
        for item in out.split("\0"):
            meta, _, path = item.partition("\t")
            if path:
                shas[path] = meta.split()[1]
        return shas

    def _move_head(self, head: str, target: str, *, why: str, refs: Sequence[str] = ()) -> None:
        """Move HEAD to ``target``, changing only the files that differ between the two.

        ``refs`` are more `git update-ref --stdin` commands, applied in the same atomic
        transaction as the move of HEAD.
        """
        paths = self.diff_trees(self.tree_of(head), self.tree_of(target))
        blocked = self._local_changes(paths, head)
        if blocked:
            raise LocalChangesInTheWay(
                f"Can't {why}: you have uncommitted changes in {_list(blocked)}, which it would "
                "have to change; commit or stash them first.",
                blocked,
            )
        if paths:
            self._restore_paths(target, paths)
        if refs:
            commands = "".join(f"{line}\n" for line in [f"update HEAD {target} {head}", *refs])
            self.git("update-ref", "-m", f"autogpt-tui: {why}", "--stdin", input=commands.encode())
        else:
            self._advance(target, head, why)

    def _revert(self, sha: str, subject: str, trailers: dict[str, str], *, what: str) -> str:
        """Commit the inverse of commit ``sha`` on top of HEAD; returns the new commit."""
        head = self.head()
        parent = self._parent(sha)
        paths = [
            p
            for p in self.git(
                "diff-tree", "-r", "-z", "--name-only", "--no-renames", parent, sha
            ).split("\0")
            if p
        ]
        blocked = self._local_changes(paths, head)
        if blocked:
            raise LocalChangesInTheWay(
                f"Can't {what}: you have uncommitted changes in {_list(blocked)}, which it would "
                "have to change; commit or stash them first.",
                blocked,
            )
        changes: dict[str, _TreeEntry | None] = {}
        for path in paths:
            base = self._entry_at(sha, path)  # what the commit made
            wanted = self._entry_at(parent, path)  # what was there before it
            ours = self._entry_at(head, path)  # what is there now
            if ours == base:
                changes[path] = wanted
            elif ours == wanted:
                continue
            elif ours and base and wanted and not (ours.is_tree or base.is_tree or wanted.is_tree):
                changes[path] = self._merge_blobs(ours, base, wanted, path, what)
            else:
                raise LocalChangesInTheWay(
                    f"Can't {what}: later commits changed {path} in a way that conflicts with it.",
                    [path],
                )
        tree = self._rewrite_tree(self.tree_of(head), changes) or EMPTY_TREE
        message = (
            subject.split("\n")[0][:SUMMARY_MAX]
            + "\n\n"
            + "".join(f"{k}: {v}\n" for k, v in trailers.items())
        )
        new = self._commit(tree, head, message, self._agent_identity())
        self._advance(new, head, what)
        if changes:
            self._restore_paths(new, list(changes))
        return new

    def _merge_blobs(
        self, ours: _TreeEntry, base: _TreeEntry, theirs: _TreeEntry, path: str, what: str
    ) -> _TreeEntry:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for name, entry in (("ours", ours), ("base", base), ("theirs", theirs)):
                target = Path(tmp) / name
                target.write_bytes(self._repo.odb.stream(bytes.fromhex(entry.sha)).read())
                files.append(str(target))
            result = _run_git(self.root, ["merge-file", "-p", *files], check=False)
        if result.returncode != 0:
            raise LocalChangesInTheWay(
                f"Can't {what}: later commits changed the same lines of {path}.", [path]
            )
        return _TreeEntry(ours.mode, self._write_object("blob", result.stdout))


# ------------------------------------------------------------------ helpers


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            # Paths from the agent are file names, never glob patterns.
            "GIT_LITERAL_PATHSPECS": "1",
            "GIT_PAGER": "cat",
        }
    )
    if extra:
        env.update(extra)
    return env


def _run_git(
    cwd: Path,
    args: list[str],
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env=_env(env),
        check=False,
    )
    if check and result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = message[-1] if message else f"exit status {result.returncode}"
        raise GitFailure(f"git {args[0]} failed: {detail}")
    return result


def _parse_log_record(raw: bytes) -> LogEntry | None:
    text = raw.decode("utf-8", "replace").lstrip("\n")
    if not text:
        return None
    parts = text.split(_FS)
    if len(parts) < 6:
        return None
    sha, parents, ctime, subject, trailers, note = parts[:6]
    return LogEntry(
        sha=sha,
        parents=parents.split(),
        timestamp=int(ctime or 0),
        subject=subject,
        trailers=parse_trailers(trailers),
        note=note,
    )


def _step_message(summary: str, *, session: str, step: int, tool: str, policy: str) -> str:
    return (
        f"{one_line(summary)}\n\n"
        f"{TRAILER_SESSION}: {one_line(session, 80)}\n"
        f"{TRAILER_STEP}: {step}\n"
        f"{TRAILER_TOOL}: {one_line(tool, 80)}\n"
        f"{TRAILER_POLICY}: {one_line(policy, 80)}\n"
    )


def _blob_id(data: bytes) -> str:
    """The id git gives a blob of ``data``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _ident_part(text: str) -> str:
    """A name or email as git writes it into a commit: no angle brackets or newlines."""
    return " ".join(text.replace("<", "").replace(">", "").split())


def _parse_tree(data: bytes) -> dict[str, _TreeEntry]:
    """Entries of a raw tree object: ``<mode> <name>\\0<20-byte id>`` repeated."""
    entries: dict[str, _TreeEntry] = {}
    i, end = 0, len(data)
    while i < end:
        space = data.index(b" ", i)
        nul = data.index(b"\0", space)
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        entries[name] = _TreeEntry(data[i:space].decode(), data[nul + 1 : nul + 21].hex())
        i = nul + 21
    return entries


def _fs(name: str) -> bytes:
    """A path component as git stores it (undecodable bytes round-trip)."""
    return name.encode("utf-8", "surrogateescape")


def _nul(paths: Iterable[str]) -> bytes:
    return b"".join(p.encode() + b"\0" for p in paths)


def _relative(root: Path, path: str | os.PathLike[str]) -> str | None:
    """``path`` relative to the root in git's form, or None if it lies outside."""
    full = Path(path) if os.path.isabs(path) else root / path
    try:
        rel = os.path.relpath(os.path.normpath(full), root)
    except ValueError:
        return None
    if rel == "." or rel.startswith(".." + os.sep) or rel == "..":
        return None
    return rel.replace(os.sep, "/")


def _list(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
