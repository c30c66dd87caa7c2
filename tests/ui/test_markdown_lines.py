"""Markdown as wrapped, styled lines (the thought's renderer), on its own: no app."""

from __future__ import annotations

import pytest
from textual.content import Content

from autogpt_tui.ui.markdown_lines import (
    CODE_INLINE,
    HIGHLIGHT_MAX_LINES,
    LIVE_CODE_LINES,
    inline_content,
    parser,
    pieces,
    wrap,
)


def lines(source: str, width: int = 40) -> list[str]:
    return [line.plain for line in wrap(pieces(parser().parse(source)), width)]


def styles_at(content: Content, text: str) -> list[str]:
    """The styles of the spans covering ``text`` in ``content``."""
    start = content.plain.index(text)
    return [
        str(span.style)
        for span in content.spans
        if span.start <= start and span.end >= start + len(text)
    ]


def test_paragraphs_wrap_at_word_ends_with_one_blank_line_between() -> None:
    source = "A first paragraph that is long enough to wrap here.\n\nSecond one.\n"
    assert lines(source, 24) == [
        "A first paragraph that",
        "is long enough to wrap",
        "here.",
        "",
        "Second one.",
    ]


def test_list_items_hang_under_their_text_and_nest() -> None:
    source = "- an item long enough to wrap twice over\n- b\n  - nested item\n"
    assert lines(source, 20) == [
        "• an item long",
        "  enough to wrap",
        "  twice over",
        "• b",
        "  • nested item",
    ]


def test_ordered_lists_keep_their_numbers_and_start() -> None:
    assert lines("3. three\n4. four\n") == ["3. three", "4. four"]


def test_headings_lose_their_marks_and_are_styled() -> None:
    (heading, blank, text) = wrap(pieces(parser().parse("## Plan\n\nText.\n")), 40)
    assert (heading.plain, blank.plain, text.plain) == ("Plan", "", "Text.")
    style = " ".join(str(span.style) for span in heading.spans)
    assert "$markdown-h2-color" in style and "bold" in style


def test_code_keeps_its_lines_and_is_cut_not_wrapped() -> None:
    source = "```python\ndef f(x):\n    return x * 2  # a comment that is long\n```\n"
    assert lines(source, 24) == [
        "  def f(x):",
        "      return x * 2  # a ",
        "  comment that is long",
    ]
    highlighted = wrap(pieces(parser().parse(source)), 80)[0]
    assert highlighted.spans, "code is highlighted"


def test_quotes_keep_their_bar_on_every_line() -> None:
    assert lines("> quoted text that wraps at the end\n\nafter\n", 20) == [
        "▌ quoted text that",
        "▌ wraps at the end",
        "",
        "after",
    ]


def test_tables_show_their_cells_in_rows() -> None:
    assert lines("| a | b |\n|---|---|\n| 1 | 2 |\n") == ["a │ b", "1 │ 2"]


def test_inline_styles_and_markup_shown_as_typed() -> None:
    (inline,) = [t for t in parser().parse("Say `code`, **bold**, *em*, [b]x[/b].\n") if t.children]
    content = inline_content(inline)
    assert content.plain == "Say code, bold, em, [b]x[/b]."
    assert styles_at(content, "code") == [CODE_INLINE]
    assert styles_at(content, "bold") == ["bold"]
    assert styles_at(content, "em") == ["italic"]
    assert styles_at(content, "[b]x[/b]") == []


def test_an_unclosed_fence_and_empty_text_do_not_fail() -> None:
    assert lines("```\nopen fence") == ["  open fence"]
    assert lines("") == []
    assert lines("\n\n\n") == []


def test_a_live_code_block_shows_its_newest_lines_plain_and_all_once_done() -> None:
    """A block still streaming in is parsed again on every update: its cost must not
    grow with it (a long code block highlighted on every update froze the log)."""
    code = "".join(f"x_{n} = {n}\n" for n in range(LIVE_CODE_LINES + 40))
    tokens = parser().parse(f"```python\n{code}")
    live = wrap(pieces(tokens, live=True), 80)
    assert live[0].plain == "  ⋯ 40 more lines above"
    assert [line.plain for line in live[1:]] == [
        f"  x_{n} = {n}" for n in range(40, LIVE_CODE_LINES + 40)
    ]
    assert not any(line.spans for line in live[1:])  # not highlighted while live
    done = wrap(pieces(tokens), 80)
    assert [line.plain for line in done] == [f"  x_{n} = {n}" for n in range(LIVE_CODE_LINES + 40)]
    assert any(line.spans for line in done)


def test_a_very_long_code_block_is_shown_plain() -> None:
    code = "".join(f"x_{n} = {n}\n" for n in range(HIGHLIGHT_MAX_LINES + 1))
    done = wrap(pieces(parser().parse(f"```python\n{code}```\n")), 80)
    assert len(done) == HIGHLIGHT_MAX_LINES + 1
    assert not any(line.spans for line in done)


@pytest.mark.parametrize(
    ("thought", "header"),
    [
        ("**Plan**: fix `slug.py` now\n\nmore", "Plan: fix slug.py now"),
        ("\n## Heading *one*", "Heading one"),
        ("- see [the docs](https://example.com)", "see the docs"),
        ("> 1. first **step**", "first step"),
        ("plain words", "plain words"),
    ],
)
def test_a_folded_thoughts_preview_reads_as_words_not_markdown(thought: str, header: str) -> None:
    """Issue 12: a folded step's header showed raw ``**``."""
    from autogpt_tui.ui.widgets.log_entries import preview

    assert preview(thought) == header
