"""A unified (or side-by-side) diff viewer for step commits and proposed changes.

Why our own widget and not ``textual-diff-view`` (the maintained one, which Toad wraps):
it is licensed AGPL-3.0 and this project is MIT, so depending on it would put the whole
program under the AGPL. Ours is also shaped by what the workstation needs: git's
multi-file patches, a cap of `MAX_LINES` with a note, big diffs parsed in a thread
worker that a newer one cancels, and only the visible lines rendered (the Line API).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

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
from autogpt_tui.ui.widgets.diff_model import (
    LINE_CHARS,
    MAX_LINES,
    BuildCancelled,
    DiffModel,
    Kind,
    Line,
    build_model,
    message_model,
    proposal_model,
    proposed_diff_text,
)
from autogpt_tui.ui.widgets.hunk_review import HunkMarks, HunkReview

__all__ = [  # the model's names, as they were when it lived here
    "LINE_CHARS",
    "MAX_LINES",
    "SPLIT_MIN_WIDTH",
    "STYLES",
    "DiffModel",
    "DiffViewer",
    "build_model",
    "message_model",
    "proposed_diff_text",
]

SYNC_CHARS = 20_000
"""Inputs shorter than this are built on the spot; longer ones in a thread worker."""
SPLIT_MIN_WIDTH = 160
"""The narrowest widget, in columns, that shows a side-by-side diff (each side about 78
columns). The app makes room for it: from this many terminal columns, the split view
shows the diff full screen when its panel is narrower."""

HUNK_LABEL_CELLS = 32
"""Cells the hunk headers grow by while a proposal's hunks are reviewed."""

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
    "hunk_current": "bold $text-accent on $accent-muted",
    "rejected": "strike $foreground-muted",
}
"""How each kind of line is styled, in theme variables only (readable in dark and light)."""


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

    class HunksChanged(Message):
        """The hunks on show, or the choice among them, changed (the keys that act on
        them apply or not)."""

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
        self.review: HunkReview | None = None
        """The user's choice among the hunks of the proposal on show (None: no proposal
        with hunks is shown)."""
        self._marks: HunkMarks | None = None

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
            return proposal_model(title, path, old_text, new_text, is_cancelled)

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

    def move_hunk(self, by: int) -> bool:
        """Make the next (``by`` 1) or previous (-1) hunk current and scroll to it."""
        # Only to hunks on screen: those past the line cap stay as they are (accepted).
        marks, review = self._marks, self.review
        if review is None or marks is None or marks.row_of(review.current + by) is None:
            return False
        review.move(by)
        self._redraw_hunks(scroll=True)
        return True

    def toggle_hunk(self) -> bool | None:
        """Accept or reject the current hunk; whether it is now accepted (None: no hunks)."""
        if self.review is None:
            return None
        accepted = self.review.toggle()
        self._redraw_hunks(scroll=False)
        self.post_message(self.HunksChanged())
        return accepted

    def _redraw_hunks(self, *, scroll: bool) -> None:
        """Draw the hunks' new states; ``scroll``: bring the whole current hunk into view
        (its header at the top when it does not fit)."""
        self._layout()
        self._strips.clear()
        if not scroll or self.review is None or self._marks is None:
            return
        split = self._split_active
        top = self._marks.row_of(self.review.current, split=split)
        if top is None:
            return
        end = self._marks.row_of(self.review.current + 1, split=split)
        rows = len(self._model.split if split else self._model.lines)
        first, last = top + len(self._prefix), (rows if end is None else end) + len(self._prefix)
        view, height = self.scroll_offset.y, self.scrollable_content_region.height
        if first < view or last > view + height:
            self.scroll_to(y=first, animate=False, immediate=True)

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
        except BuildCancelled:
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
        had_review = self.review is not None
        self.review = HunkReview(model.change) if model.change is not None else None
        self._marks = HunkMarks(self.review, model) if self.review is not None else None
        if had_review or self.review is not None:
            self.post_message(self.HunksChanged())
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
        if self._marks is not None:
            width += HUNK_LABEL_CELLS  # the headers' state and number
        self.virtual_size = Size(width, rows + len(self._prefix))
        subtitle = "" if model.is_message else f"+{model.added:,} −{model.removed:,}"
        if self.review is not None:
            subtitle += f" · {self.review.summary}"
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
                strip = self._strips[key] = self._split_strip(index, width)
            return strip
        if index >= len(self._model.lines):
            return Strip.blank(width, base)
        kind, text = self._model.lines[index]
        if self._marks is not None:
            kind, text = self._marks.line(index, (kind, text))
        style = styles[kind]
        key = (index, -1)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = Strip([Segment(text, style)])
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def _split_strip(self, index: int, width: int) -> Strip:
        styles = self._line_styles()
        left, right = self._model.split[index]
        if self._marks is not None:
            left = self._marks.line(index, left, split=True)
            right = right if right is None else self._marks.line(index, right, split=True)
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
    except BuildCancelled:
        raise
    except Exception as error:  # a diff we cannot read must not take the UI down
        return message_model(title, f"Could not show this diff: {error}")
