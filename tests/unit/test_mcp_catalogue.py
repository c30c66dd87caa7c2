"""The MCP client's pure parts: offered names, approval kinds, observations, config."""

from __future__ import annotations

import re

import pytest
from mcp.types import CallToolResult, ImageContent, TextContent
from pydantic import ValidationError

from autogpt_tui.core.mcp.catalogue import McpTool, kind_of, offered_names
from autogpt_tui.core.mcp.config import McpServerConfig, McpSettings, MissingVariable, expand
from autogpt_tui.core.mcp.results import observation
from autogpt_tui.core.tool_calls import TOOLS

OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_names_are_sanitised_unique_and_stable() -> None:
    pairs = [
        ("docs", "search"),
        ("docs", "search.v2"),
        ("docs", "search_v2"),  # clashes with the sanitised "search.v2"
        ("a" * 20, "t" * 80),
        ("a" * 20, "t" * 80 + "x"),
    ]
    names = offered_names(pairs, taken=TOOLS)
    assert names[:3] == ["mcp__docs__search", "mcp__docs__search_v2", "mcp__docs__search_v2_2"]
    assert all(OPENAI_NAME.match(n) for n in names)
    assert len(set(names)) == len(names)
    assert offered_names(pairs, taken=TOOLS) == names  # the same every session


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        ((True, None, None), ("read", False)),
        ((True, True, True), ("read", False)),
        ((None, False, False), ("edit", False)),
        ((False, False, None), ("command", True)),  # open-world by default
        ((None, None, False), ("command", False)),  # destructive by default
        ((None, None, None), ("command", True)),
    ],
)
def test_annotations_decide_the_kind_with_the_specs_defaults(
    hints: tuple[bool | None, bool | None, bool | None], expected: tuple[str, bool]
) -> None:
    assert kind_of(*hints) == expected


def test_a_tools_schema_is_an_openai_function() -> None:
    tool = McpTool(
        "docs", "search", "mcp__docs__search", "Search.", {"title": "x", "type": "object"}
    )
    function = tool.schema()["function"]
    assert function["name"] == "mcp__docs__search"
    assert function["parameters"] == {"type": "object", "properties": {}}
    assert function["description"] == "[MCP server docs] Search."


def test_observations_describe_images_and_add_structured_content() -> None:
    result = CallToolResult(
        content=[
            TextContent(text="found 2"),
            ImageContent(data="A" * 16000, mime_type="image/png"),
        ],
        structured_content={"hits": [1, 2]},
    )
    ok, text = observation(result, 20000)
    assert ok
    assert text.splitlines()[:2] == ["found 2", "[image image/png, 12 kB]"]
    assert '"hits"' in text
    failed = CallToolResult(content=[TextContent(text="no")], is_error=True)
    assert observation(failed, 100) == (False, "no")
    assert observation(CallToolResult(content=[TextContent(text="x" * 50)]), 10)[1].startswith(
        "xxxxxxxxxx\n[truncated"
    )


def test_variables_expand_without_showing_values() -> None:
    assert expand({"A": "Bearer ${T}"}, "headers", {"T": "tok"}) == {"A": "Bearer tok"}
    with pytest.raises(MissingVariable, match="the environment variable T \\(in its headers\\)"):
        expand({"A": "${T}"}, "headers", {})


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"name": "x"}, "needs either command"),
        ({"name": "x", "command": "a", "url": "http://h"}, "needs either command"),
        ({"name": "x", "url": "http://h", "env": {"A": "b"}}, "args and env only with command"),
        ({"name": "x", "command": "a", "headers": {"A": "b"}}, "headers only with url"),
        ({"name": "x/y", "command": "a"}, "letters, digits"),
        ({"name": "x", "command": "a", "timeout": 0}, "greater than 0"),
    ],
)
def test_bad_server_tables_are_refused(table: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        McpServerConfig.model_validate(table)


def test_server_names_are_unique() -> None:
    with pytest.raises(ValidationError, match=r"unique names \('x' appears twice\)"):
        McpSettings.model_validate({"servers": [{"name": "x", "command": "a"}] * 2})


def test_an_mcp_steps_subject_names_the_server_and_its_tool() -> None:
    from autogpt_tui.core.conversation import summarize_action

    assert summarize_action("mcp__tracker__open_issue", {"title": "Crash", "labels": ["bug"]}) == (
        'MCP tracker.open_issue: title=Crash, labels=["bug"]'
    )
    assert summarize_action("mcp__clock__now", {}) == "MCP clock.now"
    # Not the mcp__SERVER__TOOL shape: shown as any other tool is.
    assert summarize_action("mcp__odd", {"a": 1}) == 'mcp__odd {"a": 1}'
