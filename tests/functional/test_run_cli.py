"""``autogpt-tui run``: the headless agent as a user runs it, against the scripted server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.support.scripted_llm import Fault, Reply, ScriptedLLM, ToolCall

KEY = "sk-test-run-cli-SECRET-42"


def run(
    *args: str,
    key: str | None = KEY,
    timeout: float = 60,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ) | (extra_env or {})
    if key is not None:
        env["OPENAI_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "autogpt_tui", "run", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def events(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def call(name: str, **arguments: Any) -> Reply:
    return Reply(f"Next: {name}.", tool_calls=[ToolCall(name, arguments)])


def test_run_json_prints_one_event_per_line_with_commits_and_a_final_outcome(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        call("write_file", path="hello.py", content="print('hello')\n"),
        call("run_command", command="python3 hello.py"),
        call("finish", summary="hello.py prints hello"),
    )
    result = run(
        str(workspace), "--goal", "Write hello.py", "--base-url", llm_server.base_url, "--json"
    )
    assert result.returncode == 0, result.stderr
    lines = events(result)
    assert all("type" in e for e in lines)
    commits = [e for e in lines if e["type"] == "commit"]
    assert [c["step"] for c in commits] == [1, 2, 3]
    head = git(workspace, "rev-parse", "HEAD").strip()
    assert commits[-1]["sha"] == head
    assert lines[-1]["type"] == "finished" and lines[-1]["outcome"] == "finished"
    assert (
        "hello"
        in next(
            e for e in lines if e["type"] == "executed" and e["action"]["tool"] == "run_command"
        )["output"]
    )
    assert KEY not in result.stdout + result.stderr
    log = json.loads(
        subprocess.run(
            [sys.executable, "-m", "autogpt_tui", "log", str(workspace), "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert [e["step"] for e in log] == [3, 2, 1]


def test_run_prints_readable_lines_without_json(workspace: Path, llm_server: ScriptedLLM) -> None:
    llm_server.script(call("write_file", path="a.txt", content="a"), call("finish", summary="ok"))
    result = run(str(workspace), "--goal", "g", "--base-url", llm_server.base_url)
    assert result.returncode == 0, result.stderr
    assert "step 1: write_file" in result.stdout
    assert "committed" in result.stdout
    assert "Finished after 2 steps: ok" in result.stdout


def test_run_keeps_secret_looking_files_out_of_the_first_commit(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    secrets = {
        ".env": b"OPENAI_API_KEY=sk-live-do-not-commit\n",
        "id_rsa": b"-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n",
        "certs/server.pem": b"-----BEGIN CERTIFICATE-----\n",
    }
    for name, data in secrets.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_bytes(data)
    llm_server.script(call("write_file", path="a.txt", content="a"), call("finish", summary="ok"))
    result = run(str(workspace), "--goal", "g", "--base-url", llm_server.base_url)
    assert result.returncode == 0, result.stderr
    notices = [line for line in result.stdout.splitlines() if "look like secrets" in line]
    assert len(notices) == 1
    assert all(name in notices[0] for name in secrets)
    first = git(workspace, "rev-list", "--max-parents=0", "HEAD").strip()
    in_first = git(workspace, "ls-tree", "-r", "--name-only", first).split()
    assert in_first == ["README.md", "src/app.py"]
    everywhere = git(workspace, "log", "--all", "--name-only", "--format=").split()
    assert not set(secrets) & set(everywhere)
    exclude = (workspace / ".git" / "info" / "exclude").read_text().splitlines()
    assert {"/.env", "/id_rsa", "/certs/server.pem"} <= set(exclude)
    for name, data in secrets.items():
        assert (workspace / name).read_bytes() == data


def test_a_budget_running_out_exits_3(workspace: Path, llm_server: ScriptedLLM) -> None:
    llm_server.script(*[call("write_file", path=f"f{n}", content=str(n)) for n in range(3)])
    result = run(
        str(workspace),
        "--goal",
        "g",
        "--base-url",
        llm_server.base_url,
        "--max-steps",
        "2",
        "--json",
    )
    assert result.returncode == 3, result.stderr
    assert events(result)[-1]["outcome"] == "budget"
    assert (
        len(
            json.loads(
                subprocess.run(
                    [sys.executable, "-m", "autogpt_tui", "log", str(workspace), "--json"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
        )
        == 2
    )


def test_an_unreachable_model_exits_1_after_retries(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    env_retries = {"AUTOGPT_TUI_MODEL__MAX_RETRIES": "1"}
    os.environ.update(env_retries)
    llm_server.script(Fault(503), Fault(503))
    result = run(str(workspace), "--goal", "g", "--base-url", llm_server.base_url, "--json")
    assert result.returncode == 1
    final = events(result)[-1]
    assert final["type"] == "finished" and final["outcome"] == "error"
    assert "Traceback" not in result.stderr
    assert git(workspace, "status", "--porcelain") == ""


def test_no_model_configured_is_one_sentence_and_exit_1(workspace: Path) -> None:
    result = run(str(workspace), "--goal", "g", key=None)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("autogpt-tui: No model is configured")
    assert "OPENAI_API_KEY" in result.stderr and "--base-url" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2(workspace: Path) -> None:
    assert run(str(workspace)).returncode == 2  # no --goal
    assert run(str(workspace), "--goal", "g", "--max-steps", "0").returncode == 2
    assert run(str(workspace), "--goal", "g", "--mode", "yolo").returncode == 2
    assert run(str(workspace), "--goal", " ").returncode == 2


@pytest.mark.parametrize(
    "args",
    [
        [],  # no --goal: argparse exits
        ["--goal", "g", "--mode", "yolo"],
        ["--goal", "g", "--max-steps", "0"],  # our own checks raise UsageError
        ["--goal", " "],
    ],
)
def test_a_usage_error_leaves_no_thread_running(
    workspace: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # A thread still importing modules while the interpreter shuts down can crash it: the
    # child of test_usage_errors_exit_2 once died of SIGSEGV after printing its message.
    from autogpt_tui.cli import main

    before = set(threading.enumerate())
    code: int | str | None
    try:
        code = main(["run", str(workspace), *args])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    assert "autogpt-tui:" in capsys.readouterr().err
    assert set(threading.enumerate()) - before == set()


def test_a_failed_run_joins_its_threads_before_returning(tmp_path: Path) -> None:
    from autogpt_tui.cli import main

    before = set(threading.enumerate())
    assert main(["run", str(tmp_path / "nope"), "--goal", "g"]) == 1
    assert set(threading.enumerate()) - before == set()


def test_a_missing_workspace_exits_1(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope"), "--goal", "g", "--base-url", "http://127.0.0.1:9/v1")
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_step_mode_headless_refuses_every_action_and_says_so(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        call("write_file", path="a.txt", content="a"),
        call("write_file", path="b.txt", content="b"),
        call("finish", summary="s"),
    )
    result = run(
        str(workspace),
        "--goal",
        "g",
        "--base-url",
        llm_server.base_url,
        "--mode",
        "step",
        "--max-steps",
        "1",
        "--json",
    )
    rejected = [e for e in events(result) if e["type"] == "action_rejected"]
    assert rejected and "approval" in rejected[0]["reason"]
    assert result.returncode == 1
    assert "no user is there to approve them" in events(result)[-1]["message"]
    assert not (workspace / "a.txt").exists()


# --- run's mode: --mode, else the settings' mode, else auto --------------------------------


def _run_a_command(
    workspace: Path,
    llm_server: ScriptedLLM,
    *flags: str,
    config: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """One run whose agent asks to create made.txt by a command, then finishes."""
    llm_server.script(
        call("run_command", command="echo agent > made.txt"),
        call("finish", summary="done"),
    )
    env = dict(extra_env or {})
    if config is not None:
        user_file = workspace.parent / f"{workspace.name}-config.toml"
        user_file.write_text(config)
        env["AUTOGPT_TUI_CONFIG"] = str(user_file)
    return run(
        str(workspace),
        "--goal",
        "g",
        "--base-url",
        llm_server.base_url,
        "--json",
        *flags,
        extra_env=env,
    )


def _refused_commands(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [
        e
        for e in events(result)
        if e["type"] == "action_rejected" and e["action"]["tool"] == "run_command"
    ]


def _the_agent_was_told(llm_server: ScriptedLLM, reason: str) -> bool:
    """Whether the request after the refusal carried it back to the model."""
    return any(
        message.get("role") == "tool" and reason in str(message.get("content"))
        for message in llm_server.requests[-1].messages
    )


def test_run_takes_the_mode_from_the_user_config_when_no_flag_is_given(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    result = _run_a_command(workspace, llm_server, config='[agent]\nmode = "edits"\n')
    refused = _refused_commands(result)
    assert refused and "approval" in refused[0]["reason"], result.stdout + result.stderr
    assert _the_agent_was_told(llm_server, refused[0]["reason"])
    assert not (workspace / "made.txt").exists()


def test_the_mode_flag_beats_the_config_for_run(workspace: Path, llm_server: ScriptedLLM) -> None:
    result = _run_a_command(
        workspace, llm_server, "--mode", "auto", config='[agent]\nmode = "edits"\n'
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _refused_commands(result) == []
    assert (workspace / "made.txt").read_text() == "agent\n"


def test_run_with_no_mode_anywhere_runs_in_auto(workspace: Path, llm_server: ScriptedLLM) -> None:
    result = _run_a_command(workspace, llm_server)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _refused_commands(result) == []
    assert (workspace / "made.txt").read_text() == "agent\n"


def test_the_environment_mode_beats_the_user_config_for_run(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    result = _run_a_command(
        workspace,
        llm_server,
        config='[agent]\nmode = "auto"\n',
        extra_env={"AUTOGPT_TUI_AGENT__MODE": "step"},
    )
    refused = _refused_commands(result)
    assert refused and "approval" in refused[0]["reason"], result.stdout + result.stderr
    assert _the_agent_was_told(llm_server, refused[0]["reason"])
    assert not (workspace / "made.txt").exists()


def test_a_workspace_file_may_narrow_runs_auto_default(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    # Nothing of the user's sets a mode, so run's own "auto" is theirs: "edits" narrows it
    # and is taken, without a notice that it was ignored.
    (workspace / ".autogpt-tui.toml").write_text('[agent]\nmode = "edits"\n')
    result = _run_a_command(workspace, llm_server)
    assert _refused_commands(result), result.stdout + result.stderr
    assert not any("Ignored agent.mode" in e.get("message", "") for e in events(result))
    assert not (workspace / "made.txt").exists()


def test_odd_file_names_and_lone_surrogates_are_listed_recorded_and_printed(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    # A name that is not UTF-8 (created through bytes, as another program would) and one
    # holding a newline; the model lists them, sends arguments holding lone surrogates
    # (one that stands for the byte 0xE9, one that stands for nothing), then writes a file.
    odd = os.fsencode(workspace / "odd")
    os.makedirs(odd)
    for raw in (b"caf\xe9.txt", b"two\nlines.txt"):
        with open(odd + b"/" + raw, "wb") as handle:
            handle.write(b"x\xff")
    git(workspace, "init", "-q")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "odd names")
    llm_server.script(
        call("list_files", path="odd"),
        call("write_file", path="odd/new\udce9.txt", content="x"),
        call("write_file", path="odd/caf\u00e9 \u2603.txt", content="lone \ud800 here"),
        call("write_file", path="odd/caf\u00e9 \u2603.txt", content="caf\u00e9\n"),
        call("finish", summary="done \ud800"),
        call("finish", summary="done"),
    )
    result = run(str(workspace), "--goal", "g", "--base-url", llm_server.base_url, "--json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert "Traceback" not in result.stderr
    printed = events(result)  # every line parses
    assert printed[-1]["type"] == "finished" and printed[-1]["outcome"] == "finished"
    assert printed[-1]["summary"] == "done"
    listing = next(e for e in printed if e["type"] == "executed")
    assert listing["output"] == "odd/caf\\xe9.txt\nodd/two\nlines.txt"
    refusals = [e["message"] for e in printed if e["type"] == "error"]
    assert len(refusals) == 2
    for refusal, field in zip(refusals, ["path", "summary"], strict=True):
        assert f"'{field}' holds a lone surrogate" in refusal
    # A lone surrogate in the content is refused by the tool, in a step of its own.
    failed = [e for e in printed if e["type"] == "executed" and not e["ok"]]
    assert [e["action"]["arguments"]["content"] for e in failed] == ["lone \\ud800 here"]
    assert "lone surrogate" in failed[0]["output"]
    # The bytes on disk are exact: the odd names untouched, the new file as asked.
    assert sorted(os.listdir(odd)) == sorted(
        [b"caf\xe9.txt", b"two\nlines.txt", "caf\u00e9 \u2603.txt".encode()]
    )
    for raw in (b"caf\xe9.txt", b"two\nlines.txt"):
        with open(odd + b"/" + raw, "rb") as handle:
            assert handle.read() == b"x\xff"
    with open(odd + "/caf\u00e9 \u2603.txt".encode(), "rb") as handle:
        assert handle.read() == "caf\u00e9\n".encode()
    assert git(workspace, "status", "--porcelain") == ""
    # The records are readable, as JSON and as text.
    cli = [sys.executable, "-m", "autogpt_tui"]
    log = subprocess.run(
        [*cli, "log", str(workspace), "--json"], capture_output=True, text=True, check=True
    )
    steps = json.loads(log.stdout)
    assert [s["tool"] for s in steps] == ["finish", "write_file", "write_file", "list_files"]
    for step in steps:
        for form in (["--json"], []):
            shown = subprocess.run(
                [*cli, "show", str(workspace), step["sha"], *form],
                capture_output=True,
                text=True,
            )
            assert shown.returncode == 0, shown.stderr
            assert "Traceback" not in shown.stderr
            if form:
                assert json.loads(shown.stdout)["step"] == step["step"]
    listed = json.loads(
        subprocess.run(
            [*cli, "show", str(workspace), steps[-1]["sha"], "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert listed["record"]["observation"] == "odd/caf\\xe9.txt\nodd/two\nlines.txt"
    refused = json.loads(
        subprocess.run(
            [*cli, "show", str(workspace), steps[2]["sha"], "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert refused["record"]["arguments"]["content"] == "lone \\ud800 here"
    text_log = subprocess.run([*cli, "log", str(workspace)], capture_output=True, text=True)
    assert text_log.returncode == 0 and "Traceback" not in text_log.stderr


def test_finished_is_the_last_line_even_after_a_late_notice(
    workspace: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    """The sandbox notice comes from a side thread started with the first request; a
    one-step run can end before it is printed. `finished` must still be the last line."""
    config = tmp_path / "config.toml"
    config.write_text("[sandbox]\nenabled = false\n")
    llm_server.script(call("finish", summary="done at once"))
    result = run(
        str(workspace), "--goal", "g", "--base-url", llm_server.base_url, "--json",
        extra_env={"AUTOGPT_TUI_CONFIG": str(config)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = events(result)
    assert lines[-1]["type"] == "finished" and lines[-1]["outcome"] == "finished"
    notices = [e["message"] for e in lines if e["type"] == "notice"]
    assert any("without a sandbox" in m for m in notices), notices
