"""The agent's tools: schemas, parsing of tool calls, and execution on real folders."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from autogpt_tui.core.errors import ToolError
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.tools import (
    TOOLS,
    EditFileArgs,
    FinishArgs,
    ListFilesArgs,
    ReadFileArgs,
    RunCommandArgs,
    SearchArgs,
    ToolResult,
    ToolRunner,
    WriteFileArgs,
    parse_call,
    tool_schemas,
)
from tests.conftest import git


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A git workspace with tracked, untracked and ignored files."""
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "a.py").write_text("def main():\n    return 1\n")
    (ws / "README.md").write_text("# demo\n")
    (ws / ".gitignore").write_text("build/\n*.log\n")
    git(ws, "init", "-q")
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "init")
    (ws / "notes.txt").write_text("untracked needle\n")
    (ws / "build").mkdir()
    (ws / "build" / "out.txt").write_text("ignored needle\n")
    (ws / "debug.log").write_text("ignored needle\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret needle\n")
    return ws


@pytest.fixture
def tools(root: Path) -> ToolRunner:
    return ToolRunner(root, CommandRunner(root, sandbox=False, default_timeout_s=10))


def call(tools: ToolRunner, name: str, **arguments: Any) -> ToolResult:
    """Parse and execute a tool call the way the agent loop does."""
    return tools.execute(name, parse_call(name, json.dumps(arguments)))


def failed(result: ToolResult, message: str | None = None) -> str:
    """Assert the result is a clean failure (error == output, nothing changed)."""
    assert result.ok is False
    assert result.error is not None and result.output == result.error
    assert result.changed_paths == []
    if message is not None:
        assert result.error == message
    return result.error


# ---------------------------------------------------------------------------------------
# Schemas


def test_every_tool_has_a_plain_json_schema() -> None:
    schemas = tool_schemas()
    assert [s["function"]["name"] for s in schemas] == list(TOOLS)
    assert list(TOOLS) == [
        "read_file",
        "write_file",
        "edit_file",
        "list_files",
        "search",
        "run_command",
        "ask_user",
        "delegate",
        "finish",
    ]
    for entry in schemas:
        assert entry["type"] == "function"
        function = entry["function"]
        assert function["description"]
        params = function["parameters"]
        assert params["type"] == "object"
        assert isinstance(params["properties"], dict) and params["properties"]
        assert isinstance(params["required"], list)
        assert set(params["required"]) <= set(params["properties"])
        assert params["additionalProperties"] is False
        for prop in params["properties"].values():
            assert prop["description"]
            assert prop["type"] in ("string", "integer", "number")
            assert "anyOf" not in prop and "title" not in prop
        json.dumps(entry)  # plain JSON, nothing pydantic-specific


def test_schema_details_for_optional_and_required_arguments() -> None:
    read = TOOLS["read_file"].schema()["function"]["parameters"]
    assert read["required"] == ["path"]
    assert read["properties"]["start_line"] == {
        "type": "integer",
        "minimum": 1,
        "description": "First line to read (1-based, inclusive).",
    }
    listing = TOOLS["list_files"].schema()["function"]["parameters"]
    assert listing["required"] == [] and listing["properties"]["path"]["default"] == "."
    command = TOOLS["run_command"].schema()["function"]["parameters"]
    assert command["properties"]["timeout_s"]["type"] == "number"
    assert TOOLS["edit_file"].schema()["function"]["parameters"]["required"] == [
        "path",
        "old_text",
        "new_text",
    ]


def test_tool_kinds() -> None:
    kinds = {name: spec.kind for name, spec in TOOLS.items()}
    assert kinds == {
        "read_file": "read",
        "write_file": "edit",
        "edit_file": "edit",
        "list_files": "read",
        "search": "read",
        "run_command": "command",
        "ask_user": "ask",
        "delegate": "read",  # it runs reads only (core/delegation.py)
        "finish": "finish",
    }


# ---------------------------------------------------------------------------------------
# parse_call


def test_parse_call_returns_the_argument_model() -> None:
    args = parse_call("read_file", '{"path": "a.py", "start_line": 2}')
    assert args == ReadFileArgs(path="a.py", start_line=2)
    assert parse_call("finish", '{"summary": "done"}') == FinishArgs(summary="done")


