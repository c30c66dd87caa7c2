"""``autogpt-tui acp`` driven as an editor drives it: the ACP library's client side
spawns the command, and the agent talks to the scripted OpenAI server over real HTTP.

Nothing is mocked: the process is the real console entry point, its stdout is the real
JSON-RPC channel, the workspace a real git repository, and ``autogpt-tui undo`` the
real command line.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from acp import PROTOCOL_VERSION, RequestError, spawn_agent_process, text_block
from acp.client.connection import ClientSideConnection
from acp.schema import (
    AgentMessageChunk,
    AllowedOutcome,
    DeniedOutcome,
    FileEditToolCallContent,
    RequestPermissionResponse,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
)

from tests.conftest import git

if TYPE_CHECKING:
    from acp.interfaces import Client
from tests.support.scripted_llm import Reply, ScriptedLLM, Stall, ToolCall

KEY = "sk-test-acp-SECRET-7"
WAIT_S = 60.0
"""The longest any one exchange may take before the test fails (not a sleep)."""


def call(name: str, **arguments: Any) -> Reply:
    return Reply(f"Next: {name}.", tool_calls=[ToolCall(name, arguments)])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit, as an editor's project is."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "README.md").write_text("# project\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Initial commit")
    return root


@dataclass
class Editor:
    """The editor's side: records every update, answers permission requests in turn
    (``allow_once``, ``allow_always``, ``reject_once``, or ``wait``: never answers)."""

    answers: list[str] = field(default_factory=list)
    updates: list[Any] = field(default_factory=list)
    asked: list[ToolCallUpdate] = field(default_factory=list)
    asking: asyncio.Event = field(default_factory=asyncio.Event)

    async def request_permission(
        self, options: list[Any], session_id: str, tool_call: ToolCallUpdate, **_: Any
    ) -> RequestPermissionResponse:
        assert {o.kind for o in options} >= {"allow_once", "reject_once"}
        self.asked.append(tool_call)
        self.asking.set()
        answer = self.answers.pop(0) if self.answers else "wait"
        if answer == "wait":
            await asyncio.Event().wait()  # the user never answers (until cancelled)
        if answer == "cancelled":
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=answer)
        )

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append(update)

    def messages(self) -> str:
        return "".join(u.content.text for u in self.updates if isinstance(u, AgentMessageChunk))


def environment(home: Path) -> dict[str, str]:
    """The test's isolated environment (conftest), with the model's key."""
    return dict(os.environ) | {"OPENAI_API_KEY": KEY, "HOME": str(home)}


@asynccontextmanager
async def acp_agent(
    editor: Editor, llm: ScriptedLLM, stderr: Path, *flags: str
) -> AsyncIterator[ClientSideConnection]:
    """``autogpt-tui acp`` spawned as an editor spawns it, initialised."""
    with stderr.open("wb") as err:
        async with spawn_agent_process(
            cast("Client", editor),  # the methods it has are routed; the rest: not found
            sys.executable,
            "-m",
            "autogpt_tui",
            "acp",
            "--base-url",
            llm.base_url,
            *flags,
            env=environment(Path(os.environ["HOME"])),
            transport_kwargs={"stderr": err.fileno()},
        ) as (conn, _process):
            init = await asyncio.wait_for(
                conn.initialize(protocol_version=PROTOCOL_VERSION), WAIT_S
            )
            assert init.agent_info is not None and init.agent_info.name == "autogpt-tui"
            yield conn


async def new_session(conn: ClientSideConnection, cwd: Path) -> str:
    response = await asyncio.wait_for(conn.new_session(cwd=str(cwd), mcp_servers=[]), WAIT_S)
    assert response.modes is not None
    assert [m.id for m in response.modes.available_modes] == ["step", "edits", "auto"]
    return response.session_id


async def prompt(conn: ClientSideConnection, session: str, text: str) -> str:
    response = await asyncio.wait_for(
        conn.prompt(session_id=session, prompt=[text_block(text)]), WAIT_S
    )
    return response.stop_reason


def step_trailers(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "log", "-1", "--format=%B", rev)


async def test_a_whole_session_approves_commits_and_undo_works_from_the_cli(
    repo: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    llm_server.script(
        call("write_file", path="hello.txt", content="hello\n"),
        call("finish", summary="hello.txt says hello"),
    )
    editor = Editor(answers=["allow_once", "allow_once"])
    async with acp_agent(editor, llm_server, tmp_path / "stderr", "--mode", "step") as conn:
        session = await new_session(conn, repo)
        assert await prompt(conn, session, "Write hello.txt") == "end_turn"

        # The write went out as a permission request about an edit, with its diff.
        write = editor.asked[0]
        assert write.kind == "edit" and write.title == "Write hello.txt"
        diff = [c for c in write.content or [] if isinstance(c, FileEditToolCallContent)]
        assert diff and diff[0].new_text == "hello\n" and diff[0].path == str(repo / "hello.txt")
        # ... and as a tool call that completed, then named its commit.
        started = [u for u in editor.updates if isinstance(u, ToolCallStart)]
        assert started[0].kind == "edit" and started[0].tool_call_id == write.tool_call_id
        progress = [
            u
            for u in editor.updates
            if isinstance(u, ToolCallProgress) and u.tool_call_id == write.tool_call_id
        ]
        assert any(u.status == "completed" for u in progress)
        head = git(repo, "rev-parse", "HEAD").strip()
        step_one = git(repo, "rev-parse", "HEAD~1").strip()
        assert any(step_one[:8] in json.dumps(u.model_dump(mode="json")) for u in progress)
        # The model's thought streamed as thought chunks; the summary is the message.
        assert any(
            getattr(u, "session_update", "") == "agent_thought_chunk" for u in editor.updates
        )
        assert "hello.txt says hello" in editor.messages()

        # Each action is one step commit of this session.
        assert f"Agent-Session: {session}" in step_trailers(repo, step_one)
        assert "Agent-Tool: write_file" in step_trailers(repo, step_one)
        assert "Agent-Tool: finish" in step_trailers(repo, head)
        assert git(repo, "show", f"{step_one}:hello.txt") == "hello\n"

        # Between prompts the workspace is free: undo works from the command line now.
        undo = subprocess.run(
            [sys.executable, "-m", "autogpt_tui", "undo", str(repo), "2"],
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
        assert undo.returncode == 0, undo.stderr
        assert not (repo / "hello.txt").exists()
    assert KEY not in (tmp_path / "stderr").read_text()


async def test_a_rejected_action_is_not_run_and_the_next_prompt_says_what_instead(
    repo: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    llm_server.script(
        call("write_file", path="hello.txt", content="hello\n"),
        call("write_file", path="bye.txt", content="bye\n"),
        call("finish", summary="bye.txt written"),
    )
    head = git(repo, "rev-parse", "HEAD").strip()
    editor = Editor(answers=["reject_once", "allow_once", "allow_once"])
    async with acp_agent(editor, llm_server, tmp_path / "stderr", "--mode", "step") as conn:
        session = await new_session(conn, repo)
        assert await prompt(conn, session, "Write hello.txt") == "end_turn"
        # Not run, not committed; the editor's card says so and the turn ended for the user.
        assert not (repo / "hello.txt").exists()
        assert git(repo, "rev-parse", "HEAD").strip() == head
        failed = [u for u in editor.updates if isinstance(u, ToolCallProgress)]
        assert failed[-1].status == "failed"
        assert "say what to do instead" in editor.messages()

        # A follow-up prompt is a message to the agent, in the same session.
        assert await prompt(conn, session, "Call it bye.txt") == "end_turn"
    told = llm_server.requests[1].messages[-1]["content"]
    assert "I rejected your proposal: Write hello.txt" in told and "Call it bye.txt" in told
    assert (repo / "bye.txt").read_text() == "bye\n"
    assert f"Agent-Session: {session}" in step_trailers(repo, "HEAD~1")


async def test_cancel_stops_the_model_and_a_waiting_approval_promptly(
    repo: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    llm_server.script(
        Stall(after_chunks=1, seconds=120), call("write_file", path="a.txt", content="a\n")
    )
    head = git(repo, "rev-parse", "HEAD").strip()
    editor = Editor(answers=["wait"])
    async with acp_agent(editor, llm_server, tmp_path / "stderr", "--mode", "step") as conn:
        session = await new_session(conn, repo)
        # The model stalls mid-answer: cancel ends the turn without waiting for it.
        turn = asyncio.ensure_future(prompt(conn, session, "Write a.txt"))
        await asyncio.to_thread(llm_server.wait_for_stalls, 1)
        await conn.cancel(session_id=session)
        assert await turn == "cancelled"

        # An action waiting for the user: cancel answers it "no" and ends the turn.
        turn = asyncio.ensure_future(prompt(conn, session, "Write a.txt, please"))
        await asyncio.wait_for(editor.asking.wait(), WAIT_S)
        await conn.cancel(session_id=session)
        assert await turn == "cancelled"
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert not (repo / "a.txt").exists()


async def test_a_folder_that_is_not_a_repository_is_refused_in_one_sentence(
    llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("mine\n")
    editor = Editor()
    async with acp_agent(editor, llm_server, tmp_path / "stderr") as conn:
        for cwd, words in (
            (plain, "not a git repository"),
            (tmp_path / "missing", "does not exist"),
            (Path("relative"), "absolute path"),
        ):
            with pytest.raises(RequestError) as refused:
                await conn.new_session(cwd=str(cwd), mcp_servers=[])
            assert words in str(refused.value), str(refused.value)
            assert "\n" not in str(refused.value)
    assert sorted(p.name for p in plain.iterdir()) == ["notes.txt"]
    assert "Traceback" not in (tmp_path / "stderr").read_text()


def test_stdout_carries_json_rpc_only(repo: Path, llm_server: ScriptedLLM, tmp_path: Path) -> None:
    """Every byte on stdout is a JSON-RPC message, while the agent runs a command that
    prints and the process warns (the workspace's own file may not widen the mode)."""
    config = tmp_path / "config.toml"
    config.write_text('[agent]\nmode = "step"\n')
    (repo / ".autogpt-tui.toml").write_text('[agent]\nmode = "auto"\n')
    llm_server.script(
        call("run_command", command="echo printed-by-a-command"),
        call("finish", summary="done"),
    )
    lines: list[dict[str, Any]] = [
        {"id": 0, "method": "initialize", "params": {"protocolVersion": PROTOCOL_VERSION}},
        {"id": 1, "method": "session/new", "params": {"cwd": str(repo), "mcpServers": []}},
    ]
    env = environment(Path(os.environ["HOME"])) | {"AUTOGPT_TUI_CONFIG": str(config)}
    process = subprocess.Popen(
        [sys.executable, "-m", "autogpt_tui", "acp", "--base-url", llm_server.base_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        received: list[dict[str, Any]] = []

        def send(message: dict[str, Any]) -> None:
            assert process.stdin is not None
            process.stdin.write((json.dumps({"jsonrpc": "2.0", **message}) + "\n").encode())
            process.stdin.flush()

        def until(request_id: int) -> dict[str, Any]:
            assert process.stdout is not None
            while True:
                line = process.stdout.readline()
                assert line, "the agent closed stdout"
                message: dict[str, Any] = json.loads(line)  # anything but JSON fails here
                assert message["jsonrpc"] == "2.0"
                received.append(message)
                if message.get("method") == "session/request_permission":
                    allow = {"outcome": {"outcome": "selected", "optionId": "allow_once"}}
                    send({"id": message["id"], "result": allow})
                if message.get("id") == request_id and "method" not in message:
                    return message

        for message in lines:
            send(message)
            until(message["id"])
        assert "result" in received[-1], received[-1]
        session = received[-1]["result"]["sessionId"]
        send(
            {
                "id": 2,
                "method": "session/prompt",
                "params": {"sessionId": session, "prompt": [{"type": "text", "text": "Echo"}]},
            }
        )
        assert until(2)["result"]["stopReason"] == "end_turn"
        process.stdin.close()
        rest = process.stdout.read()
        assert process.wait(timeout=WAIT_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert rest.strip() == b""
    # The command's output reached the editor inside a tool call update, not as a line.
    assert "printed-by-a-command" in json.dumps(received)
    assert process.stderr is not None
    assert b"Ignored agent.mode" in process.stderr.read()


async def test_load_session_replays_its_steps_and_goes_on_in_it(
    repo: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    llm_server.script(
        Reply(
            "Looking first.",
            tool_calls=[ToolCall("read_file", {"path": "README.md"}), ToolCall("list_files", {})],
        ),
        call("write_file", path="hello.txt", content="hello\n"),
        call("finish", summary="hello.txt written"),
        call("write_file", path="bye.txt", content="bye\n"),
        call("finish", summary="bye.txt written too"),
    )
    async with acp_agent(Editor(), llm_server, tmp_path / "stderr", "--mode", "auto") as conn:
        session = await new_session(conn, repo)
        assert await prompt(conn, session, "Write hello.txt") == "end_turn"

    editor = Editor()
    async with acp_agent(editor, llm_server, tmp_path / "stderr2", "--mode", "auto") as conn:
        with pytest.raises(RequestError, match="There is no session 'nope'"):
            await conn.load_session(cwd=str(repo), session_id="nope", mcp_servers=[])
        await asyncio.wait_for(
            conn.load_session(cwd=str(repo), session_id=session, mcp_servers=[]), WAIT_S
        )
        # The replay comes before the answer: the goal, the steps, the summary.
        kinds = [getattr(u, "session_update", "") for u in editor.updates]
        assert kinds[0] == "user_message_chunk" and editor.updates[0].content.text == (
            "Write hello.txt"
        )
        titles = [u.title for u in editor.updates if isinstance(u, ToolCallStart)]
        assert titles == [
            "Read README.md",
            "List .",
            "Write hello.txt",
            "Finish: hello.txt written",
        ]
        assert "hello.txt written" in editor.messages()

        assert await prompt(conn, session, "Now bye.txt") == "end_turn"
    # Same session, same goal, numbering goes on; the prompt reached the model as a message.
    assert "Agent-Step: 4" in step_trailers(repo, "HEAD~1")
    assert f"Agent-Session: {session}" in step_trailers(repo, "HEAD~1")
    assert "Now bye.txt" in json.dumps(llm_server.requests[3].messages)
    assert "Goal: Write hello.txt" in json.dumps(llm_server.requests[3].messages)


async def test_modes_are_the_approval_modes_and_always_allow_writes_a_rule(
    repo: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    llm_server.script(
        call("run_command", command="echo one"),
        call("run_command", command="echo one"),
        call("finish", summary="echoed"),
    )
    editor = Editor(answers=["allow_always"])
    async with acp_agent(editor, llm_server, tmp_path / "stderr", "--mode", "step") as conn:
        session = await new_session(conn, repo)
        with pytest.raises(RequestError, match="no mode 'yolo'"):
            await conn.set_session_mode(session_id=session, mode_id="yolo")
        # edits: commands ask, finish does not; the second `echo one` is allowed by the rule.
        await conn.set_session_mode(session_id=session, mode_id="edits")
        assert await prompt(conn, session, "Echo one twice") == "end_turn"
    assert [c.kind for c in editor.asked] == ["execute"]
    assert 'pattern = "echo *"' in Path(os.environ["AUTOGPT_TUI_CONFIG"]).read_text()
    assert "echoed" in editor.messages()


async def test_a_budget_ends_the_turn_with_its_stop_reason_and_a_model_failure_is_an_error(
    repo: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    config = Path(os.environ["AUTOGPT_TUI_CONFIG"])
    config.write_text("[agent]\nmax_steps = 1\n[model]\nmax_retries = 0\n")
    llm_server.script(
        call("write_file", path="a.txt", content="a\n"),
        call("write_file", path="b.txt", content="b\n"),
    )
    editor = Editor()
    async with acp_agent(editor, llm_server, tmp_path / "stderr", "--mode", "auto") as conn:
        session = await new_session(conn, repo)
        assert await prompt(conn, session, "Write a.txt and more") == "max_turn_requests"
        assert "The step budget (1) ran out" in editor.messages()

        # The settings are read each turn: now a token budget smaller than one request.
        config.write_text("[agent]\nmax_tokens = 10\n[model]\nmax_retries = 0\n")
        tokens = await new_session(conn, repo)
        assert await prompt(conn, tokens, "Write b.txt") == "max_tokens"
        assert "The token budget (10) ran out" in editor.messages()

        other = await new_session(conn, repo)
        # The script is used up: the server answers 500, and nothing is retried.
        with pytest.raises(RequestError) as failed:
            await prompt(conn, other, "Anything")
        assert "500" in str(failed.value) and "\n" not in str(failed.value)
    assert (repo / "a.txt").read_text() == "a\n"


async def test_an_editor_that_hangs_up_mid_turn_leaves_no_process_behind(
    repo: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    llm_server.script(call("write_file", path="a.txt", content="a\n"))
    editor = Editor(answers=["wait"])
    head = git(repo, "rev-parse", "HEAD").strip()
    with (tmp_path / "stderr").open("wb") as err:
        async with spawn_agent_process(
            cast("Client", editor),
            sys.executable,
            "-m",
            "autogpt_tui",
            "acp",
            "--base-url",
            llm_server.base_url,
            env=environment(Path(os.environ["HOME"])),
            transport_kwargs={"stderr": err.fileno(), "shutdown_timeout": WAIT_S},
        ) as (conn, process):
            await conn.initialize(protocol_version=PROTOCOL_VERSION)
            session = await new_session(conn, repo)
            turn = asyncio.ensure_future(
                conn.prompt(session_id=session, prompt=[text_block("Write a.txt")])
            )
            await asyncio.wait_for(editor.asking.wait(), WAIT_S)
        # stdin closed with an action waiting: the process ends by itself, at once.
        assert process.returncode == 0
        turn.cancel()
    assert git(repo, "rev-parse", "HEAD").strip() == head
    # The workspace is free again: the lock went with the process.
    undo = subprocess.run(
        [sys.executable, "-m", "autogpt_tui", "undo", str(repo)],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert "There is no step to undo." in undo.stderr, undo.stderr  # not "… holds it"


async def test_a_question_ends_the_turn_and_the_next_prompt_answers_it(
    repo: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    llm_server.script(
        call("ask_user", question="Tabs or spaces?"),
        call("finish", summary="spaces it is"),
    )
    editor = Editor()
    async with acp_agent(editor, llm_server, tmp_path / "stderr", "--mode", "auto") as conn:
        session = await new_session(conn, repo)
        assert await prompt(conn, session, "Set up the editorconfig") == "end_turn"
        assert "The agent asks: Tabs or spaces?" in editor.messages()
        assert "your next message answers it" in editor.messages()
        assert await prompt(conn, session, "Spaces, four of them") == "end_turn"
    second = json.dumps(llm_server.requests[1].messages)
    assert "Spaces, four of them" in second and "their answer comes as their next" in second
    assert "Agent-Tool: ask_user" in step_trailers(repo, "HEAD~1")


async def test_one_agent_per_workspace_while_a_turn_runs(
    repo: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    llm_server.script(call("write_file", path="a.txt", content="a\n"))
    editor = Editor(answers=["wait"])
    async with acp_agent(editor, llm_server, tmp_path / "stderr", "--mode", "step") as conn:
        first = await new_session(conn, repo)
        turn = asyncio.ensure_future(prompt(conn, first, "Write a.txt"))
        await asyncio.wait_for(editor.asking.wait(), WAIT_S)
        second = await new_session(conn, repo)
        with pytest.raises(RequestError) as refused:
            await prompt(conn, second, "Something else")
        assert "pid" in str(refused.value) and "\n" not in str(refused.value)
        await conn.cancel(session_id=first)
        assert await turn == "cancelled"
    assert len(llm_server.requests) == 1  # the second session asked no model


async def test_the_editors_mcp_servers_join_the_session(
    repo: Path, llm_server: ScriptedLLM, tmp_path: Path
) -> None:
    from acp.schema import EnvVariable, McpServerStdio, SseMcpServer

    from tests.support.mcp_helpers import SERVER_SCRIPT

    llm_server.script(
        call("mcp__Glossary-tools__lookup", term="idempotent"),
        call("finish", summary="looked it up"),
    )
    editor = Editor(answers=["allow_once", "allow_once"])
    async with acp_agent(editor, llm_server, tmp_path / "stderr", "--mode", "step") as conn:
        init = await asyncio.wait_for(conn.initialize(protocol_version=PROTOCOL_VERSION), WAIT_S)
        assert init.agent_capabilities is not None
        caps = init.agent_capabilities.mcp_capabilities
        assert caps is not None and caps.http and not caps.sse
        # As Zed passes the context servers its user configured (a name with a space).
        glossary = McpServerStdio(
            name="Glossary tools",
            command=sys.executable,
            args=[str(SERVER_SCRIPT)],
            env=[EnvVariable(name="GLOSSARY_TOKEN", value="tok-SECRET-42")],
        )
        old = SseMcpServer(type="sse", name="old", url="http://127.0.0.1:9/sse", headers=[])
        response = await asyncio.wait_for(
            conn.new_session(cwd=str(repo), mcp_servers=[glossary, old]), WAIT_S
        )
        session = response.session_id
        assert await prompt(conn, session, "Look up idempotent") == "end_turn"
    # The model was offered the editor's server's tools, and not the SSE one's.
    offered = {t["function"]["name"] for t in llm_server.requests[0].body["tools"]}
    assert "mcp__Glossary-tools__lookup" in offered
    assert not any(name.startswith("mcp__old__") for name in offered)
    # The call ran as a read, one step commit, its answer the observation.
    lookup = editor.asked[0]
    assert lookup.kind == "read" and lookup.title == "MCP Glossary-tools.lookup: term=idempotent"
    assert "Agent-Tool: mcp__Glossary-tools__lookup" in step_trailers(repo, "HEAD~1")
    assert "idempotent: a word worth knowing." in json.dumps(
        [u.model_dump(mode="json") for u in editor.updates]
    )
    stderr = (tmp_path / "stderr").read_text()
    assert "Left out the editor's MCP server 'old'" in stderr
    assert "tok-SECRET-42" not in stderr
