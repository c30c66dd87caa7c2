"""A diff parsed for display: the lines the diff viewer draws, old | new pairs for its
split view, and the counts on its border.

Parsing is apart from the widget (``diff_viewer.py``) because it runs off the UI
thread for big diffs and needs nothing of Textual: git's multi-file patches, a cap of
`MAX_LINES` with a note, and a proposed change drawn from the core's hunks
(:func:`proposal_model`) so that the hunks the user reviews are the ones applied.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from rich.cells import cell_len

from autogpt_tui.core.hunks import ProposedChange

MAX_LINES = 3000
"""Most diff lines rendered; the rest are summed up in a note."""
LINE_CHARS = 1000
"""Longest diff line rendered (a minified file can have megabyte lines)."""

Kind = Literal[
    "file", "meta", "hunk", "add", "del", "ctx", "noeol", "note", "blank", "message", "sep",
    "hunk_current", "rejected",
]  # fmt: skip
"""What a line of a diff is, which decides how it is styled (the last two are drawn only
while the hunks of a proposal are reviewed: ``hunk_review.HunkMarks``)."""
Line = tuple[Kind, str]
"""One displayed line: its kind and its text."""
SplitRow = tuple[Line, Line | None]
"""One side-by-side row: old | new, or one line spanning both columns (right is None)."""

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_HEADER_PREFIXES = (
    "index ",
    "--- ",
    "+++ ",
    "new file mode",
    "deleted file mode",
    "old mode",
    "new mode",
    "similarity index",
    "dissimilarity index",
    "rename ",
    "copy ",
    "Binary files",
)


class BuildCancelled(Exception):
    """A newer diff superseded the one being built."""


@dataclass(frozen=True)
class DiffModel:
    """A diff parsed for display: what the viewer shows, independent of its width."""

    title: str
    """What is shown, for the title line."""
    lines: list[Line]
    """The unified lines, capped, ending with a note when some were left out."""
    split: list[SplitRow]
    """The same lines paired old | new for side-by-side display."""
    width: int
    """The widest unified line, in cells."""
    added: int = 0
    """Lines added in the whole diff (not only the shown part)."""
    removed: int = 0
    """Lines removed in the whole diff."""
    is_message: bool = False
    """True when there is no diff, only a message."""
    change: ProposedChange | None = None
    """For a proposed file change of two hunks or more, its hunks (the user may accept
    them one by one)."""


def message_model(title: str, text: str) -> DiffModel:
    """A model with no diff, only a muted line of ``text``."""
    line: Line = ("message", _clean(text))
    return DiffModel(title, [line], [(line, None)], cell_len(line[1]), is_message=True)


def _clean(text: str) -> str:
    text = text.rstrip("\r")
    if "\t" in text:
        text = text.expandtabs(4)
    text = _CONTROL.sub("\ufffd", text)
    return text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + "…"


def proposed_diff_text(path: str, old_text: str | None, new_text: str | None) -> str:
    """A unified diff of a file going from ``old_text`` to ``new_text`` (None: no file).

    A change that leaves a file is drawn hunk for hunk as the core splits it
    (``core/hunks``), so the hunks on screen are the ones the user accepts or rejects.
    """
    if new_text is not None:
        return ProposedChange.of(path, old_text, new_text, exists=old_text is not None).diff()
    # The file would go (no tool proposes that today): every old line is removed.
    old_lines = old_text.splitlines() if old_text is not None else []
    return "\n".join(difflib.unified_diff(old_lines, [], f"a/{path}", "/dev/null", lineterm=""))


def proposal_model(
    title: str,
    path: str,
    old_text: str | None,
    new_text: str | None,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> DiffModel:
    """The change a pending action would make to ``path`` (None: no such file), with its
    hunks (``DiffModel.change``) when it has several to choose among."""
    if old_text == new_text:
        return message_model(title, f"The proposed change leaves {path} unchanged")
    if new_text is None:
        return build_model(
            title, proposed_diff_text(path, old_text, None), is_cancelled=is_cancelled
        )
    # Split once: the hunks drawn are the hunks the user accepts or rejects.
    change = ProposedChange.of(path, old_text, new_text, exists=old_text is not None)
    model = build_model(title, change.diff(), is_cancelled=is_cancelled)
    # One hunk is a choice a and r already make: the hunk keys are for two or more.
    return replace(model, change=change) if len(change.hunks) > 1 else model


def build_model(
    title: str,
    diff_text: str,
    *,
    more_hint: str = "",
    max_lines: int = MAX_LINES,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> DiffModel:
    """Parse a unified diff (git's, possibly of several files) into a `DiffModel`.

    Only the first ``max_lines`` lines are kept; a note says how many more there are,
    followed by ``more_hint``. ``is_cancelled`` is polled so a superseded build stops early.
    """
    raw = diff_text.split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    lines: list[Line] = []
    added = removed = 0
    old_left = new_left = 0  # lines still to come in the current hunk, old and new side
    for number, text in enumerate(raw):
        if number % 2000 == 0 and is_cancelled():
            raise BuildCancelled
        kind: Kind
        first = text[:1]
        if old_left > 0 or new_left > 0:
            # Inside a hunk the counts decide: "--- x" here is a removed line, not a header.
            if first == "+":
                kind, new_left = "add", new_left - 1
            elif first == "-":
                kind, old_left = "del", old_left - 1
            elif first == " " or text == "":
                kind, old_left, new_left = "ctx", old_left - 1, new_left - 1
            elif first == "\\":
                kind = "noeol"
            else:  # a malformed hunk: fall back to reading the line as a header
                old_left = new_left = 0
                kind = _header_kind(text)
        elif text.startswith("@@"):
            kind = "hunk"
            match = _HUNK.match(text)
            if match is not None:
                old_left = int(match.group(1) or "1")
                new_left = int(match.group(2) or "1")
        else:
            kind = _header_kind(text)
        if kind == "add":
            added += 1
        elif kind == "del":
            removed += 1
        if number < max_lines:
            lines.append((kind, _clean(text)))
    hidden = len(raw) - len(lines)
    if hidden > 0:
        note = f"… {hidden:,} more line{'' if hidden == 1 else 's'}"
        lines.append(("note", f"{note} {more_hint}".rstrip()))
    if not lines:
        return message_model(title, "This diff is empty")
    width = max(cell_len(text) for _, text in lines)
    return DiffModel(title, lines, _pair(lines, is_cancelled), width, added, removed)


def _header_kind(text: str) -> Kind:
    if text.startswith("diff "):
        return "file"
    if text.startswith("+") and not text.startswith("+++ "):
        return "add"  # a hunk without counts (or combined diff): go by the prefix
    if text.startswith("-") and not text.startswith("--- "):
        return "del"
    if text.startswith("\\"):
        return "noeol"
    return "meta" if text.startswith(_HEADER_PREFIXES) or text else "ctx"


def _pair(lines: list[Line], is_cancelled: Callable[[], bool]) -> list[SplitRow]:
    """Pair removed lines with the added lines that replace them, hunk by hunk."""
    rows: list[SplitRow] = []
    removed: list[Line] = []
    added: list[Line] = []
    blank: Line = ("blank", "")

    def flush() -> None:
        for index in range(max(len(removed), len(added))):
            left = removed[index] if index < len(removed) else blank
            right = added[index] if index < len(added) else blank
            rows.append((left, right))
        removed.clear()
        added.clear()

    for number, line in enumerate(lines):
        if number % 2000 == 0 and is_cancelled():
            raise BuildCancelled
        kind = line[0]
        if kind == "del":
            if added:  # a removal after additions starts a new change block
                flush()
            removed.append(line)
        elif kind == "add":
            added.append(line)
        else:
            flush()
            rows.append((line, line) if kind == "ctx" else (line, None))
    flush()
    return rows
