"""What the editor is shown (acp/updates.py) and what the agent reads of a prompt
(acp/prompt.py): the mappings on their own, with the library's real schema types."""

from __future__ import annotations

from pathlib import Path

import pytest
from acp import image_block, resource_link_block, text_block
from acp.schema import (
    ContentToolCallContent,
    FileEditToolCallContent,
    ToolCallProgress,
    ToolCallStart,
)

from autogpt_tui.acp.prompt import EMPTY_PROMPT, prompt_text
from autogpt_tui.acp.updates import OUTPUT_CHARS, ToolCallTracker, tool_kind
from autogpt_tui.core.events import (
    ActionExecuted,
    ActionProposed,
    ActionRejected,
    Notice,
    PendingAction,
    StepCommitted,
)
from autogpt_tui.core.mcp.catalogue import NOT_UNDOABLE


def action(
    tool: str, step: int = 1, call_id: str = "c1", kind: str = "", **args: object
) -> PendingAction:
    return PendingAction(step=step, tool=tool, arguments=dict(args), call_id=call_id, kind=kind)


@pytest.mark.parametrize(
    ("tool", "kind", "expected"),
    [
        ("read_file", "read", "read"),
        ("list_files", "read", "read"),
        ("search", "read", "search"),
        ("write_file", "edit", "edit"),
        ("edit_file", "edit", "edit"),
        ("run_command", "command", "execute"),
        ("ask_user", "ask", "other"),
        ("finish", "finish", "other"),
        ("mcp__docs__lookup", "read", "read"),
        ("mcp__fs__rm", "command", "execute"),
    ],
)
def test_each_tool_has_its_acp_kind(tool: str, kind: str, expected: str) -> None:
    assert tool_kind(action(tool, kind=kind)) == expected


def test_an_edit_shows_its_diff_and_keeps_it_when_it_ran(tmp_path: Path) -> None:
    tracker = ToolCallTracker(tmp_path)
    edit = action("edit_file", path="a.py", old_text="x = 1", new_text="x = 2")
    [start] = tracker.updates(ActionProposed(edit))
    assert isinstance(start, ToolCallStart) and start.kind == "edit"
    assert start.locations is not None and start.locations[0].path == str(tmp_path / "a.py")
    [diff] = start.content or []
    assert isinstance(diff, FileEditToolCallContent)
    assert (diff.old_text, diff.new_text) == ("x = 1", "x = 2")

    [done] = tracker.updates(ActionExecuted(edit, ok=True, output="y" * (OUTPUT_CHARS + 10)))
    assert isinstance(done, ToolCallProgress) and done.status == "completed"
    kept, output = done.content or []
    assert kept == diff and isinstance(output, ContentToolCallContent)
    assert "cut; the step's record keeps it all" in output.content.text


def test_an_mcp_tool_acting_outside_the_workspace_is_said_not_undoable(tmp_path: Path) -> None:
    tracker = ToolCallTracker(tmp_path)
    mail = PendingAction(
        step=1,
        tool="mcp__mail__send",
        arguments={"to": "ops", "body": "hi"},
        call_id="c1",
        kind="command",
        note=NOT_UNDOABLE,
        not_undoable=True,
    )
    [start] = tracker.updates(ActionProposed(mail))
    assert isinstance(start, ToolCallStart) and start.title == "MCP mail.send: to=ops, body=hi"
    words = [c.content.text for c in start.content or [] if isinstance(c, ContentToolCallContent)]
    assert words == ["Not undoable: it acts outside the workspace, where undo cannot reach"]
    # The permission request carries it too: it is what the editor asks the user about.
    asked = tracker.permission_call(mail)
    assert asked.content == start.content
    # A tool without such a note shows no text of its own.
    [plain] = tracker.updates(ActionProposed(action("mcp__docs__lookup", call_id="c2", term="x")))
    assert isinstance(plain, ToolCallStart) and not plain.content


