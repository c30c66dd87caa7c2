"""The search tool's matching: ripgrep when it is there, Python's ``re`` otherwise.

Both give the same text, so the model sees no difference: ``path:N: line`` for each
matching line (``path-N- line`` for context lines, ``--`` between groups). What is
searched is decided once, here, for both (:func:`candidates`): the files git would list
(tracked or untracked, not ignored), without ``.git``, files that look like secrets,
symlinks and files in folders that lead out of the workspace, narrowed by the ``glob``;
files over 8 MiB are counted and skipped.

ripgrep (:func:`ripgrep_search`) is given those files by name (never a folder to walk, so
it follows no symlink and applies no rule of its own) and asked only *where* the pattern
matches (``--json``); the lines shown are read back here from each matching file,
which must be UTF-8 text, and checked against Python's ``re``, exactly as the fallback
(:func:`python_search`) reads every file. The Python pattern is the contract: a pattern
ripgrep reads otherwise or not at all (look-arounds, back-references, ``\\Z``) makes it
fail, and the fallback answers. ripgrep runs in this process's name, not as the agent's
command: no sandbox, but a timeout and a cap on what it may print.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import re
import shutil
import stat
import subprocess
import sysconfig
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autogpt_tui.core.constants import SECRET_FILE_PATTERNS
from autogpt_tui.core.errors import ToolError
from autogpt_tui.core.file_text import decode_text

MAX_SEARCH_FILE_BYTES = 8 * 1024 * 1024
"""Bigger files are skipped (and counted)."""
MAX_LINE_CHARS = 300
"""A shown line is cut at this many characters."""
MAX_CONTEXT = 10
"""The most context lines the tool shows on each side of a match."""
RG_TIMEOUT_S = 60.0
"""ripgrep is stopped after this long (the fallback then answers)."""
RG_MAX_OUTPUT = 64 * 1024 * 1024
"""ripgrep's JSON may not grow past this (a long line is printed whole, with every
match in it); past it, ripgrep is stopped and the fallback answers."""
_ARGS_BYTES = 128 * 1024
"""File names passed to one ripgrep run, in bytes (well under the system's limit)."""
_FIRST_CHUNK = 16
"""Files in the first ripgrep run (a common word fills the cap from a few files) ..."""
_GROWTH = 8
"""... and each next run takes this many times more (few runs on a big tree)."""


class RipgrepFailed(Exception):
    """ripgrep could not give an answer (missing, a pattern it reads otherwise, a
    timeout, too much output): the Python search answers instead."""


@dataclass
class FileMatches:
    """The matching lines of one file: its lines and the numbers (1-based) that match."""

    rel: str
    lines: list[str]
    matched: list[int]


@dataclass
class Found:
    """What a search found, before it is put into words."""

    files: list[FileMatches] = field(default_factory=list)
    more: bool = False
    """There were more matches than the cap."""

    @property
    def count(self) -> int:
        """How many matching lines were kept."""
        return sum(len(f.matched) for f in self.files)


# ---------------------------------------------------------------------- which files


@dataclass
class Candidates:
    """The files a search reads, in order, and how many were too big to."""

    files: list[str]
    skipped_large: int = 0


def candidates(root: Path, listed: Iterable[str], *, glob: str | None, walked: bool) -> Candidates:
    """The regular files among ``listed`` (workspace-relative, sorted) a search reads.

    ``walked`` when the files come from a folder rather than being named outright: then
    files that look like secrets are left out (a search sweeps whole trees into the
    transcript; ``read_file`` still reads such a file when asked by name).
    """
    match = glob_matcher(glob) if glob else None
    out = Candidates([])
    base = str(root)
    inside: dict[str, bool] = {}
    for rel in listed:
        name = rel.rsplit("/", 1)[-1]
        if walked and _looks_secret(name):
            continue
        if match is not None and not match(rel):
            continue
        folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if not _folder_inside(root, folder, inside):
            continue  # a folder replaced by a symlink leads out of the workspace
        try:
            info = os.lstat(f"{base}/{rel}")  # a string: pathlib per file is slow
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue  # symlinks (their target, if inside, is listed under its own name)
        if info.st_size > MAX_SEARCH_FILE_BYTES:
            out.skipped_large += 1
            continue
        out.files.append(rel)
    return out


_SECRET_NAME = re.compile("|".join(fnmatch.translate(p) for p in SECRET_FILE_PATTERNS))
"""A file name that looks like a secret (one regex: a hundred thousand names are cheap)."""


def _looks_secret(name: str) -> bool:
    return _SECRET_NAME.match(name) is not None


def _folder_inside(root: Path, folder: str, seen: dict[str, bool]) -> bool:
    if not folder:
        return True
    known = seen.get(folder)
    if known is None:
        real = os.path.realpath(root / folder)
        known = real == str(root) or real.startswith(str(root) + os.sep)
        seen[folder] = known
    return known


def glob_matcher(glob: str) -> Callable[[str], bool]:
    """A test of workspace-relative paths for a ripgrep-style glob.

    ``*.py``, ``test_*`` (no ``/``: the file's name, or any folder's name on its path),
    ``src/**/*.ts`` (with ``/``: the path from the workspace root, or a folder of it),
    ``*.{ts,tsx}`` (alternatives); a leading ``!`` turns it into an exclusion.
    Raises ToolError for a glob that cannot be read.
    """
    negate = glob.startswith("!")
    body = glob[1:] if negate else glob
    if not body.strip("/"):
        raise ToolError(f"The glob '{glob}' names nothing; try '*.py' or 'src/**'.")
    anchored = "/" in body.rstrip("/")
    body = body.strip("/")
    try:
        regexes = [re.compile(_glob_regex(alt)) for alt in _braces(body)]
    except (ValueError, re.error) as error:
        raise ToolError(f"The glob '{glob}' is not valid: {error}.") from None

    def hit(rel: str) -> bool:
        parts = rel.split("/")
        # Anchored: the path itself, or a folder on it (``src/lib`` takes all under it);
        # else the name of the file or of any folder on its path.
        paths = ["/".join(parts[: n + 1]) for n in range(len(parts))] if anchored else parts
        return any(r.fullmatch(p) for r in regexes for p in paths)

    return (lambda rel: not hit(rel)) if negate else hit


def _braces(glob: str) -> list[str]:
    """``a{b,c}d`` → ``abd``, ``acd`` (nested and repeated braces too)."""
    start = glob.find("{")
    if start == -1:
        if "}" in glob:
            raise ValueError("a '}' without its '{'")
        return [glob]
    depth = 0
    for end in range(start, len(glob)):
        depth += {"{": 1, "}": -1}.get(glob[end], 0)
        if depth == 0:
            break
    else:
        raise ValueError("a '{' without its '}'")
    inner, parts, level, last = glob[start + 1 : end], [], 0, 0
    for i, char in enumerate(inner):
        level += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and level == 0:
            parts.append(inner[last:i])
            last = i + 1
    parts.append(inner[last:])
    return [x for part in parts for x in _braces(glob[:start] + part + glob[end + 1 :])]


def _glob_regex(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("(?:/.*)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = glob.find("]", i + 2)
            if end == -1:
                raise ValueError("a '[' without its ']'")
            inner = glob[i + 1 : end]
            if inner.startswith("!"):
                inner = "^" + inner[1:]
            out.append("[" + inner.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


# ---------------------------------------------------------------------- reading


def text_lines(root: Path, rel: str) -> list[str] | None:
    """The lines of a UTF-8 text file (without their "\\n"), or None when it is binary,
    not UTF-8, gone, or has become a symlink (never followed)."""
    try:
        fd = os.open(root / rel, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_SEARCH_FILE_BYTES + 1)
    except OSError:
        return None
    text = decode_text(data)
    if text is None:
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the end of the last line, not a line of its own (as ripgrep counts)
    return lines


def python_search(
    root: Path, files: Sequence[str], regex: re.Pattern[str], max_matches: int
) -> Found:
    """Every file read and matched line by line with Python's ``re``."""
    found = Found()
    left = max_matches
    for rel in files:
        lines = text_lines(root, rel)
        if lines is None:
            continue
        matched = [n for n, line in enumerate(lines, start=1) if regex.search(line)]
        if not matched:
            continue
        if len(matched) > left:
            matched, found.more = matched[:left], True
        found.files.append(FileMatches(rel, lines, matched))
        left -= len(matched)
        if found.more or (left == 0 and _has_more(root, files, rel, regex)):
            found.more = True
            break
    return found


def _has_more(root: Path, files: Sequence[str], after: str, regex: re.Pattern[str]) -> bool:
    """Whether any file after ``after`` still has a match (the cap was met exactly)."""
    rest = files[files.index(after) + 1 :]
    for rel in rest:
        lines = text_lines(root, rel)
        if lines is not None and any(regex.search(line) for line in lines):
            return True
    return False


# ---------------------------------------------------------------------- ripgrep


def ripgrep_binary() -> str | None:
    """The ``rg`` the ``ripgrep`` wheel installed next to this Python, else one on PATH."""
    scripts = sysconfig.get_path("scripts")
    if scripts:
        for name in ("rg", "rg.exe"):
            candidate = Path(scripts) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which("rg")


def ripgrep_search(
    rg: str,
    root: Path,
    files: Sequence[str],
    regex: re.Pattern[str],
    max_matches: int,
    *,
    timeout_s: float = RG_TIMEOUT_S,
) -> Found:
    """Where ripgrep finds the pattern, read back and checked as :func:`python_search`
    reads; raises RipgrepFailed when ripgrep cannot answer."""
    found = Found()
    left = max_matches
    deadline = time.monotonic() + timeout_s
    for chunk in _chunks(files):
        # At most one more match a file than still wanted: enough to see there are more.
        hits = _run_rg(rg, root, chunk, regex.pattern, left + 1, deadline)
        for rel in chunk:  # in the search's order, not ripgrep's (it runs in parallel)
            numbers = hits.get(rel)
            if not numbers:
                continue
            lines = text_lines(root, rel)
            if lines is None:
                continue
            matched = [n for n in numbers if n <= len(lines) and regex.search(lines[n - 1])]
            if not matched:
                continue
            if left == 0 or len(matched) > left:
                found.more = True
                matched = matched[:left]
            if matched:
                found.files.append(FileMatches(rel, lines, matched))
                left -= len(matched)
            if found.more:
                return found
    return found


def _chunks(files: Sequence[str]) -> Iterable[list[str]]:
    """``files`` in runs for ripgrep: small first, then growing (a common word fills the
    cap from the first few files, and a whole tree's matches would take long to read),
    each within the bytes the command line may take."""
    chunk: list[str] = []
    size = 0
    limit = _FIRST_CHUNK
    for rel in files:
        n = len(os.fsencode(rel)) + 1
        if chunk and (size + n > _ARGS_BYTES or len(chunk) >= limit):
            yield chunk
            chunk, size, limit = [], 0, limit * _GROWTH
        chunk.append(rel)
        size += n
    if chunk:
        yield chunk


def _run_rg(
    rg: str, root: Path, files: list[str], pattern: str, per_file: int, deadline: float
) -> dict[str, list[int]]:
    """Line numbers matching ``pattern`` in each of ``files`` (relative to ``root``)."""
    command = [
        rg,
        "--json",
        "--no-config",  # no RIPGREP_CONFIG_PATH of the user's changes what it does
        "--no-ignore",
        "--text",  # binary or not is decided here, as the fallback decides it
        "--no-messages",
        "--max-count",
        str(per_file),
        "--regexp",
        pattern,
        "--",
        *files,
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("RIPGREP_CONFIG_PATH",)}
    try:
        proc = subprocess.Popen(
            command,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
    except OSError as error:
        raise RipgrepFailed(f"rg could not be started: {error.strerror or error}") from None
    try:
        out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RipgrepFailed("rg took too long") from None
    # 0: matches; 1: none; 2: an error (a pattern it cannot read, most often).
    if proc.returncode not in (0, 1) or len(out) > RG_MAX_OUTPUT:
        raise RipgrepFailed(err.decode("utf-8", "replace").strip() or f"rg exit {proc.returncode}")
    hits: dict[str, list[int]] = {}
    decoder = json.JSONDecoder()
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        # Only the path and the line number are wanted: reading the whole object (the
        # line and every submatch in it) costs more than the search did.
        if not line.startswith(_MATCH_PREFIX):
            continue
        path, _end = decoder.raw_decode(line, len(_MATCH_PREFIX))
        number = _LINE_NUMBER.search(line)
        if number is None:
            continue
        rel = path["text"] if "text" in path else os.fsdecode(base64.b64decode(path["bytes"]))
        hits.setdefault(rel, []).append(int(number.group(1)))
    return hits


_MATCH_PREFIX = '{"type":"match","data":{"path":'
# Inside a JSON string every quote is escaped, so this finds the key, never a line's text.
_LINE_NUMBER = re.compile(r'"line_number":(\d+)')


# ---------------------------------------------------------------------- words


def render(found: Found, context: int) -> list[str]:
    """The lines the model reads: ``path:N: text`` for a match, ``path-N- text`` for a
    context line, ``--`` between groups that are not next to each other."""
    out: list[str] = []
    for file in found.files:
        if context <= 0:
            out += [_line(file, n, ":") for n in file.matched]
            continue
        matched = set(file.matched)
        groups: list[list[int]] = []
        for n in file.matched:
            low, high = max(1, n - context), min(len(file.lines), n + context)
            if groups and low <= groups[-1][1] + 1:
                groups[-1][1] = max(groups[-1][1], high)
            else:
                groups.append([low, high])
        for low, high in groups:
            if out:
                out.append("--")
            out += [_line(file, n, ":" if n in matched else "-") for n in range(low, high + 1)]
    return out


def _line(file: FileMatches, number: int, mark: str) -> str:
    text = file.lines[number - 1].rstrip("\r")
    if len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS] + "…"
    return f"{file.rel}{mark}{number}{mark} {text}"


__all__ = [
    "MAX_CONTEXT",
    "Candidates",
    "FileMatches",
    "Found",
    "RipgrepFailed",
    "candidates",
    "glob_matcher",
    "python_search",
    "render",
    "ripgrep_binary",
    "ripgrep_search",
]
