"""The agent's thought for one step: model text streamed in as Markdown."""

from __future__ import annotations

from typing import ClassVar

from markdown_it import MarkdownIt
from textual import events
from textual.await_complete import AwaitComplete
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownBlock, MarkdownStream

# Control characters (bar newline and tab) would reach the terminal as raw bytes.
_CONTROL = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])
REASONING_TAIL_CHARS = 1_000
"""Most characters of a reasoning model's reasoning shown (the latest); it can run long."""


class AgentThought(Markdown):
    """Model text for one step, rendered as Markdown while it streams in.

    Fragments are gathered and handed to a `MarkdownStream` a few times a second; the
    stream in turn joins whatever arrives while the widget is still rendering. Every
    rendered block is a widget and Textual lays out every widget on each change, so at
    most `max_blocks` blocks stay mounted: older ones give way to a one-line note (the
    reader follows the end of a stream; a click on the note shows everything once the
    stream is done). Text is parsed as Markdown only: Textual markup in it shows as typed.

    A reasoning model's reasoning (sent apart from its answer) is shown above the answer,
    muted and as plain text, and is not part of `text`.
    """

    DEFAULT_CSS = """
    AgentThought {
        height: auto;
        margin: 0;
        padding: 0 1 0 2;
        background: transparent;
        color: $foreground;
        & > .thought-more {
            height: 1;
            color: $foreground-muted;
            text-style: italic;
        }
        & > .thought-reasoning {
            height: auto;
            color: $foreground-muted;
            text-style: italic;
            margin: 0 0 1 0;
        }
    }
    """

    FLUSH_INTERVAL: ClassVar[float] = 1 / 15
    """Seconds between hand-overs of gathered fragments to the stream (one layout each)."""

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
        """Create a thought; ``max_blocks`` caps the blocks mounted at once (None: no cap).

        A thought created ``folded`` keeps ``markdown`` as text and renders nothing until
        `unfold` (a log rebuilding an entry scrolled back into view).
        """
        super().__init__(None if folded else markdown, name=name, id=id, classes=classes)
        self._kept: str | None = (markdown or "") if folded else None
        if folded:
            self.display = False
        self.max_blocks = max_blocks
        """Most Markdown blocks mounted at once; earlier ones are summed up in a note."""
        self._stream: MarkdownStream | None = None
        self._pending: list[str] = []
        self._flush_timer: Timer | None = None
        self._hidden_blocks = 0
        self._note: Static | None = None
        self._reasoning: list[str] = []
        self._reasoning_shown = 0
        self._reasoning_view: Static | None = None
        self._reasoning_timer: Timer | None = None

    @property
    def streaming(self) -> bool:
        """True while a stream is open (fragments may still be on their way to the screen)."""
        return self._stream is not None or bool(self._pending)

    @property
    def text(self) -> str:
        """All the text written so far, including fragments not yet rendered."""
        if self._kept is not None:
            return self._kept
        return self.source + "".join(self._pending)

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
        """How many leading blocks are not mounted (see `max_blocks`)."""
        return self._hidden_blocks

    async def write(self, fragment: str) -> None:
        """Append a fragment of model text; it reaches the screen within `FLUSH_INTERVAL`."""
        fragment = fragment.translate(_CONTROL)
        if not fragment:
            return
        if self._kept is not None:  # folded: kept as text, rendered on unfold
            self._kept += fragment
            return
        self._pending.append(fragment)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(self.FLUSH_INTERVAL, self._flush)

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
        if not self._reasoning:
            if self._reasoning_view is not None:
                await self._reasoning_view.remove()
                self._reasoning_view = None
            return
        # Only the tail is rendered: re-rendering all of a long reasoning on each
        # update would grow with its length. The fragments are joined once per update.
        text = "".join(self._reasoning)
        self._reasoning = [text]
        if len(text) > REASONING_TAIL_CHARS:
            text = "…" + text[-REASONING_TAIL_CHARS:]
        content = Content(text.strip())
        if self._reasoning_view is None:
            self._reasoning_view = Static(content, classes="thought-reasoning")
            first = next(iter(self.query_children(MarkdownBlock)), None)
            if first is not None:
                await self.mount(self._reasoning_view, before=first)
            else:
                await self.mount(self._reasoning_view)
        else:
            self._reasoning_view.update(content)

    async def stop(self) -> None:
        """Render what is pending and close the stream; a later `write` opens a new one."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        await self._flush()
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.stop()
        await self._cap_blocks()

    async def clear(self) -> None:
        """Close the stream and remove all text (the model's answer is being retried)."""
        self._pending.clear()
        self._reasoning.clear()
        if self._reasoning_timer is not None:
            self._reasoning_timer.stop()
        await self._show_reasoning()  # removes the reasoning shown
        await self.stop()
        if self._kept is not None:
            self._kept = ""
        await self.update("")
        await self._set_hidden(0)

    async def unfold(self) -> None:
        """Mount the blocks again after `fold` (the last `max_blocks` of them)."""
        await self.stop()
        text = self.text
        self._kept = None
        self.display = True
        await self.update(text)
        await self._set_hidden(0)
        await self._cap_blocks()

    async def fold(self) -> None:
        """Hide the thought and unmount its blocks, keeping only the text: cheap to keep."""
        await self.stop()
        if self._kept is None:
            self._kept = self.source
        self.display = False
        # The Markdown source goes too (update("")): the text is kept once, as text.
        await self.update("")
        await self._set_hidden(0)

    async def cap_blocks(self) -> None:
        """Unmount the oldest blocks beyond `max_blocks` (after it was created with text)."""
        await self._cap_blocks()

    async def show_all(self) -> None:
        """Mount every block, lifting the `max_blocks` cap for this thought."""
        if self.streaming:
            return
        self.max_blocks = None
        await self.unfold()

    async def _flush(self) -> None:
        self._flush_timer = None
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        if self._stream is None:
            self._stream = Markdown.get_stream(self)
        await self._stream.write(text)
        await self._cap_blocks()

    def append(self, markdown: str) -> AwaitComplete:
        """Append a fragment (what `MarkdownStream` calls), mounting only the blocks kept.

        Textual's own ``append`` mounts every new block; with `max_blocks` most of a
        burst's blocks would be unmounted again at once, and mounting them was most of
        the cost of a fast stream. This is that method (Textual 8.2) with the cap applied
        before mounting: the last block is updated in place, as there, and the oldest
        blocks give way to the note.
        """
        parser = MarkdownIt("gfm-like") if self._parser_factory is None else self._parser_factory()
        self._markdown = self.source + markdown
        updated_source = "".join(self._markdown.splitlines(keepends=True)[self._last_parsed_line :])

        async def await_append() -> None:
            async with self.lock:
                tokens = parser.parse(updated_source)
                existing = [child for child in self.children if isinstance(child, MarkdownBlock)]
                start_line = self._last_parsed_line
                for token in reversed(tokens):
                    if token.map is not None and token.level == 0:
                        self._last_parsed_line += token.map[0]
                        break
                new_blocks = list(self._parse_markdown(tokens))
                for block in new_blocks:
                    start, end = block.source_range
                    block.source_range = (start + start_line, end + start_line)
                with self.app.batch_update():
                    if existing and new_blocks:
                        last_block = existing[-1]
                        last_block.source_range = new_blocks[0].source_range
                        try:
                            await last_block._update_from_block(new_blocks[0])
                        except IndexError:
                            pass
                        else:
                            new_blocks = new_blocks[1:]
                    if self.max_blocks is not None:
                        skipped = max(0, len(new_blocks) - self.max_blocks)
                        new_blocks = new_blocks[skipped:]
                        dropped = max(0, len(existing) + len(new_blocks) - self.max_blocks)
                        if dropped:
                            await self.remove_children(existing[:dropped])
                        self._hidden_blocks += skipped + dropped
                    if new_blocks:
                        await self.mount_all(new_blocks)

        return AwaitComplete(await_append())

    async def _cap_blocks(self) -> None:
        """Unmount the oldest blocks beyond `max_blocks` (the stream only touches the last)."""
        if self.max_blocks is None:
            return
        async with self.lock:
            blocks = [child for child in self.children if isinstance(child, MarkdownBlock)]
            excess = len(blocks) - self.max_blocks
            if excess > 0:
                await self.remove_children(blocks[:excess])
                self._hidden_blocks += excess
        await self._set_hidden(self._hidden_blocks)

    async def _set_hidden(self, count: int) -> None:
        self._hidden_blocks = count
        if count == 0:
            if self._note is not None:
                await self._note.remove()
                self._note = None
            return
        plural = "" if count == 1 else "s"
        hint = "" if self.streaming else " · click to show all"
        content = Content(f"⋯ {count:,} earlier block{plural} not shown{hint}")
        if self._note is None:
            self._note = Static(content, classes="thought-more")
            await self.mount(self._note, before=0)
        else:
            self._note.update(content)

    async def on_click(self, event: events.Click) -> None:
        """Show every block when the "earlier blocks" note is clicked."""
        if self._note is not None and event.widget is self._note:
            event.stop()
            await self.show_all()
