"""Issue 10, reproductions 1-3: canary secrets planted on the host never reach a command.

Every probe is a real command through :class:`CommandRunner` (both capture routes), and
the assertions read the raw :class:`CommandResult`, before any redaction: the sandbox
itself must hide the secrets. Bubblewrap's absence is simulated by a ``shutil.which`` that
finds no ``bwrap``; "no user namespaces either" by the runner's ``user_namespaces`` seam.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from autogpt_tui.core import sandbox_layout
from autogpt_tui.core.sandbox import CommandRunner
from tests.conftest import git

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")

KEY = "sk-canaryKEY0123456789abcdef"
DB_PASSWORD = "canaryDBpw77"
PAT = "github_pat_canaryPAT0123456789abcdef"
CONFIG_KEY = "sk-canaryCONFIG0123456789abcd"
CREDENTIALS = "canaryCREDS42"
SSH_KEY = "canarySSHKEY99"
DOTENV = "canaryDOTENV13"
REMOTE = "canaryREMOTEtoken55"
HEADER = "canaryHEADER66"
CANARIES = (KEY, DB_PASSWORD, PAT, CONFIG_KEY, CREDENTIALS, SSH_KEY, DOTENV, REMOTE, HEADER)

ENV_PROBES = (
    "env",
    "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'",
    "tr '\\0' '\\n' < /proc/$PPID/environ",
    # Every ancestor the command can see, up to the top.
    'p=$$; while [ "$p" -gt 1 ] 2>/dev/null; do tr "\\0" "\\n" < /proc/$p/environ; '
    'p=$(awk "{print \\$4}" /proc/$p/stat); done',
)


@dataclass
class Host:
    """A user's machine with secrets planted where they usually are."""

    home: Path
    base: Path
    ws: Path
    files: dict[str, Path]


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    # The home lies outside /tmp (inside the sandbox /tmp is a fresh tmpfs anyway, which
    # would prove nothing): under /var/tmp, or failing that the real home.
    base_dir = next((b for b in ("/var/tmp", str(Path.home())) if os.access(b, os.W_OK)), None)
    if base_dir is None:
        pytest.skip("no writable folder outside /tmp for a planted home")
    base = Path(tempfile.mkdtemp(prefix="autogpt-tui-canary-", dir=base_dir)).resolve()
    try:
        home = base / "home"
        config = home / ".config" / "autogpt-tui" / "config.toml"
        files = {
            "config": config,
            "credentials": home / ".git-credentials",
            "ssh": home / ".ssh" / "id_rsa",
            "dotenv": base / ".env",
            "data": home / ".local" / "share" / "autogpt-tui" / "state.json",
        }
        for path in files.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'[model]\napi_key = "{CONFIG_KEY}"\n')
        files["credentials"].write_text(f"https://u:{CREDENTIALS}@github.com\n")
        files["ssh"].write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SSH_KEY}\n")
        files["dotenv"].write_text(f"SECRET={DOTENV}\n")
        files["data"].write_text(f'{{"key": "{CONFIG_KEY}"}}\n')
        ws = tmp_path / "ws"
        ws.mkdir()
        git(ws, "init", "-q")
        (ws / "app.py").write_text("print('hi')\n")
        git(ws, "add", "-A")
        git(ws, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
        git(ws, "remote", "add", "origin", f"https://u:{REMOTE}@github.com/o/r.git")
        git(ws, "config", "http.https://github.com/.extraheader", f"AUTHORIZATION: basic {HEADER}")
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
        monkeypatch.setenv("AUTOGPT_TUI_CONFIG", str(config))
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("DATABASE_URL", f"postgres://u:{DB_PASSWORD}@db.internal/app")
        monkeypatch.setenv("GITHUB_PAT", PAT)
        monkeypatch.setenv("LANG", "C.UTF-8")
        yield Host(home, base, ws, files)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _boxed(runner: CommandRunner) -> CommandRunner:
    status = runner.sandbox_status
    if not status.active:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the sandbox tests, but: {status.notice}")
        pytest.skip(status.notice)
    return runner


def _without_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == "bwrap" else real(name, *a, **k)
    )


def _output(runner: CommandRunner, command: str, captured: bool) -> str:
    if not captured:
        result = runner.run(command)
    else:
        with runner.run_captured(command) as run:
            result = run.result
    return result.stdout + result.stderr


