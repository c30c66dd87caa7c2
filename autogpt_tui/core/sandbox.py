"""Path confinement and the command runner.

Two lines of defence keep the agent inside its workspace:

* :func:`resolve_in_workspace` confines the file tools: every path is resolved (symlinks
  included) and must land inside the workspace; :func:`is_git_internal` keeps them out of
  ``.git``, which only the history engine may change.
* :class:`CommandRunner` runs ``run_command`` under bubblewrap when it can: the system
  directories read-only, the workspace writable (``.git`` read-only), no home, no network,
  its own PID namespace (:mod:`.sandbox_layout`). When bubblewrap is missing or cannot work
  here, commands still run, but :attr:`CommandRunner.sandbox_status` says so in a sentence
  the UI always shows; they still get their own PID namespace where user namespaces work,
  so that no ancestor's environment (the API key) can be read; where even that fails, every
  command waits for approval (:attr:`SandboxStatus.approval_reason`).

:meth:`CommandRunner.run_captured` runs the agent's commands on an overlay or a copy of
the workspace, so that exactly their changes can be applied (:mod:`.capture`).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from autogpt_tui.core.errors import PathOutsideWorkspace
from autogpt_tui.core.sandbox_io import OutputCapture, PipeReader
from autogpt_tui.core.sandbox_layout import (
    PID_NAMESPACE_FLAGS,
    PRIVATE_HOME,
    command_environment,
    layout_args,
    pid_namespace_route,
    sanitized_git_config,
)
from autogpt_tui.core.sandbox_worktree import linked_worktree_mounts

if TYPE_CHECKING:
    from autogpt_tui.core.capture import CapturedRun, CaptureRoute

__all__ = [
    "CommandResult",
    "CommandRunner",
    "SandboxStatus",
    "display_path",
    "is_git_internal",
    "resolve_in_workspace",
]


# ---------------------------------------------------------------------------------------
# Paths


def display_path(path: str) -> str:
    """``path`` as it can be quoted in a one-line message (NUL and newlines made visible)."""
    return path.replace("\0", "\\0").replace("\n", "\\n").replace("\r", "\\r")


def resolve_in_workspace(root: Path, path: str) -> Path:
    """The absolute, symlink-free location of ``path`` inside the workspace ``root``.

    ``path`` is relative to ``root`` or absolute; it need not exist yet (a file about to be
    written). Raises :class:`PathOutsideWorkspace` when it lands outside ``root`` after
    resolution: through ``..``, an absolute path elsewhere, or a symlink (the file itself
    or any parent folder) that points out. A NUL byte or a symlink loop is refused too.
    """
    if "\0" in path:
        raise PathOutsideWorkspace(f"The path '{display_path(path)}' contains a NUL byte.")
    real_root = root.resolve()
    candidate = Path(path) if os.path.isabs(path) else real_root / path
    try:
        resolved = candidate.resolve(strict=False)
    except RuntimeError:
        # Python 3.11 reports a symlink loop as RuntimeError (3.13 as OSError ELOOP).
        raise PathOutsideWorkspace(
            f"The path '{display_path(path)}' cannot be resolved (a symlink loop)."
        ) from None
    except OSError as error:
        # Exotic (a component that cannot be read), but no traceback either way.
        reason = "a symlink loop" if error.errno == errno.ELOOP else error.strerror
        raise PathOutsideWorkspace(
            f"The path '{display_path(path)}' cannot be resolved ({reason})."
        ) from None
    if resolved != real_root and not resolved.is_relative_to(real_root):
        raise PathOutsideWorkspace(f"The path '{display_path(path)}' is outside the workspace.")
    return resolved


def is_git_internal(rel: PurePath | str) -> bool:
    """Whether a workspace-relative, already resolved path lies inside a ``.git`` folder.

    Any component named ``.git`` counts, not only the first: a nested repository's ``.git``
    is just as much git's business. The comparison ignores case because on a
    case-insensitive file system ``.GIT/config`` is the same file as ``.git/config``.
    """
    return any(part.casefold() == ".git" for part in PurePath(rel).parts)


# ---------------------------------------------------------------------------------------
# Sandbox detection


@dataclass(frozen=True)
class SandboxStatus:
    """Whether commands run inside a sandbox, and a sentence saying so for the user."""

    active: bool
    kind: str | None
    notice: str
    capture: CaptureRoute = "copy"
    """How a captured command's changes are held apart: on an overlay, or on a copy."""
    capture_fallback: bool = False
    """Whether the configuration asked for the overlay and it cannot work here."""
    approval_reason: str | None = None
    """Why every command waits for the user's approval, even in auto mode (a sentence);
    None when commands may run unasked. Set when nothing here can hide this program's
    environment (the API key) from a command."""


