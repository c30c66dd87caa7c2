"""The real app in tmux, resized from 200 to 80 columns and back: each resize is laid out
at once, and at 80 columns the footer still shows help and quit (issue 12, items 1, 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.functional.test_tmux import write_steps
from tests.support.scripted_llm import ScriptedLLM
from tests.support.tmux import TmuxApp

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

TABS = "1 log    2 diff    3 history    4 files"
"""The narrow layout's panel tabs."""


def side_by_side(text: str) -> bool:
    """The history, the log and the diff on one line: the wide layout."""
    return any(
        "Step history" in line and "Thoughts & actions" in line and "Write beta.txt" not in line
        for line in text.splitlines()
    )


def footer(text: str) -> str:
    """The screen's last line."""
    return text.rstrip("\n").splitlines()[-1] if text.strip() else ""


def test_resizing_from_200_to_80_columns_and_back_in_a_real_terminal(
    workspace: Path, tmp_path: Path, llm_server: ScriptedLLM
) -> None:
    write_steps(workspace)
    with TmuxApp(workspace, tmp_path, llm_server.base_url, size=(200, 50)) as app:
        app.expect(lambda s: "Write alpha.txt" in s and side_by_side(s), "no wide layout at 200")

        app.resize(80, 24)  # no key pressed: the narrow layout, one panel, at once
        text = app.expect(
            lambda s: TABS in s and "? Help  q Quit" in footer(s),
            "the narrow layout, help and quit in the footer, never came at 80 columns",
        )
        assert not side_by_side(text) and "Step history" not in text, text
        assert max(len(line) for line in text.splitlines()) <= 80, text

        app.resize(200, 50)  # and back: every panel again, at once
        text = app.expect(side_by_side, "the wide layout never came back at 200 columns")
        assert TABS not in text, text

        assert app.quit() == "0"
