"""Path confinement and the command runner, on real folders and real processes."""

from __future__ import annotations

import itertools
import math
import os
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path

import pytest

from autogpt_tui.core import sandbox
from autogpt_tui.core.errors import PathOutsideWorkspace
from autogpt_tui.core.sandbox import (
    CommandResult,
    CommandRunner,
    is_git_internal,
    resolve_in_workspace,
)
from tests.conftest import git

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace that is a git repository, next to a folder that is outside it."""
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "app.py").write_text("print('hi')\n")
    git(ws, "init", "-q")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret\n")
    return ws


# ---------------------------------------------------------------------------------------
# resolve_in_workspace


def test_relative_paths_inside_resolve_to_absolute_paths(root: Path) -> None:
    assert resolve_in_workspace(root, "src/app.py") == (root / "src/app.py").resolve()
    assert resolve_in_workspace(root, ".") == root.resolve()
    assert resolve_in_workspace(root, "src/../README.md") == (root / "README.md").resolve()
    # Not yet existing files (about to be written) are fine.
    assert resolve_in_workspace(root, "new/deep/file.txt") == root.resolve() / "new/deep/file.txt"


def test_absolute_path_inside_is_accepted(root: Path) -> None:
    inside = str(root.resolve() / "src" / "app.py")
    assert resolve_in_workspace(root, inside) == Path(inside)


def test_absolute_path_outside_is_refused(root: Path) -> None:
    outside = str(root.parent / "outside" / "secret.txt")
    with pytest.raises(PathOutsideWorkspace) as caught:
        resolve_in_workspace(root, outside)
    assert str(caught.value) == f"The path '{outside}' is outside the workspace."
    with pytest.raises(PathOutsideWorkspace):
        resolve_in_workspace(root, "/etc/passwd")


@pytest.mark.parametrize("path", ["../x", "src/../../x", "..", "src/../../ws-sibling/a"])
def test_dot_dot_escapes_are_refused(root: Path, path: str) -> None:
    with pytest.raises(PathOutsideWorkspace) as caught:
        resolve_in_workspace(root, path)
    assert str(caught.value) == f"The path '{path}' is outside the workspace."


def test_a_sibling_folder_sharing_the_name_prefix_is_outside(root: Path) -> None:
    sibling = root.parent / (root.name + "2")
    sibling.mkdir()
    with pytest.raises(PathOutsideWorkspace):
        resolve_in_workspace(root, str(sibling / "x"))


def test_symlinked_file_pointing_outside_is_refused(root: Path) -> None:
    (root / "link.txt").symlink_to(root.parent / "outside" / "secret.txt")
    with pytest.raises(PathOutsideWorkspace, match=r"'link\.txt' is outside the workspace"):
        resolve_in_workspace(root, "link.txt")


def test_symlinked_folder_pointing_outside_is_refused(root: Path) -> None:
    (root / "src" / "out").symlink_to(root.parent / "outside", target_is_directory=True)
    for path in ["src/out", "src/out/secret.txt", "src/out/not-yet-there.txt"]:
        with pytest.raises(PathOutsideWorkspace, match="is outside the workspace"):
            resolve_in_workspace(root, path)


def test_dangling_symlink_pointing_outside_is_refused(root: Path) -> None:
    # Writing through it would create a file outside.
    (root / "dangling").symlink_to(root.parent / "outside" / "new.txt")
    with pytest.raises(PathOutsideWorkspace):
        resolve_in_workspace(root, "dangling")


def test_symlink_inside_the_workspace_resolves_to_its_target(root: Path) -> None:
    (root / "alias.py").symlink_to("src/app.py")
    assert resolve_in_workspace(root, "alias.py") == (root / "src" / "app.py").resolve()


def test_a_symlinked_workspace_root_accepts_either_spelling(root: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias-ws"
    alias.symlink_to(root, target_is_directory=True)
    real = (root / "src" / "app.py").resolve()
    assert resolve_in_workspace(alias, "src/app.py") == real
    assert resolve_in_workspace(alias, str(alias / "src" / "app.py")) == real
    assert resolve_in_workspace(alias, str(real)) == real


def test_nul_byte_is_refused(root: Path) -> None:
    with pytest.raises(PathOutsideWorkspace) as caught:
        resolve_in_workspace(root, "src/a\0b.py")
    assert str(caught.value) == "The path 'src/a\\0b.py' contains a NUL byte."


def test_symlink_loop_is_refused_with_a_sentence(root: Path) -> None:
    (root / "loop").symlink_to("loop")
    with pytest.raises(PathOutsideWorkspace) as caught:
        resolve_in_workspace(root, "loop/x")
    assert str(caught.value) == "The path 'loop/x' cannot be resolved (a symlink loop)."


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        (".git", True),
        (".git/config", True),
        (".git/hooks/pre-commit", True),
        ("vendor/lib/.git/HEAD", True),
        (".GIT/config", True),
        (".gitignore", False),
        (".github/workflows/ci.yml", False),
        ("git/config", False),
        ("src/app.py", False),
        (".", False),
    ],
)
def test_is_git_internal(rel: str, expected: bool) -> None:
    assert is_git_internal(rel) is expected


# ---------------------------------------------------------------------------------------
# CommandRunner without the sandbox


@pytest.fixture
def plain(root: Path) -> CommandRunner:
    return CommandRunner(root, sandbox=False, default_timeout_s=10)


def test_turning_the_sandbox_off_is_reported(plain: CommandRunner) -> None:
    status = plain.sandbox_status
    assert status.active is False and status.kind is None
    base = "Commands run without a sandbox: the sandbox is turned off in the configuration; "
    if status.capture == "overlay":
        assert status.notice == (
            base + "a command's changes are captured on an overlay of the workspace."
        )
    else:  # the reason there is no overlay depends on the machine
        assert status.notice.startswith(
            base + "a command's changes are captured on a copy of the workspace (slower: "
        )
    assert plain.run("true").sandboxed is False


def test_exit_status_stdout_and_stderr_are_kept_apart(plain: CommandRunner) -> None:
    result = plain.run("echo out; echo err >&2; exit 3")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert result.timed_out is False and result.truncated is False
    assert result.observation() == "Exit status: 3\n--- stdout ---\nout\n--- stderr ---\nerr"


def test_runs_in_the_workspace_with_empty_stdin(plain: CommandRunner, root: Path) -> None:
    result = plain.run("pwd; cat; echo done")
    assert result.stdout == f"{root.resolve()}\ndone\n"
    assert plain.run("true").observation() == "Exit status: 0\n(no output)"


def test_commands_are_told_the_width_their_output_is_shown_at(
    plain: CommandRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # this process's own is not passed on
    assert plain.run('echo "${COLUMNS-unset}"').stdout == "unset\n"
    plain.columns = 133
    assert plain.run('echo "$COLUMNS"').stdout == "133\n"
    with plain.run_captured('echo "$COLUMNS"') as run:
        assert run.result.stdout == "133\n"
    plain.columns = None
    assert plain.run('echo "${COLUMNS-unset}"').stdout == "unset\n"


def test_output_is_capped_keeping_head_and_tail(root: Path) -> None:
    runner = CommandRunner(root, sandbox=False, max_output_chars=1000)
    result = runner.run("seq 1 100000; seq 1 10 >&2")
    total = sum(len(f"{n}\n") for n in range(1, 100001))
    assert result.truncated is True
    assert result.stdout.startswith("1\n2\n3\n")
    assert result.stdout.endswith("99999\n100000\n")
    assert f"[... {total - 1000} characters cut ...]" in result.stdout
    assert len(result.stdout) < 1100
    assert result.stderr == "".join(f"{n}\n" for n in range(1, 11))


def test_huge_output_on_both_streams_does_not_deadlock(root: Path) -> None:
    runner = CommandRunner(root, sandbox=False, max_output_chars=100)
    result = runner.run(
        "head -c 20000000 /dev/zero | tr '\\0' a; head -c 5000000 /dev/zero >&2", 120
    )
    # A deadlock would end only at the timeout, as timed out.
    assert result.exit_code == 0 and not result.timed_out
    assert "[... 19999900 characters cut ...]" in result.stdout
    assert "characters cut" in result.stderr


def test_timeout_is_clamped_to_the_maximum(root: Path) -> None:
    runner = CommandRunner(root, sandbox=False, max_timeout_s=0.5)
    start = time.monotonic()
    result = runner.run("sleep 300", timeout_s=1000)
    assert time.monotonic() - start < 60
    assert result.timed_out is True and result.exit_code is None
    assert result.timeout_s == 0.5
    assert result.observation().startswith("The command timed out after 0.5 s")


@pytest.mark.parametrize("bad", [0, -1, math.nan])
def test_non_positive_timeout_is_an_error(plain: CommandRunner, bad: float) -> None:
    with pytest.raises(ValueError, match=r"^timeout_s must be positive$"):
        plain.run("true", timeout_s=bad)


def test_nul_in_a_command_is_an_error(plain: CommandRunner) -> None:
    with pytest.raises(ValueError, match="NUL"):
        plain.run("echo a\0b")


_marker_numbers = itertools.count(1)


def _unique_sleep() -> str:
    """A sleep whose command line no other process on this machine shares."""
    return f"{1000 + os.getpid() % 1000}.{next(_marker_numbers)}{uuid.uuid4().int % 10**6}"


def _processes_running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def _live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are still running (not zombies)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            found.append(int(entry.name))
    return found


def _assert_gone(marker: str) -> None:
    deadline = time.monotonic() + 30  # a condition wait: ends as soon as it holds
    while _processes_running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_running(marker) == []


@linux_only
def test_timeout_kills_the_whole_process_group(plain: CommandRunner, root: Path) -> None:
    duration = _unique_sleep()
    start = time.monotonic()
    result = plain.run(
        f"echo $$ > pgid.txt; sleep {duration} & sleep {duration}; wait", timeout_s=0.5
    )
    assert time.monotonic() - start < 60  # the sleeps last over 1,000 s
    assert result.timed_out is True and result.exit_code is None
    pgid = int((root / "pgid.txt").read_text())
    _assert_gone(duration)
    # Zombies may linger (orphans wait for init to reap them), but nothing runs.
    assert _live_members(pgid) == []


@linux_only
def test_a_group_that_ignores_sigterm_is_killed(plain: CommandRunner) -> None:
    duration = _unique_sleep()
    result = plain.run(f"trap '' TERM; sleep {duration} & sleep {duration}; wait", 0.3)
    assert result.timed_out is True
    _assert_gone(duration)


@linux_only
def test_background_leftovers_neither_hang_the_run_nor_survive(plain: CommandRunner) -> None:
    duration = _unique_sleep()
    start = time.monotonic()
    result = plain.run(f"sleep {duration} & echo started")
    assert time.monotonic() - start < 60  # the sleeps last over 1,000 s
    assert (result.exit_code, result.stdout, result.timed_out) == (0, "started\n", False)
    _assert_gone(duration)


def test_secrets_are_not_passed_to_commands(
    plain: CommandRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
    monkeypatch.setenv("HARMLESS_SETTING", "visible")
    monkeypatch.setenv("LANG", "C.UTF-8")
    probe = (
        'echo "${OPENAI_API_KEY:-unset} ${GITHUB_TOKEN:-unset} ${HARMLESS_SETTING:-unset} $LANG"'
    )
    # An allowlist, not a name filter: a harmless-looking name is not passed either...
    assert plain.run(probe).stdout == "unset unset unset C.UTF-8\n"
    # ...unless the user's own config names it ([sandbox] env).
    named = CommandRunner(plain.root, sandbox=False, env=["HARMLESS_SETTING"])
    assert named.run(probe).stdout == "unset unset visible C.UTF-8\n"


def test_missing_bwrap_falls_back_and_says_so(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("bubblewrap detection only runs on Linux")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    runner = CommandRunner(root, sandbox=True)
    assert runner.sandbox_status.active is False
    assert runner.sandbox_status.notice == (
        "Commands run without a sandbox: bubblewrap (bwrap) is not installed; a command's "
        "changes are captured on a copy of the workspace (slower: no overlay here because "
        "unshare is not installed)."
    )
    result = runner.run("echo still runs")
    assert (result.stdout, result.sandboxed) == ("still runs\n", False)


def test_a_bwrap_that_cannot_work_here_falls_back_and_says_why(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("bubblewrap detection only runs on Linux")
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/bwrap" if name == "bwrap" else None)
    monkeypatch.setattr(
        sandbox,
        "_probe_bwrap",
        lambda path: "bubblewrap (bwrap) cannot create namespaces here (no permission).",
    )
    status = CommandRunner(root).sandbox_status
    assert status.active is False
    assert status.notice == (
        "Commands run without a sandbox: bubblewrap (bwrap) cannot create namespaces here "
        "(no permission); a command's changes are captured on a copy of the workspace "
        "(slower: no overlay here because unshare is not installed)."
    )


def test_observation_names_a_killing_signal() -> None:
    result = CommandResult("x", -9, "", "", False, False, 0.1, False)
    assert result.observation() == "The command was killed by signal SIGKILL.\n(no output)"


# ---------------------------------------------------------------------------------------
# CommandRunner inside bubblewrap


@pytest.fixture
def boxed(root: Path) -> CommandRunner:
    """A sandboxed runner; without a working bwrap the test skips, except on CI."""
    runner = CommandRunner(root, sandbox=True, default_timeout_s=10)
    status = runner.sandbox_status
    if not status.active:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the sandbox tests, but: {status.notice}")
        pytest.skip(status.notice)
    return runner


def test_sandbox_is_reported_active(boxed: CommandRunner) -> None:
    assert boxed.sandbox_status.kind == "bubblewrap"
    assert "sandbox" in boxed.sandbox_status.notice
    assert boxed.run("true").sandboxed is True


def test_the_network_is_off_inside(boxed: CommandRunner, root: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        # bash's /dev/tcp rather than a Python: the sandbox hides /tmp, where a checkout's
        # virtual environment may live.
        probe = f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected"
        # The same connection works outside the sandbox, so a failure inside is the sandbox.
        assert CommandRunner(root, sandbox=False).run(probe).stdout == "connected\n"
        result = boxed.run(probe)
    assert result.exit_code != 0
    assert "connected" not in result.stdout
    assert result.stderr.strip()


def test_the_workspace_is_writable_inside(boxed: CommandRunner, root: Path) -> None:
    result = boxed.run("echo made > made.txt && mkdir -p deep/er && echo x > deep/er/y.txt")
    assert result.exit_code == 0, result.stderr
    assert (root / "made.txt").read_text() == "made\n"
    assert (root / "deep" / "er" / "y.txt").exists()


def test_git_folder_is_read_only_inside(boxed: CommandRunner, root: Path) -> None:
    result = boxed.run("cat .git/HEAD && touch .git/intruder")
    assert result.stdout.startswith("ref: ")
    assert result.exit_code != 0
    assert "Read-only file system" in result.stderr
    assert not (root / ".git" / "intruder").exists()


def test_writes_outside_the_workspace_do_not_reach_the_real_file_system(
    boxed: CommandRunner, root: Path
) -> None:
    # Next to the workspace, under pytest's tmp (which lives under /tmp): inside the
    # sandbox /tmp is a fresh tmpfs, so a write may "succeed" there but never reach here.
    beside = root.parent / "outside" / "written.txt"
    boxed.run(f"echo leak > {beside}; echo leak > {root.parent}/also.txt")
    assert not beside.exists()
    assert not (root.parent / "also.txt").exists()
    assert (root.parent / "outside" / "secret.txt").read_text() == "secret\n"
    # A folder that is really writable outside /tmp is not even there inside (/var is no
    # system directory), and a system directory is read-only.
    var_tmp = Path("/var/tmp")
    if var_tmp.is_dir() and os.access(var_tmp, os.W_OK):
        target = var_tmp / f"autogpt-tui-test-{uuid.uuid4().hex}"
        try:
            result = boxed.run(f"echo leak > {target}")
            assert result.exit_code != 0
            assert "No such file or directory" in result.stderr
            etc = boxed.run(f"echo leak > /etc/{target.name}")
            assert etc.exit_code != 0
            assert "Read-only file system" in etc.stderr
            assert not target.exists()
        finally:
            target.unlink(missing_ok=True)


def test_home_and_tmpdir_are_usable_inside(boxed: CommandRunner) -> None:
    result = boxed.run('echo "$TMPDIR"; test -d "$HOME" && echo home-ok; touch "$TMPDIR/t"')
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "/tmp\nhome-ok\n"


@linux_only
def test_timeout_kills_everything_inside_the_sandbox(boxed: CommandRunner) -> None:
    duration = _unique_sleep()
    start = time.monotonic()
    result = boxed.run(f"sleep {duration} & sleep {duration}; wait", timeout_s=0.5)
    assert time.monotonic() - start < 60  # the sleeps last over 1,000 s
    assert result.timed_out is True and result.sandboxed is True
    _assert_gone(duration)