def test_empty_arguments_mean_an_empty_object() -> None:
    assert parse_call("list_files", "") == ListFilesArgs(path=".")
    assert parse_call("list_files", "  \n") == ListFilesArgs(path=".")


def test_null_for_an_optional_argument_means_its_default() -> None:
    assert parse_call("list_files", '{"path": null}') == ListFilesArgs(path=".")
    assert parse_call("run_command", '{"command": "ls", "timeout_s": null}') == RunCommandArgs(
        command="ls"
    )


def parse_error(name: str, arguments: str) -> str:
    with pytest.raises(ToolError) as caught:
        parse_call(name, arguments)
    return str(caught.value)


def test_unknown_tool() -> None:
    assert parse_error("foo", "{}") == (
        "Unknown tool 'foo'; the tools are: read_file, write_file, edit_file, list_files, "
        "search, run_command, ask_user, delegate, finish."
    )


def test_malformed_json() -> None:
    assert parse_error("write_file", '{"path": "a" "b"}') == (
        "The arguments of write_file are not valid JSON: Expecting ',' delimiter "
        "at line 1 column 14."
    )
    assert parse_error("write_file", '{"path": "a",') == (
        "The arguments of write_file are not valid JSON: Expecting property name enclosed "
        "in double quotes at line 1 column 14."
    )


def test_arguments_that_are_not_an_object() -> None:
    assert parse_error("write_file", "[]") == (
        "The arguments of write_file must be a JSON object, not an array."
    )
    assert parse_error("search", '"x"') == (
        "The arguments of search must be a JSON object, not a string."
    )


def test_missing_arguments() -> None:
    assert parse_error("write_file", '{"path": "a"}') == "write_file: 'content' is required."
    assert parse_error("edit_file", "{}") == (
        "edit_file: 'path', 'old_text' and 'new_text' are required."
    )


@pytest.mark.parametrize("bad", ["0", "-3", '"x"', "1.5", "[1]"])
def test_invalid_line_numbers(bad: str) -> None:
    assert parse_error("read_file", f'{{"path": "a", "start_line": {bad}}}') == (
        "read_file: 'start_line' must be an integer ≥ 1."
    )


def test_other_invalid_values() -> None:
    assert parse_error("run_command", '{"command": "ls", "timeout_s": 0}') == (
        "run_command: 'timeout_s' must be a number > 0."
    )
    assert parse_error("write_file", '{"path": "", "content": "x"}') == (
        "write_file: 'path' must be a non-empty string."
    )
    assert parse_error("write_file", '{"path": "a", "content": 3}') == (
        "write_file: 'content' must be a string."
    )
    assert parse_error("write_file", '{"path": null, "content": "x"}') == (
        "write_file: 'path' must be a non-empty string."
    )


def test_unexpected_arguments() -> None:
    assert parse_error("read_file", '{"path": "a", "encoding": "latin-1"}') == (
        "read_file: 'encoding' is not an argument (the arguments are: path, start_line, end_line)."
    )


def test_several_problems_make_one_sentence() -> None:
    assert parse_error("read_file", '{"end_line": 0}') == (
        "read_file: 'path' is required; 'end_line' must be an integer ≥ 1."
    )


# ---------------------------------------------------------------------------------------
# read_file


def test_read_whole_file_as_plain_text(tools: ToolRunner) -> None:
    result = call(tools, "read_file", path="src/a.py")
    assert result == ToolResult(ok=True, output="def main():\n    return 1\n", changed_paths=[])


def test_read_line_ranges(tools: ToolRunner, root: Path) -> None:
    (root / "lines.txt").write_text("".join(f"line {n}\n" for n in range(1, 11)))
    result = call(tools, "read_file", path="lines.txt", start_line=3, end_line=5)
    assert result.output == "line 3\nline 4\nline 5\n[lines 3–5 of 10]"
    result = call(tools, "read_file", path="lines.txt", start_line=9)
    assert result.output == "line 9\nline 10\n[lines 9–10 of 10]"
    result = call(tools, "read_file", path="lines.txt", end_line=1)
    assert result.output == "line 1\n[lines 1–1 of 10]"
    # An end past the last line is clamped.
    result = call(tools, "read_file", path="lines.txt", start_line=10, end_line=99)
    assert result.output == "line 10\n[lines 10–10 of 10]"


