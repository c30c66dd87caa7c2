"""Fixtures shared by every test tier: isolated git and config environments."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the user's real git and autogpt-tui configuration out of every test."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    os.environ["HOME"] = str(home)
    os.environ["XDG_CONFIG_HOME"] = str(home / ".config")
    os.environ["AUTOGPT_TUI_CONFIG"] = str(home / "no-such-config.toml")
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ["GIT_CONFIG_GLOBAL"] = str(home / ".gitconfig")
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "GIT_AUTHOR_", "GIT_COMMITTER_")) or (
            name.startswith("AUTOGPT_TUI_") and name != "AUTOGPT_TUI_CONFIG"
        ):
            del os.environ[name]
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def git(root: Path, *args: str, input: str | None = None) -> str:
    """Run git in ``root`` as a user would (with an identity), returning stdout."""
    return subprocess.run(
        ["git", "-c", "user.name=Test User", "-c", "user.email=user@example.com", *args],
        cwd=root,
        input=input,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A plain folder with a few files, not yet a git repository."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "README.md").write_text("# demo\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def main():\n    return 1\n")
    return root


# The scripted OpenAI-compatible server every agent test talks to (real HTTP and SSE).
from tests.support import scripted_llm  # noqa: E402

llm_server = scripted_llm.llm_server