def _assert_clean(text: str, probe: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"{canary} leaked through {probe!r}:\n{text}"


ROUTES = ("overlay", "copy")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("captured", [False, True], ids=["run", "captured"])
def test_bwrap_hides_every_canary(host: Host, route: str, captured: bool) -> None:
    runner = _boxed(CommandRunner(host.ws, capture=route, default_timeout_s=30))
    file_probes = [f"cat {path}" for path in host.files.values()]
    probes = [
        *ENV_PROBES,
        *file_probes,
        "ls -A ~; cat ~/.git-credentials ~/.ssh/id_rsa",
        f"ls -A {host.home} {host.base}",
        "git config -l",
        "cat .git/config",
    ]
    for probe in probes:
        _assert_clean(_output(runner, probe, captured), probe)
    # The remote is still there, only without its credentials.
    remote = _output(runner, "git remote get-url origin", captured)
    assert remote == "https://github.com/o/r.git\n"
    # The files really are not there, and HOME is the empty private one.
    assert _output(runner, f"test -e {host.files['config']} || echo gone", captured) == "gone\n"
    assert _output(runner, 'echo "$HOME"; ls -A "$HOME"', captured) == "/tmp/home\n"
    # The real home of whoever runs the tests is not there either (nothing planted in it).
    real_home = Path(os.path.expanduser("~" + os.environ.get("USER", ""))).resolve()
    if real_home != Path("/") and not host.ws.is_relative_to(real_home):
        assert _output(runner, f"ls -A {real_home} 2>/dev/null", captured) == ""


@pytest.mark.parametrize("route", ROUTES)
def test_git_works_on_the_workspace_inside_the_sandbox(host: Host, route: str) -> None:
    runner = _boxed(CommandRunner(host.ws, capture=route, default_timeout_s=30))
    (host.ws / "app.py").write_text("print('changed')\n")
    with runner.run_captured("git status --short && git diff --stat && git log --format=%s") as run:
        result = run.result
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == " M app.py"
    assert result.stdout.splitlines()[-1] == "first"
    # A plain run too (no capture), and .git stays read-only.
    plain = runner.run("git status --short; touch .git/x")
    assert plain.stdout == " M app.py\n"
    assert "Read-only file system" in plain.stderr


def test_the_environment_is_the_allowlist_and_nothing_else(host: Host) -> None:
    runner = _boxed(CommandRunner(host.ws, default_timeout_s=30, env=["GITHUB_PAT"]))
    names = {
        line.split("=", 1)[0]
        for line in runner.run("env -0 | tr '\\0' '\\n'").stdout.split("\n")
        if "=" in line
    }
    # bash adds PWD, SHLVL and _ itself; PAGER/GIT_PAGER are ours (fixed values).
    assert names - {"PWD", "SHLVL", "_", "OLDPWD", "PAGER", "GIT_PAGER"} <= {
        "PATH", "HOME", "LANG", "TERM", "TZ", "USER", "SHELL", "TMPDIR", "GITHUB_PAT",
    }  # fmt: skip
    assert "GITHUB_PAT" in names and "LANG" in names
    assert "DATABASE_URL" not in names and "OPENAI_API_KEY" not in names


def test_allow_read_shows_a_path_but_never_the_home_inside_it(host: Host) -> None:
    toolchain = host.base / "toolchain"
    toolchain.mkdir()
    (toolchain / "tool").write_text("tool here\n")
    # The user allows a folder that holds the whole planted home: the home stays hidden.
    runner = _boxed(CommandRunner(host.ws, default_timeout_s=30, allow_read=[str(host.base)]))
    assert runner.run(f"cat {toolchain}/tool").stdout == "tool here\n"
    for path in host.files.values():
        if path.is_relative_to(host.home):
            result = runner.run(f"cat {path}")
            assert result.exit_code != 0
            _assert_clean(result.stdout + result.stderr, f"cat {path}")
    assert runner.run(f"ls -A {host.home}").stdout == ""
    assert runner.run(f"echo x > {toolchain}/tool").exit_code != 0  # read-only
    assert (toolchain / "tool").read_text() == "tool here\n"


@pytest.mark.parametrize("route", ROUTES)
def test_without_bwrap_no_ancestor_environment_is_readable(
    host: Host, route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_bwrap(monkeypatch)
    runner = CommandRunner(host.ws, capture=route, default_timeout_s=30)
    status = runner.sandbox_status
    assert status.active is False
    if route == "overlay" and status.capture != "overlay":
        pytest.skip(status.notice)
    if status.approval_reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have user namespaces, but: {status.approval_reason}")
        pytest.skip(status.approval_reason)
    for captured in (False, True):
        for probe in ENV_PROBES:
            _assert_clean(_output(runner, probe, captured), probe)
        # The probe is not vacuous: the command's own environment is there to read.
        assert "LANG=C.UTF-8" in _output(
            runner, "cat /proc/self/environ | tr '\\0' '\\n'", captured
        )
        # HOME is a private empty folder, not the user's.
        home = _output(runner, 'echo "$HOME"', captured).strip()
        assert home != str(host.home) and Path(home).is_dir() and not any(Path(home).iterdir())


def test_without_bwrap_or_user_namespaces_every_command_needs_approval(
    host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_bwrap(monkeypatch)
    runner = CommandRunner(host.ws, user_namespaces=False)
    status = runner.sandbox_status
    assert status.active is False and status.capture == "copy"
    assert status.approval_reason == (
        "Every command waits for your approval, even in auto mode: without bubblewrap, "
        "nothing here can hide this program's API key from a command (user namespaces are "
        "not available here)."
    )
    # With bubblewrap working, nothing needs to ask.
    monkeypatch.undo()
    boxed = CommandRunner(host.ws, user_namespaces=False)
    if boxed.sandbox_status.active:
        assert boxed.sandbox_status.approval_reason is None


def test_hidden_paths_name_the_credentials_and_this_tools_files(host: Host) -> None:
    hidden = set(sandbox_layout.hidden_paths())
    for name in (".ssh", ".aws", ".config/gh", ".git-credentials", ".netrc", ".docker", ".kube"):
        assert host.home / name in hidden
    assert host.home in hidden
    assert host.files["config"] in hidden
    assert host.files["data"].parent in hidden