def test_read_range_errors(tools: ToolRunner, root: Path) -> None:
    (root / "lines.txt").write_text("a\nb\n")
    failed(
        call(tools, "read_file", path="lines.txt", start_line=5),
        "lines.txt has only 2 lines; start_line 5 is past the end.",
    )
    failed(
        call(tools, "read_file", path="lines.txt", start_line=2, end_line=1),
        "read_file: end_line (1) is before start_line (2).",
    )


def test_read_is_capped_with_a_note(root: Path) -> None:
    tools = ToolRunner(root, CommandRunner(root, sandbox=False), max_read_chars=100)
    (root / "big.txt").write_text("".join(f"{n:09d}\n" for n in range(1000)))
    result = tools.execute("read_file", ReadFileArgs(path="big.txt"))
    assert result.ok
    body, note = result.output.rsplit("\n", 1)
    assert body == "".join(f"{n:09d}\n" for n in range(10)).rstrip("\n")
    assert note == (
        "[truncated: showing 100 of 10000 characters (lines 1–10 of 1000); use start_line/end_line]"
    )


def test_read_does_not_split_lines_other_than_at_newlines(tools: ToolRunner, root: Path) -> None:
    (root / "ff.txt").write_text("a\x0cb\u2028c\nd\n")
    result = call(tools, "read_file", path="ff.txt", start_line=2, end_line=2)
    assert result.output == "d\n[lines 2–2 of 2]"


def test_binary_files_are_described_not_dumped(tools: ToolRunner, root: Path) -> None:
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0" + bytes(5111))
    failed(call(tools, "read_file", path="logo.png"), "logo.png is a binary file of 5,120 bytes.")
    (root / "latin1.txt").write_bytes("café".encode("latin-1"))
    failed(call(tools, "read_file", path="latin1.txt"), "latin1.txt is a binary file of 4 bytes.")


def test_read_errors(tools: ToolRunner) -> None:
    failed(call(tools, "read_file", path="nope.py"), "nope.py does not exist.")
    failed(
        call(tools, "read_file", path="src"),
        "src is a folder; use list_files to see what it holds.",
    )
    failed(call(tools, "read_file", path="../outside/secret.txt"))
    assert (
        call(tools, "read_file", path="../x").error == "The path '../x' is outside the workspace."
    )


def test_empty_file(tools: ToolRunner, root: Path) -> None:
    (root / "empty.txt").write_text("")
    assert call(tools, "read_file", path="empty.txt").output == "[empty.txt is empty]"


def test_reading_git_internals_is_refused(tools: ToolRunner) -> None:
    # .git/config may hold credentials in remote URLs, and observations are stored.
    failed(
        call(tools, "read_file", path=".git/config"),
        "Reading .git is not allowed ('.git/config'); use run_command with git commands "
        "to inspect the repository.",
    )
    failed(call(tools, "list_files", path=".git"))
    failed(call(tools, "search", pattern="core", path=".git"))


def test_read_through_symlinks(tools: ToolRunner, root: Path) -> None:
    (root / "alias.py").symlink_to("src/a.py")
    assert call(tools, "read_file", path="alias.py").output.startswith("def main")
    (root / "leak.txt").symlink_to(root.parent / "outside" / "secret.txt")
    failed(
        call(tools, "read_file", path="leak.txt"), "The path 'leak.txt' is outside the workspace."
    )
    (root / "outdir").symlink_to(root.parent / "outside", target_is_directory=True)
    failed(call(tools, "read_file", path="outdir/secret.txt"))


# ---------------------------------------------------------------------------------------
# write_file


def test_write_creates_parents_and_reports_bytes(tools: ToolRunner, root: Path) -> None:
    result = call(tools, "write_file", path="pkg/sub/new.py", content="x = 'é'\n")
    assert result == ToolResult(
        ok=True, output="Created pkg/sub/new.py (9 bytes).", changed_paths=["pkg/sub/new.py"]
    )
    assert (root / "pkg" / "sub" / "new.py").read_bytes() == "x = 'é'\n".encode()


