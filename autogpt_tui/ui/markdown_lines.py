"""Markdown as wrapped lines of `Content`: the thought's renderer, one widget per thought.

Textual's `Markdown` widget mounts a widget per block (a list, its items and bullets
each one more), and a fast stream mounted them faster than Textual could apply CSS and
lay out the screen. Here a block becomes `Piece`s (a run of text with the prefix its
first and following lines get: a bullet and a hanging indent, a quote bar) that wrap
into lines at any width. Styles are Textual style strings with the theme's variables
(``$markdown-h2-color``), resolved when the lines are drawn, so a theme change only
redraws.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token
from textual.content import Content, Span
from textual.highlight import highlight

CODE_INLINE = "$text-warning on $warning 10%"
"""Style of `inline code`."""
LINK = "underline $text-primary"
"""Style of a link's text (the address is not shown)."""
QUOTE = "$text-muted"
"""Style of the bar before quoted lines."""
RULE = "$text-muted"
"""Style of a horizontal rule."""
LIVE_CODE_LINES = 60
"""Lines of a code block shown while it streams in (the newest); all once it is done."""
HIGHLIGHT_MAX_LINES = 400
"""Longest code block highlighted (a longer one is shown plain, as editors do)."""
_INLINE_STYLES = {"em_open": "italic", "strong_open": "bold", "s_open": "strike"}
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Piece:
    """A run of text and its prefixes: ``first`` before its first line, ``rest`` after.

    ``wrap`` False (code) cuts lines at the width instead of wrapping at word ends.
    """

    body: Content
    first: Content = field(default_factory=Content)
    rest: Content = field(default_factory=Content)
    wrap: bool = True


BLANK = Piece(Content())
"""An empty line between blocks."""


@functools.cache
def parser() -> MarkdownIt:
    """The parser the thoughts use (CommonMark with tables and strikethrough).

    One, shared: making one costs about as much as a parse, and a parse keeps no state.
    """
    return MarkdownIt("gfm-like")


def plain_inline(text: str) -> str:
    """``text`` read as Markdown's inline syntax, its words only: ``**Plan**: fix `x` ``
    is ``Plan: fix x``."""
    tokens = parser().parseInline(text)
    return "".join(inline_content(t).plain for t in tokens if t.type == "inline")


def inline_content(token: Token) -> Content:
    """An inline token (a paragraph's or heading's text) as styled `Content`."""
    text: list[str] = []
    spans: list[Span] = []
    opened: list[tuple[str, int]] = []
    position = 0

    def add(part: str) -> None:
        nonlocal position
        text.append(part)
        position += len(part)

    def close() -> None:
        if opened:
            style, start = opened.pop()
            if position > start:
                spans.append(Span(start, position, style))

    for child in token.children or ():
        kind = child.type
        if kind == "text":
            add(_SPACES.sub(" ", child.content))
        elif kind == "softbreak":
            add(" ")
        elif kind == "hardbreak":
            add("\n")
        elif kind == "code_inline":
            opened.append((CODE_INLINE, position))
            add(child.content)
            close()
        elif kind in _INLINE_STYLES:
            opened.append((_INLINE_STYLES[kind], position))
        elif kind == "link_open":
            opened.append((LINK, position))
        elif kind == "image":
            add(f"[image: {child.attrs.get('alt') or child.content or child.attrs.get('src', '')}]")
        elif kind == "html_inline":
            add(child.content)
        elif kind.endswith("_close"):
            close()
    return Content("".join(text), spans=spans)


class _Prefixes:
    """The prefixes of the containers (list items, quotes) a block sits in."""

    def __init__(self) -> None:
        self._levels: list[list[Content]] = []  # [first-line prefix, following lines]

    def push(self, first: Content, rest: Content) -> None:
        self._levels.append([first, rest])

    def pop(self) -> None:
        if self._levels:
            self._levels.pop()

    @property
    def rest(self) -> Content:
        """The prefix of a following line (no bullet)."""
        return Content.assemble(*(level[1] for level in self._levels))

    def take(self) -> tuple[Content, Content]:
        """The prefixes of the next line and of the ones after; a bullet is used once."""
        first = Content.assemble(*(level[0] for level in self._levels))
        rest = Content.assemble(*(level[1] for level in self._levels))
        for level in self._levels:
            level[0] = level[1]
        return first, rest


