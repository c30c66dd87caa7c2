"""Step labels (`4`, `#4`, `SESSION#4`) resolved on real repositories: what each names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.errors import NotAnAgentStep
from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepCommit, StepRecord
from autogpt_tui.core.step_labels import AmbiguousStepLabel, parse_label
from tests.conftest import git
from tests.unit.history_support import write


@pytest.fixture
def history(workspace: Path) -> Iterator[History]:
    h = History.open(workspace)
    yield h
    h.close()


def take(h: History, session: str, n: int) -> StepCommit:
    """Step ``n`` of ``session``, writing its own file."""
    rel = f"{session}-{n}.txt"
    write(h.root, rel, f"{session} {n}\n")
    return h.commit_step(
        session=session,
        step=n,
        tool="write_file",
        policy="default",
        summary=f"{session} step {n}",
        record=StepRecord(thought="t", tool="write_file", arguments={"path": rel}),
        paths=[rel],
    )


@pytest.fixture
def two_sessions(history: History) -> dict[str, StepCommit]:
    """Session 939dc3e718 takes steps 1–3, then session 93aa000001 steps 1–2."""
    steps = {f"939dc3e718#{n}": take(history, "939dc3e718", n) for n in (1, 2, 3)}
    steps |= {f"93aa000001#{n}": take(history, "93aa000001", n) for n in (1, 2)}
    return steps


def test_parse_label_reads_the_three_forms_and_nothing_else() -> None:
    assert parse_label("4") == parse_label("4")
    bare, hashed, full = parse_label("4"), parse_label("#4"), parse_label("9a#12")
    assert bare is not None and (bare.step, bare.session, bare.bare) == (4, None, True)
    assert hashed is not None and (hashed.step, hashed.session, hashed.bare) == (4, None, False)
    assert full is not None and (full.step, full.session, full.bare) == (12, "9a", False)
    for rev in ("HEAD", "HEAD~1", "#", "a#b", "4#", "# 4", "a b#4", "1#2#3"):
        assert parse_label(rev) is None, rev


def test_a_number_names_the_newest_step_with_it_on_the_branch(
    history: History, two_sessions: dict[str, StepCommit]
) -> None:
    # Step 2 exists in both sessions: the most recent session's wins.
    assert history.resolve("2").sha == two_sessions["93aa000001#2"].sha
    assert history.resolve("#2").sha == two_sessions["93aa000001#2"].sha
    # Only the first session has a step 3.
    found = history.resolve("#3")
    assert found.sha == two_sessions["939dc3e718#3"].sha and found.record is not None


def test_a_session_label_takes_the_full_id_or_a_prefix(
    history: History, two_sessions: dict[str, StepCommit]
) -> None:
    assert history.resolve("939dc3e718#2").sha == two_sessions["939dc3e718#2"].sha
    assert history.resolve("939#1").sha == two_sessions["939dc3e718#1"].sha
    assert history.resolve("93a#1").sha == two_sessions["93aa000001#1"].sha
    # A prefix both sessions share is ambiguous only for a number both have.
    assert history.resolve("93#3").sha == two_sessions["939dc3e718#3"].sha
    with pytest.raises(AmbiguousStepLabel, match="ambiguous: sessions 939dc3e718, 93aa000001"):
        history.resolve("93#2")


def test_an_exact_session_id_wins_over_a_longer_one_it_prefixes(history: History) -> None:
    short = take(history, "abc", 1)
    take(history, "abcdef", 1)
    assert history.resolve("abc#1").sha == short.sha


def test_labels_that_name_no_step_are_one_sentence(
    history: History, two_sessions: dict[str, StepCommit]
) -> None:
    with pytest.raises(NotAnAgentStep, match=r"^There is no step 9 in this workspace"):
        history.resolve("9")
    with pytest.raises(NotAnAgentStep, match=r"^There is no step 9 in this workspace"):
        history.resolve("#9")
    with pytest.raises(NotAnAgentStep, match="No session starting with '93aa' has a step 3"):
        history.resolve("93aa#3")
    with pytest.raises(NotAnAgentStep, match="No session starting with 'ffff' has a step 1"):
        history.resolve("ffff#1")


def test_undone_steps_are_found_after_the_branch_and_a_new_step_wins(
    history: History, two_sessions: dict[str, StepCommit]
) -> None:
    history.undo(1)  # 93aa000001#2 leaves the branch
    # On the branch, the first session's step 2 is now the newest one.
    assert history.resolve("2").sha == two_sessions["939dc3e718#2"].sha
    # Named by its session, the undone step is still found, marked undone.
    gone = history.resolve("93aa000001#2")
    assert gone.sha == two_sessions["93aa000001#2"].sha and gone.undone
    # A new step 2 of that session, on the branch, wins over the undone one.
    again = take(history, "93aa000001", 2)
    assert history.resolve("93aa000001#2").sha == again.sha
    assert history.resolve("2").sha == again.sha


def test_a_step_only_undone_is_found_by_its_number(history: History) -> None:
    first = take(history, "s1", 1)
    history.undo(1)
    found = history.resolve("1")
    assert found.sha == first.sha and found.undone


def test_a_number_git_reads_as_another_step_is_ambiguous(
    history: History, two_sessions: dict[str, StepCommit]
) -> None:
    # A tag named "2" on step 1: `2` names two different steps.
    git(history.root, "tag", "2", two_sessions["939dc3e718#1"].sha)
    with pytest.raises(AmbiguousStepLabel, match="write #2 for the step"):
        history.resolve("2")
    assert history.resolve("#2").sha == two_sessions["93aa000001#2"].sha
    # A tag on the same step, or on a commit that is no step, is no ambiguity.
    git(history.root, "tag", "1", two_sessions["93aa000001#1"].sha)
    assert history.resolve("1").sha == two_sessions["93aa000001#1"].sha
    git(history.root, "tag", "3", "HEAD~5")
    assert history.resolve("3").sha == two_sessions["939dc3e718#3"].sha


def test_a_number_that_is_no_step_is_still_read_by_git(
    history: History, two_sessions: dict[str, StepCommit]
) -> None:
    git(history.root, "tag", "7", two_sessions["939dc3e718#2"].sha)
    assert history.resolve("7").sha == two_sessions["939dc3e718#2"].sha


def test_rating_takes_a_label_too(history: History, two_sessions: dict[str, StepCommit]) -> None:
    rated = history.rate("939dc3e718#2", -1, "wrong")
    assert rated.sha == two_sessions["939dc3e718#2"].sha and rated.reward == -1
