"""``autogpt-tui run`` against real servers' stream dialects (issue 10, reproductions 5 and 6).

Each test runs the real CLI in a subprocess against the scripted server: an error inside
the stream, reasoning sent apart from the answer, a whole JSON body answering a stream,
and tool-call arguments over the cap. None may end in a traceback, and ``--json`` always
ends with a ``finished`` event.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import git
from tests.functional.test_run_cli import call, events, run
from tests.support.scripted_llm import Reply, ScriptedLLM, StreamError, ToolCall

FAST_RETRIES = {"AUTOGPT_TUI_MODEL__MAX_RETRIES": "1"}


def test_a_final_error_in_the_stream_ends_the_run_with_one_sentence(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    # Groq's documented error for a call the model got wrong, sent after a 200.
    llm_server.script(
        StreamError("Failed to call a function.", "invalid_request_error", code="tool_use_failed")
    )
    result = run(
        str(workspace), "--goal", "g", "--base-url", llm_server.base_url, "--json",
        extra_env=FAST_RETRIES,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    final = events(result)[-1]
    assert final["type"] == "finished" and final["outcome"] == "error"
    assert "Failed to call a function." in final["message"]
    assert len(llm_server.requests) == 1
    assert git(workspace, "status", "--porcelain") == ""


def test_a_retryable_error_in_the_stream_is_retried_and_the_run_goes_on(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        StreamError("Internal error, please retry", "internal_server_error", style="event"),
        call("finish", summary="done"),
    )
    result = run(
        str(workspace), "--goal", "g", "--base-url", llm_server.base_url, "--json",
        extra_env=FAST_RETRIES,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = events(result)
    assert any(e["type"] == "retrying" and "Internal error" in e["reason"] for e in lines)
    assert lines[-1]["type"] == "finished" and lines[-1]["outcome"] == "finished"


def test_reasoning_is_a_thought_apart_from_the_answer(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    # Mistral's thinking parts in one step, DeepSeek's reasoning_content in the next.
    llm_server.script(
        Reply(
            "Writing it.",
            tool_calls=[ToolCall("write_file", {"path": "a.txt", "content": "a\n"})],
            reasoning="The goal needs a.txt.",
            reasoning_style="mistral",
        ),
        Reply(
            "Done.",
            tool_calls=[ToolCall("finish", {"summary": "wrote a.txt"})],
            reasoning="Nothing is left.",
            reasoning_style="reasoning_content",
        ),
    )
    result = run(str(workspace), "--goal", "g", "--base-url", llm_server.base_url, "--json")
    assert result.returncode == 0, result.stderr
    lines = events(result)
    deltas = [e for e in lines if e["type"] == "thought_delta"]
    reasoning = "".join(e["text"] for e in deltas if e["reasoning"])
    answer = "".join(e["text"] for e in deltas if not e["reasoning"])
    assert reasoning == "The goal needs a.txt.Nothing is left."
    assert answer == "Writing it.Done."
    proposed = [e for e in lines if e["type"] == "action_proposed"]
    assert [p["action"]["thought"] for p in proposed] == ["Writing it.", "Done."]
    assert (workspace / "a.txt").read_text() == "a\n"
    # The reasoning is not sent back as part of the assistant's messages either.
    assert "The goal needs" not in json.dumps(llm_server.requests[1].messages)


def test_a_json_body_answering_the_stream_is_acted_on(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    llm_server.script(
        Reply(
            "Writing.",
            tool_calls=[ToolCall("write_file", {"path": "b.txt", "content": "b\n"})],
            json_body=True,
        ),
        Reply("Done.", tool_calls=[ToolCall("finish", {"summary": "b"})], json_body=True),
    )
    result = run(str(workspace), "--goal", "g", "--base-url", llm_server.base_url, "--json")
    assert result.returncode == 0, result.stderr
    assert not [e for e in events(result) if e["type"] == "retrying"]
    assert (workspace / "b.txt").read_text() == "b\n"
    assert len(llm_server.requests) == 2


def test_arguments_over_the_cap_are_refused_to_the_model(
    workspace: Path, llm_server: ScriptedLLM
) -> None:
    big = "x" * 20_000
    llm_server.script(
        Reply(
            "Big file.", tool_calls=[ToolCall("write_file", {"path": "big.txt", "content": big})]
        ),
        call("finish", summary="gave up on the big file"),
    )
    result = run(
        str(workspace), "--goal", "g", "--base-url", llm_server.base_url, "--json",
        extra_env={"AUTOGPT_TUI_MODEL__MAX_TOOL_ARGS_BYTES": "4096"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not (workspace / "big.txt").exists()
    second = llm_server.requests[1].messages
    tool_answers = [m["content"] for m in second if m.get("role") == "tool"]
    assert len(tool_answers) == 1
    assert tool_answers[0].startswith("Error: The arguments of write_file were larger than 4 KB")
    assert big not in json.dumps(second)  # the refused arguments are not sent back
    lines = events(result)
    assert any(e["type"] == "error" and "max_tool_args_bytes" in e["message"] for e in lines)
    assert lines[-1]["type"] == "finished" and lines[-1]["outcome"] == "finished"
