"""Agent events queued next to each other reach the UI as one (``AgentEventMessage.can_replace``).

A fast stream posts a message per token; when the UI thread falls behind, Textual asks
each message whether the next one can stand for both. Thought fragments of one step
merge (in order, up to ``MERGE_CHARS``); a status or usage update gives way to the next.
"""

from __future__ import annotations

from textual.app import App

from autogpt_tui.core.events import Event, StatusChanged, ThoughtDelta, UsageUpdated
from autogpt_tui.ui.messages import MERGE_CHARS, AgentEventMessage


def usage(total: int) -> UsageUpdated:
    """A usage update with ``total`` tokens."""
    return UsageUpdated(prompt_tokens=total, completion_tokens=0, total_tokens=total, cost_usd=0.0)


def test_fragments_of_one_step_merge_in_order() -> None:
    first, later = (
        AgentEventMessage(ThoughtDelta(3, "Hello")),
        AgentEventMessage(ThoughtDelta(3, ", world")),
    )
    assert first.can_replace(later)
    assert later.event == ThoughtDelta(3, "Hello, world")


def test_what_must_stay_apart_does_not_merge() -> None:
    cases: list[tuple[Event, Event]] = [
        (ThoughtDelta(3, "a"), ThoughtDelta(4, "b")),  # another step
        (ThoughtDelta(3, "a", reasoning=True), ThoughtDelta(3, "b")),  # reasoning apart
        (ThoughtDelta(3, "a"), StatusChanged("running")),
        (StatusChanged("thinking"), usage(5)),
        (ThoughtDelta(3, "x" * MERGE_CHARS), ThoughtDelta(3, "y")),  # a merged one is full
    ]
    for mine, later in cases:
        message = AgentEventMessage(later)
        assert not AgentEventMessage(mine).can_replace(message), (mine, later)
        assert message.event is later  # untouched


def test_a_status_or_usage_gives_way_to_the_next_of_its_kind() -> None:
    assert AgentEventMessage(StatusChanged("thinking")).can_replace(
        AgentEventMessage(StatusChanged("running"))
    )
    assert AgentEventMessage(usage(5)).can_replace(AgentEventMessage(usage(9)))


class Recorder(App[None]):
    """Handles agent events by writing down what each handled message carried."""

    def __init__(self) -> None:
        super().__init__()
        self.handled: list[Event] = []

    def on_agent_event_message(self, message: AgentEventMessage) -> None:
        self.handled.append(message.event)


async def test_a_burst_queued_at_once_is_handled_as_a_few_messages() -> None:
    app = Recorder()
    async with app.run_test() as pilot:
        words = [f"w{n} " for n in range(400)]
        # All posted before the app handles any: the queue holds the whole burst.
        for word in words:
            app.post_message(AgentEventMessage(ThoughtDelta(1, word)))
        app.post_message(AgentEventMessage(StatusChanged("thinking")))
        app.post_message(AgentEventMessage(StatusChanged("running")))
        app.post_message(AgentEventMessage(ThoughtDelta(2, "next")))
        await pilot.pause()
        thoughts = [e for e in app.handled if isinstance(e, ThoughtDelta) and e.step == 1]
        assert "".join(e.text for e in thoughts) == "".join(words)
        assert all(len(e.text) <= MERGE_CHARS for e in thoughts)
        assert len(thoughts) <= len("".join(words)) // (MERGE_CHARS // 2) + 1
        # The later status alone, then step 2's fragment: order kept.
        assert app.handled[len(thoughts) :] == [StatusChanged("running"), ThoughtDelta(2, "next")]
