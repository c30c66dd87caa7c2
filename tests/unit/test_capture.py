"""Exact capture of a command's changes: overlay and copy routes, on real repositories.

Every scenario runs on both routes, with and without bubblewrap, so the copy fallback is
covered on every machine. Where the overlay or bubblewrap cannot work the test skips,
saying why, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core import capture, sandbox
from autogpt_tui.core.errors import UserError
from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.tools import RunCommandArgs, ToolRunner, WriteFileArgs
from tests.conftest import git
from tests.unit.test_sandbox import _assert_gone, _unique_sleep

ROUTES = ["overlay", "copy"]


def _require(condition: bool, why: str) -> None:
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the capture tests, but: {why}")
        pytest.skip(why)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A repository with a few committed files and folders."""
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "src" / "util.py").write_text("X = 1\n")
    (root / "docs").mkdir()
    (root / "docs" / "a.md").write_text("a\n")
    (root / "docs" / "b.md").write_text("b\n")
    (root / "old.txt").write_text("old\n")
    (root / "tool.sh").write_text("echo tool\n")
    (root / "shared.txt").write_text("base\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    return root


def make_runner(
    root: Path, route: str, boxed: bool, capture_temp_dir: Path | None = None
) -> CommandRunner:
    """A runner on ``route``, inside bubblewrap when ``boxed``; skips (fails on CI) when
    this machine cannot give that combination."""
    runner = CommandRunner(
        root,
        sandbox=boxed,
        default_timeout_s=30,
        capture=route,
        capture_temp_dir=capture_temp_dir,
    )
    status = runner.sandbox_status
    if boxed:
        _require(status.active, status.notice)
    if route == "overlay":
        _require(sys.platform.startswith("linux"), "overlays need Linux")
        _require(status.capture == "overlay", status.notice)
    assert status.capture == route
    return runner


@pytest.fixture(
    params=[(r, b) for r in ROUTES for b in (False, True)],
    ids=lambda p: f"{p[0]}-{'bwrap' if p[1] else 'plain'}",
)
def runner(request: pytest.FixtureRequest, ws: Path) -> CommandRunner:
    route, boxed = request.param
    return make_runner(ws, route, boxed)


def status_porcelain(root: Path) -> str:
    return git(root, "status", "--porcelain", "--untracked-files=all")


# ---------------------------------------------------------------------------------------
# What a command changed, applied exactly


EDITS = (
    "echo new > new.txt && mkdir -p deep/er && echo d > deep/er/file.txt"
    " && echo changed >> src/app.py"
    " && rm old.txt"
    " && chmod +x tool.sh"
    " && ln -s src/app.py link.py"
    " && mv src/util.py src/helpers.py"
    " && rm -r docs && mkdir docs && echo c > docs/c.md"
)
EDITED = [
    "deep/er/file.txt",
    "docs/a.md",
    "docs/b.md",
    "docs/c.md",
    "link.py",
    "new.txt",
    "old.txt",
    "src/app.py",
    "src/helpers.py",
    "src/util.py",
    "tool.sh",
]


def assert_edited(root: Path) -> None:
    assert (root / "new.txt").read_text() == "new\n"
    assert (root / "deep/er/file.txt").read_text() == "d\n"
    assert (root / "src/app.py").read_text() == "print('hi')\nchanged\n"
    assert not (root / "old.txt").exists()
    assert os.stat(root / "tool.sh").st_mode & stat.S_IXUSR
    assert os.readlink(root / "link.py") == "src/app.py"
    assert not (root / "src/util.py").exists()
    assert (root / "src/helpers.py").read_text() == "X = 1\n"
    assert sorted(os.listdir(root / "docs")) == ["c.md"]


def test_every_kind_of_change_is_applied_and_listed_exactly(
    runner: CommandRunner, ws: Path
) -> None:
    with runner.run_captured(EDITS) as run:
        assert run.result.exit_code == 0, run.result.stderr
        # Nothing reaches the workspace before apply.
        assert status_porcelain(ws) == ""
        assert run.paths() == EDITED
        seen: list[list[str]] = []
        applied = run.apply(seen.append)
    assert applied.paths == EDITED and seen == [EDITED]
    assert applied.clashes == [] and applied.skipped == []
    assert_edited(ws)


@pytest.mark.parametrize("route", ROUTES)
def test_layers_on_another_file_system_are_copied_in(route: str, ws: Path, tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system (/dev/shm) to hold the layers")
    temp = Path(tempfile.mkdtemp(dir=shm))
    try:
        runner = make_runner(ws, route, False, capture_temp_dir=temp)
        with runner.run_captured(EDITS) as run:
            applied = run.apply()
        assert applied.paths == EDITED
        assert_edited(ws)
        assert os.listdir(temp) == []  # the layers are gone
    finally:
        shutil.rmtree(temp)


def test_odd_file_names_keep_their_bytes(runner: CommandRunner, ws: Path) -> None:
    command = "echo 1 > 'with space.txt'; echo 2 > $'new\\nline.txt'; echo 3 > $'bad\\xffname.txt'"
    with runner.run_captured(command) as run:
        applied = run.apply()
    bad = os.fsdecode(b"bad\xffname.txt")
    assert applied.paths == sorted([bad, "new\nline.txt", "with space.txt"])
    names = set(os.listdir(os.fsencode(ws)))
    assert {b"with space.txt", b"new\nline.txt", b"bad\xffname.txt"} <= names
    assert (ws / bad).read_text() == "3\n"


def test_a_command_that_changes_nothing_lists_nothing(runner: CommandRunner, ws: Path) -> None:
    with runner.run_captured("cat src/app.py > /dev/null; touch src/app.py") as run:
        applied = run.apply()
    # touch copies the file up unchanged in content and mode: not a change for git.
    assert applied.paths == [] and status_porcelain(ws) == ""


def test_discard_leaves_the_workspace_untouched(runner: CommandRunner, ws: Path) -> None:
    run = runner.run_captured("echo x > new.txt && rm old.txt")
    run.discard()
    run.discard()
    assert status_porcelain(ws) == ""


def test_the_temporary_folder_goes_away(ws: Path, tmp_path: Path) -> None:
    temp = tmp_path / "layers"
    temp.mkdir()
    for route in ROUTES:
        if (
            route == "overlay"
            and CommandRunner(ws, sandbox=False).sandbox_status.capture != "overlay"
        ):
            continue
        runner = CommandRunner(ws, sandbox=False, capture=route, capture_temp_dir=temp)
        with runner.run_captured("rm -r docs; mkdir docs") as run:
            run.apply()
        assert os.listdir(temp) == []


# ---------------------------------------------------------------------------------------
# The user's saves while the command runs


def fifo_dir(tmp_path: Path, runner: CommandRunner) -> Path:
    """A folder for the handshake FIFOs that the command can reach: under bubblewrap /tmp
    is a fresh tmpfs and the rest of the host is hidden, so a folder elsewhere that the
    runner is told to show (read-only inside is fine for a FIFO), as a user's
    ``[sandbox] allow_read`` would."""
    if not runner.sandbox_status.active:
        return tmp_path
    for base in ("/var/tmp", str(Path.home())):
        if os.path.isdir(base) and os.access(base, os.W_OK) and not base.startswith("/tmp"):
            folder = Path(tempfile.mkdtemp(prefix="autogpt-tui-fifo-", dir=base))
            runner.allow_read = (*runner.allow_read, str(folder))
            return folder
    pytest.skip("no writable folder outside /tmp for the handshake FIFOs")


class UserEditor:
    """Plays the user's editor: saves files while the command waits between two FIFOs.

    The command writes to ``started`` (blocking until we read it), then reads ``go``
    (blocking until we write it): the saves happen strictly while it runs, without sleeps.
    """

    def __init__(self, folder: Path, saves: dict[str, str | None], root: Path) -> None:
        self.started = folder / "started.fifo"
        self.go = folder / "go.fifo"
        os.mkfifo(self.started)
        os.mkfifo(self.go)
        self._saves = saves
        self._root = root
        self._thread = threading.Thread(target=self._play, daemon=True)
        self.error: BaseException | None = None

    def wrap(self, command: str) -> str:
        started, go = shlex.quote(str(self.started)), shlex.quote(str(self.go))
        return f"echo started > {started}; read go < {go}; {command}"

    def _play(self) -> None:
        try:
            with open(self.started) as handle:
                assert handle.read() == "started\n"
            for name, text in self._saves.items():
                if text is None:
                    (self._root / name).unlink()
                else:
                    (self._root / name).write_text(text)
            with open(self.go, "w") as handle:
                handle.write("go\n")
        except BaseException as error:  # reported by the test
            self.error = error

    def __enter__(self) -> UserEditor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            # The command never reached the handshake: unblock our side of both FIFOs.
            for fifo in (self.started, self.go):
                fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
                os.close(fd)
        self._thread.join(30)


@pytest.fixture
def editor_dir(tmp_path: Path, runner: CommandRunner) -> Iterator[Path]:
    folder = fifo_dir(tmp_path, runner)
    yield folder
    if folder != tmp_path:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_file_both_changed_keeps_the_users_version_and_is_a_clash(
    runner: CommandRunner, ws: Path, editor_dir: Path
) -> None:
    saves: dict[str, str | None] = {
        "shared.txt": "the user's\n",
        "notes.txt": "user notes\n",
        "old.txt": None,  # the user deletes it while the command edits it
    }
    with UserEditor(editor_dir, saves, ws) as editor:
        command = editor.wrap(
            "echo agent > agent.txt; echo agent > shared.txt; echo more >> old.txt"
        )
        with runner.run_captured(command) as run:
            assert run.result.exit_code == 0, run.result.stderr
            applied = run.apply()
    assert editor.error is None
    assert (ws / "shared.txt").read_text() == "the user's\n"
    assert not (ws / "old.txt").exists()
    assert (ws / "agent.txt").read_text() == "agent\n"
    assert (ws / "notes.txt").read_text() == "user notes\n"
    assert applied.paths == ["agent.txt"]  # the user's notes.txt is not the command's
    assert applied.clashes == ["old.txt", "shared.txt"]
    assert applied.notes() == [
        "Not applied: you and the user both changed old.txt; the user's version was kept.",
        "Not applied: you and the user both changed shared.txt; the user's version was kept.",
    ]


def test_a_folder_the_command_removes_keeps_what_the_user_saved_in_it(
    runner: CommandRunner, ws: Path, editor_dir: Path
) -> None:
    editor = UserEditor(editor_dir, {"docs/a.md": "user's a\n"}, ws)
    with editor, runner.run_captured(editor.wrap("rm -r docs")) as run:
        applied = run.apply()
    assert editor.error is None
    assert applied.paths == ["docs/b.md"] and applied.clashes == ["docs/a.md"]
    assert os.listdir(ws / "docs") == ["a.md"]
    assert (ws / "docs" / "a.md").read_text() == "user's a\n"


# ---------------------------------------------------------------------------------------
# Paths that are never applied


@pytest.mark.parametrize("route", ROUTES)
def test_git_internals_and_nested_repositories_are_never_applied(route: str, ws: Path) -> None:
    nested = ws / "vendor" / "lib"
    nested.mkdir(parents=True)
    (nested / "lib.c").write_text("int x;\n")
    git(nested, "init", "-q")
    runner = make_runner(ws, route, False)
    command = (
        "echo junk > .git/junk; echo x > vendor/lib/lib.c; echo y > vendor/lib/new.c;"
        " echo ok > fine.txt; rm -rf vendor/lib/.git"
    )
    with runner.run_captured(command) as run:
        applied = run.apply()
    assert applied.paths == ["fine.txt"]
    assert not (ws / ".git" / "junk").exists()
    assert (nested / "lib.c").read_text() == "int x;\n"
    assert not (nested / "new.c").exists() and (nested / ".git").is_dir()
    assert "vendor/lib" in applied.skipped
    notes = "\n".join(applied.notes())
    assert "vendor/lib, a nested repository" in notes
    if route == "overlay":
        assert ".git" in applied.skipped and "inside .git" in notes


def test_removing_a_folder_never_removes_a_nested_repository(ws: Path) -> None:
    nested = ws / "docs" / "sub"
    nested.mkdir()
    (nested / "s.txt").write_text("s\n")
    git(nested, "init", "-q")
    for route in ROUTES:
        if (
            route == "overlay"
            and CommandRunner(ws, sandbox=False).sandbox_status.capture != "overlay"
        ):
            continue
        runner = CommandRunner(ws, sandbox=False, capture=route)
        with runner.run_captured("rm -rf docs") as run:
            applied = run.apply()
        assert (nested / "s.txt").read_text() == "s\n" and (nested / ".git").is_dir()
        assert "docs/sub" in applied.skipped


# ---------------------------------------------------------------------------------------
# Timeouts, hooks and the tool


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")
def test_a_timeout_still_kills_everything_and_keeps_what_was_done(
    runner: CommandRunner, ws: Path
) -> None:
    duration = _unique_sleep()
    with runner.run_captured(
        f"echo partial > partial.txt; sleep {duration} & sleep {duration}; wait", timeout_s=0.5
    ) as run:
        assert run.result.timed_out is True and run.result.exit_code is None
        applied = run.apply()
    _assert_gone(duration)
    assert applied.paths == ["partial.txt"]
    assert (ws / "partial.txt").read_text() == "partial\n"


def test_run_command_reports_exact_paths_and_clashes(runner: CommandRunner, ws: Path) -> None:
    seen: list[list[str]] = []
    tools = ToolRunner(ws, runner, before_change=seen.append)
    result = tools.execute("run_command", RunCommandArgs(command="echo n > n.txt; rm old.txt"))
    assert result.ok and result.changed_paths == ["n.txt", "old.txt"] and result.clashes == []
    assert seen == [["n.txt", "old.txt"]]
    assert result.output == "Exit status: 0\n(no output)"


def test_a_refusing_hook_applies_nothing(runner: CommandRunner, ws: Path) -> None:
    def refuse(paths: list[str]) -> None:
        raise UserError(f"Cannot commit the user's version of {paths[0]} first.")

    tools = ToolRunner(ws, runner, before_change=refuse)
    result = tools.execute("run_command", RunCommandArgs(command="echo x > shared.txt"))
    assert (result.ok, result.changed_paths) == (False, [])
    assert result.error == "Cannot commit the user's version of shared.txt first."
    assert status_porcelain(ws) == ""
    result = tools.execute("write_file", WriteFileArgs(path="old.txt", content="new\n"))
    assert (result.ok, result.changed_paths) == (False, [])
    assert (ws / "old.txt").read_text() == "old\n"


def test_write_file_calls_the_hook_with_its_path_first(ws: Path) -> None:
    seen: list[tuple[list[str], str]] = []
    tools = ToolRunner(ws, CommandRunner(ws, sandbox=False))
    # Settable later: the lead's session wires it after building the runner.
    tools.before_change = lambda paths: seen.append((paths, (ws / "old.txt").read_text()))
    result = tools.execute("write_file", WriteFileArgs(path="old.txt", content="new\n"))
    assert result.ok and seen == [(["old.txt"], "old\n")]


# ---------------------------------------------------------------------------------------
# Which route is in force, in one sentence


def test_the_notice_names_the_copy_route_when_configured(ws: Path) -> None:
    status = CommandRunner(ws, sandbox=False, capture="copy").sandbox_status
    assert status.capture == "copy"
    assert status.notice == (
        "Commands run without a sandbox: the sandbox is turned off in the configuration; "
        "a command's changes are captured on a copy of the workspace (as the configuration asks)."
    )


def test_no_overlay_falls_back_to_a_copy_and_says_why(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        capture, "probe_overlay", lambda *args: "an overlay mount is not possible here"
    )
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(
        shutil, "which", lambda name: f"/usr/bin/{name}" if name == "unshare" else None
    )
    status = CommandRunner(ws, sandbox=False).sandbox_status
    assert status.capture == "copy"
    assert status.notice.endswith(
        "; a command's changes are captured on a copy of the workspace "
        "(slower: no overlay here because an overlay mount is not possible here)."
    )
    assert status.capture_fallback is False  # auto: no warning of its own
    forced = CommandRunner(ws, sandbox=False, capture="overlay").sandbox_status
    assert forced.capture == "copy" and forced.capture_fallback is True
    assert forced.notice.endswith(
        "; a command's changes are captured on a copy of the workspace (the configured "
        "overlay cannot work here: an overlay mount is not possible here)."
    )
    with CommandRunner(ws, sandbox=False, capture="overlay").run_captured("echo x > x") as run:
        assert run.route == "copy" and run.apply().paths == ["x"]


def test_an_unknown_capture_route_is_refused(ws: Path) -> None:
    with pytest.raises(ValueError, match="capture must be one of auto, overlay, copy"):
        CommandRunner(ws, capture="tmpfs")


def test_the_overlay_notice(ws: Path) -> None:
    runner = make_runner(ws, "overlay", False)
    assert runner.sandbox_status.notice.endswith(
        "; a command's changes are captured on an overlay of the workspace."
    )
    assert sandbox.CAPTURE_CHOICES == ("auto", "overlay", "copy")


def test_the_command_sees_the_real_repository(runner: CommandRunner, ws: Path) -> None:
    # On the copy route .git is not copied: the copy is given the real repository.
    with runner.run_captured("git log -1 --format=%s && git status --porcelain") as run:
        assert (run.result.exit_code, run.result.stdout) == (0, "start\n"), run.result.stderr
        assert run.apply().paths == []
    assert status_porcelain(ws) == ""
