"""Hunk-level review in the core: a proposed change split into hunks, the file holding
exactly the accepted ones, and what a hunk-by-hunk answer amounts to.

The changes are previewed by the real ToolRunner on real files, and the partial content
is written and read back as bytes, so line endings and missing newlines are checked
where they matter: on disk.
"""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from autogpt_tui.core.collaborators import Approval
from autogpt_tui.core.events import PendingAction
from autogpt_tui.core.file_text import decode_text
from autogpt_tui.core.hunks import NO_NEWLINE, ProposedChange
from autogpt_tui.core.partial_edit import PartialWrite, proposed_change, settle
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.tools import EditFileArgs, FilePreview, ToolRunner, WriteFileArgs
from tests.conftest import git

TWENTY = "".join(f"line {n}\n" for n in range(1, 21))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    git(ws, "init", "-q")
    return ws


@pytest.fixture
def tools(root: Path) -> ToolRunner:
    return ToolRunner(root, CommandRunner(root, sandbox=False, default_timeout_s=10))


def preview_write(tools: ToolRunner, path: str, content: str) -> FilePreview:
    preview = tools.preview("write_file", WriteFileArgs(path=path, content=content))
    assert preview is not None and preview.ok
    return preview


def action_of(preview: FilePreview, tool: str = "write_file") -> PendingAction:
    return PendingAction(
        step=1, tool=tool, arguments={"path": preview.path}, call_id="c1",
        needs_approval=True, kind="edit", preview=preview,
    )  # fmt: skip


def change_of(preview: FilePreview) -> ProposedChange:
    change = proposed_change(action_of(preview))
    assert change is not None
    return change


def write_partial(tools: ToolRunner, root: Path, preview: FilePreview, accepted: set[int]) -> bytes:
    """Carry out a partial approval as the loop does; the file's bytes afterwards."""
    partial = PartialWrite.of(action_of(preview), Approval.partial(accepted))
    assert partial is not None
    result = tools.execute("write_file", partial.args, expected=partial.expected)
    assert result.ok, result.output
    return (root / preview.path).read_bytes()


def test_two_distant_changes_are_two_hunks_and_either_can_be_applied_alone(
    tools: ToolRunner, root: Path
) -> None:
    (root / "f.txt").write_text(TWENTY)
    new = TWENTY.replace("line 2\n", "line two\n").replace("line 18\n", "line eighteen\n")
    preview = preview_write(tools, "f.txt", new)
    change = change_of(preview)
    assert [h.header for h in change.hunks] == ["@@ -1,5 +1,5 @@", "@@ -15,6 +15,6 @@"]
    assert change.hunks[0].lines[:3] == (" line 1", "-line 2", "+line two")
    assert change.content({0, 1}) == new and change.content(set()) == TWENTY
    first_only = write_partial(tools, root, preview, {0})
    assert first_only == TWENTY.replace("line 2\n", "line two\n").encode()


