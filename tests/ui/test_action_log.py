"""The action log driven through Textual's Pilot: thoughts, cards, notices, cap and anchor."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static

from autogpt_tui.ui.widgets.action_card import ActionCard, summarize_call
from autogpt_tui.ui.widgets.action_log import READING_WINDOW, ActionLog
from autogpt_tui.ui.widgets.agent_thought import AgentThought


class LogApp(App[None]):
    """A host for one action log."""

    def __init__(self, max_entries: int = 200) -> None:
        super().__init__()
        self.max_entries = max_entries

    def compose(self) -> ComposeResult:
        yield ActionLog(max_entries=self.max_entries)


def shown(widget: Widget) -> str:
    """The text ``widget`` puts on screen (its own lines, not its children's)."""
    width, height = widget.size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


def shown_all(widget: Widget) -> str:
    """The text ``widget`` and all its descendants put on screen."""
    return "\n".join(shown(node) for node in widget.walk_children(Widget, with_self=True))


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for ``condition`` to hold (a stream renders on its own schedule): the app
    handles what is pending between checks, and the check fails after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await pilot.pause()


def rendered(log: ActionLog, text: str) -> Callable[[], bool]:
    """A check that step 1's thought has rendered ``text`` (not only received it)."""

    def check() -> bool:
        thought = log.thought(1)
        return thought is not None and text in thought.source

    return check


async def test_streamed_thought_renders_as_markdown() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.begin_step(1)
        for fragment in ["# Pl", "an\n", "\nFirst ", "I read.\n\n- on", "e\n- ", "two\n"]:
            await log.append_thought(1, fragment)
        thought = log.thought(1)
        assert isinstance(thought, AgentThought)
        await until(pilot, lambda: "• two" in shown(thought))
        await pilot.pause()
        lines = [line.rstrip() for line in shown(thought).splitlines()]
        # Markdown's marks become layout: the heading's "#" goes, items get bullets.
        assert lines == ["  Plan", "", "  First I read.", "", "  • one", "  • two"]
        heading = thought.render_line(0)
        assert any(seg.style is not None and seg.style.bold for seg in heading if seg.text.strip())
        assert thought.source == "# Plan\n\nFirst I read.\n\n- one\n- two\n"
        header = log.query_one(".step-header", Static)
        assert shown(header).strip().startswith("step 1")


async def test_append_without_begin_creates_the_entry() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.append_thought(7, "thinking")
        assert log.step_count == 1
        thought = log.thought(7)
        assert thought is not None
        await until(pilot, lambda: "thinking" in shown(thought))
        assert thought.source == "thinking"


async def test_reset_clears_the_thought() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.begin_step(1)
        await log.append_thought(1, "first attempt that was cut")
        await log.append_thought(1, " short")
        await log.reset_thought(1)
        thought = log.thought(1)
        assert thought is not None
        assert thought.source == ""
        await log.append_thought(1, "second attempt")
        await until(pilot, lambda: "second attempt" in shown(thought))
        await pilot.pause()
        assert "first" not in shown(thought)
        assert thought.source == "second attempt"


async def test_cards_move_through_their_states() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.begin_step(3)
        await log.append_thought(3, "I will write the file.")
        arguments = {"path": "a.txt", "content": "x" * 5000}
        await log.show_action(3, "write_file", arguments, waiting=True)
        (card,) = log.cards(3)
        assert card.has_class("-waiting")
        await pilot.pause()
        text = shown(card)
        assert "write_file" in text and "a.txt" in text and "5,000 bytes" in text
        assert "xxxx" not in text
        assert "waiting for approval" in text
        assert not (log.thought(3) or AgentThought()).streaming

        log.action_rejected(3, "use b.txt")
        await pilot.pause()
        assert card.has_class("-rejected") and not card.has_class("-waiting")
        assert "rejected: use b.txt" in shown(card)

        await log.show_action(3, "write_file", {"path": "b.txt", "content": "y"}, waiting=False)
        first, second = log.cards(3)
        assert first is card and second.has_class("-running")
        log.action_executed(3, True, "wrote 1 byte")
        log.action_committed(3, "abc1234", "Write b.txt")
        await pilot.pause()
        assert second.has_class("-ok") and second.has_class("-committed")
        assert card.has_class("-rejected") and not card.has_class("-committed")
        text = shown(second)
        assert "done" in text and "wrote 1 byte" in text
        assert "committed abc1234 Write b.txt" in text


async def test_approving_the_waiting_call_reuses_its_card() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)):
        log = app.query_one(ActionLog)
        arguments = {"command": "pytest -q"}
        await log.show_action(1, "run_command", arguments, waiting=True)
        await log.show_action(1, "run_command", arguments, waiting=False)
        (card,) = log.cards(1)
        assert card.has_class("-running")
        log.action_approved(1)
        assert card.state == "running"


