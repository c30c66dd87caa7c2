"""The fixture every learning test starts from: a real repository in a temp folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.history import History


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    """An empty workspace repository, opened as the agent opens it."""
    root = tmp_path / "ws"
    root.mkdir()
    with History.open(root) as h:
        yield h