def pieces(tokens: Sequence[Token], *, live: bool = False) -> list[Piece]:
    """The pieces of one or more blocks' tokens (as ``MarkdownIt.parse`` gives them).

    ``live``: the block is still streaming in and is parsed again on every update, so
    its cost must not grow with it. A code block then shows its last `LIVE_CODE_LINES`
    lines, not highlighted, under a note of how many are above; it is drawn in full
    once it is done.
    """
    out: list[Piece] = []
    prefixes = _Prefixes()
    lists: list[list[int | None]] = []  # per open list: the next number (None: bullets)

    def emit(body: Content, *, wrap: bool = True, indent: str = "") -> None:
        first, rest = prefixes.take()
        out.append(Piece(body, first + indent, rest + indent, wrap))

    def blank() -> None:
        # One empty line between blocks, never two; inside a quote it keeps the bar.
        if out and out[-1].body.plain:
            bar = prefixes.rest.rstrip()
            out.append(Piece(Content(), bar, bar))

    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind == "heading_open":
            level = int(token.tag[1:]) if token.tag[1:].isdigit() else 1
            inline = tokens[index + 1] if index + 1 < len(tokens) else None
            body = inline_content(inline) if inline is not None else Content()
            style = f"$markdown-h{level}-color $markdown-h{level}-text-style"
            if level <= 2:
                style = "bold " + style
            emit(body.stylize_before(style))
            blank()
            index += 3
            continue
        if kind == "paragraph_open":
            inline = tokens[index + 1] if index + 1 < len(tokens) else None
            if inline is not None:
                emit(inline_content(inline))
            if not token.hidden:
                blank()
            index += 3
            continue
        if kind in ("fence", "code_block"):
            for line in _code_lines(token, live=live):
                emit(line, wrap=False, indent="  ")
            blank()
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = token.attrs.get("start", 1) if kind == "ordered_list_open" else None
            lists.append([int(start) if start is not None else None])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            if lists:
                lists.pop()
            if not lists:
                blank()
        elif kind == "list_item_open":
            number = lists[-1][0] if lists else None
            if number is None:
                bullet = Content.styled("• ", "$text-secondary")
            else:
                bullet = Content.styled(f"{number}. ", "$text-secondary")
                lists[-1][0] = number + 1
            prefixes.push(bullet, Content(" " * bullet.cell_length))
        elif kind == "list_item_close":
            prefixes.pop()
        elif kind == "blockquote_open":
            bar = Content.styled("▌ ", QUOTE)
            prefixes.push(bar, bar)
        elif kind == "blockquote_close":
            prefixes.pop()
            while out and not out[-1].body.plain:  # the quote's own blank line has its bar
                out.pop()
            blank()
        elif kind == "hr":
            emit(Content.styled("─" * 3, RULE))
            blank()
        elif kind == "html_block":
            for raw in token.content.rstrip("\n").split("\n"):
                emit(Content(raw), wrap=False)
            blank()
        elif kind == "table_open":
            index, rows = _table(tokens, index)
            for row in rows:
                emit(row)
            blank()
        index += 1
    while out and not out[-1].body.plain:
        out.pop()
    return out


def _code_lines(token: Token, *, live: bool) -> list[Content]:
    """A code block's lines: highlighted, unless it is ``live`` or longer than
    `HIGHLIGHT_MAX_LINES` (highlighting is most of the cost of a long block)."""
    code = token.content.rstrip("\n").expandtabs(4)
    lines = code.split("\n")
    if live:
        above = len(lines) - LIVE_CODE_LINES
        if above > 0:
            note = Content.styled(f"⋯ {above:,} more line{'s' if above > 1 else ''} above", RULE)
            return [note, *map(Content, lines[above:])]
        return [Content(line) for line in lines]
    if len(lines) > HIGHLIGHT_MAX_LINES:
        return [Content(line) for line in lines]
    language = token.info.strip().split(" ")[0] if token.info else ""
    return highlight(code, language=language or None).split("\n", allow_blank=True)


def _table(tokens: Sequence[Token], index: int) -> tuple[int, list[Content]]:
    """A table's rows as ``a │ b`` lines, and the index of its ``table_close``."""
    rows: list[Content] = []
    row: list[Content] = []
    while index < len(tokens) and tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "inline":
            row.append(inline_content(token))
        elif token.type == "tr_close":
            rows.append(Content.styled(" │ ", RULE).join(row))
            row = []
        index += 1
    return index, rows


def wrap(pieces_: Iterable[Piece], width: int) -> list[Content]:
    """The pieces as lines at most ``width`` cells wide."""
    lines: list[Content] = []
    for piece in pieces_:
        room = max(4, width - max(piece.first.cell_length, piece.rest.cell_length))
        if not piece.body.plain:
            lines.append(piece.first)
            continue
        if piece.wrap:
            body_lines = piece.body.wrap(room)
        else:
            body_lines = piece.body.fold(room) if piece.body.cell_length > room else [piece.body]
        for number, line in enumerate(body_lines):
            lines.append((piece.first if number == 0 else piece.rest) + line)
    return lines