_NO_SANDBOX = "Commands run without a sandbox: "
_ACTIVE_NOTICE = (
    "Commands run in a bubblewrap sandbox: no network, no home folder, and only the "
    "workspace (not its .git folder) is writable."
)


@functools.cache
def _probe_bwrap(bwrap: str) -> str | None:
    """Why ``bwrap`` cannot sandbox commands here, or None when it works (cached per process).

    The probe uses the same namespaces and mounts as a real run: in a container without
    the needed privileges a bare ``--ro-bind / /`` may work while ``--proc`` or
    ``--unshare-net`` fail.
    """
    try:
        with tempfile.TemporaryDirectory(prefix="autogpt-tui-bwrap-") as ws:
            argv = [*bwrap_argv(bwrap, ws, ws, git_dir=None), "true"]
            result = subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10
            )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap (bwrap) could not be started ({error})."
    if result.returncode == 0:
        return None
    detail = next((line for line in result.stderr.splitlines() if line.strip()), "")
    detail = f" ({detail.strip()})" if detail else ""
    return f"bubblewrap (bwrap) cannot create namespaces here{detail}."


CAPTURE_CHOICES = ("auto", "overlay", "copy")
"""The values of ``[sandbox] capture``."""


def bwrap_argv(
    bwrap: str, source: str, root: str, *, git_dir: str | None, allow_read: Sequence[str] = ()
) -> list[str]:
    """bubblewrap's arguments up to ``--``: ``source`` mounted writable at ``root``, the
    system read-only, ``git_dir`` (when given) read-only on top, and no home
    (:func:`.sandbox_layout.layout_args`)."""
    mounts = layout_args(source, root, git_dir=git_dir, allow_read=allow_read)
    return [bwrap, *_BASE_BWRAP_ARGS, *mounts, "--chdir", root, "--"]


_BASE_BWRAP_ARGS: tuple[str, ...] = (
    "--unshare-net",
    "--unshare-pid",
    "--die-with-parent",
    "--new-session",
)  # fmt: skip


# ---------------------------------------------------------------------------------------
# Results


@dataclass
class CommandResult:
    """What a command did: its exit status and (capped) output."""

    command: str
    exit_code: int | None
    """The exit status; negative when a signal ended it; None when it timed out and we
    killed it."""
    stdout: str
    stderr: str
    timed_out: bool
    truncated: bool
    """Whether stdout or stderr was cut to the runner's ``max_output_chars``."""
    duration_s: float
    sandboxed: bool
    timeout_s: float = 0.0
    """The timeout the command ran under (after clamping)."""

    def observation(self) -> str:
        """A compact text for the model: exit status, stdout, stderr."""
        if self.timed_out:
            status = (
                f"The command timed out after {_seconds(self.timeout_s or self.duration_s)} s "
                "and was stopped, with all its child processes."
            )
        elif self.exit_code is not None and self.exit_code < 0:
            status = f"The command was killed by signal {_signal_name(-self.exit_code)}."
        else:
            status = f"Exit status: {self.exit_code}"
        parts = [status]
        if self.stdout:
            parts.append("--- stdout ---\n" + self.stdout.rstrip("\n"))
        if self.stderr:
            parts.append("--- stderr ---\n" + self.stderr.rstrip("\n"))
        if not self.stdout and not self.stderr:
            parts.append("(no output)")
        return "\n".join(parts)


def _seconds(value: float) -> str:
    return f"{value:g}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


# ---------------------------------------------------------------------------------------
# The runner


