"""A unified (or side-by-side) diff viewer for step commits and proposed changes.

Why our own widget and not ``textual-diff-view`` (the maintained one, which Toad wraps):
it is licensed AGPL-3.0 and this project is MIT, so depending on it would put the whole
program under the AGPL. Ours is also shaped by what the workstation needs: git's
multi-file patches, a cap of `MAX_LINES` with a note, big diffs parsed in a thread
worker that a newer one cancels, and only the visible lines rendered (the Line API).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style as RichStyle
from textual import on, work
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.content import Content
from textual.events import Resize
from textual.geometry import Size
from textual.markup import parse_style
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style
from textual.worker import get_current_worker

from autogpt_tui.ui.actions import bindings_for

MAX_LINES = 3000
"""Most diff lines rendered; the rest are summed up in a note."""
LINE_CHARS = 1000
"""Longest diff line rendered (a minified file can have megabyte lines)."""
SYNC_CHARS = 20_000
"""Inputs shorter than this are built on the spot; longer ones in a thread worker."""
SPLIT_MIN_WIDTH = 160
"""The narrowest widget, in columns, that shows a side-by-side diff (each side about 78
columns). The app makes room for it: from this many terminal columns, the split view
shows the diff full screen when its panel is narrower."""

Kind = Literal[
    "file", "meta", "hunk", "add", "del", "ctx", "noeol", "note", "blank", "message", "sep"
]
"""What a line of a diff is, which decides how it is styled."""
Line = tuple[Kind, str]
"""One displayed line: its kind and its text."""
SplitRow = tuple[Line, Line | None]
"""One side-by-side row: old | new, or one line spanning both columns (right is None)."""

STYLES: dict[Kind, str] = {
    "file": "bold $text-primary",
    "meta": "$foreground-muted",
    "hunk": "$text-accent",
    "add": "$text-success on $success-muted",
    "del": "$text-error on $error-muted",
    "ctx": "",
    "noeol": "italic $foreground-muted",
    "note": "italic $foreground-muted",
    "blank": "on $panel",
    "message": "$foreground-muted",
    "sep": "$foreground-muted",
}
"""How each kind of line is styled, in theme variables only (readable in dark and light)."""

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


class _Cancelled(Exception):
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
    """A unified diff of a file going from ``old_text`` to ``new_text`` (None: no file)."""
    old_lines = old_text.splitlines() if old_text is not None else []
    new_lines = new_text.splitlines() if new_text is not None else []
    from_file = f"a/{path}" if old_text is not None else "/dev/null"
    to_file = f"b/{path}" if new_text is not None else "/dev/null"
    return "\n".join(difflib.unified_diff(old_lines, new_lines, from_file, to_file, lineterm=""))


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
            raise _Cancelled
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
            raise _Cancelled
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


class DiffViewer(ScrollView, can_focus=True):
    """Shows a syntax-highlighted diff: a step's commit or a proposed change.

    Only the visible lines are rendered (the Line API), the diff is capped at `MAX_LINES`,
    and a large diff is parsed in a thread worker, so the UI stays responsive; a newer
    ``show_*`` call supersedes one still being built. ``side_by_side`` asks for the split
    view, shown when the widget is at least `SPLIT_MIN_WIDTH` columns wide (the app's
    ``v`` sets it, and makes the room).
    """

    DEFAULT_CSS = """
    DiffViewer {
        height: 1fr;
        background: $surface;
        border: round $panel;
        border-title-color: $text-primary;
        border-subtitle-color: $foreground-muted;
        &:focus { border: round $primary; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [*bindings_for("diff")]

    side_by_side: reactive[bool] = reactive(False, init=False)
    """True to show old and new side by side (when the widget is wide enough)."""

    class _Built(Message, bubble=False):
        """A diff finished building in the worker."""

        def __init__(self, generation: int, model: DiffModel) -> None:
            super().__init__()
            self.generation = generation
            self.model = model

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create a viewer that asks the user to select a step."""
        super().__init__(name=name, id=id, classes=classes)
        self._model = message_model("Diff", "Select a step to see its diff")
        self.showing_proposal = False
        """Whether what shows is about the action awaiting approval (its proposed change,
        or a line saying it changes no file), not a step of the history."""
        self._generation = 0
        self._building = False
        self._prefix: list[Line] = []
        self._split_active = False
        self._styles: dict[Kind, RichStyle] = {}
        self._styles_key: object = None
        self._strips: LRUCache[tuple[int, int], Strip] = LRUCache(1024)

    @property
    def model(self) -> DiffModel:
        """The diff being shown (the previous one while a new one builds)."""
        return self._model

    @property
    def diff_title(self) -> str:
        """What the title line says is displayed."""
        return self._model.title

    @property
    def is_building(self) -> bool:
        """True while a large diff is being built in a worker."""
        return self._building

    @property
    def split_active(self) -> bool:
        """True when the side-by-side view is on screen (asked for, and wide enough)."""
        return self._split_active

    def on_mount(self) -> None:
        """Size the scrollable area for the initial message."""
        self._layout()

    def show_diff(self, title: str, diff_text: str, *, rev: str | None = None) -> None:
        """Show a git unified diff (possibly of several files) under ``title``.

        ``rev`` names the commit in the note shown when the diff is too long to show whole.
        """
        hint = f"(see `autogpt-tui show {rev or 'REV'}`)"
        self.showing_proposal = False

        def build(is_cancelled: Callable[[], bool]) -> DiffModel:
            return build_model(title, diff_text, more_hint=hint, is_cancelled=is_cancelled)

        self._start(title, build, large=len(diff_text) > SYNC_CHARS)

    def show_proposed(self, path: str, old_text: str | None, new_text: str | None) -> None:
        """Show the change a pending action would make to ``path`` (None: no such file)."""
        title = f"proposed change to {path}"
        self.showing_proposal = True

        def build(is_cancelled: Callable[[], bool]) -> DiffModel:
            if old_text == new_text:
                return message_model(title, f"The proposed change leaves {path} unchanged")
            diff_text = proposed_diff_text(path, old_text, new_text)
            return build_model(title, diff_text, is_cancelled=is_cancelled)

        size = len(old_text or "") + len(new_text or "")
        self._start(title, build, large=size > SYNC_CHARS)

    def show_message(self, text: str, *, title: str = "Diff", proposal: bool = False) -> None:
        """Show no diff, only a muted line of ``text`` (e.g. "This step changed no file");
        ``proposal`` when the line is about the action awaiting approval."""
        self.showing_proposal = proposal
        self._generation += 1
        self.workers.cancel_group(self, "diff")
        self._building = False
        self._apply(message_model(title, text))

    def watch_side_by_side(self) -> None:
        """Re-lay the diff out in the chosen view."""
        self._layout()

    def on_resize(self, event: Resize) -> None:
        """Re-lay the diff out: the split view depends on the width."""
        self._layout()

    def _start(
        self, title: str, build: Callable[[Callable[[], bool]], DiffModel], *, large: bool
    ) -> None:
        self._generation += 1
        self.workers.cancel_group(self, "diff")
        if not large:
            self._building = False
            self._apply(_safely(title, build, lambda: False))
            return
        self._building = True
        self._apply(message_model(title, "Building the diff…"))
        self._build(self._generation, title, build)

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False, description="diff")
    def _build(
        self, generation: int, title: str, build: Callable[[Callable[[], bool]], DiffModel]
    ) -> None:
        worker = get_current_worker()
        try:
            model = _safely(title, build, lambda: worker.is_cancelled)
        except _Cancelled:
            return
        if not worker.is_cancelled:
            self.post_message(self._Built(generation, model))

    @on(_Built)
    def _built(self, message: _Built) -> None:
        if message.generation == self._generation:
            self._building = False
            self._apply(message.model)

    def _apply(self, model: DiffModel) -> None:
        self._model = model
        self.border_title = Content(model.title)
        self._strips.clear()
        self._layout()
        self.scroll_home(animate=False, immediate=True)

    def _layout(self) -> None:
        """Choose unified or split for the current width and size the scrollable area."""
        model = self._model
        wide_enough = self.outer_size.width >= SPLIT_MIN_WIDTH
        split = self.side_by_side and wide_enough and not model.is_message
        self._prefix = []
        if self.side_by_side and not wide_enough and not model.is_message:
            self._prefix = [
                (
                    "note",
                    f"Split view needs {SPLIT_MIN_WIDTH} columns; the panel has "
                    f"{self.outer_size.width}: showing the unified diff",
                )
            ]
        if split != self._split_active or split:
            self._strips.clear()
        self._split_active = split
        rows = len(model.split) if split else len(model.lines)
        width = 0 if split else max([model.width, *(cell_len(t) for _, t in self._prefix)])
        self.virtual_size = Size(width, rows + len(self._prefix))
        subtitle = "" if model.is_message else f"+{model.added:,} −{model.removed:,}"
        if split:
            subtitle += " · split"
        self.border_subtitle = subtitle
        self.refresh()

    def _line_styles(self) -> dict[Kind, RichStyle]:
        """Rich styles for each kind of line, over this widget's background and theme."""
        base = self.visual_style
        key = (base, self.app.theme)
        if key != self._styles_key:
            self._styles_key = key
            self._styles = {kind: (base + _parse(spec)).rich_style for kind, spec in STYLES.items()}
            self._strips.clear()
        return self._styles

    def render_line(self, y: int) -> Strip:
        """Render one visible line (the Line API: only what is on screen is rendered)."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        styles = self._line_styles()
        index = scroll_y + y
        base = self.rich_style
        if index < len(self._prefix):
            kind, text = self._prefix[index]
            return _strip(text, styles[kind], width)
        index -= len(self._prefix)
        if self._split_active:
            if index >= len(self._model.split):
                return Strip.blank(width, base)
            key = (index, width)
            strip = self._strips.get(key)
            if strip is None:
                strip = self._strips[key] = self._split_strip(self._model.split[index], width)
            return strip
        if index >= len(self._model.lines):
            return Strip.blank(width, base)
        kind, text = self._model.lines[index]
        style = styles[kind]
        key = (index, -1)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = Strip([Segment(text, style)])
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def _split_strip(self, row: SplitRow, width: int) -> Strip:
        styles = self._line_styles()
        left, right = row
        if right is None:
            return _strip(left[1], styles[left[0]], width)
        left_width = (width - 1) // 2
        right_width = width - 1 - left_width
        return Strip.join(
            [
                _strip(left[1], styles[left[0]], left_width),
                Strip([Segment("│", styles["sep"])], 1),
                _strip(right[1], styles[right[0]], right_width),
            ]
        )


def _strip(text: str, style: RichStyle, width: int) -> Strip:
    return Strip([Segment(text, style)]).crop_extend(0, width, style)


def _parse(spec: str) -> Style:
    return parse_style(spec) if spec else Style()


def _safely(
    title: str,
    build: Callable[[Callable[[], bool]], DiffModel],
    is_cancelled: Callable[[], bool],
) -> DiffModel:
    """Build a model, turning an unexpected failure into a message rather than a crash."""
    try:
        return build(is_cancelled)
    except _Cancelled:
        raise
    except Exception as error:  # a diff we cannot read must not take the UI down
        return message_model(title, f"Could not show this diff: {error}")
