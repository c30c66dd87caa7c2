"""Running git: the one place that starts git processes and holds the repository handle.

Commands run through ``run_git`` with a fixed environment (C locale, no prompts, no
pager, literal pathspecs). Objects are read through GitPython's persistent ``git
cat-file`` (no process per object) and written as loose objects in-process, which is
what ``git hash-object -w`` does without the process. The writer survives git's own
maintenance running meanwhile (``prune-packed`` removes emptied fan-out folders): the
temporary file is made inside the fan-out folder, which keeps it from being removed, a
folder removed all the same is made again and the write retried, and as a last resort
the object is written through ``git hash-object -w``. GitPython's docs warn that a
``Repo`` keeps helper processes alive: each :class:`Git` holds exactly one, closed by
:meth:`Git.close`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
import zlib
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from git import Repo

from autogpt_tui.core.constants import FALLBACK_USER_EMAIL, FALLBACK_USER_NAME
from autogpt_tui.core.errors import GitFailure, NotARepository

WRITE_ATTEMPTS = 8
"""How often an object write is tried in-process before it is handed to git."""


def _before_rename(tmp: str, target: Path) -> None:
    """A seam for tests: called between writing an object's temporary file and
    renaming it into place (where a concurrent prune can strike)."""


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every git command runs with (plus ``extra``)."""
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


def run_git(
    cwd: Path,
    args: list[str],
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git args`` in ``cwd``; with ``check``, a non-zero exit raises GitFailure."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env=git_env(env),
        check=False,
    )
    if check and result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = message[-1] if message else f"exit status {result.returncode}"
        raise GitFailure(f"git {args[0]} failed: {detail}")
    return result


def find_repository(folder: Path, *, create: bool) -> tuple[Path, bool]:
    """The root of the repository ``folder`` belongs to, and whether it was just made.

    A folder outside any repository becomes one (unless ``create`` is false, which
    raises NotARepository having written nothing). A folder the enclosing repository
    ignores (like the checkout's own ``workspace/``) is not part of it and gets a
    repository of its own.
    """
    top = run_git(folder, ["rev-parse", "--show-toplevel"], check=False)
    in_repo = top.returncode == 0
    if in_repo and Path(top.stdout.decode().strip()) != folder:
        ignored = run_git(
            folder.parent,
            ["check-ignore", "-q", "--no-index", folder.name + "/"],
            env={"GIT_LITERAL_PATHSPECS": "0"},
            check=False,
        )
        in_repo = ignored.returncode != 0
    if not in_repo:
        if not create:
            raise NotARepository(
                f"{str(folder)!r} is not a git repository; only `autogpt-tui run` and the "
                "TUI make one."
            )
        run_git(folder, ["init", "-q"])
        return folder, True
    return Path(top.stdout.decode().strip()), False


def _plain_git_dir(root: Path) -> tuple[Path, Path] | None:
    """The git directories of an ordinary repository at ``root`` (``root/.git`` is both),
    found as GitPython's ``Repo(root)`` finds them; None for anything less plain (a
    ``.git`` file, a linked worktree, ``GIT_DIR`` set, ``root`` a git directory itself),
    which is left to GitPython."""
    if "GIT_DIR" in os.environ or "GIT_OBJECT_DIRECTORY" in os.environ:
        return None
    top = os.path.normpath(os.path.abspath(root))
    if os.path.isdir(os.path.join(top, "objects")) and os.path.isdir(os.path.join(top, "refs")):
        return None  # perhaps a bare repository: GitPython's rules
    dot_git = os.path.join(top, ".git")
    if not (
        os.path.isdir(os.path.join(dot_git, "objects"))
        and os.path.isdir(os.path.join(dot_git, "refs"))
        and os.path.isfile(os.path.join(dot_git, "HEAD"))
    ) or os.path.lexists(os.path.join(dot_git, "commondir")):
        return None
    return Path(dot_git), Path(dot_git)