def test_a_proposal_shown_again_updates_its_card_and_a_new_one_gets_a_new_id(
    tmp_path: Path,
) -> None:
    tracker = ToolCallTracker(tmp_path)
    write = action("write_file", path="a.txt", content="a")
    [first] = tracker.updates(ActionProposed(write))
    [again] = tracker.updates(ActionProposed(write))  # the file changed while it waited
    assert isinstance(first, ToolCallStart) and isinstance(again, ToolCallProgress)
    assert again.tool_call_id == first.tool_call_id
    [rejected] = tracker.updates(ActionRejected(write, "no"))
    assert isinstance(rejected, ToolCallProgress) and rejected.status == "failed"
    # The model may send the same call id after a rejection: a card of its own.
    [retry] = tracker.updates(ActionProposed(write))
    assert isinstance(retry, ToolCallStart) and retry.tool_call_id != first.tool_call_id


def test_a_commit_is_named_on_every_tool_call_of_its_step(tmp_path: Path) -> None:
    tracker = ToolCallTracker(tmp_path)
    reads = [action("read_file", call_id=f"c{n}", path=f"f{n}") for n in (1, 2)]
    for read in reads:
        tracker.updates(ActionProposed(read))
        tracker.updates(ActionExecuted(read, ok=True, output="text"))
    commit = StepCommitted("abcdef1234", 1, "s", "read_file", "default", "Read f1")
    updates = tracker.updates(commit)
    assert len(updates) == 2
    for update in updates:
        assert isinstance(update, ToolCallProgress)
        assert "Step 1 committed as abcdef12" in str(update.content)


def test_a_prompt_is_its_text_with_workspace_files_as_mentions(tmp_path: Path) -> None:
    inside = resource_link_block("app.py", (tmp_path / "src" / "app.py").as_uri())
    outside = resource_link_block("x", "file:///etc/hosts")
    blocks = [text_block("Fix "), inside, text_block(" and read "), outside]
    assert prompt_text(blocks, tmp_path) == "Fix @src/app.py and read file:///etc/hosts"


def test_what_the_agent_does_not_take_is_refused_in_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="text and file links only, not image content"):
        prompt_text([text_block("see"), image_block("AAAA", "image/png")], tmp_path)
    with pytest.raises(ValueError, match=EMPTY_PROMPT):
        prompt_text([text_block("  \n")], tmp_path)


def test_a_notice_is_said_once_a_session(tmp_path: Path) -> None:
    tracker = ToolCallTracker(tmp_path)
    sandbox = Notice("Commands run without a sandbox here.")
    assert len(tracker.updates(sandbox)) == 1
    assert tracker.updates(sandbox) == []  # the next turn's session says it again
    assert len(tracker.updates(Notice("Something else."))) == 1


def test_the_editors_mcp_servers_are_named_to_fit_and_yours_win_a_name() -> None:
    from acp.schema import HttpHeader, HttpMcpServer, McpServerStdio

    from autogpt_tui.acp.mcp_servers import editor_servers

    servers = [
        McpServerStdio(name="docs", command="docs-server", args=[], env=[]),
        McpServerStdio(name="Context 7!", command="ctx", args=["--fast"], env=[]),
        McpServerStdio(name="Context 7?", command="ctx2", args=[], env=[]),
        HttpMcpServer(
            type="http",
            name="tracker",
            url="http://127.0.0.1:8931/mcp",
            headers=[HttpHeader(name="Authorization", value="Bearer t")],
        ),
    ]
    configs = editor_servers(servers, taken=["docs"])
    # "docs" is declared in your config: yours is the one started.
    assert [c.name for c in configs] == ["Context-7", "Context-7_2", "tracker"]
    assert configs[0].args == ["--fast"] and configs[0].transport == "stdio"
    assert configs[2].headers == {"Authorization": "Bearer t"} and configs[2].transport == "http"
