"""The action log's window: which of its entries are mounted as widgets, and paging."""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from autogpt_tui.ui.widgets.action_card import ActionCard
from autogpt_tui.ui.widgets.log_entries import (
    Item,
    NoticeEntry,
    StepEntry,
    header_content,
    new_thought,
)

KEPT_THOUGHT_CHARS = 64_000
"""Most characters of one thought the log keeps once its entry is not mounted (the end
of a longer one: git's step record keeps all of it)."""
KEPT_CHARS = 4_000_000
"""Most characters of thoughts kept for entries that are not mounted, in all; the oldest
entries are dropped beyond it (or beyond `ActionLog.max_entries`)."""
WINDOW = 12
"""Entries (steps and notices) mounted as widgets while the log follows its end."""
READING_WINDOW = 48
"""Most entries mounted while the user reads back (the log pages them in and out)."""
PAGE = 8
"""Entries mounted at a time when the user scrolls past either end of what is mounted."""
NEW_BELOW = "↓ new output (end)"
"""The marker at the bottom of the log while the user reads back and output comes in."""


class LogWindow(VerticalScroll):
    """The entries of a log kept as data, a window of them mounted as widgets.

    The base of `ActionLog`: it keeps every entry (`StepEntry`, `NoticeEntry`) and mounts
    only ``_items[_lo:_hi]``, building an entry's widgets from its data when it is mounted
    and keeping what they show as data when it is not. While the log follows its end the
    newest `window` entries are mounted; the user pages in `PAGE` more at either end of
    what is mounted (at most `READING_WINDOW` at once). At most `max_entries` steps and as
    many notices, and `KEPT_CHARS` of unmounted thought, are kept at all. It handles no
    events itself (Textual calls every class's handler): `ActionLog` does.
    """

    def __init__(
        self,
        *,
        max_entries: int,
        window: int,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create an empty window keeping ``max_entries`` steps, ``window`` entries
        mounted while it follows its end."""
        super().__init__(name=name, id=id, classes=classes)
        if max_entries < 1 or window < 1:
            raise ValueError("max_entries and window must be at least 1")
        self.max_entries = max_entries
        """Most step entries kept (notices are capped at the same number)."""
        self.window = window
        """Entries mounted while the log follows its end."""
        self._entries: dict[int, StepEntry] = {}
        self._steps: deque[StepEntry] = deque()
        self._notices: deque[NoticeEntry] = deque()
        self._items: list[Item] = []
        # The mounted entries are _items[_lo:_hi]; the log follows its end while _hi is
        # len(_items).
        self._lo = 0
        self._hi = 0
        self._kept_chars = 0
        self._paging = False
        self._earlier = Static("", classes="log-more", id="log-earlier", markup=False)
        self._later = Static("", classes="log-more", id="log-later", markup=False)
        self._earlier.display = False
        self._later.display = False
        self._new_below = Static(
            NEW_BELOW, classes="log-new-below", id="log-new-below", markup=False
        )
        self._new_below.display = False

    def compose(self) -> ComposeResult:
        """The notes at either end of what is mounted (hidden while there is nothing more),
        and the marker of new output below (docked at the bottom, hidden while following)."""
        yield self._earlier
        yield self._later
        yield self._new_below

    # -- reading --------------------------------------------------------------------------

    @property
    def mounted_count(self) -> int:
        """How many entries (steps and notices) are widgets now."""
        return self._hi - self._lo

    @property
    def new_output_below(self) -> bool:
        """True while the user reads back and output came below what they read."""
        return bool(self._new_below.display)

    @property
    def following(self) -> bool:
        """True while the newest entry is mounted (new entries are mounted as they come)."""
        return self._hi == len(self._items)

    # -- entries --------------------------------------------------------------------------

    async def clear_log(self) -> None:
        """Remove every entry and notice (a new session starts)."""
        await self._unmount_range(self._lo, self._hi)
        self._entries.clear()
        self._steps.clear()
        self._notices.clear()
        self._items.clear()
        self._lo = self._hi = 0
        self._kept_chars = 0
        self._show_more()

    def _show_header(self, entry: StepEntry) -> None:
        if entry.header is not None:
            entry.header.update(header_content(entry))

    async def _append(self, item: Item) -> None:
        """Add ``item`` at the end; mount it if the log follows its end."""
        following = self.following
        self._items.append(item)
        if following:
            await self.mount(self._build(item), before=self._later)
            await self._after_mount(item)
            self._hi = len(self._items)
            # While the user reads back (the anchor released), the window may grow a
            # while, so what they read does not move; past that it is trimmed anyway.
            limit = READING_WINDOW if self._reading_back else self.window
            if self._hi - self._lo > limit:
                await self._unmount_range(self._lo, self._hi - self.window, keep_view=True)
                self._lo = self._hi - self.window
        await self._drop_old()
        self._show_more()
        self._note_new_output()

    def _note_new_output(self) -> None:
        """Mark that there is new output below, if the user is reading further up."""
        if not self._new_below.display and (self._reading_back or not self.following):
            self._new_below.display = True

    @property
    def _reading_back(self) -> bool:
        return self._anchored and self._anchor_released

    def _build(self, item: Item) -> Widget:
        """The widget of ``item``, made from its data."""
        if isinstance(item, NoticeEntry):
            item.static = Static(
                Content(item.text), classes=f"notice -{item.severity}", markup=False
            )
            return item.static
        header = Static(classes="step-header", markup=False)
        item.header = header
        children: list[Widget] = [header]
        if item.has_thought:
            self._kept_chars -= item.kept_chars
            item.thought = new_thought(item.text, folded=item.folded)
            children.append(item.thought)
            item.parts.clear()
        item.card_widgets = [ActionCard(data) for data in item.cards]
        children += item.card_widgets
        item.container = Vertical(*children, classes="step -undone" if item.undone else "step")
        self._show_header(item)
        return item.container

    async def _after_mount(self, item: Item) -> None:
        if isinstance(item, StepEntry) and item.thought is not None:
            if not item.folded:
                await item.thought.cap_blocks()
            if item.reasoning:
                await item.thought.write_reasoning(item.reasoning)
                item.reasoning = ""

    async def _release(self, item: Item) -> Widget | None:
        """Forget ``item``'s widgets, keeping what they showed as data; the widget to remove."""
        if isinstance(item, NoticeEntry):
            widget, item.static = item.static, None
            return widget
        thought = item.thought
        if thought is not None:
            if thought.streaming:
                await thought.stop()
            text = thought.text
            if len(text) > KEPT_THOUGHT_CHARS:
                cut = len(text) - KEPT_THOUGHT_CHARS
                text = f"*(… {cut:,} earlier characters not kept)*\n\n" + text[cut:]
            item.parts = [text] if text else []
            item.reasoning = thought.reasoning[-KEPT_THOUGHT_CHARS:]
            self._kept_chars += item.kept_chars
        container = item.container
        item.container = item.header = item.thought = None
        item.card_widgets = []
        return container

    async def _unmount_range(self, lo: int, hi: int, *, keep_view: bool = False) -> None:
        """Unmount the entries ``_items[lo:hi]`` (all mounted), keeping their data."""
        doomed: list[Widget] = []
        height = 0
        for item in self._items[lo:hi]:
            widget = await self._release(item)
            if widget is not None:
                height += widget.outer_size.height
                doomed.append(widget)
        if doomed:
            await self.remove_children(doomed)
        if keep_view and height and lo == self._lo and self._reading_back:
            # Entries above the view went: scroll up by as much, so the view stays put.
            self.scroll_to(y=max(0, self.scroll_y - height), animate=False, immediate=True)

    async def _drop_old(self) -> None:
        """Forget the oldest entries beyond `max_entries` steps (or notices) or `KEPT_CHARS`."""
        doomed: set[int] = set()
        while len(self._steps) > self.max_entries or (
            self._kept_chars > KEPT_CHARS and len(self._steps) > 1
        ):
            entry = self._steps.popleft()
            if self._entries.get(entry.step) is entry:
                del self._entries[entry.step]
            self._kept_chars -= entry.kept_chars if not entry.mounted else 0
            doomed.add(id(entry))
        while len(self._notices) > self.max_entries:
            notice = self._notices.popleft()
            self._kept_chars -= notice.kept_chars if not notice.mounted else 0
            doomed.add(id(notice))
        if not doomed:
            return
        keep: list[Item] = []
        lo, hi = self._lo, self._hi
        gone: list[Item] = []
        for index, item in enumerate(self._items):
            if id(item) in doomed:
                gone.append(item)
                if index < self._lo:
                    lo -= 1
                if index < self._hi:
                    hi -= 1
            else:
                keep.append(item)
        widgets: list[Widget] = []
        for item in gone:
            if item.mounted:
                widget = await self._release(item)
                self._kept_chars -= item.kept_chars  # what _release just counted
                if widget is not None:
                    widgets.append(widget)
        if widgets:
            await self.remove_children(widgets)
        self._items = keep
        self._lo, self._hi = max(lo, 0), max(hi, 0)

    # -- paging ---------------------------------------------------------------------------
    async def show_earlier(self, count: int = PAGE) -> bool:
        """Mount up to ``count`` entries before the first mounted one; False if none."""
        if self._lo == 0 or self._paging:
            return False
        self._paging = True
        try:
            lo = max(0, self._lo - count)
            widgets = [self._build(item) for item in self._items[lo : self._lo]]
            await self.mount_all(widgets, after=self._earlier)
            for item in self._items[lo : self._lo]:
                await self._after_mount(item)
            self._lo = lo
            if self._hi - self._lo > READING_WINDOW:
                # Leave the end: later entries are kept as data until scrolled to.
                await self._unmount_range(self._lo + READING_WINDOW, self._hi)
                self._hi = self._lo + READING_WINDOW
            self._show_more()
            return True
        finally:
            self._paging = False

    async def show_later(self, count: int = PAGE) -> bool:
        """Mount up to ``count`` entries after the last mounted one; False if none."""
        if self.following or self._paging:
            return False
        self._paging = True
        try:
            hi = min(len(self._items), self._hi + count)
            widgets = [self._build(item) for item in self._items[self._hi : hi]]
            await self.mount_all(widgets, before=self._later)
            for item in self._items[self._hi : hi]:
                await self._after_mount(item)
            self._hi = hi
            if self._hi - self._lo > READING_WINDOW:
                drop = self._hi - READING_WINDOW
                await self._unmount_range(self._lo, drop, keep_view=True)
                self._lo = drop
            self._show_more()
            return True
        finally:
            self._paging = False

    async def show_latest(self) -> None:
        """Mount the newest entries again and follow the end (after reading back)."""
        if not self.following:
            await self._unmount_range(self._lo, self._hi)
            self._lo = self._hi = max(0, len(self._items) - self.window)
            await self.show_later(self.window)
        self._show_more()
        self.anchor()
        self._new_below.display = False

    async def action_follow(self) -> None:
        """Go to the end and follow new output again (the End key)."""
        await self.show_latest()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Page entries in when the user scrolls to either end of what is mounted."""
        super().watch_scroll_y(old_value, new_value)
        if self._new_below.display and self.following and not self._anchor_released:
            # Scrolled back to the end: Textual anchored the log again; it follows.
            self._new_below.display = False
        if self._paging or not self.is_mounted:
            return
        if new_value <= 0 < old_value and self._lo > 0:
            self.call_later(self._page_up)
        elif new_value >= self.max_scroll_y > old_value and not self.following:
            self.call_later(self.show_later)

    async def _page_up(self) -> None:
        before = self.virtual_size.height
        if await self.show_earlier():
            # Keep the entry the user was reading in view: what came above pushes it down.
            def keep() -> None:
                added = self.virtual_size.height - before
                if added > 0:
                    self.scroll_to(y=added, animate=False, immediate=True)

            self.call_after_refresh(keep)

    def _show_more(self) -> None:
        """Say at either end how many entries are not mounted."""
        earlier = self._lo
        later = len(self._items) - self._hi
        self._earlier.display = earlier > 0
        self._later.display = later > 0
        if earlier:
            self._earlier.update(
                Content(f"⋯ {earlier:,} earlier entr{'y' if earlier == 1 else 'ies'} · scroll up")
            )
        if later:
            self._later.update(
                Content(f"⋯ {later:,} later entr{'y' if later == 1 else 'ies'} · scroll down")
            )
