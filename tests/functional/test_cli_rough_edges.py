"""The CLI's rough edges, as a user meets them: step labels `log` prints given back to
`show` and `rate`, an export with nothing in it, and a run that leaves stderr clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autogpt_tui.core.history import History
from autogpt_tui.core.records import StepRecord
from tests.conftest import git
from tests.functional.test_cli import assert_one_sentence, cli, snapshot
from tests.functional.test_run_cli import call, events, run
from tests.support.scripted_llm import ScriptedLLM

SESSION_A = "939dc3e718"
SESSION_B = "93aa000001"


@pytest.fixture
def two_sessions(workspace: Path) -> Path:
    """Session A takes steps 1–3, then session B steps 1–2; the user has a file of theirs."""
    with History.open(workspace) as h:
        for session, count in ((SESSION_A, 3), (SESSION_B, 2)):
            for n in range(1, count + 1):
                rel = f"{session}-{n}.txt"
                (workspace / rel).write_text(f"{session} {n}\n")
                h.commit_step(
                    session=session,
                    step=n,
                    tool="write_file",
                    policy="default",
                    summary=f"Write {rel}",
                    record=StepRecord(
                        thought=f"{session} thinks {n}",
                        tool="write_file",
                        arguments={"path": rel},
                    ),
                    paths=[rel],
                )
    (workspace / "mine.txt").write_text("the user's own uncommitted file\n")
    return workspace


def shown_step(workspace: Path, rev: str) -> tuple[str, int]:
    result = cli("show", str(workspace), rev, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return data["session"], data["step"]


def test_show_takes_every_label_log_prints(two_sessions: Path) -> None:
    printed = cli("log", str(two_sessions)).stdout.splitlines()
    labels = [line.split()[1] for line in printed]
    expected = [(SESSION_B, 2), (SESSION_B, 1), (SESSION_A, 3), (SESSION_A, 2), (SESSION_A, 1)]
    assert labels == [f"{session}#{n}" for session, n in expected]
    for label in labels:
        session, number = label.split("#")
        assert shown_step(two_sessions, label) == (session, int(number))
    # A bare number or #N: the most recent session that has that step.
    assert shown_step(two_sessions, "2") == (SESSION_B, 2)
    assert shown_step(two_sessions, "#3") == (SESSION_A, 3)
    assert shown_step(two_sessions, "939#2") == (SESSION_A, 2)
    # Readable output too, from the current folder.
    result = cli("show", "#1", cwd=two_sessions)
    assert result.returncode == 0 and f"{SESSION_B} thinks 1" in result.stdout


def test_rate_takes_the_same_labels(two_sessions: Path) -> None:
    result = cli("rate", str(two_sessions), f"{SESSION_A}#2", "-1", "--comment", "wrong")
    assert result.returncode == 0, result.stderr
    entries = json.loads(cli("log", str(two_sessions), "--json").stdout)
    rated = [(e["session"], e["step"]) for e in entries if e["reward"] == -1]
    assert rated == [(SESSION_A, 2)]


def test_an_undone_step_is_shown_by_its_label(two_sessions: Path) -> None:
    assert cli("undo", str(two_sessions)).returncode == 0
    result = cli("show", str(two_sessions), f"{SESSION_B}#2")
    assert result.returncode == 0 and "state    undone" in result.stdout


@pytest.mark.parametrize(
    ("rev", "sentence"),
    [
        ("7", "There is no step 7 in this workspace"),
        ("#7", "There is no step 7 in this workspace"),
        ("93aa#3", "No session starting with '93aa' has a step 3"),
        ("93#2", f"'93#2' is ambiguous: sessions {SESSION_A}, {SESSION_B}"),
        ("nonsense", "does not name a commit"),
    ],
)
def test_a_label_naming_no_step_or_several_is_one_sentence_and_status_2(
    two_sessions: Path, rev: str, sentence: str
) -> None:
    before = snapshot(two_sessions)
    for command in (["show", rev], ["rate", rev, "+1"]):
        result = cli(command[0], str(two_sessions), *command[1:])
        assert_one_sentence(result, 2, sentence)
        assert result.stdout == ""
    assert snapshot(two_sessions) == before


def test_show_help_says_what_a_label_names() -> None:
    result = cli("show", "--help")
    assert "most recent session" in result.stdout and "SESSION#4" in result.stdout


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize("form", ["sft", "dpo"])
def test_an_export_with_nothing_in_it_says_so_and_leaves_the_file_alone(
    two_sessions: Path, tmp_path: Path, form: str
) -> None:
    if form == "sft":
        # Every step rated down: none is fit to learn from.
        for entry in json.loads(cli("log", str(two_sessions), "--json").stdout):
            assert cli("rate", str(two_sessions), entry["sha"], "-1").returncode == 0
    result = cli("export", str(two_sessions), "--format", form)
    assert result.returncode == 0 and result.stdout == ""
    assert_one_sentence(result, 0, f"Nothing to export as {form}")
    earlier = tmp_path / "earlier.jsonl"
    earlier.write_text('{"an earlier export": true}\n')
    result = cli("export", str(two_sessions), "--format", form, "-o", str(earlier))
    assert_one_sentence(result, 0, f"Nothing to export as {form}")
    assert result.stdout == ""
    assert earlier.read_text() == '{"an earlier export": true}\n'
    missing = tmp_path / "new.jsonl"
    assert cli("export", str(two_sessions), "--format", form, "-o", str(missing)).returncode == 0
    assert not missing.exists()


def test_an_export_of_a_workspace_without_steps_says_there_are_none(workspace: Path) -> None:
    History.open(workspace).close()
    result = cli("export", str(workspace), "--format", "dpo")
    assert_one_sentence(result, 0, "Nothing to export: there are no agent steps yet.")
    assert result.stdout == ""


def test_an_export_with_something_in_it_still_writes_it(two_sessions: Path, tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    result = cli("export", str(two_sessions), "--format", "sft", "-o", str(out))
    assert result.returncode == 0 and result.stderr == ""
    assert "Wrote 5 sft examples" in result.stdout
    assert len(out.read_text().splitlines()) == 5


def test_export_help_documents_the_exit_status() -> None:
    assert "also when there is nothing to export" in " ".join(
        cli("export", "--help").stdout.split()
    )


# --------------------------------------------------------------------------- stderr


def test_a_run_leaves_stderr_free_of_the_watchers_shutdown(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    # The last steps make files change while the run ends, so that the file watcher
    # still has events on their way in when it is stopped (what made watchdog complain).
    churn = "for i in $(seq 300); do echo $i > f$i; mv f$i g$i; done"
    llm_server.script(
        call("write_file", path="hello.py", content="print('hello')\n"),
        call("run_command", command=churn),
        call("write_file", path="last.txt", content="last\n"),
        call("finish", summary="done"),
    )
    result = run(str(workspace), "--goal", "g", "--base-url", llm_server.base_url, "--json")
    assert result.returncode == 0, result.stderr
    assert events(result)[-1]["type"] == "finished"
    assert "queue_events" not in result.stderr
    assert result.stderr == "", result.stderr
    assert git(workspace, "status", "--porcelain") == ""