async def test_failed_action_is_styled_as_an_error_with_its_output_head() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.show_action(2, "run_command", {"command": "pytest -q"}, waiting=False)
        output = "\n".join(f"line {n}" for n in range(1, 11)) + "\n"
        log.action_executed(2, False, "\x1b[31m" + output)
        await pilot.pause()
        (card,) = log.cards(2)
        assert card.has_class("-error") and not card.has_class("-ok")
        text = shown(card)
        assert "failed" in text and "$ pytest -q" in text
        assert "line 1" in text and "line 6" in text and "line 7" not in text
        assert "4 more lines" in text
        assert "\x1b" not in text
        # The output lines carry the theme's error colour.
        error = app.theme_variables["text-error"].lower()
        width, height = card.size
        strips = card.render_lines(Region(0, 0, width, height))
        colours = {
            segment.style.color.triplet.hex
            for strip in strips
            if "line 1" in strip.text
            for segment in strip
            if "line" in segment.text
            and segment.style
            and segment.style.color
            and segment.style.color.triplet
        }
        assert colours == {error}


async def test_markup_in_model_and_tool_text_shows_literally() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.append_thought(1, "say [bold]x[/] now")
        await log.show_action(1, "run_command", {"command": "echo [red]hi[/red]"}, waiting=False)
        log.action_executed(1, True, "[bold]x[/]")
        await log.notice("retrying after [b]429[/b]", severity="warning")
        thought = log.thought(1)
        assert thought is not None
        await until(pilot, lambda: "say [bold]x[/] now" in shown(thought))
        (card,) = log.cards(1)
        await until(pilot, lambda: "[bold]x[/]" in shown(card))
        assert "echo [red]hi[/red]" in shown(card)
        notice = log.query_one(".notice", Static)
        assert notice.has_class("-warning")
        # Drawn once laid out, which a loaded machine may not have done yet.
        await until(pilot, lambda: "retrying after [b]429[/b]" in shown(notice))


async def test_notice_severity_and_one_line() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.notice("model unreachable\nTraceback ...", severity="error")
        await log.notice("odd", severity="nonsense")
        await pilot.pause()
        first, second = log.query(".notice").results(Static)
        assert first.has_class("-error") and second.has_class("-information")
        assert shown(first).strip() == "model unreachable …"


@pytest.mark.slow
async def test_entry_cap_holds_after_250_steps() -> None:
    app = LogApp(max_entries=200)
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        for step in range(1, 251):
            await log.begin_step(step)
            await log.show_action(step, "list_files", {}, waiting=False)
            if step % 50 == 0:
                await log.notice(f"checkpoint {step}")
        await pilot.pause()
        # 200 steps are kept, but only the newest entries are widgets.
        assert log.step_count == 200
        assert log.mounted_count == log.window
        assert len(log.query(".step")) + len(log.query(".notice")) == log.window
        assert len(log.query(ActionCard)) < log.window
        assert log.card_data(1) == [] and len(log.card_data(51)) == 1
        assert log.cards(51) == [] and not log.entry_mounted(51)
        assert len(log.cards(250)) == 1 and log.entry_mounted(250)


