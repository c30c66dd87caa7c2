"""Which new paths git ignores, asked of one long-lived `git check-ignore` process.

A step that creates a file has to know whether the workspace ignores it (`git add`
would leave it out, and so does a step). Starting `git check-ignore` for that costs a
process per step; this keeps one running (``--stdin -z``) and asks it path by path.
With ``--verbose --non-matching`` git answers every path, matched or not, so a reply
can be read for each question without waiting for the end of the input.

git reads each ``.gitignore`` once and keeps its rules, so a process would go on
answering by rules the workspace has since changed. Which rules apply to a path is
known: the ``.gitignore`` of every folder from the top down to the path's own,
``.git/info/exclude`` and the user's global excludes file. The stat of each of those
is noted when a path is asked about; if any differs the next time (written, made or
removed), the process is replaced by a fresh one before it answers. A caller that
changes such a file itself may also say so (:meth:`IgnoreChecker.forget`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from autogpt_tui.core.git.runner import Git, git_env

MAX_ASKED = 64
"""Most paths asked of the long-lived process in one call; more go to a one-off
`git check-ignore` (one process either way, and no reply is awaited per path)."""

Stamp = tuple[int, int, int] | None
"""(inode, mtime in ns, size) of a rules file, None when there is none."""


class IgnoreChecker:
    """Answers which of a few new paths git ignores, from one long-lived process."""

    def __init__(self, git: Git) -> None:
        self._git = git
        self._proc: subprocess.Popen[bytes] | None = None
        self._stamps: dict[Path, Stamp] = {}
        self._lock = threading.Lock()
        self._global: Path | None = None  # looked up on first use
        git.on_close(self.close)

    def ignored(self, paths: Sequence[str]) -> list[str]:
        """Which of ``paths`` (relative to the top, untracked) git ignores."""
        if not paths:
            return []
        if len(paths) > MAX_ASKED:
            return self._one_off(paths)
        with self._lock:
            if self._rules_changed(paths):
                self._stop()
            try:
                return [path for path in paths if self._ask(path)]
            except OSError:
                # The process died (killed, or git failed): ask once the plain way, and
                # start afresh next time.
                self._stop()
                return self._one_off(paths)

    def forget(self) -> None:
        """Stop the process: the next question starts one that reads every rule anew."""
        with self._lock:
            self._stop()

    def close(self) -> None:
        """Stop the process (on the repository handle's close)."""
        self.forget()

    # ------------------------------------------------------------------ rules

    def _rules_files(self, path: str) -> list[Path]:
        root = self._git.root
        files = [self._git.common_dir / "info" / "exclude"]
        files.append(self._global_excludes())
        folder = root
        files.append(folder / ".gitignore")
        for part in path.split("/")[:-1]:
            folder = folder / part
            files.append(folder / ".gitignore")
        return files

    def _global_excludes(self) -> Path:
        if self._global is None:
            configured = self._git.config_value("core", "excludesFile").strip()
            if configured:
                self._global = Path(os.path.expanduser(configured))
            else:
                home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
                self._global = Path(home) / "git" / "ignore"
        return self._global

    def _rules_changed(self, paths: Sequence[str]) -> bool:
        """Note the stat of every rules file the paths depend on; True when one known
        already has changed since it was noted (the process may hold its old rules)."""
        changed = False
        seen: set[Path] = set()
        for path in paths:
            for rules in self._rules_files(path):
                if rules in seen:
                    continue
                seen.add(rules)
                now = _stamp(rules)
                before = self._stamps.get(rules, now)
                if before != now:
                    changed = True
                self._stamps[rules] = now
        if changed:
            # A fresh process reads the rules as they are now; keep only what was just
            # noted (a file not looked at now is noted again when next asked about).
            self._stamps = {rules: self._stamps[rules] for rules in seen}
        return changed

    # ---------------------------------------------------------------- process

    def _ask(self, path: str) -> bool:
        proc = self._proc or self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(path.encode("utf-8", "surrogateescape") + b"\0")
        proc.stdin.flush()
        # -v -n -z: "<source> NUL <line> NUL <pattern> NUL <path> NUL" per path, the
        # first three empty when no pattern matches.
        fields = [_read_field(proc.stdout) for _ in range(4)]
        pattern = fields[2]
        # A negated pattern ("!keep.txt") that matches means the path is NOT ignored.
        return bool(pattern) and not pattern.startswith(b"!")

    def _start(self) -> subprocess.Popen[bytes]:
        self._proc = subprocess.Popen(
            # The paths are untracked: --no-index answers the same without the index.
            ["git", "check-ignore", "--no-index", "--stdin", "-z", "-v", "-n"],
            cwd=self._git.root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # check-ignore rejects the literal-pathspec magic our other commands use;
            # GIT_FLUSH makes it write each answer at once.
            env=git_env({"GIT_LITERAL_PATHSPECS": "0", "GIT_FLUSH": "1"}),
        )
        return self._proc

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # a dead git: the pipe is broken
                    stream.close()
        # Its input closed, git exits at once; kill it should it not.
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _one_off(self, paths: Sequence[str]) -> list[str]:
        result = self._git.try_run(
            "check-ignore",
            "--no-index",
            "-z",
            "--stdin",
            input=b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths),
            env={"GIT_LITERAL_PATHSPECS": "0"},
        )
        return [p for p in result.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def _read_field(stream: IO[bytes]) -> bytes:
    """One NUL-terminated field; OSError when the stream ends first (git is gone)."""
    out = bytearray()
    while True:
        byte = stream.read(1)  # buffered: a few system calls per answer, not per byte
        if not byte:
            raise OSError("git check-ignore ended")
        if byte == b"\0":
            return bytes(out)
        out += byte


def _stamp(path: Path) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
