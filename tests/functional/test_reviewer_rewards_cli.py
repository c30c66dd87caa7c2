"""A reviewer's ratings beside the user's, from the command line on a real repository:
``rewards --json`` (per-arm counts, agreement), ``export --source``, ``log``/``show``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.learning import DPOLine, SFTLine
from tests.unit.learning.steps import make_step

MODEL = "review-model"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autogpt_tui", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.fixture
def rated(workspace: Path) -> list[str]:
    """Five steps: both rated alike, both rated otherwise, only the reviewer (+1, -1),
    and none."""
    with History.open(workspace) as h:
        shas = [make_step(h, n).sha for n in range(1, 6)]
        h.rate(shas[0], 1, "good")
        h.rate(shas[0], 1, "clean change", source="reviewer", model=MODEL)
        h.rate(shas[1], 1, "looks fine", source="reviewer", model=MODEL)
        h.rate(shas[1], -1, "wrong file")
        h.rate(shas[2], 1, "adds the test", source="reviewer", model=MODEL)
        h.rate(shas[3], -1, "breaks the build", source="reviewer", model=MODEL)
    return shas


def test_rewards_json_shows_both_sources_and_the_agreement(
    workspace: Path, rated: list[str]
) -> None:
    result = cli("rewards", str(workspace), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [arm] = data["arms"]
    assert (arm["rated"], arm["mean_reward"]) == (2, 0.0)
    # Steps 3 and 4: only the reviewer rated them, each weighing 0.5.
    assert (arm["reviewer_rated"], arm["reviewer_mean"], arm["reviewer_weight"]) == (2, 0.0, 0.5)
    assert (arm["alpha"], arm["beta"]) == pytest.approx((2.5, 2.5))
    assert data["reviewer_weight"] == 0.5
    agreement = data["agreement"]
    assert (agreement["both_rated"], agreement["agreed"], agreement["agreement_rate"]) == (
        2,
        1,
        0.5,
    )
    [d] = agreement["disagreements"]
    assert (d["sha"], d["step"], d["user"], d["reviewer"]) == (rated[1], 2, -1, 1)
    assert (d["reason"], d["model"], d["user_comment"]) == ("looks fine", MODEL, "wrong file")

    human = cli("rewards", str(workspace))
    assert human.returncode == 0, human.stderr
    assert "reviewed" in human.stdout
    assert "The reviewer agreed with you on 1 of the 2 steps you both rated (50%)." in human.stdout
    assert "s1#2 you -1, reviewer +1 (looks fine)" in human.stdout


def test_a_workspace_config_cannot_make_the_reviewer_weigh_more(
    workspace: Path, rated: list[str]
) -> None:
    (workspace / ".autogpt-tui.toml").write_text("[rewards]\nreviewer_weight = 1.0\n")
    data = json.loads(cli("rewards", str(workspace), "--json").stdout)
    assert data["reviewer_weight"] == 0.5
    (workspace / ".autogpt-tui.toml").write_text("[rewards]\nreviewer_weight = 0.0\n")
    data = json.loads(cli("rewards", str(workspace), "--json").stdout)
    [arm] = data["arms"]
    assert (arm["alpha"], arm["beta"]) == (2.0, 2.0)  # the user's +1 and -1 only


def _sources(out: str) -> list[tuple[int, str]]:
    """(the step trained on, its source) per SFT line."""
    found = []
    for text in out.splitlines():
        line = SFTLine.model_validate_json(text)
        assert line.metadata is not None
        target = json.loads(line.messages[-1].tool_calls[0].function.arguments)  # type: ignore[index]
        found.append((int(target["path"].split("_")[1].split(".")[0]), line.metadata["source"]))
    return found


def test_export_filters_by_the_source_of_the_rating(workspace: Path, rated: list[str]) -> None:
    default = cli("export", str(workspace), "--format", "sft")
    assert default.returncode == 0, default.stderr
    # Yours: what was exported before reviewers existed (step 2 rated down by you); the
    # reviewer's -1 on step 4 changes nothing here.
    assert _sources(default.stdout) == [(1, "user"), (3, "user"), (4, "user"), (5, "user")]
    assert cli("export", str(workspace), "--format", "sft", "--source", "user").stdout == (
        default.stdout
    )
    reviewer = cli("export", str(workspace), "--format", "sft", "--source", "reviewer")
    assert _sources(reviewer.stdout) == [(3, "reviewer")]
    every = cli("export", str(workspace), "--format", "sft", "--source", "all")
    assert _sources(every.stdout) == [(1, "user"), (3, "reviewer"), (5, "user")]
    bad = cli("export", str(workspace), "--format", "sft", "--source", "model")
    assert bad.returncode == 2 and bad.stdout == ""
    assert "invalid choice: 'model'" in bad.stderr


def test_a_preference_pair_resting_on_the_reviewer_is_marked_so(workspace: Path) -> None:
    with History.open(workspace) as h:
        first = make_step(h, 1, "write_file", {"path": "a.txt", "content": "1"})
        h.undo(negative=False)  # no judgement of the user's: the reviewer's counts
        second = make_step(h, 2, "write_file", {"path": "b.txt", "content": "2"})
        h.rate(first.sha, -1, "wrong name", source="reviewer", model=MODEL)
        h.rate(second.sha, 1, "right name", source="reviewer", model=MODEL)
    mine = cli("export", str(workspace), "--format", "dpo")
    assert mine.stdout == "" and "Nothing to export as dpo" in mine.stderr
    out = cli("export", str(workspace), "--format", "dpo", "--source", "reviewer").stdout
    [pair] = [DPOLine.model_validate_json(text) for text in out.splitlines()]
    assert pair.metadata == {"source": "reviewer"}
    assert "b.txt" in json.dumps(pair.model_dump()["preferred_output"])
    # The user's +1 on the second step: the pair still rests partly on the reviewer.
    with History.open(workspace) as h:
        h.rate(second.sha, 1, "yes")
    assert cli("export", str(workspace), "--format", "dpo").stdout == ""
    out = cli("export", str(workspace), "--format", "dpo", "--source", "all").stdout
    assert [json.loads(text)["metadata"] for text in out.splitlines()] == [{"source": "reviewer"}]


def test_log_and_show_carry_the_reviewers_rating(workspace: Path, rated: list[str]) -> None:
    log = json.loads(cli("log", str(workspace), "--json").stdout)
    by_step: dict[int, dict[str, Any]] = {entry["step"]: entry for entry in log}
    assert by_step[2]["reward"] == -1 and by_step[2]["reward_source"] == "user"
    assert by_step[2]["review"] == {"value": 1.0, "comment": "looks fine", "model": MODEL}
    assert by_step[3]["reward"] is None
    assert by_step[3]["review"] == {"value": 1.0, "comment": "adds the test", "model": MODEL}
    assert by_step[5]["review"] is None
    shown = cli("show", str(workspace), "2")
    assert shown.returncode == 0, shown.stderr
    assert "rating   -1 (user)  wrong file" in shown.stdout
    assert f"review   +1 (reviewer by {MODEL}; yours stands)  looks fine" in shown.stdout
    shown = json.loads(cli("show", str(workspace), "3", "--json").stdout)
    assert shown["reward"] is None and shown["review"]["model"] == MODEL
