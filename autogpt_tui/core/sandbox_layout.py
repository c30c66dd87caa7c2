"""What a sandboxed command sees of the file system, and which environment it gets.

The layout bubblewrap builds (:func:`layout_args`):

* the system directories, read-only: ``/usr``, ``/bin``, ``/sbin``, ``/lib*``, ``/etc``
  and ``/opt`` (toolchains are installed there). Not ``/srv``, ``/var``, ``/home``,
  ``/root``, ``/mnt`` or ``/media``: they hold data, not programs, and often the user's;
* the Python installation this tool runs on, read-only, when it lies outside those (a
  pyenv under the home): the interpreter behind a workspace's ``.venv`` must work;
* what the user's own config allows (``[sandbox] allow_read``), read-only;
* a fresh ``/dev``, ``/proc`` (its own PID namespace) and ``/tmp``; ``HOME`` is an empty
  folder in that private ``/tmp``;
* the workspace, writable, with its ``.git`` read-only on top, and over its ``.git/config``
  a copy without credentials in remote URLs (:func:`sanitized_git_config`).

Whatever of :func:`hidden_paths` (the user's home, this tool's config and data, ssh and
cloud credentials) would still show through one of those read-only mounts is covered by an
empty folder or an empty file.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from autogpt_tui.core.redact import is_allowlisted

__all__ = [
    "PID_NAMESPACE_FLAGS",
    "PRIVATE_HOME",
    "SYSTEM_DIRS",
    "command_environment",
    "hidden_paths",
    "layout_args",
    "pid_namespace_route",
    "probe_pid_namespace",
    "sanitized_git_config",
]

SYSTEM_DIRS: tuple[str, ...] = (
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt",
)  # fmt: skip
"""Mounted read-only when present (a symlink such as ``/bin -> usr/bin`` stays one)."""

PRIVATE_HOME = "/tmp/home"
"""The command's HOME inside the sandbox: an empty folder in its private /tmp."""

# Under the user's home: credentials of other tools, never shown to a command.
_CREDENTIALS = (
    ".ssh", ".aws", ".config/gh", ".git-credentials", ".netrc", ".docker", ".kube",
    ".gnupg", ".pypirc", ".config/autogpt-tui", ".local/share/autogpt-tui",
)  # fmt: skip

# Fixed values (never the parent's): a pager would wait for a terminal that is not there.
_FIXED_ENV = {"PAGER": "cat", "GIT_PAGER": "cat"}


def hidden_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The paths a command must never see: the home, credentials, this tool's files."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    paths = [home, *(home / name for name in _CREDENTIALS)]
    if xdg := env.get("XDG_CONFIG_HOME"):
        paths.append(Path(xdg) / "autogpt-tui")
    if xdg := env.get("XDG_DATA_HOME"):
        paths.append(Path(xdg) / "autogpt-tui")
    if config := env.get("AUTOGPT_TUI_CONFIG"):
        paths.append(Path(config))
    return [_real(path) for path in paths]


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _python_prefix() -> Path | None:
    """The interpreter's installation when it lies outside the system directories."""
    prefix = _real(Path(sys.base_prefix))
    if any(_inside(prefix, Path(top)) for top in SYSTEM_DIRS):
        return None
    return prefix


def layout_args(
    source: str,
    root: str,
    *,
    git_dir: str | None,
    allow_read: Sequence[str] = (),
    hidden: Iterable[Path] | None = None,
) -> list[str]:
    """bubblewrap's mount arguments: ``source`` writable at ``root``, the rest as above."""
    args: list[str] = []
    for top in SYSTEM_DIRS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    readable = [Path(top) for top in SYSTEM_DIRS if os.path.isdir(top)]
    extra = [_real(Path(os.path.expanduser(path))) for path in allow_read]
    if (prefix := _python_prefix()) is not None:
        extra.insert(0, prefix)
    for path in extra:
        if path.exists():
            # -try: a path that vanished since the check is skipped, not an error.
            args += ["--ro-bind-try", str(path), str(path)]
            readable.append(path)
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--dir", PRIVATE_HOME]
    args += ["--bind", source, root]
    if git_dir is not None:
        # After the workspace bind, so this read-only mount lies on top of it.
        args += ["--ro-bind", git_dir, git_dir]
    args += _masks(readable, Path(root), hidden)
    return args