class CommandRunner:
    """Runs the agent's shell commands in the workspace, sandboxed when possible.

    Each command runs as ``bash -c COMMAND`` with the workspace as working folder, no
    standard input, and its own process group, so a timeout stops everything it started.
    """

    #: Seconds a process group gets between SIGTERM and SIGKILL.
    kill_grace_s: float = 1.0

    def __init__(
        self,
        root: Path,
        *,
        sandbox: bool = True,
        default_timeout_s: float = 60,
        max_timeout_s: float = 600,
        max_output_chars: int = 20000,
        capture: str = "auto",
        capture_temp_dir: Path | None = None,
        allow_read: Sequence[str] = (),
        env: Sequence[str] = (),
        user_namespaces: bool = True,
    ) -> None:
        if capture not in CAPTURE_CHOICES:
            raise ValueError(f"capture must be one of {', '.join(CAPTURE_CHOICES)}")
        if not default_timeout_s > 0 or not max_timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        if max_output_chars < 1:
            raise ValueError("max_output_chars must be at least 1")
        self.root = root.resolve()
        self.sandbox = sandbox
        self.default_timeout_s = float(default_timeout_s)
        self.max_timeout_s = float(max_timeout_s)
        self.max_output_chars = max_output_chars
        self.capture = capture
        """How run_captured holds a command's changes apart: auto, overlay or copy."""
        self.capture_temp_dir = capture_temp_dir
        """Where run_captured's temporary folders go (None: the system's temp folder)."""
        self.allow_read = tuple(allow_read)
        """Paths the user's own config lets commands read (under bubblewrap)."""
        self.env_names = tuple(env)
        """Variables beyond the allowlist the user's own config passes to commands."""
        self.user_namespaces = user_namespaces
        """False: act as if user namespaces were unavailable (no overlay, no PID
        namespace without bubblewrap); a seam for tests and odd kernels."""
        self.columns: int | None = None
        """The width commands are told to format for (``COLUMNS``), e.g. the width the
        TUI shows their output at; None leaves whatever the environment says. Set from
        another thread at any time: a command takes the value as it starts."""
        self._status: SandboxStatus | None = None
        self._unshare: str | None = None
        self._pid_unshare: str | None = None
        self._home: tempfile.TemporaryDirectory[str] | None = None

    @property
    def sandbox_status(self) -> SandboxStatus:
        """Whether commands run sandboxed, with a sentence for the user either way."""
        if self._status is None:
            self._status = self._detect()
        return self._status

    def _detect(self) -> SandboxStatus:
        status = self._detect_sandbox()
        route, sentence = self._detect_capture(status.active)
        notice = status.notice.rstrip(".") + "; " + sentence
        fallback = self.capture == "overlay" and route != "overlay"
        reason = None if status.active else self._detect_pid_namespace()
        return SandboxStatus(status.active, status.kind, notice, route, fallback, reason)

    def _detect_pid_namespace(self) -> str | None:
        """Without bubblewrap: None when commands get their own PID namespace (no
        ancestor's environment readable), else why every command needs approval."""
        self._pid_unshare, problem = pid_namespace_route(self.user_namespaces)
        if problem is None:
            return None
        return (
            "Every command waits for your approval, even in auto mode: without bubblewrap, "
            f"nothing here can hide this program's API key from a command ({problem})."
        )

    def _detect_capture(self, sandboxed: bool) -> tuple[CaptureRoute, str]:
        """The capture route in force and the clause that says so."""
        from autogpt_tui.core.capture import choose_route

        if not self.user_namespaces and self.capture != "copy":
            why = "user namespaces are not available here"
            return "copy", f"a command's changes are captured on a copy of the workspace ({why})."
        inner: tuple[str, ...] = ()
        if sandboxed:
            bwrap = shutil.which("bwrap") or "bwrap"
            inner = tuple(bwrap_argv(bwrap, "{root}", "{root}", git_dir=None))
        route, sentence, self._unshare = choose_route(self.capture, inner, self.capture_temp_dir)
        return route, sentence

    def _detect_sandbox(self) -> SandboxStatus:
        if not self.sandbox:
            return SandboxStatus(
                False, None, _NO_SANDBOX + "the sandbox is turned off in the configuration."
            )
        if not sys.platform.startswith("linux"):
            return SandboxStatus(
                False, None, _NO_SANDBOX + "bubblewrap (bwrap) is only available on Linux."
            )
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            return SandboxStatus(False, None, _NO_SANDBOX + "bubblewrap (bwrap) is not installed.")
        problem = _probe_bwrap(bwrap)
        if problem is not None:
            return SandboxStatus(False, None, _NO_SANDBOX + problem)
        return SandboxStatus(True, "bubblewrap", _ACTIVE_NOTICE)

    def effective_timeout(self, timeout_s: float | None) -> float:
        """The timeout a run would use: the default when None, clamped to the maximum."""
        if timeout_s is None:
            timeout_s = self.default_timeout_s
        # `not > 0` also refuses NaN.
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        return min(float(timeout_s), self.max_timeout_s)

    def argv(self, command: str) -> list[str]:
        """The argument vector that runs ``command`` (inside bubblewrap when active)."""
        return self._argv(command, self.root)

    def _argv(self, command: str, source: Path) -> list[str]:
        """``argv`` with ``source`` mounted at the workspace's place (a copy of it, say)."""
        shell = ["bash", "-c", command]
        status = self.sandbox_status
        if not status.active:
            if self._pid_unshare is None:
                return shell
            # Its own PID namespace and /proc: this process and its ancestors, which
            # still hold the API key in their initial environment, are out of sight.
            return [self._pid_unshare, "-Ur", *PID_NAMESPACE_FLAGS, *shell]
        bwrap = shutil.which("bwrap") or "bwrap"
        git_dir = self.root / ".git"
        git = str(git_dir) if git_dir.exists() else None
        argv = bwrap_argv(
            bwrap, str(source), str(self.root), git_dir=git, allow_read=self.allow_read
        )
        if git_dir.is_dir() and (
            clean := sanitized_git_config(git_dir / "config", self._scratch())
        ):
            # Over the read-only .git, before "--": a token in a remote URL stays unseen.
            argv[-3:-3] = ["--ro-bind", str(clean), str(git_dir / "config")]
        elif git_dir.is_file():  # a linked worktree (--worktree): its repository, read-only
            argv[-3:-3] = linked_worktree_mounts(self.root, self._scratch())
        return [*argv, *shell]

    def environment(self) -> dict[str, str]:
        """The environment commands see: the allowlisted variables only
        (:func:`.redact.is_allowlisted`, plus the user's ``[sandbox] env``), with a private,
        empty HOME and, under bubblewrap, TMPDIR=/tmp (a private tmpfs); ``COLUMNS`` is
        :attr:`columns` when that is set."""
        if self.sandbox_status.active:
            env = command_environment(
                os.environ, home=PRIVATE_HOME, extra=self.env_names, tmpdir="/tmp"
            )
        else:
            home = self._scratch() / "home"
            home.mkdir(exist_ok=True)
            env = command_environment(os.environ, home=str(home), extra=self.env_names, tmpdir=None)
        columns = self.columns
        if columns is not None and columns > 0:
            # pytest, ls, git and the like wrap to COLUMNS when it is set (no terminal).
            env["COLUMNS"] = str(columns)
        return env

    def _scratch(self) -> Path:
        """This runner's private folder (HOME without bubblewrap, a clean .git/config)."""
        if self._home is None:
            # Removed when the runner is garbage collected or the program exits.
            self._home = tempfile.TemporaryDirectory(prefix="autogpt-tui-runner-")
        return Path(self._home.name)

    def run(self, command: str, timeout_s: float | None = None) -> CommandResult:
        """Run ``command`` with ``bash -c`` in the workspace and wait for it.

        The timeout (default ``default_timeout_s``, clamped to ``max_timeout_s``) covers the
        whole run; on expiry the process group gets SIGTERM, then SIGKILL. Processes the
        command leaves running in the background are stopped when it exits (under the
        sandbox they die with its PID namespace anyway; unsandboxed we match that).
        Raises ValueError for a non-positive timeout or a command containing a NUL byte.
        """
        timeout = self._checked(command, timeout_s)
        return self._execute(command, self.argv(command), self.root, timeout)

    def run_captured(self, command: str, timeout_s: float | None = None) -> CapturedRun:
        """Run ``command`` like :meth:`run`, but with its changes held apart.

        The command works on an overlay of the workspace (or, where none is possible, on a
        copy of it); the workspace itself is untouched until :meth:`CapturedRun.apply`.
        Use the result as a context manager so its temporary folder is always removed.
        """
        from autogpt_tui.core import capture

        timeout = self._checked(command, timeout_s)
        status = self.sandbox_status
        if status.capture == "overlay" and self._unshare is not None:
            layers, start = capture.prepare_overlay(self.root, self.capture_temp_dir)
            try:
                argv = capture.overlay_argv(self._unshare, layers, self.root, self.argv(command))
                result = self._execute(command, argv, self.root, timeout)
            except BaseException:
                capture.remove_tree(layers)
                raise
            return capture.CapturedRun(
                root=self.root, route="overlay", temp=layers, start_ns=start, result=result
            )
        temp, copy, start, baseline = capture.prepare_copy(self.root, self.capture_temp_dir)
        try:
            if status.active and (self.root / ".git").is_dir():
                (copy / ".git").mkdir()  # the mount point for the real one, read-only
            elif (pointer := capture.git_file_for_copy(self.root)) is not None:
                (copy / ".git").write_bytes(pointer)
            result = self._execute(command, self._argv(command, copy), copy, timeout)
        except BaseException:
            capture.remove_tree(temp)
            raise
        return capture.CapturedRun(
            root=self.root,
            route="copy",
            temp=temp,
            start_ns=start,
            result=result,
            copy=copy,
            baseline=baseline,
        )

    def _checked(self, command: str, timeout_s: float | None) -> float:
        timeout = self.effective_timeout(timeout_s)
        if "\0" in command:
            raise ValueError("The command contains a NUL byte.")
        return timeout

    def _execute(self, command: str, argv: list[str], cwd: Path, timeout: float) -> CommandResult:
        sandboxed = self.sandbox_status.active
        env = self.environment()
        start = time.monotonic()
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        assert proc.stdout is not None and proc.stderr is not None
        out = OutputCapture(self.max_output_chars)
        err = OutputCapture(self.max_output_chars)
        reader = PipeReader({proc.stdout.fileno(): out, proc.stderr.fileno(): err})
        timed_out = False
        try:
            deadline = start + timeout
            while not _leader_exited(proc):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                # Short waits: the pipes may stay quiet (or be closed) while the process
                # runs, and its exit must be noticed promptly.
                reader.pump(min(remaining, 0.02))
            if timed_out:
                self._stop_group(proc, reader)
            else:
                # The command is done; collect what is still in the pipes, then end any
                # background processes it left behind (they may hold the pipes open).
                _signal_group(proc.pid, signal.SIGTERM)
                reader.drain(0.2)
                _signal_group(proc.pid, signal.SIGKILL)
                reader.drain(0.5)
        finally:
            if proc.returncode is None and not _leader_exited(proc):
                _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            reader.close()
            proc.stdout.close()
            proc.stderr.close()
        duration = time.monotonic() - start
        stdout, cut_out = out.result()
        stderr, cut_err = err.result()
        return CommandResult(
            command=command,
            exit_code=None if timed_out else proc.returncode,
            stdout=stdout,
            stderr=stderr,
            timed_out=timed_out,
            truncated=cut_out or cut_err,
            duration_s=duration,
            sandboxed=sandboxed,
            timeout_s=timeout,
        )

    def _stop_group(self, proc: subprocess.Popen[bytes], reader: PipeReader) -> None:
        """SIGTERM the command's process group, then SIGKILL it after a short grace."""
        _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.kill_grace_s
        while not _leader_exited(proc) and (remaining := deadline - time.monotonic()) > 0:
            reader.pump(min(remaining, 0.02))
        # Even when the leader went quietly, its children may ignore SIGTERM. The leader
        # is not reaped yet, so the group id cannot have been reused by now.
        _signal_group(proc.pid, signal.SIGKILL)
        reader.drain(0.5)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    # The group may be gone already; that is the outcome we wanted.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _leader_exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether the group leader has exited, without reaping it where possible.

    An unreaped (zombie) leader keeps its process-group id reserved, so signalling the
    group afterwards cannot hit an unrelated process that inherited the id.
    """
    if proc.returncode is not None:
        return True
    if sys.platform != "darwin":
        try:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return proc.poll() is not None
        return info is not None and info.si_pid != 0
    return proc.poll() is not None