def test_the_hunks_are_the_ones_git_shows(tools: ToolRunner, root: Path) -> None:
    (root / "f.txt").write_text(TWENTY)
    new = TWENTY.replace("line 3\n", "").replace("line 12\n", "line 12\nnew 12b\nnew 12c\n")
    change = change_of(preview_write(tools, "f.txt", new))
    (root / "g.txt").write_text(new)
    shown = subprocess.run(
        ["git", "diff", "--no-index", "--no-color", "f.txt", "g.txt"],
        cwd=root, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    git_hunks = [line.split(" @@")[0] + " @@" for line in shown.splitlines() if line[:2] == "@@"]
    assert [h.header for h in change.hunks] == git_hunks
    # git adds the line before a hunk to its header ("@@ … @@ line 9"); the rest is equal.
    body = [git_hunks.pop(0) if line[:2] == "@@" else line for line in shown.splitlines()[4:]]
    assert change.diff().splitlines()[2:] == body


def test_changes_close_together_share_a_hunk_and_apart_do_not(tools: ToolRunner) -> None:
    six_apart = TWENTY.replace("line 5\n", "five\n").replace("line 12\n", "twelve\n")
    seven_apart = TWENTY.replace("line 5\n", "five\n").replace("line 13\n", "thirteen\n")
    assert len(ProposedChange.of("f", TWENTY, six_apart).hunks) == 1
    adjacent = ProposedChange.of("f", TWENTY, seven_apart)
    assert len(adjacent.hunks) == 2
    # Their context lines touch (lines 9 and 10) but never overlap.
    assert adjacent.hunks[0].old_end <= adjacent.hunks[1].old_start
    assert adjacent.content({1}) == TWENTY.replace("line 13\n", "thirteen\n")


def test_every_subset_of_hunks_gives_a_file_with_exactly_those_changes() -> None:
    old = "".join(f"{n}\n" for n in range(60))
    new = (
        old.replace("3\n", "three\n", 1)
        .replace("20\n", "")
        .replace("35\n", "35\nthirty-five and a half\n")
        .replace("50\n", "fifty\n")
    )
    change = ProposedChange.of("f", old, new)
    assert len(change.hunks) == 4
    for size in range(5):
        for accepted in itertools.combinations(range(4), size):
            partial = change.content(accepted)
            # What is left to do from there is exactly the hunks not accepted.
            rest = ProposedChange.of("f", partial, new)
            assert len(rest.hunks) == 4 - size
            assert [h.lines for h in rest.hunks] == [
                h.lines for h in change.hunks if h.index not in accepted
            ]


def test_a_new_file_is_one_hunk_from_dev_null(tools: ToolRunner, root: Path) -> None:
    preview = preview_write(tools, "new/thing.py", "a = 1\nb = 2\n")
    change = change_of(preview)
    assert change.is_new and len(change.hunks) == 1
    assert change.diff().splitlines()[:3] == [
        "--- /dev/null",
        "+++ b/new/thing.py",
        "@@ -0,0 +1,2 @@",
    ]
    assert settle(Approval.partial({0}), action_of(preview)) == Approval.approve()
    assert not settle(Approval.partial(set()), action_of(preview)).approved


def test_a_file_without_a_trailing_newline_keeps_its_last_line_exact(
    tools: ToolRunner, root: Path
) -> None:
    old = TWENTY + "last"
    (root / "f.txt").write_text(old)
    new = old.replace("line 1\n", "line one\n").replace("last", "final")
    preview = preview_write(tools, "f.txt", new)
    change = change_of(preview)
    assert len(change.hunks) == 2
    assert change.hunks[1].lines[-4:] == ("-last", NO_NEWLINE, "+final", NO_NEWLINE)
    assert write_partial(tools, root, preview, {1}) == (TWENTY + "final").encode()


def test_adding_only_the_missing_newline_is_a_hunk(tools: ToolRunner, root: Path) -> None:
    (root / "f.txt").write_text("a\nb")
    change = change_of(preview_write(tools, "f.txt", "a\nb\n"))
    assert [h.lines for h in change.hunks] == [(" a", "-b", NO_NEWLINE, "+b")]


def test_crlf_lines_keep_their_endings(tools: ToolRunner, root: Path) -> None:
    old = TWENTY.replace("\n", "\r\n")
    (root / "dos.txt").write_bytes(old.encode())
    # One edit_file whose old_text spans lines 2–19 and changes both ends: two hunks.
    # The model writes "\n"; edit_file matches it to the file's "\r\n".
    span = "".join(f"line {n}\n" for n in range(2, 20))
    changed = span.replace("line 2\n", "two\n").replace("line 19\n", "nineteen\n")
    preview = tools.preview(
        "edit_file", EditFileArgs(path="dos.txt", old_text=span, new_text=changed)
    )
    assert preview is not None and preview.ok
    change = change_of(preview)
    assert len(change.hunks) == 2
    data = write_partial(tools, root, preview, {1})
    assert data == old.replace("line 19\r\n", "nineteen\r\n").encode()
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_a_file_that_is_not_utf8_is_replaced_whole(tools: ToolRunner, root: Path) -> None:
    (root / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    assert decode_text((root / "latin1.txt").read_bytes()) is None
    preview = preview_write(tools, "latin1.txt", "café\n")
    assert preview.exists and preview.old_text is None
    change = change_of(preview)
    assert not change.is_new and len(change.hunks) == 1
    assert change.diff().splitlines()[0] == "--- a/latin1.txt"
    assert settle(Approval.partial({0}), action_of(preview)) == Approval.approve()


def test_what_a_hunk_by_hunk_answer_amounts_to() -> None:
    new = TWENTY.replace("line 2\n", "two\n").replace("line 18\n", "eighteen\n")
    action = action_of(FilePreview("f.txt", TWENTY, new, exists=True, digest="d"))
    assert settle(Approval.partial({0, 1}), action) == Approval.approve()
    assert settle(Approval.partial({1}), action) == Approval.partial({1})
    # Numbers that name no hunk are dropped; nothing left is a rejection.
    assert settle(Approval.partial({1, 7}), action) == Approval.partial({1})
    refused = settle(Approval.partial({7}), action)
    assert not refused.approved and "every hunk of the change to f.txt" in refused.reason
    # Plain answers pass through.
    assert settle(Approval.approve(), action) == Approval.approve()
    assert settle(Approval.reject("no"), action) == Approval.reject("no")
    # An answer about hunks of an action without a file change approves it whole.
    run = PendingAction(step=1, tool="run_command", arguments={}, call_id="c")
    assert settle(Approval.partial({0}), run) == Approval.approve()


def test_the_partial_write_tells_the_model_what_was_left_out() -> None:
    new = TWENTY.replace("line 2\n", "two\n").replace("line 18\n", "eighteen\n")
    action = action_of(FilePreview("f.txt", TWENTY, new, exists=True, digest="d"))
    partial = PartialWrite.of(action, Approval.partial({0}))
    assert partial is not None and partial.summary == "1 of 2 hunks"
    assert partial.args == WriteFileArgs(path="f.txt", content=partial.change.content({0}))
    assert partial.expected.digest == "d" and partial.expected.new_text == partial.args.content
    told = partial.observation("Overwrote f.txt (1 bytes).", True)
    assert "Applied 1 of the 2 hunks" in told
    assert "-line 18\n+eighteen" in told and "two" not in told
    assert partial.observation("f.txt changed after …", False) == "f.txt changed after …"
    assert PartialWrite.of(action, Approval.approve()) is None


def test_a_huge_left_out_diff_is_cut_for_the_model() -> None:
    old = "".join(f"{n}\n" for n in range(5000))
    new = "".join(f"{n}\n" if 2490 <= n < 2510 else f"{n} changed\n" for n in range(5000))
    action = action_of(FilePreview("big.txt", old, new, exists=True, digest="d"))
    partial = PartialWrite.of(action, Approval.partial({0}))
    assert partial is not None and len(partial.change.hunks) == 2
    told = partial.observation("", True)
    assert len(told) < 4500 and "more diff lines)" in told