def test_overwrite_keeps_the_mode_and_writes_exactly(tools: ToolRunner, root: Path) -> None:
    script = root / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o750)
    result = call(tools, "write_file", path="run.sh", content="#!/bin/sh\necho hi")
    assert result.output == "Overwrote run.sh (17 bytes)."
    assert result.changed_paths == ["run.sh"]
    assert script.read_bytes() == b"#!/bin/sh\necho hi"  # no newline added, none translated
    assert stat.S_IMODE(script.stat().st_mode) == 0o750


@pytest.mark.parametrize("tool", ["write_file", "edit_file"])
def test_a_write_replaces_a_hard_link_and_leaves_its_twin_as_it_was(
    tools: ToolRunner, root: Path, tool: str
) -> None:
    readme = root / "README.md"
    readme.chmod(0o640)
    os.link(readme, root / "hard_readme")
    git(root, "add", "hard_readme")
    git(root, "commit", "-q", "-m", "link")
    before = readme.stat()
    if tool == "write_file":
        result = call(tools, tool, path="hard_readme", content="# agent\n")
    else:
        result = call(tools, tool, path="hard_readme", old_text="demo", new_text="agent")
    assert result.ok and result.changed_paths == ["hard_readme"]
    after = readme.stat()
    assert (after.st_ino, after.st_nlink) == (before.st_ino, 1)
    assert readme.read_bytes() == b"# demo\n"
    twin = (root / "hard_readme").stat()
    assert twin.st_ino != before.st_ino and twin.st_nlink == 1
    assert (root / "hard_readme").read_bytes() == b"# agent\n"
    assert stat.S_IMODE(twin.st_mode) == 0o640  # the replaced file keeps its mode
    # What a step commits is exactly the twin's change.
    assert git(root, "status", "--porcelain", "--untracked-files=no") == " M hard_readme\n"
    assert not [n for n in os.listdir(root) if n.startswith(".autogpt-tui-write-")]