_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class Git:
    """One repository: its git commands, its object database, its refs and config.

    Open one per thread and close it when done.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        """The top of the working tree; every command runs here."""
        self._opened: Repo | None = None
        dirs = _plain_git_dir(root)
        if dirs is None:  # a linked worktree, a submodule, GIT_DIR...: GitPython decides
            dirs = Path(self._repo.git_dir), Path(self._repo.common_dir)
        self.git_dir, self.common_dir = dirs
        """This working tree's git directory (HEAD, the index), and the git directory
        shared by all working trees (objects, refs)."""
        self.index_file = Path(os.environ.get("GIT_INDEX_FILE") or (self.git_dir / "index"))
        """The index file git commands in this process read and write."""
        self.objects_dir = self.common_dir / "objects"
        """Where loose objects live (``xx/yyyy…`` fan-out folders)."""
        self._config_reader: Any = None
        self._identity: dict[str, str] | None = None
        self._background: subprocess.Popen[bytes] | None = None
        self._syncs_refs: bool | None = None
        self._closers: list[Callable[[], None]] = []

    @property
    def _repo(self) -> Repo:
        """GitPython's handle, opened on first use: importing GitPython costs ~80 ms of
        start-up, which `log` (ref files and git processes only) need not pay."""
        if self._opened is None:
            from git import Repo

            self._opened = Repo(self.root)
        return self._opened

    def close(self) -> None:
        """Stop the git helper processes the repository handle keeps.

        A background command (:meth:`start_background`) is waited for, not killed: it is
        maintenance that is safe to finish, and a repack cut short only leaves a
        temporary pack for git to clean up, but waiting leaves nothing behind.
        """
        for closer in self._closers:
            closer()
        self._closers.clear()
        if self._background is not None:
            self._background.wait()
            self._background = None
        if self._opened is not None:
            self._opened.close()

    def on_close(self, closer: Callable[[], None]) -> None:
        """Call ``closer`` when this handle is closed (a helper process's shutdown)."""
        self._closers.append(closer)

    def start_background(self, *args: str) -> bool:
        """Start ``git args`` without waiting for it; False (and nothing started) while
        the previous background command still runs. Its output is discarded and its
        exit status not read: only maintenance that may fail harmlessly runs here."""
        if not self.background_done():
            return False
        self._background = subprocess.Popen(
            ["git", *args],
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=git_env(),
        )
        return True

    def background_done(self) -> bool:
        """Whether no background command runs (one that has finished is reaped here)."""
        if self._background is not None and self._background.poll() is not None:
            self._background = None
        return self._background is None

    def wait_background(self) -> None:
        """Wait for the background command, if one runs."""
        if self._background is not None:
            self._background.wait()
            self._background = None

    # ---------------------------------------------------------------- commands

    def run(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
        """Run git in the working tree and return its standard output as text.

        Raises GitFailure with git's own message when it exits non-zero. Bytes that are
        not UTF-8 (a file name) come back as surrogate escapes, as os.listdir gives
        them, so that a path read from git names the same file on disk.
        """
        return run_git(self.root, list(args), input=input, env=env).stdout.decode(
            "utf-8", "surrogateescape"
        )

    def try_run(
        self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run git in the working tree; the caller reads its exit status."""
        return run_git(self.root, list(args), input=input, env=env, check=False)

    def stream(self, args: Sequence[str], separator: bytes) -> Generator[bytes, None, None]:
        """Records of git's output split on ``separator``, read as git writes them.

        git is stopped as soon as the caller stops iterating, so a long history is
        never read further than needed.
        """
        proc = subprocess.Popen(
            ["git", *args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=git_env(),
        )
        assert proc.stdout is not None
        buffer = b""
        try:
            while True:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                buffer += chunk
                *complete, buffer = buffer.split(separator)
                yield from complete
        finally:
            proc.stdout.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()

    def gc_auto(self) -> None:
        """Let git pack loose objects when it thinks it should (`git gc --auto`).

        In the foreground: by default git detaches the work into a background process,
        which then prunes and repacks while our next step writes objects and moves
        refs. Run here, it finishes before the caller goes on.
        """
        self.try_run(
            "-c", "gc.autoDetach=false", "-c", "maintenance.autoDetach=false",
            "gc", "--auto", "--quiet",
        )  # fmt: skip

    # -------------------------------------------------------------------- refs

    def head_or_none(self) -> str | None:
        """The commit HEAD names, or None on an unborn branch."""
        # Called several times a step: read the ref files directly (no process, no object
        # lookup, no path resolution); anything unusual goes to GitPython.
        fast = self._read_head_files()
        if fast is not None:
            return fast
        from git import SymbolicReference

        try:
            return str(SymbolicReference.dereference_recursive(self._repo, "HEAD"))
        except ValueError:  # an unborn branch: no commit yet
            return None

    def _read_head_files(self) -> str | None:
        """HEAD's commit from ``HEAD`` and the branch's loose ref or ``packed-refs`` line,
        or None when that is not enough to tell (an unborn branch, a symbolic chain).

        A cloned repository's branches are usually packed: leaving those to GitPython
        cost its import (and a repository object) before the TUI's first frame.
        """
        try:
            text = (self.git_dir / "HEAD").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not text.startswith("ref: "):
            return text if _SHA.fullmatch(text) else None
        return self._read_ref_files(text[5:]) or None

    def _read_ref_files(self, ref: str) -> str | None:
        """A ``refs/…`` ref's commit read from its loose file or ``packed-refs``: ``""``
        when it is in neither, None when that cannot be told (anything unusual, left to
        GitPython, whose import `run` need not wait for before its first request)."""
        if not ref.startswith("refs/") or ".." in ref or ref.endswith("/"):
            return None
        try:
            value = (self.common_dir / ref).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            value = ""
        except (OSError, UnicodeDecodeError):
            return None
        if value:
            return value if _SHA.fullmatch(value) else None
        if ref.startswith(("refs/bisect/", "refs/worktree/", "refs/rewritten/")):
            return None  # per-worktree refs live in the worktree's own git directory
        try:
            packed = (self.common_dir / "packed-refs").read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""
        except (OSError, UnicodeDecodeError):
            return None
        for line in packed.splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha if _SHA.fullmatch(sha) else None
        return ""

    def head(self) -> str:
        """The commit HEAD names."""
        head = self.head_or_none()
        if head is None:  # only possible if someone emptied the repository under us
            raise GitFailure("The workspace repository has no commit.")
        return head

    def branch_key(self) -> str:
        """The ref HEAD is on (``refs/heads/…``), or ``HEAD`` when detached."""
        # HEAD's file says it in the usual cases (no GitPython to load for them).
        try:
            text = (self.git_dir / "HEAD").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            text = ""
        if text.startswith("ref: refs/") and ".." not in text and " " not in text[5:]:
            return text[5:]
        if _SHA.fullmatch(text):
            return "HEAD"
        head = self._repo.head
        return "HEAD" if head.is_detached else str(head.ref.path)

    def ref_value(self, ref: str) -> str | None:
        """The commit a ref points at, or None when the ref does not exist."""
        fast = self._read_ref_files(ref)
        if fast is not None:
            return fast or None
        from git import SymbolicReference

        try:
            return str(SymbolicReference.dereference_recursive(self._repo, ref))
        except (ValueError, OSError):
            return None

    def update_refs(self, commands: Sequence[str], reason: str) -> None:
        """Apply `git update-ref --stdin` commands as one atomic transaction."""
        script = "".join(f"{line}\n" for line in commands).encode()
        self.run("update-ref", "-m", f"autogpt-tui: {reason}", "--stdin", input=script)

    def advance_head(self, new: str, old: str, reason: str) -> None:
        """Move HEAD (or the branch it is on) from ``old`` to ``new``."""
        self.run("update-ref", "-m", f"autogpt-tui: {reason}", "HEAD", new, old)

    # ----------------------------------------------------------------- objects

    def read_object(self, sha: str) -> bytes:
        """The raw content of an object, read in-process (GitPython's cat-file)."""
        data: bytes = self._repo.odb.stream(bytes.fromhex(sha)).read()
        return data

    def read_own_object(self, sha: str) -> bytes:
        """An object we most likely wrote ourselves (loose): read straight from its file,
        else as :meth:`read_object` reads any object.

        Listing steps reads only the step index's own objects; reading them without
        GitPython spares `log` GitPython's import (~80 ms of its start-up).
        """
        loose = self._read_loose(sha)
        return self.read_object(sha) if loose is None else loose

    def _read_loose(self, sha: str) -> bytes | None:
        """A loose object's content, or None when it is not one (packed, or in an
        alternate) or does not read back whole."""
        try:
            raw = (self.objects_dir / sha[:2] / sha[2:]).read_bytes()
            data = zlib.decompress(raw)
        except (OSError, zlib.error):
            return None
        header, sep, body = data.partition(b"\0")
        size = header.rpartition(b" ")[2]
        if not sep or not size.isdigit() or int(size) != len(body):
            return None
        return body

    def write_object(self, kind: str, data: bytes) -> str:
        """Store an object of ``kind`` (blob, tree, commit) and return its id."""
        # Written as a loose object in-process (what `git hash-object -w` does), which
        # saves a process per object; git reads loose objects like any other.
        raw = f"{kind} {len(data)}\0".encode() + data
        sha = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
        folder = self.objects_dir / sha[:2]
        target = folder / sha[2:]
        if target.is_file():
            # Already stored (objects are immutable). Freshen it as git does, so that a
            # prune of old unreachable objects spares what we are about to reference.
            with contextlib.suppress(OSError):
                os.utime(target)
            return sha
        compressed = zlib.compress(raw, 1)  # git's core.looseCompression default
        for _ in range(WRITE_ATTEMPTS):
            if self._place_object(folder, target, compressed):
                return sha
        # Our own writes kept losing the race: let git write it (it retries likewise).
        written = self.run("hash-object", "-w", "-t", kind, "--stdin", input=data).strip()
        if written != sha:  # cannot happen unless git hashes differently (sha256 repo)
            raise GitFailure(f"git stored the {kind} as {written}, expected {sha}.")
        return sha

    def _place_object(self, folder: Path, target: Path, compressed: bytes) -> bool:
        """One try at writing a loose object; False when its folder vanished meanwhile."""
        # The temporary file lives in the fan-out folder itself: a folder that holds a
        # file is not empty, so `prune-packed` (which removes emptied folders) leaves it
        # alone from here on. It is made read-only at once (loose objects are, as git
        # makes them; the open file stays writable), which saves a chmod per object.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        while True:
            tmp = str(folder / f"tmp_obj_{os.urandom(6).hex()}")
            try:
                fd = os.open(tmp, flags, 0o444)
                break
            except FileExistsError:
                continue  # another writer's name (48 random bits): draw again
            except FileNotFoundError:
                try:
                    folder.mkdir(exist_ok=True)
                    fd = os.open(tmp, flags, 0o444)
                    break
                except FileNotFoundError:
                    return False  # the folder was removed between mkdir and open
                except FileExistsError:
                    continue
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(compressed)
            _before_rename(tmp, target)
            os.replace(tmp, target)
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return False
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return True

    # ------------------------------------------------------------------ config

    def config_value(self, section: str, option: str) -> str:
        """A git setting (all config levels, read in-process once), or ``""``."""
        return str(self._config().get(section, option, fallback=""))

    def has_config(self, section: str, option: str) -> bool:
        """Whether any config level sets ``section.option``."""
        return bool(self._config().has_option(section, option))

    def _config(self) -> Any:
        if self._config_reader is None:
            self._config_reader = self._repo.config_reader()
        return self._config_reader

    def syncs_refs(self) -> bool:
        """Whether git is configured to fsync the refs it writes (``core.fsync`` naming
        ``reference``, ``committed``, ``added`` or ``all``; git's default does not)."""
        if self._syncs_refs is None:
            value = self.config_value("core", "fsync").lower()
            parts = {part.strip() for part in value.split(",")}
            self._syncs_refs = bool(parts & {"reference", "committed", "added", "all"})
        return self._syncs_refs

    def user_identity(self) -> dict[str, str]:
        """Environment naming the user as author and committer, with a fallback when
        git has none."""
        if self._identity is None:
            name = self.config_value("user", "name").strip()
            email = self.config_value("user", "email").strip()
            name = os.environ.get("GIT_COMMITTER_NAME") or name or FALLBACK_USER_NAME
            email = os.environ.get("GIT_COMMITTER_EMAIL") or email or FALLBACK_USER_EMAIL
            self._identity = {
                "GIT_AUTHOR_NAME": name,
                "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name,
                "GIT_COMMITTER_EMAIL": email,
            }
        return dict(self._identity)
