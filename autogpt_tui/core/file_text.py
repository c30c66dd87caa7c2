"""Reading and writing the workspace's files for the file tools.

Text is UTF-8 or it is binary; lines end with "\\n" only. A file is never written in
place: a new file is written and renamed over it (:func:`replace_file`), so a hard-linked
twin keeps its content and a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
from pathlib import Path

from autogpt_tui.core.errors import ToolError

__all__ = [
    "MAX_TEXT_FILE_BYTES",
    "check_utf8",
    "create_temp",
    "cut_at_line",
    "decode_text",
    "digest",
    "occurrences",
    "replace_file",
    "split_lines",
]

MAX_TEXT_FILE_BYTES = 32 * 1024 * 1024
"""Files bigger than this are not loaded whole; the model can use run_command (head, sed)."""
_BINARY_SNIFF_BYTES = 8192


# ---------------------------------------------------------------------------------------
# Writing

_TEMP_PREFIX = ".autogpt-tui-write-"


def replace_file(target: Path, data: bytes) -> None:
    """Give ``target`` the content ``data`` by writing a new file and renaming it over.

    Never written in place: a hard-linked twin of ``target`` keeps its content, and a
    reader never sees half a file. An existing file's permission bits are kept; a new
    one gets 0o666 minus the umask. The temporary file sits in the same folder (a rename
    across file systems is not atomic) and is removed whatever fails.
    """
    mode: int | None = None
    try:
        info = target.lstat()
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISLNK(info.st_mode):
            # The path was resolved, so a symlink here appeared since; it is neither
            # followed nor replaced. ELOOP gives the same sentence as O_NOFOLLOW did.
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(target))
        mode = stat.S_IMODE(info.st_mode)
    fd, temp = create_temp(target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def create_temp(folder: Path) -> tuple[int, Path]:
    """A new, empty file in ``folder``, open for writing, with the usual 0o666-minus-umask mode.

    Made with O_EXCL (not :func:`tempfile.mkstemp`, whose files are 0o600) so that the
    kernel applies the umask: a new file gets the mode any editor would give it.
    """
    for _ in range(100):
        temp = folder / f"{_TEMP_PREFIX}{secrets.token_hex(6)}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        except FileExistsError:
            continue
        return fd, temp
    raise OSError(errno.EEXIST, "no free temporary file name", str(folder))


# ---------------------------------------------------------------------------------------
# Text helpers


def digest(target: Path) -> str | None:
    """A hash of what ``target`` holds now (None when nothing is there): its bytes, or
    for a file too big to read whole, its size, time and inode."""
    try:
        info = target.lstat()
    except OSError:
        return None
    if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_TEXT_FILE_BYTES:
        try:
            return hashlib.sha256(target.read_bytes()).hexdigest()
        except OSError:
            return None
    return f"{info.st_mode}:{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"


def decode_text(data: bytes) -> str | None:
    """``data`` as text, or None when it looks binary (a NUL early on, or not UTF-8)."""
    if b"\0" in data[:_BINARY_SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def check_utf8(text: str, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ToolError(f"'{field}' is not valid UTF-8 text (it holds a lone surrogate).") from None


def split_lines(text: str) -> list[str]:
    """Lines with their "\\n" kept; only "\\n" separates lines (unlike str.splitlines)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def cut_at_line(lines: list[str], limit: int) -> tuple[str, int]:
    """As many whole lines as fit in ``limit`` characters (or a cut first line)."""
    used = 0
    count = 0
    for line in lines:
        if used + len(line) > limit:
            break
        used += len(line)
        count += 1
    if count == 0:
        return lines[0][:limit], 0
    return "".join(lines[:count]), count


def occurrences(text: str, needle: str) -> list[int]:
    """Every index where ``needle`` starts, overlapping ones included (they are ambiguous
    too)."""
    found: list[int] = []
    at = text.find(needle)
    while at != -1:
        found.append(at)
        at = text.find(needle, at + 1)
    return found
