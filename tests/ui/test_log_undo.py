"""The action log after rejections and undos: one thought per reply, undone steps marked,
and a divider where a new branch of the conversation starts (issue 12, items 4 and 8)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import Static

from autogpt_tui.core.records import StepCommit
from autogpt_tui.ui.log_branches import BranchTracker, divider_text, step_ranges
from autogpt_tui.ui.widgets.action_card import ActionCard
from autogpt_tui.ui.widgets.action_log import ActionLog
from tests.ui.test_action_log import LogApp, shown, until


def commit(step: int, *, undone: bool = False, session: str = "s1") -> StepCommit:
    """The history's view of step ``step`` (its sha is made from its session and number)."""
    return StepCommit(
        sha=f"{session}{step:038d}"[:40],
        parent=None,
        session=session,
        step=step,
        tool="write_file",
        policy="default",
        summary=f"Write f{step}.py",
        timestamp=step,
        undone=undone,
    )


def history(*steps: StepCommit) -> Sequence[StepCommit]:
    """Steps newest first, as the history panel reads them."""
    return sorted(steps, key=lambda s: s.step, reverse=True)


async def take_step(log: ActionLog, step: int, *, session: str = "s1") -> None:
    """One step as the agent's events bring it: thought, card, output, commit."""
    await log.append_thought(step, f"Thought of step {step}.")
    await log.end_thought(step)
    await log.show_action(
        step, "write_file", {"path": f"f{step}.py", "content": "x"}, waiting=False
    )
    log.action_executed(step, True, f"wrote f{step}.py")
    log.action_committed(step, commit(step, session=session).sha, f"Write f{step}.py")


def headers(log: ActionLog) -> list[str]:
    return [shown(h).strip() for h in log.query(".step-header").results(Static)]


def notices(log: ActionLog) -> list[str]:
    return [shown(n).strip() for n in log.query(".notice").results(Static)]


async def test_a_thought_after_a_rejection_is_a_block_of_its_own() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 40)) as pilot:
        log = app.query_one(ActionLog)
        await log.append_thought(8, "Should I handle dashes too?")
        await log.end_thought(8)
        await log.show_action(8, "edit_file", {"path": "slug.py"}, waiting=True)
        log.action_rejected(8, "use a regex")
        first = log.thought(8)
        assert first is not None
        await log.append_thought(8, "Spare turn: a regex then.")
        second = log.thought(8)
        assert second is not None and second is not first
        await until(pilot, lambda: "Spare turn" in second.source)
        assert first.text == "Should I handle dashes too?"  # nothing glued on
        assert second.text == "Spare turn: a regex then."
        assert log.entry_count(8) == 2
        await pilot.pause()
        assert headers(log)[1].startswith("step 8 · attempt 2")
        # The new proposal's card goes with its own thought.
        await log.show_action(8, "edit_file", {"path": "slug.py", "x": 1}, waiting=False)
        assert len(log.cards(8)) == 1


async def test_a_reply_without_a_call_and_the_next_one_are_two_thoughts() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)):
        log = app.query_one(ActionLog)
        await log.append_thought(2, "Let me think.")
        await log.end_thought(2)
        # The retry of a cut stream voids only the reply being retried, not the last one.
        await log.reset_thought(2)
        assert log.thought_text(2) == "Let me think."
        await log.append_thought(2, "Now I read it.")
        assert log.thought_text(2) == "Now I read it."
        assert log.entry_count(2) == 2


async def test_a_reply_that_said_nothing_leaves_no_empty_entry() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)):
        log = app.query_one(ActionLog)
        await log.append_thought(1, "")  # a reasoning model opens the thought first
        await log.end_thought(1)
        log_entries = log.entry_count(1)
        await log.append_thought(1, "Hello")
        assert log.entry_count(1) == log_entries == 1


async def test_a_committed_step_number_is_never_appended_to() -> None:
    """Another session numbers its steps from 1 again: its thought starts a new entry."""
    app = LogApp()
    async with app.run_test(size=(100, 30)):
        log = app.query_one(ActionLog)
        await take_step(log, 1)
        await log.append_thought(1, "A new session's first thought.")
        assert log.entry_count(1) == 2
        assert log.thought_text(1) == "A new session's first thought."
        assert log.card_data(1) == []


async def test_a_stopped_run_leaves_the_abandoned_thought_alone() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)):
        log = app.query_one(ActionLog)
        await log.append_thought(4, "Half a thou")  # paused while the model answered
        await log.end_thoughts()
        await log.append_thought(4, "Step 4, taken again.")
        assert log.thought_text(4) == "Step 4, taken again."
        assert log.entry_count(4) == 2


