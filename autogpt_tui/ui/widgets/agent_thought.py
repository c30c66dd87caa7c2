"""The agent's thought for one step: model text streamed in, drawn as Markdown lines."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import ClassVar

from markdown_it.token import Token
from rich.segment import Segment
from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from autogpt_tui.ui.markdown_lines import Piece, parser, pieces, wrap

# Control characters (bar newline and tab) would reach the terminal as raw bytes.
_CONTROL = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])
REASONING_TAIL_CHARS = 1_000
"""Most characters of a reasoning model's reasoning shown (the latest); it can run long."""
NOTE_STYLE = "$foreground-muted italic"
"""Style of the "earlier blocks not shown" line and of a reasoning model's reasoning."""


@dataclass(eq=False)
class _Block:
    """A Markdown block the stream has moved past: its tokens, turned into pieces once
    (only if it is still drawn: a burst's older blocks never are), and its lines at the
    thought's width."""

    tokens: list[Token]
    lines: list[Content] | None = None
    _pieces: list[Piece] | None = None

    @property
    def pieces(self) -> list[Piece]:
        if self._pieces is None:
            self._pieces = pieces(self.tokens)
        return self._pieces


class AgentThought(Widget):
    """Model text for one step, drawn as Markdown while it streams in.

    The thought is one widget that draws lines (Textual's `Markdown` is a widget per
    block, and mounting and laying those out could not keep up with a fast stream).
    Fragments are gathered and parsed a few times a second. Blocks the stream has moved
    past are parsed once and kept as styled lines; only the last, open block is parsed
    again on each update. At most `max_blocks` blocks are drawn: older ones give way to
    a one-line note (the reader follows the end of a stream; a click on the note shows
    everything once the stream is done). Text is read as Markdown only: Textual markup
    in it shows as typed.

    A reasoning model's reasoning (sent apart from its answer) is shown above the answer,
    muted, as plain text (its latest `REASONING_TAIL_CHARS`), and is not part of `text`.
    """

    DEFAULT_CSS = """
    AgentThought {
        width: 1fr;
        height: auto;
        margin: 0 0 1 0;
        padding: 0 1 0 2;
        background: transparent;
        color: $foreground;
        &.-empty { margin: 0; }
    }
    """

    FLUSH_INTERVAL: ClassVar[float] = 1 / 20
    """Seconds between parses of gathered fragments (one redraw each)."""

    def __init__(
        self,
        markdown: str | None = None,
        *,
        max_blocks: int | None = 30,
        folded: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create a thought; ``max_blocks`` caps the blocks drawn at once (None: no cap).

        A thought created ``folded`` keeps ``markdown`` as text and draws nothing until
        `unfold` (a log rebuilding an entry scrolled back into view).
        """
        super().__init__(name=name, id=id, classes=classes)
        self.max_blocks = max_blocks
        """Most Markdown blocks drawn at once; earlier ones are summed up in a note."""
        self._source = ""
        self._kept: str | None = (markdown or "") if folded else None
        self._pending: list[str] = []
        self._flush_timer: Timer | None = None
        self._last_flush = 0.0
        self._streaming = False
        self._open_offset = 0
        """Where the open (last) block starts in `_source`: parsing starts there."""
        self._settled: list[_Block] = []
        """The blocks the stream has moved past that are still drawn (`max_blocks`)."""
        self._open: list[Piece] = []
        self._hidden_blocks = 0
        self._reasoning: list[str] = []
        self._reasoning_content: Content | None = None
        self._reasoning_timer: Timer | None = None
        self._width = -1
        self._lines: list[Content] = []
        self._strips: list[Strip | None] = []
        self.add_class("-empty")  # until lines are drawn
        if folded:
            self.display = False
        elif markdown:
            self._parse(markdown.translate(_CONTROL))
            self._settle_open()

    # ------------------------------------------------------------------ state

    @property
    def streaming(self) -> bool:
        """True while a stream is open (fragments may still be on their way to the screen)."""
        return self._streaming or bool(self._pending)

    @property
    def text(self) -> str:
        """All the text written so far, including fragments not yet drawn."""
        if self._kept is not None:
            return self._kept
        return self._source + "".join(self._pending)

    @property
    def source(self) -> str:
        """The text drawn so far (`text` less what is still pending)."""
        return self._source if self._kept is None else ""

    @property
    def reasoning(self) -> str:
        """All the reasoning written so far (shown muted; not part of `text`)."""
        return "".join(self._reasoning)

    @property
    def folded(self) -> bool:
        """True while folded away (see `fold`)."""
        return not self.display

    @property
    def hidden_blocks(self) -> int:
        """How many leading blocks are not drawn (see `max_blocks`)."""
        return self._hidden_blocks

    @property
    def shown_blocks(self) -> int:
        """How many Markdown blocks are drawn."""
        return len(self._settled) + (1 if self._open else 0)

    @property
    def lines(self) -> list[str]:
        """The lines drawn at the current width, as plain text (for tests and copying)."""
        return [line.plain for line in self._lines]

    # ------------------------------------------------------------------ writing

    async def write(self, fragment: str) -> None:
        """Append a fragment of model text; it reaches the screen within `FLUSH_INTERVAL`."""
        fragment = fragment.translate(_CONTROL)
        if not fragment:
            return
        if self._kept is not None:  # folded: kept as text, drawn on unfold
            self._kept += fragment
            return
        self._streaming = True
        self._pending.append(fragment)
        if self._flush_timer is None:
            # Timed from the last parse, not from this fragment: a steady stream is drawn
            # every `FLUSH_INTERVAL` however long the drawing took, and the first
            # fragment after a pause is drawn at once.
            delay = self._last_flush + self.FLUSH_INTERVAL - time.monotonic()
            self._flush_timer = self.set_timer(max(0.001, delay), self._flush)

    async def write_reasoning(self, fragment: str) -> None:
        """Append a fragment of the model's reasoning; shown muted above the answer."""
        fragment = fragment.translate(_CONTROL)
        if not fragment:
            return
        self._reasoning.append(fragment)
        if self._reasoning_timer is None:
            self._reasoning_timer = self.set_timer(self.FLUSH_INTERVAL, self._show_reasoning)

    async def _show_reasoning(self) -> None:
        self._reasoning_timer = None
        # Only the tail is drawn: a long reasoning would otherwise be wrapped again on
        # each update. The fragments are joined once per update.
        text = "".join(self._reasoning)
        self._reasoning = [text] if text else []
        if len(text) > REASONING_TAIL_CHARS:
            text = "…" + text[-REASONING_TAIL_CHARS:]
        text = text.strip()
        self._reasoning_content = Content.styled(text, NOTE_STYLE) if text else None
        self._relayout(full=False)

    async def stop(self) -> None:
        """Draw what is pending and close the stream; a later `write` opens a new one."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        await self._flush()
        if self._streaming:
            self._streaming = False
            self._settle_open()  # drawn in full now (a code block highlighted)
            self._relayout(full=False)  # and the note offers to show all

    async def clear(self) -> None:
        """Close the stream and remove all text (the model's answer is being retried)."""
        self._pending.clear()
        self._reasoning.clear()
        if self._reasoning_timer is not None:
            self._reasoning_timer.stop()
            self._reasoning_timer = None
        self._reasoning_content = None
        await self.stop()
        if self._kept is not None:
            self._kept = ""
        self._reset()
        self._relayout(full=True)

    async def unfold(self) -> None:
        """Draw the thought again after `fold` (its last `max_blocks` blocks)."""
        await self.stop()
        if self._kept is not None:
            text, self._kept = self._kept, None
            self._reset()
            self._parse(text)
            self._settle_open()
        self.display = True
        self._relayout(full=True)

    async def fold(self) -> None:
        """Hide the thought and drop its drawn lines, keeping only the text: cheap to keep."""
        await self.stop()
        if self._kept is None:
            self._kept = self._source
        self.display = False
        self._reset()
        self._relayout(full=True)

    async def cap_blocks(self) -> None:
        """Apply `max_blocks` again (after it was lowered)."""
        self._cap()
        self._relayout(full=True)

    async def show_all(self) -> None:
        """Draw every block, lifting the `max_blocks` cap for this thought."""
        if self.streaming:
            return
        self.max_blocks = None
        text = self.text
        self._kept = None
        self._reset()
        self._parse(text)
        self._settle_open()
        self.display = True
        self._relayout(full=True)

    async def _flush(self) -> None:
        self._flush_timer = None
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self._parse(text)
        self._relayout(full=False)

    # ------------------------------------------------------------------ parsing

    def _reset(self) -> None:
        self._source = ""
        self._open_offset = 0
        self._settled.clear()
        self._open = []
        self._hidden_blocks = 0

    def _parse(self, text: str) -> None:
        """Append ``text`` and parse from the open block on (earlier blocks are settled)."""
        self._source += text
        chunk = self._source[self._open_offset :]
        tokens = parser().parse(chunk)
        starts = [
            index
            for index, token in enumerate(tokens)
            if token.level == 0 and token.nesting >= 0 and token.map is not None
        ]
        if not starts:
            self._open = []
            return
        line_offsets = [0]
        for line in chunk.splitlines(keepends=True):
            line_offsets.append(line_offsets[-1] + len(line))
        for start, end in itertools.pairwise(starts):
            self._settled.append(_Block(tokens[start:end]))  # turned into lines if kept
        last_map = tokens[starts[-1]].map
        assert last_map is not None
        self._open_offset += line_offsets[min(last_map[0], len(line_offsets) - 1)]
        self._open = pieces(tokens[starts[-1] :], live=True)
        self._cap()

    def _settle_open(self) -> None:
        """Parse the open block once more, as done (the stream has stopped)."""
        if self._open:
            self._open = pieces(parser().parse(self._source[self._open_offset :]))

    def _cap(self) -> None:
        if self.max_blocks is None:
            return
        excess = self.shown_blocks - self.max_blocks
        if excess > 0:
            dropped = min(excess, len(self._settled))
            del self._settled[:dropped]
            self._hidden_blocks += dropped

    # ------------------------------------------------------------------ drawing

    def _relayout(self, *, full: bool) -> None:
        """Rebuild the lines at the current width; ``full`` wraps settled blocks again."""
        width = self._content_width()
        if width <= 0:
            self._width = -1
            self._lines, self._strips = [], []
            self.refresh(layout=True)
            return
        self._build_lines(width, full=full)

    def _content_width(self) -> int:
        return self.content_region.width if self.is_mounted else -1

    def _build_lines(self, width: int, *, full: bool) -> None:
        if full or width != self._width:
            for block in self._settled:
                block.lines = None
        self._width = width
        lines: list[Content] = []
        if self._hidden_blocks:
            plural = "" if self._hidden_blocks == 1 else "s"
            hint = "" if self.streaming else " · click to show all"
            note = f"⋯ {self._hidden_blocks:,} earlier block{plural} not shown{hint}"
            lines.append(Content.styled(note, NOTE_STYLE))
        if self._reasoning_content is not None:
            lines += self._reasoning_content.wrap(width)
            lines.append(Content())
        for block in self._settled:
            if block.lines is None:
                block.lines = wrap(block.pieces, width)
            lines += block.lines
            lines.append(Content())
        if self._open:
            lines += wrap(self._open, width)
        elif lines and not lines[-1].plain:
            lines.pop()
        old_lines, old_strips = self._lines, self._strips
        strips: list[Strip | None] = [None] * len(lines)
        for index, line in enumerate(lines[: len(old_lines)]):
            if old_lines[index] is line:
                strips[index] = old_strips[index]
        resized = len(lines) != len(old_lines)
        self._lines, self._strips = lines, strips
        self.set_class(not lines, "-empty")  # no blank line under an empty thought
        self.refresh(layout=resized)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """As many lines as the thought wraps to at ``width``."""
        if width != self._width and width > 0:
            self._build_lines(width, full=True)
        return len(self._lines)

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the thought, styled with the theme (drawn once, then kept)."""
        width = self.content_region.width
        if width != self._width and width > 0:
            self._build_lines(width, full=True)
        if not 0 <= y < len(self._lines):
            return Strip.blank(width, self.rich_style)
        strip = self._strips[y]
        if strip is None:
            base = self.visual_style
            parse = self.app.stylesheet.parse_style
            segments = [
                Segment(text, style.rich_style)
                for text, style in self._lines[y].render(base, end="", parse_style=parse)
            ]
            strip = Strip(segments).adjust_cell_length(width, base.rich_style)
            self._strips[y] = strip
        return strip

    def notify_style_update(self) -> None:
        """Draw the lines again with the new theme's colours."""
        super().notify_style_update()
        self._strips = [None] * len(self._lines)

    async def on_click(self, event: events.Click) -> None:
        """Show every block when the "earlier blocks" note is clicked."""
        offset = event.get_content_offset(self)
        if self._hidden_blocks and offset is not None and offset.y == 0:
            event.stop()
            await self.show_all()

    async def on_resize(self, event: events.Resize) -> None:
        """Wrap the lines again for a new width (a new height alone changes nothing)."""
        if self._content_width() != self._width:
            self._relayout(full=True)