def _masks(readable: list[Path], root: Path, hidden: Iterable[Path] | None) -> list[str]:
    """Cover each hidden path that a read-only mount would show (never the workspace)."""
    args: list[str] = []
    masked: list[Path] = []
    # Outermost first; a path inside one already covered needs nothing (mounting over it
    # would even make a mount point for it show in the empty folder).
    for path in sorted(hidden_paths() if hidden is None else hidden, key=lambda p: len(p.parts)):
        if any(_inside(path, done) for done in masked):
            continue
        if _inside(root, path) or not any(_inside(path, top) for top in readable):
            # Not mounted at all; or the workspace lies inside it: then only the
            # workspace of it is mounted, which is what the user asked for.
            continue
        if path.is_dir():
            args += ["--tmpfs", str(path)]
            masked.append(path)
        elif path.exists():
            args += ["--ro-bind", "/dev/null", str(path)]
    return args


def command_environment(
    environ: Mapping[str, str], *, home: str, extra: Iterable[str] = (), tmpdir: str | None
) -> dict[str, str]:
    """A command's environment: the allowlisted variables of ``environ`` (and those the
    user's config names in ``extra``), with the private ``home``; nothing else."""
    names = set(extra)
    env = {k: v for k, v in environ.items() if is_allowlisted(k) or k in names}
    env.update(_FIXED_ENV)
    env["HOME"] = home
    if tmpdir is not None:
        env["TMPDIR"] = tmpdir
    return env


PID_NAMESPACE_FLAGS = ("--pid", "--fork", "--mount-proc", "--kill-child")
"""``unshare`` flags giving a command its own PID namespace and /proc: no ancestor of it
(this tool, which still holds the API key in its initial environment) is visible."""


def pid_namespace_route(user_namespaces: bool) -> tuple[str | None, str | None]:
    """The ``unshare`` that gives commands their own PID namespace, or None and why not.

    ``user_namespaces=False`` acts as if they were unavailable (a seam for tests)."""
    unshare = shutil.which("unshare")
    if not user_namespaces:
        return None, "user namespaces are not available here"
    if not sys.platform.startswith("linux") or unshare is None:
        return None, "unshare is not installed"
    problem = probe_pid_namespace(unshare)
    return (unshare, None) if problem is None else (None, problem)


@functools.cache
def probe_pid_namespace(unshare: str) -> str | None:
    """Why ``unshare`` cannot give commands their own PID namespace here, or None (cached)."""
    argv = [unshare, "-Ur", *PID_NAMESPACE_FLAGS, "sh", "-c", 'test ! -e "/proc/$PPID/environ"']
    try:
        result = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unshare could not be started ({error})"
    if result.returncode == 0:
        return None
    detail = next((ln.strip() for ln in result.stderr.splitlines() if ln.strip()), "")
    return "user namespaces are not available here" + (f" ({detail})" if detail else "")


# Credentials in a remote URL (scheme://user:token@ or scheme://token@) and http headers
# that carry a token (actions/checkout's extraheader): git status, diff and log need none.
_URL_USERINFO = re.compile(rb"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^\s/@]+@")
_EXTRA_HEADER = re.compile(rb"^\s*extraheader\s*=.*$", re.IGNORECASE | re.MULTILINE)


def sanitized_git_config(config: Path, scratch: Path) -> Path | None:
    """A copy of the repository's ``.git/config`` without credentials, written under
    ``scratch``, to mount over the real one; None when it holds none (or is unreadable)."""
    try:
        data = config.read_bytes()
    except OSError:
        return None
    clean = _EXTRA_HEADER.sub(b"", _URL_USERINFO.sub(rb"\g<scheme>", data))
    if clean == data:
        return None
    # One file per runner, replaced whole: a run already started keeps the copy it bound.
    target = scratch / "git-config"
    fd, name = tempfile.mkstemp(prefix="git-config-", dir=scratch)
    with os.fdopen(fd, "wb") as handle:
        handle.write(clean)
    os.replace(name, target)
    return target