def test_a_new_file_gets_the_umask_mode(tools: ToolRunner, root: Path) -> None:
    old = os.umask(0o027)
    try:
        call(tools, "write_file", path="fresh/new.txt", content="x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((root / "fresh" / "new.txt").stat().st_mode) == 0o640
    assert os.listdir(root / "fresh") == ["new.txt"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_no_temporary_file_and_the_target_unchanged(
    tools: ToolRunner, root: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    def fail(*_args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, failing, fail)
    result = call(tools, "write_file", path="README.md", content="new\n")
    monkeypatch.undo()
    assert not result.ok
    assert result.output == "Could not write README.md: No space left on device."
    assert (root / "README.md").read_bytes() == b"# demo\n"
    assert sorted(os.listdir(root)) == sorted(
        [".git", ".gitignore", "README.md", "build", "debug.log", "notes.txt", "src"]
    )


def test_writing_the_same_content_changes_nothing(tools: ToolRunner) -> None:
    result = call(tools, "write_file", path="README.md", content="# demo\n")
    assert result.ok and result.changed_paths == []
    assert result.output == "README.md already had this content; nothing changed."


def test_absolute_path_inside_is_written_under_its_relative_name(
    tools: ToolRunner, root: Path
) -> None:
    target = root.resolve() / "abs.txt"
    result = call(tools, "write_file", path=str(target), content="x")
    assert result.changed_paths == ["abs.txt"] and target.read_text() == "x"


def test_write_through_an_inside_symlinked_folder_reports_the_real_path(
    tools: ToolRunner, root: Path
) -> None:
    (root / "lnk").symlink_to("src", target_is_directory=True)
    result = call(tools, "write_file", path="lnk/b.py", content="b\n")
    assert result.changed_paths == ["src/b.py"]


def test_writes_outside_are_refused_and_create_nothing(tools: ToolRunner, root: Path) -> None:
    outside = root.parent / "outside"
    (root / "outdir").symlink_to(outside, target_is_directory=True)
    (root / "outfile").symlink_to(outside / "secret.txt")
    for path in ["../outside/new.txt", str(outside / "new.txt"), "outdir/new.txt", "outfile"]:
        failed(call(tools, "write_file", path=path, content="pwned"))
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret needle\n"


def test_writes_into_git_are_refused(tools: ToolRunner, root: Path) -> None:
    failed(
        call(tools, "write_file", path=".git/hooks/pre-commit", content="rm -rf /"),
        "Writing into .git is not allowed ('.git/hooks/pre-commit').",
    )
    failed(call(tools, "write_file", path="src/../.git/config", content="x"))
    failed(call(tools, "edit_file", path=".git/HEAD", old_text="ref", new_text="x"))
    (root / "g").symlink_to(".git", target_is_directory=True)
    failed(call(tools, "write_file", path="g/description", content="x"))
    assert not (root / ".git" / "hooks" / "pre-commit").exists()
    assert (root / ".git" / "HEAD").read_text().startswith("ref:")


def test_write_errors(tools: ToolRunner) -> None:
    failed(
        call(tools, "write_file", path="src", content="x"),
        "src is a folder; write_file needs a file path.",
    )
    failed(
        call(tools, "write_file", path=".", content="x"),
        "'.' is the workspace folder, not a file.",
    )
    failed(
        call(tools, "write_file", path="README.md/inner.txt", content="x"),
        "Could not write README.md/inner.txt: a parent of it is a file, not a folder.",
    )
    failed(
        call(tools, "write_file", path="x.txt", content="\ud800"),
        "'content' is not valid UTF-8 text (it holds a lone surrogate).",
    )


# ---------------------------------------------------------------------------------------
# edit_file


def test_edit_replaces_the_single_occurrence(tools: ToolRunner, root: Path) -> None:
    result = call(tools, "edit_file", path="src/a.py", old_text="return 1", new_text="return 2")
    assert result == ToolResult(
        ok=True, output="Edited src/a.py: new text at line 2.", changed_paths=["src/a.py"]
    )
    assert (root / "src" / "a.py").read_text() == "def main():\n    return 2\n"


def test_edit_not_found(tools: ToolRunner, root: Path) -> None:
    before = (root / "src" / "a.py").read_text()
    failed(
        call(tools, "edit_file", path="src/a.py", old_text="return 9", new_text="x"),
        "old_text was not found in src/a.py.",
    )
    assert (root / "src" / "a.py").read_text() == before


def test_edit_ambiguous(tools: ToolRunner, root: Path) -> None:
    (root / "src" / "a.py").write_text("x = 1\nx = 1\nx = 1\n")
    failed(
        call(tools, "edit_file", path="src/a.py", old_text="x = 1", new_text="y"),
        "old_text occurs 3 times in src/a.py; include more surrounding lines so it is unique.",
    )
    assert (root / "src" / "a.py").read_text() == "x = 1\nx = 1\nx = 1\n"


def test_overlapping_occurrences_count_as_ambiguous(tools: ToolRunner, root: Path) -> None:
    (root / "aaa.txt").write_text("aaa")
    failed(
        call(tools, "edit_file", path="aaa.txt", old_text="aa", new_text="b"),
        "old_text occurs 2 times in aaa.txt; include more surrounding lines so it is unique.",
    )


def test_edit_keeps_windows_line_endings(tools: ToolRunner, root: Path) -> None:
    (root / "win.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    result = call(tools, "edit_file", path="win.txt", old_text="one\ntwo\n", new_text="1\n2\n")
    assert result.ok, result.error
    assert (root / "win.txt").read_bytes() == b"1\r\n2\r\nthree\r\n"


def test_edit_errors(tools: ToolRunner, root: Path) -> None:
    failed(
        call(tools, "edit_file", path="missing.py", old_text="a", new_text="b"),
        "missing.py does not exist.",
    )
    (root / "blob.bin").write_bytes(b"\0\1\2")
    failed(
        call(tools, "edit_file", path="blob.bin", old_text="a", new_text="b"),
        "blob.bin is a binary file of 3 bytes.",
    )


def test_edit_can_delete_and_insert_lines(tools: ToolRunner, root: Path) -> None:
    (root / "f.txt").write_text("a\nb\nc\n")
    assert call(tools, "edit_file", path="f.txt", old_text="b\n", new_text="").output == (
        "Edited f.txt: removed text at line 2."
    )
    result = call(tools, "edit_file", path="f.txt", old_text="c\n", new_text="c\nd\ne\n")
    assert result.output == "Edited f.txt: new text at lines 2–4."
    assert (root / "f.txt").read_text() == "a\nc\nd\ne\n"


# ---------------------------------------------------------------------------------------
# preview


def test_preview_of_a_new_file(tools: ToolRunner, root: Path) -> None:
    preview = tools.preview("write_file", WriteFileArgs(path="new/x.py", content="x\n"))
    assert preview is not None and preview.ok
    assert (preview.path, preview.old_text, preview.new_text, preview.exists) == (
        "new/x.py",
        None,
        "x\n",
        False,
    )
    assert not (root / "new").exists()


def test_preview_of_an_edit_writes_nothing(tools: ToolRunner, root: Path) -> None:
    args = EditFileArgs(path="src/a.py", old_text="return 1", new_text="return 2")
    preview = tools.preview("edit_file", args)
    assert preview is not None and preview.exists
    assert preview.old_text == "def main():\n    return 1\n"
    assert preview.new_text == "def main():\n    return 2\n"
    assert (root / "src" / "a.py").read_text() == "def main():\n    return 1\n"


def test_preview_of_a_failing_edit_gives_the_same_sentence(tools: ToolRunner) -> None:
    args = EditFileArgs(path="src/a.py", old_text="nope", new_text="x")
    preview = tools.preview("edit_file", args)
    assert preview is not None and not preview.ok
    assert preview.error == tools.execute("edit_file", args).error
    assert preview.error == "old_text was not found in src/a.py."
    outside = tools.preview("write_file", WriteFileArgs(path="../x", content=""))
    assert outside is not None and outside.error == "The path '../x' is outside the workspace."


def test_preview_is_none_for_other_tools(tools: ToolRunner) -> None:
    assert tools.preview("read_file", ReadFileArgs(path="README.md")) is None


# ---------------------------------------------------------------------------------------
# list_files


def test_list_honours_gitignore_and_hides_git(tools: ToolRunner, root: Path) -> None:
    (root / "empty_dir").mkdir()
    result = call(tools, "list_files")
    assert result.output.splitlines() == [
        ".gitignore",
        "README.md",
        "empty_dir/",
        "notes.txt",
        "src/",
        "src/a.py",
    ]
    assert result.changed_paths == []


def test_list_a_subfolder_and_a_file(tools: ToolRunner, root: Path) -> None:
    (root / "src" / "pkg").mkdir()
    (root / "src" / "pkg" / "b.py").write_text("")
    (root / "src" / "x.log").write_text("")
    assert call(tools, "list_files", path="src").output == "src/a.py\nsrc/pkg/\nsrc/pkg/b.py"
    assert call(tools, "list_files", path="src/a.py").output == "src/a.py"


def test_listing_an_ignored_folder_by_name_shows_it(tools: ToolRunner) -> None:
    assert call(tools, "list_files", path="build").output == "build/out.txt"


def test_list_errors_and_empty_folders(tools: ToolRunner, root: Path) -> None:
    failed(call(tools, "list_files", path="nope"), "nope does not exist.")
    failed(call(tools, "list_files", path=".."), "The path '..' is outside the workspace.")
    (root / "hollow").mkdir()
    assert call(tools, "list_files", path="hollow").output == "[hollow/ is empty]"


def test_list_is_capped_with_a_note(root: Path) -> None:
    tools = ToolRunner(root, CommandRunner(root, sandbox=False), max_list_entries=3)
    output = tools.execute("list_files", ListFilesArgs()).output
    assert output.splitlines() == [
        ".gitignore",
        "README.md",
        "notes.txt",
        "[truncated: showing 3 of 5 entries; list a subfolder to see more]",
    ]


def test_list_without_git_walks_the_folder(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "d").mkdir(parents=True)
    (plain / "d" / "f.txt").write_text("")
    (plain / "top.txt").write_text("")
    tools = ToolRunner(plain, CommandRunner(plain, sandbox=False))
    assert tools.execute("list_files", ListFilesArgs()).output == "d/\nd/f.txt\ntop.txt"


# ---------------------------------------------------------------------------------------
# search


def test_search_honours_gitignore_and_skips_binaries(tools: ToolRunner, root: Path) -> None:
    (root / "bin.dat").write_bytes(b"needle\0")
    (root / "src" / "c.py").write_text("a = 1\n# needle here\n")
    result = call(tools, "search", pattern=r"need+le")
    assert result.output.splitlines() == [
        "notes.txt:1: untracked needle",
        "src/c.py:2: # needle here",
    ]
    assert result.ok and result.changed_paths == []


def test_search_never_reads_git_internals(tools: ToolRunner, root: Path) -> None:
    git(root, "config", "user.name", "Needle In Config")
    assert call(tools, "search", pattern="Needle In").output == (
        "No matches for 'Needle In' in the workspace."
    )


def test_search_limited_to_a_path(tools: ToolRunner) -> None:
    assert call(tools, "search", pattern="return", path="src").output == "src/a.py:2:     return 1"
    assert call(tools, "search", pattern="def", path="src/a.py").output == "src/a.py:1: def main():"
    assert call(tools, "search", pattern="needle", path="src").output == (
        "No matches for 'needle' in src."
    )


def test_search_bad_regex(tools: ToolRunner) -> None:
    failed(
        call(tools, "search", pattern="(unclosed"),
        "The pattern '(unclosed' is not a valid regular expression: "
        "missing ), unterminated subpattern at position 0.",
    )


def test_search_is_capped_with_a_note(root: Path) -> None:
    (root / "many.txt").write_text("hit\n" * 50)
    tools = ToolRunner(root, CommandRunner(root, sandbox=False), max_search_matches=5)
    lines = tools.execute("search", SearchArgs(pattern="^hit$")).output.splitlines()
    assert lines[:5] == [f"many.txt:{n}: hit" for n in range(1, 6)]
    assert lines[5:] == ["[truncated: showing the first 5 matches; narrow the pattern or the path]"]


def test_search_skips_symlinks_leading_outside(tools: ToolRunner, root: Path) -> None:
    (root / "leak.txt").symlink_to(root.parent / "outside" / "secret.txt")
    assert "secret" not in call(tools, "search", pattern="needle").output


def test_search_without_git(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.txt").write_text("one\ntwo\n")
    tools = ToolRunner(plain, CommandRunner(plain, sandbox=False))
    assert tools.execute("search", SearchArgs(pattern="tw")).output == "a.txt:2: two"


# ---------------------------------------------------------------------------------------
# run_command and dispatch


def test_run_command_success(tools: ToolRunner) -> None:
    result = call(tools, "run_command", command="echo hi > made.txt; cat made.txt")
    assert result.ok and result.error is None
    # Exactly what the command changed (captured on an overlay or a copy), never None.
    assert result.changed_paths == ["made.txt"]
    assert result.output == "Exit status: 0\n--- stdout ---\nhi"
    assert result.command_result is not None and result.command_result.exit_code == 0


def test_run_command_failure_and_stderr(tools: ToolRunner) -> None:
    result = call(tools, "run_command", command="echo oops >&2; exit 2")
    assert result.ok is False
    assert result.error == "The command failed with exit status 2."
    assert result.output == "Exit status: 2\n--- stderr ---\noops"
    assert result.changed_paths == []


def test_run_command_timeout(tools: ToolRunner) -> None:
    result = call(tools, "run_command", command="echo started; sleep 30", timeout_s=0.3)
    assert result.ok is False
    assert result.error == "The command timed out after 0.3 s."
    assert result.output.startswith("The command timed out after 0.3 s")
    assert "started" in result.output


def test_run_command_invalid_timeout_bypassing_validation(tools: ToolRunner) -> None:
    args = RunCommandArgs.model_construct(command="true", timeout_s=-1)
    failed(tools.execute("run_command", args), "run_command: timeout_s must be positive.")


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("ask_user", parse_call("ask_user", '{"question": "ok?"}')),
        ("finish", FinishArgs(summary="done")),
        ("nope", FinishArgs(summary="done")),
        ("read_file", FinishArgs(summary="done")),
    ],
)
def test_execute_refuses_what_is_not_its_job(tools: ToolRunner, name: str, args: BaseModel) -> None:
    with pytest.raises(ValueError):
        tools.execute(name, args)


def test_paths_with_glob_characters_are_taken_literally(tools: ToolRunner, root: Path) -> None:
    (root / "a[b]").mkdir()
    (root / "a[b]" / "in.txt").write_text("needle literal\n")
    (root / "ab").mkdir()
    (root / "ab" / "other.txt").write_text("needle glob\n")
    assert call(tools, "list_files", path="a[b]").output == "a[b]/in.txt"
    assert call(tools, "search", pattern="needle", path="a[b]").output == (
        "a[b]/in.txt:1: needle literal"
    )
