"""Text that cannot be encoded (lone surrogates) is escaped once, wherever it is shown."""

from __future__ import annotations

import io
import json
import os

import pytest

from autogpt_tui.core.conversation import assistant_call, tool_message
from autogpt_tui.core.events import ActionExecuted, ActionProposed, PendingAction
from autogpt_tui.core.records import StepRecord, escape_surrogates, escaped_record
from autogpt_tui.headless import EventPrinter

NOT_UTF8 = os.fsdecode(b"caf\xe9.txt")  # "caf\udce9.txt", as os.listdir gives it


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain café ☃\n", "plain café ☃\n"),
        (NOT_UTF8, "caf\\xe9.txt"),
        ("lone \ud800 high", "lone \\ud800 high"),
        ("lone \udc10 low", "lone \\udc10 low"),
        ("two\nlines", "two\nlines"),
    ],
)
def test_escape_surrogates_shows_bytes_and_lone_surrogates(text: str, shown: str) -> None:
    assert escape_surrogates(text) == shown
    shown.encode("utf-8")


def test_an_escaped_record_encodes_and_a_clean_one_is_kept() -> None:
    clean = StepRecord(observation="café", arguments={"path": "a"})
    assert escaped_record(clean) is clean
    odd = escaped_record(
        StepRecord(observation=NOT_UTF8, arguments={"path": NOT_UTF8, "n": [1, "\ud800"]})
    )
    assert odd.observation == "caf\\xe9.txt"
    assert odd.arguments == {"path": "caf\\xe9.txt", "n": [1, "\\ud800"]}
    odd.model_dump_json()


def test_messages_to_the_model_encode() -> None:
    call = assistant_call("t", "c1", "write_file", {"path": NOT_UTF8})
    tool = tool_message("c1", NOT_UTF8)
    json.dumps([call, tool], ensure_ascii=False).encode("utf-8")
    assert tool["content"] == "caf\\xe9.txt"


@pytest.mark.parametrize("json_lines", [True, False])
def test_the_printer_writes_odd_names_and_lone_surrogates(json_lines: bool) -> None:
    out = io.StringIO()
    printer = EventPrinter(out, json_lines=json_lines)
    action = PendingAction(step=1, tool="list_files", arguments={"path": "\ud800"}, call_id="c")
    printer(ActionProposed(action))
    printer(ActionExecuted(action, ok=True, output=f"{NOT_UTF8}\ntwo\nlines"))
    text = out.getvalue()
    text.encode("utf-8")  # a terminal or pipe in UTF-8 takes it
    assert "caf\\xe9.txt" in (json.loads(text.splitlines()[1])["output"] if json_lines else text)
    if json_lines:
        assert json.loads(text.splitlines()[0])["action"]["arguments"] == {"path": "\\ud800"}
    else:
        assert "\\ud800" in text