async def test_undone_steps_are_marked_and_a_new_step_starts_a_new_branch() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 60)) as pilot:
        log = app.query_one(ActionLog)
        for n in range(1, 4):
            await take_step(log, n)
        log.sync_history(history(*(commit(n) for n in range(1, 4))))
        assert not any(log.undone(n) for n in range(1, 4))

        # Undo 2 and 3: their cards say so, dimmed; step 1 is as it was.
        log.sync_history(history(commit(1), commit(2, undone=True), commit(3, undone=True)))
        await pilot.pause()
        assert log.undone(2) and log.undone(3) and not log.undone(1)
        (card,) = log.cards(3)
        assert card.has_class("-undone")
        text = shown(card)
        assert "↶ undone" in text and "✓ done" not in text and "committed" not in text
        assert "was " + commit(3).sha[:8] in text
        assert "↶ undone" in headers(log)[2] and "↶ undone" not in headers(log)[0]
        step_3 = card.parent
        assert step_3 is not None and step_3.has_class("-undone")

        # The next step (numbered 4: numbers are never reused) starts with a divider.
        await take_step(log, 4)
        await pilot.pause()
        assert notices(log) == [divider_text([2, 3])]
        assert "── new branch after undoing #2–#3 ──" in notices(log)
        assert headers(log)[-1].startswith("step 4")
        assert not log.cards(4)[0].has_class("-undone")
        # Only once: the step after it continues the same branch.
        log.sync_history(
            history(commit(1), commit(2, undone=True), commit(3, undone=True), commit(4))
        )
        await take_step(log, 5)
        assert len(notices(log)) == 1


async def test_redo_unmarks_a_step_and_owes_no_divider() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 40)) as pilot:
        log = app.query_one(ActionLog)
        for n in (1, 2):
            await take_step(log, n)
        log.sync_history(history(commit(1), commit(2)))
        log.sync_history(history(commit(1), commit(2, undone=True)))
        log.sync_history(history(commit(1), commit(2)))  # redone
        await pilot.pause()
        assert not log.undone(2)
        (card,) = log.cards(2)
        assert not card.has_class("-undone") and "✓ done" in shown(card)
        await take_step(log, 3)
        assert notices(log) == []


async def test_steps_undone_before_the_app_started_owe_no_divider() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)):
        log = app.query_one(ActionLog)
        log.sync_history(history(commit(1), commit(2, undone=True)))  # the first reload
        await take_step(log, 3)
        assert notices(log) == []


async def test_an_entry_out_of_view_keeps_its_undone_mark() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(ActionLog)
        for n in range(1, 31):
            await take_step(log, n)
        steps = [commit(n) for n in range(1, 31)]
        log.sync_history(history(*steps))
        log.sync_history(history(*steps[:1], commit(2, undone=True), *steps[2:]))
        assert not log.entry_mounted(2) and log.undone(2)
        assert log.card_data(2)[0].undone
        while not log.entry_mounted(2):
            assert await log.show_earlier()
        await pilot.pause()
        (card,) = log.cards(2)
        assert card.has_class("-undone") and "↶ undone" in shown(card)


def test_step_ranges_read_as_short_ranges() -> None:
    assert step_ranges([10, 8, 9]) == "#8–#10"
    assert step_ranges([3]) == "#3"
    assert step_ranges([5, 3, 6]) == "#3, #5–#6"


def test_the_tracker_names_the_steps_undone_since_the_last_new_step() -> None:
    tracker = BranchTracker()
    tracker.sync(history(commit(1), commit(2)))
    tracker.sync(history(commit(1), commit(2, undone=True)))
    assert tracker.pending == [2]
    assert tracker.take() == "── new branch after undoing #2 ──"
    assert tracker.take() is None


async def test_a_rejected_proposal_of_an_undone_step_still_says_rejected() -> None:
    app = LogApp()
    async with app.run_test(size=(100, 40)) as pilot:
        log = app.query_one(ActionLog)
        await log.append_thought(1, "First idea.")
        await log.show_action(1, "write_file", {"path": "a.py"}, waiting=True)
        log.action_rejected(1, "not a.py")
        await take_step(log, 1)
        log.sync_history(history(commit(1)))
        log.sync_history(history(commit(1, undone=True)))
        await pilot.pause()
        rejected, committed = log.query(ActionCard).results(ActionCard)
        assert rejected.has_class("-undone") and committed.has_class("-undone")
        assert "✗ rejected: not a.py" in shown(rejected) and "↶ undone" not in shown(rejected)
        assert "↶ undone" in shown(committed)
        assert all("↶ undone" in h for h in headers(log))