async def test_log_stays_anchored_at_the_bottom() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 20)) as pilot:
        log = app.query_one(ActionLog)
        for step in range(1, 16):
            await log.begin_step(step)
            await log.append_thought(step, f"thought {step}\n\nmore text")
            await log.show_action(step, "read_file", {"path": f"f{step}.py"}, waiting=False)
        await pilot.pause()
        assert log.max_scroll_y > 0
        assert log.scroll_y == log.max_scroll_y

        # The user scrolls up: new content no longer drags the view down. (At the top of
        # what is mounted the earlier entries are paged in, above what the user reads:
        # the view stays on it, away from the bottom.)
        log.scroll_home(animate=False)
        await pilot.pause()
        await pilot.pause()
        top = log.scroll_y
        assert top < log.max_scroll_y
        await log.begin_step(16)
        await log.notice("finished")
        await pilot.pause()
        assert log.scroll_y == top

        # Back at the bottom, the log follows again.
        log.scroll_end(animate=False)
        await pilot.pause()
        await log.begin_step(17)
        await log.show_action(17, "finish", {"summary": "done"}, waiting=False)
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y


def test_summaries_leave_out_bulky_values() -> None:
    assert summarize_call("write_file", {"path": "a.py", "content": "é\n" * 3}) == (
        "a.py · 9 bytes, 3 lines"
    )
    assert summarize_call("edit_file", {"path": "a.py", "old_text": "a", "new_text": "b\nc"}) == (
        "a.py · replaces 1 line with 2"
    )
    assert summarize_call("run_command", {"command": "ls -la"}) == "$ ls -la"
    assert summarize_call("read_file", {"path": "a.py", "start_line": 3, "end_line": 9}) == (
        "a.py:3-9"
    )
    long = summarize_call("run_command", {"command": "x" * 1000})
    assert len(long) <= 170 and long.endswith("…")
    assert summarize_call("run_command", {"command": "a\nb\nc"}) == "$ a ⏎ … (+2 lines)"
    assert summarize_call("mystery", {"a": 1, "b": [1, 2]}) == "a=1, b=[1, 2]"


async def test_older_thoughts_fold_into_the_header() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 40)) as pilot:
        log = app.query_one(ActionLog)
        log.open_thoughts = 2
        for step in range(1, 5):
            await log.begin_step(step)
            await log.append_thought(step, f"## Plan {step}\n\nRead [b]file[/b] {step}.\n")
            await log.show_action(step, "read_file", {"path": f"f{step}.py"}, waiting=False)
        await pilot.pause()
        folded = [step for step in range(1, 5) if (log.thought(step) or AgentThought()).folded]
        assert folded == [1, 2]
        first = log.thought(1)
        assert first is not None
        assert not first.lines  # folded: kept as text, nothing drawn
        assert first.text == "## Plan 1\n\nRead [b]file[/b] 1.\n"
        headers = list(log.query(".step-header").results(Static))
        assert "▸ Plan 1" in shown(headers[0])
        assert "▾" in shown(headers[3])

        # A click on a folded step's header opens it; the log does not fold it again.
        log.scroll_home(animate=False)
        await pilot.pause()
        await pilot.click(headers[0])
        await until(pilot, lambda: "Read [b]file[/b] 1." in shown(first))
        assert not first.folded
        await log.begin_step(5)
        assert not first.folded
        await log.toggle_thought(1)
        assert first.folded


async def test_a_long_thought_keeps_only_its_last_blocks_mounted() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.begin_step(1)
        for n in range(1, 61):
            await log.append_thought(1, f"Paragraph {n} of a long answer.\n\n")
            if n % 20 == 0:  # let a flush through while it streams
                await until(pilot, rendered(log, f"Paragraph {n} of"))
        thought = log.thought(1)
        assert thought is not None
        await thought.stop()
        await pilot.pause()
        assert thought.max_blocks == 30
        assert thought.shown_blocks == 30 and thought.hidden_blocks == 30
        lines = thought.lines
        assert lines[0] == "⋯ 30 earlier blocks not shown · click to show all"
        assert lines[1:3] == ["Paragraph 31 of a long answer.", ""]
        assert lines[-1] == "Paragraph 60 of a long answer."
        # A click on the note shows every block.
        log.scroll_to_widget(thought, animate=False, top=True)
        await pilot.pause()
        await pilot.click(thought, offset=(5, 0))
        await until(pilot, lambda: thought.shown_blocks == 60)
        assert thought.hidden_blocks == 0
        assert thought.lines[0] == "Paragraph 1 of a long answer."


