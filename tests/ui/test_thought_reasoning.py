"""A reasoning model's reasoning in the thought widget: muted, apart from the answer."""

from __future__ import annotations

from textual.widgets import Static

from autogpt_tui.ui.widgets.action_log import ActionLog
from autogpt_tui.ui.widgets.agent_thought import REASONING_TAIL_CHARS, AgentThought
from tests.ui.test_action_log import LogApp, shown, until


def reasoning_view(thought: AgentThought) -> Static | None:
    views = list(thought.query(".thought-reasoning").results(Static))
    return views[0] if views else None


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
        await until(pilot, lambda: reasoning_view(thought) is not None)
        await until(pilot, lambda: bool(thought.query("MarkdownParagraph")))
        view = reasoning_view(thought)
        assert view is not None
        await until(pilot, lambda: "one write" in shown(view))
        # Plain text: markup in the reasoning shows as typed.
        assert "The user wants [b]a.txt[/b]; one write." in shown(view)
        assert thought.reasoning == "The user wants [b]a.txt[/b]; one write."
        assert thought.text == "Writing **a.txt**."  # the answer alone
        # Muted, and above the answer's first block.
        assert view.styles.color != thought.styles.color
        children = list(thought.children)
        assert children.index(view) < children.index(thought.query_one("MarkdownParagraph"))


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
        await until(pilot, lambda: reasoning_view(thought) is not None)
        view = reasoning_view(thought)
        assert view is not None
        await until(pilot, lambda: "w1999" in str(view.render()))
        rendered = str(view.render())
        assert rendered.startswith("…") and "w0 " not in rendered
        assert len(rendered) <= REASONING_TAIL_CHARS + 1
        assert thought.reasoning == "".join(words)
        await log.reset_thought(1)
        assert thought.reasoning == ""
        await until(pilot, lambda: reasoning_view(thought) is None)
