"""A reasoning model's reasoning in the thought widget: muted, apart from the answer."""

from __future__ import annotations

from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.agent_thought import REASONING_TAIL_CHARS, AgentThought
from tests.ui.test_action_log import LogApp, shown, until


async def test_reasoning_is_shown_muted_above_the_answer_and_kept_apart() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.begin_step(1)
        await log.append_thought(1, "")
        thought = log.thought(1)
        assert isinstance(thought, AgentThought)
        for piece in ["The user wants ", "[b]a.txt[/b]", "; one write."]:
            await thought.write_reasoning(piece)
        await log.append_thought(1, "Writing **a.txt**.")
        await until(pilot, lambda: "Writing a.txt." in shown(thought))
        await until(pilot, lambda: "one write" in shown(thought))
        # Plain text, above the answer: markup in the reasoning shows as typed.
        assert thought.lines == ["The user wants [b]a.txt[/b]; one write.", "", "Writing a.txt."]
        assert thought.reasoning == "The user wants [b]a.txt[/b]; one write."
        assert thought.text == "Writing **a.txt**."  # the answer alone
        # Muted: the reasoning's colour is not the answer's.
        (reasoning_segment, *_) = [s for s in thought.render_line(0) if s.text.strip()]
        (answer_segment, *_) = [s for s in thought.render_line(2) if s.text.strip()]
        assert reasoning_segment.style is not None and answer_segment.style is not None
        assert reasoning_segment.style.color != answer_segment.style.color
        assert reasoning_segment.style.italic


async def test_long_reasoning_shows_only_its_tail_and_a_reset_clears_it() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        await log.append_thought(1, "")
        thought = log.thought(1)
        assert thought is not None
        words = [f"w{n} " for n in range(2_000)]
        for word in words:
            await thought.write_reasoning(word)
        await until(pilot, lambda: "w1999" in " ".join(thought.lines))
        rendered = "".join(thought.lines)
        assert rendered.startswith("…") and "w0 " not in rendered
        assert len(rendered) <= REASONING_TAIL_CHARS + 1
        assert thought.reasoning == "".join(words)
        await log.reset_thought(1)
        assert thought.reasoning == ""
        await until(pilot, lambda: not thought.lines)