async def fill(log: ActionLog, steps: int, *, first: int = 1) -> None:
    """``steps`` steps through the log as the agent makes them: thought, card, commit."""
    for step in range(first, first + steps):
        await log.begin_step(step)
        await log.append_thought(step, f"## Plan {step}\n\nI read f{step}.py and fix it.\n")
        await log.show_action(step, "read_file", {"path": f"f{step}.py"}, waiting=False)
        log.action_executed(step, True, f"contents of f{step}.py")
        log.action_committed(step, f"{step:07x}", f"Read f{step}.py")


async def test_a_long_log_keeps_a_bounded_number_of_widgets() -> None:
    app = LogApp(max_entries=2000)
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await fill(log, 30)
        await pilot.pause()
        after_30 = sum(1 for _ in log.walk_children())
        await fill(log, 270, first=31)
        await log.notice("finished")
        await pilot.pause()
        # 300 steps are kept as data, and the widgets are those of the window only.
        assert log.step_count == 300
        assert log.mounted_count == log.window
        assert sum(1 for _ in log.walk_children()) <= after_30
        assert not log.entry_mounted(1) and log.entry_mounted(300)
        # An entry that is not mounted still has its thought and its card.
        assert log.thought(1) is None
        assert log.thought_text(1) == "## Plan 1\n\nI read f1.py and fix it.\n"
        (card,) = log.card_data(1)
        assert card.state == "ok" and card.commit == ("0000001", "Read f1.py")
        assert card.output == ["contents of f1.py"]
        note = log.query_one("#log-earlier", Static)
        assert note.display and f"{301 - log.window} earlier entries" in shown(note)


async def test_scrolling_back_shows_an_old_entry_in_full() -> None:
    app = LogApp(max_entries=2000)
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await fill(log, 80)
        log.action_executed(2, False, "late output for step 2")  # while not mounted
        await pilot.pause()
        assert not log.entry_mounted(2)

        # The user scrolls up, again and again: earlier entries are mounted page by page.
        deadline = asyncio.get_running_loop().time() + 60
        while not log.entry_mounted(2):
            assert asyncio.get_running_loop().time() < deadline, "step 2 never came back"
            log.scroll_to(y=1, animate=False, immediate=True)
            await pilot.pause()
            log.scroll_home(animate=False, immediate=True)
            await pilot.pause()
        await pilot.pause()
        assert log.mounted_count <= READING_WINDOW  # the end was let go meanwhile
        assert not log.following and not log.entry_mounted(80)
        (card,) = log.cards(2)
        assert card.has_class("-error") and "late output for step 2" in shown(card)
        thought = log.thought(2)
        assert thought is not None and thought.folded
        header = log.query(".step-header").results(Static)
        step_2 = next(h for h in header if shown(h).strip().startswith("step 2 "))
        assert "▸ Plan 2" in shown(step_2)
        # Opening it shows its whole thought, rendered again from the text kept.
        await log.toggle_thought(2)
        await until(pilot, lambda: "I read f2.py and fix it." in shown(thought))
        assert thought.lines[0] == "Plan 2"

        # New steps meanwhile are kept as data; back at the end they show.
        await fill(log, 1, first=81)
        assert not log.entry_mounted(81)
        await log.show_latest()
        await pilot.pause()
        assert log.following and log.entry_mounted(81) and not log.entry_mounted(2)
        assert log.mounted_count == log.window


async def test_an_opened_thought_stays_open_when_it_comes_back_into_view() -> None:
    app = LogApp(max_entries=2000)
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await fill(log, 2)
        await log.append_thought(3, "## Plan 3\n\nI read f3.py.\n")
        await log.show_action(3, "read_file", {"path": "f3.py"}, waiting=True)
        log.action_rejected(3, "not yet")
        await log.toggle_thought(3)  # the user folds the newest...
        await log.show_action(3, "finish", {"summary": "done"}, waiting=False)
        log.action_committed(3, "0000003", "Finish: done")
        await fill(log, 40, first=4)
        await pilot.pause()
        assert not log.entry_mounted(3)
        while not log.entry_mounted(3):
            assert await log.show_earlier()
        await pilot.pause()
        thought = log.thought(3)
        assert thought is not None and thought.folded  # ...and it stays folded
        assert [c.tool for c in log.cards(3)] == ["read_file", "finish"]
        await log.toggle_thought(3)
        await until(pilot, lambda: bool(thought.lines))
        assert not thought.folded


