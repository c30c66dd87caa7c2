"""A proposed file change split into hunks, and the file holding only the accepted ones.

Hunk-level review: the user accepts or rejects each hunk of a write_file or edit_file
before it runs, and the step then writes exactly the accepted hunks. The hunks here are
the ones the diff viewer shows (it draws the proposal from :meth:`ProposedChange.diff`),
so what the user toggles is what is applied.

Lines are split on "\\n" only and keep their endings (``core/file_text.split_lines``), so
a CRLF file, a lone "\\r" or a last line without a newline come back byte for byte in
the partial content: a hunk that only changes a line ending is a hunk like any other,
and a line without a newline at the end of the file is marked as git marks it. A new
file, or one that is not text, is one hunk: all of it or none of it.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from autogpt_tui.core.file_text import split_lines

__all__ = ["CONTEXT_LINES", "NO_NEWLINE", "Hunk", "ProposedChange"]

CONTEXT_LINES = 3
"""Unchanged lines shown around each change (git's default); changes closer together
than twice this share one hunk, so two hunks never overlap."""
NO_NEWLINE = "\\ No newline at end of file"
"""The marker after a diff line whose file line has no newline (as git writes it)."""

_Opcode = tuple[str, int, int, int, int]


@dataclass(frozen=True)
class Hunk:
    """One hunk of a proposed change: a run of changes with their context lines."""

    index: int
    """Its place among the change's hunks, from 0."""
    old_start: int
    """The first old line it covers (0-based), context included."""
    old_end: int
    """One past the last old line it covers."""
    new_start: int
    """The first new line it covers (0-based), as if every hunk were accepted."""
    new_end: int
    """One past the last new line it covers."""
    changes: tuple[_Opcode, ...]
    """Its changes as difflib opcodes (replace, delete, insert), in order."""
    lines: tuple[str, ...]
    """Its body as unified diff lines: " ", "-" or "+" and the text, and the
    no-newline marker after a line that has none."""
    added: int = 0
    """Lines it adds."""
    removed: int = 0
    """Lines it removes."""

    @property
    def header(self) -> str:
        """The ``@@ -a,b +c,d @@`` line."""
        old = _range(self.old_start, self.old_end)
        new = _range(self.new_start, self.new_end)
        return f"@@ -{old} +{new} @@"

    def text(self) -> str:
        """The hunk as unified diff text: its header and its body."""
        return "\n".join([self.header, *self.lines])


@dataclass(frozen=True)
class ProposedChange:
    """A file going from its old text to a proposed new one, split into hunks."""

    path: str
    """The file, relative to the workspace."""
    old_lines: tuple[str, ...]
    """The old text's lines with their endings (empty for a new or non-text file)."""
    new_lines: tuple[str, ...]
    """The proposed text's lines with their endings."""
    hunks: tuple[Hunk, ...]
    """The change's hunks, in file order (none when nothing changes)."""
    is_new: bool = False
    """True when the file does not exist yet (the diff is from /dev/null)."""

    @classmethod
    def of(
        cls, path: str, old_text: str | None, new_text: str, *, exists: bool = True
    ) -> ProposedChange:
        """Split the change of ``path`` from ``old_text`` to ``new_text`` into hunks.

        ``old_text`` None is a file that is not there yet (``exists`` false) or that is
        not text: either way it is replaced whole, in one hunk.
        """
        old = tuple(split_lines(old_text)) if old_text is not None else ()
        new = tuple(split_lines(new_text))
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        groups = matcher.get_grouped_opcodes(CONTEXT_LINES)
        hunks = tuple(_hunk(n, group, old, new) for n, group in enumerate(groups))
        return cls(path, old, new, hunks, is_new=not exists)

    @property
    def old_text(self) -> str:
        """The text the change was computed against."""
        return "".join(self.old_lines)

    @property
    def new_text(self) -> str:
        """The text with every hunk accepted."""
        return "".join(self.new_lines)

    def content(self, accepted: Collection[int]) -> str:
        """The file holding exactly the hunks numbered in ``accepted``: every other
        hunk's lines stay as they were."""
        out: list[str] = []
        at = 0  # the next old line not yet copied
        for hunk in self.hunks:
            take = hunk.index in accepted
            for _tag, i1, i2, j1, j2 in hunk.changes:
                out += self.old_lines[at:i1]
                out += self.new_lines[j1:j2] if take else self.old_lines[i1:i2]
                at = i2
        out += self.old_lines[at:]
        return "".join(out)

    def diff(self, indexes: Iterable[int] | None = None) -> str:
        """The change as a unified diff (file headers and the hunks named by
        ``indexes``, all of them by default); empty when nothing changes."""
        wanted = set(range(len(self.hunks)) if indexes is None else indexes)
        chosen = [hunk.text() for hunk in self.hunks if hunk.index in wanted]
        if not chosen:
            return ""
        old_name = "/dev/null" if self.is_new else f"a/{self.path}"
        return "\n".join([f"--- {old_name}", f"+++ b/{self.path}", *chosen])


def _hunk(index: int, group: list[_Opcode], old: tuple[str, ...], new: tuple[str, ...]) -> Hunk:
    lines: list[str] = []
    added = removed = 0
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            lines += _body(" ", old[i1:i2])
            continue
        if tag in ("replace", "delete"):
            lines += _body("-", old[i1:i2])
            removed += i2 - i1
        if tag in ("replace", "insert"):
            lines += _body("+", new[j1:j2])
            added += j2 - j1
    first, last = group[0], group[-1]
    return Hunk(
        index=index,
        old_start=first[1],
        old_end=last[2],
        new_start=first[3],
        new_end=last[4],
        changes=tuple(op for op in group if op[0] != "equal"),
        lines=tuple(lines),
        added=added,
        removed=removed,
    )


def _body(prefix: str, lines: Iterable[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line.endswith("\n"):
            out.append(prefix + line[:-1])
        else:
            out += [prefix + line, NO_NEWLINE]
    return out


def _range(start: int, stop: int) -> str:
    """A unified diff range as difflib and git write it: ``3`` for one line, ``3,4``
    for several, and for none the line before (``2,0``)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"