async def test_streaming_updates_the_last_block_only() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.begin_step(1)
        await log.append_thought(1, "First paragraph.\n\nSecond paragraph")
        await until(pilot, rendered(log, "Second paragraph"))
        thought = log.thought(1)
        assert thought is not None
        await until(pilot, lambda: "Second paragraph" in shown(thought))
        first_line = thought.render_line(0)
        for word in [" grows", " word", " by", " word."]:
            await log.append_thought(1, word)
        await until(pilot, lambda: "word by word." in shown(thought))
        # The finished block was neither parsed nor drawn again: its line is the same
        # strip; the open block took the words.
        assert thought.render_line(0) is first_line
        assert thought.lines == ["First paragraph.", "", "Second paragraph grows word by word."]
        assert thought.streaming
        await log.begin_step(2)
        assert not thought.streaming
        assert thought.text == "First paragraph.\n\nSecond paragraph grows word by word."


async def test_a_burst_of_blocks_wraps_only_the_blocks_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fast stream hands many blocks over at once; those beyond the cap are never laid
    out into lines (wrapping them only to drop them would be a fast stream's cost)."""
    from autogpt_tui.ui.markdown_lines import wrap

    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.begin_step(1)
        await log.append_thought(1, "Opening paragraph.\n\n")
        await until(pilot, rendered(log, "Opening paragraph."))
        thought = log.thought(1)
        assert thought is not None
        await until(pilot, lambda: "Opening paragraph." in shown(thought))
        wrapped: list[str] = []

        def counting_wrap(pieces: list[Any], width: int) -> list[Any]:
            wrapped.append(pieces[0].body.plain if pieces else "")
            return wrap(pieces, width)

        monkeypatch.setattr("autogpt_tui.ui.widgets.agent_thought.wrap", counting_wrap)
        built: list[bool] = []
        from autogpt_tui.ui.markdown_lines import pieces as make_pieces

        def counting_pieces(tokens: Any, *, live: bool = False) -> Any:
            built.append(live)
            return make_pieces(tokens, live=live)

        monkeypatch.setattr("autogpt_tui.ui.widgets.agent_thought.pieces", counting_pieces)
        burst = "".join(f"Paragraph {n} of a burst.\n\n" for n in range(1, 101))
        await log.append_thought(1, burst)
        await thought.stop()
        await pilot.pause()
        assert thought.shown_blocks == thought.max_blocks == 30
        assert thought.hidden_blocks == 71
        # The 29 settled blocks kept were wrapped once each, the 71 others never (the
        # open, last block is wrapped again on each update).
        assert sorted(set(wrapped)) == sorted(f"Paragraph {n} of a burst." for n in range(71, 101))
        assert all(wrapped.count(f"Paragraph {n} of a burst.") == 1 for n in range(71, 100))
        # Nor were the dropped blocks turned into pieces: 29 settled blocks and the last
        # one, once done (the open block's live parses aside).
        assert built.count(False) == 30
        assert thought.lines[-1] == "Paragraph 100 of a burst."
        assert thought.text == "Opening paragraph.\n\n" + burst


async def test_a_long_code_block_streams_its_newest_lines_and_shows_all_when_done() -> None:
    from autogpt_tui.ui.markdown_lines import LIVE_CODE_LINES

    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.begin_step(1)
        await log.append_thought(1, "Here it is:\n\n```python\n")
        for n in range(LIVE_CODE_LINES + 10):
            await log.append_thought(1, f"x_{n} = {n}\n")
        thought = log.thought(1)
        assert thought is not None
        last = f"x_{LIVE_CODE_LINES + 9} = {LIVE_CODE_LINES + 9}"
        await until(pilot, lambda: last in shown(thought))
        assert "  ⋯ 10 more lines above" in thought.lines
        await log.begin_step(2)  # the stream ends: the block is drawn in full
        await pilot.pause()
        assert "  ⋯ 10 more lines above" not in thought.lines
        assert thought.lines[2:4] == ["  x_0 = 0", "  x_1 = 1"]
