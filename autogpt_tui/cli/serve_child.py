"""What ``serve`` runs for each browser connection: the TUI, as ``autogpt-tui WORKSPACE
...`` would run it, except that an error the TUI says before its screen takes over (the
workspace is in use by another tab's agent, most often) is shown in the browser, where
the user is looking, rather than lost on the server's terminal.

``python -m autogpt_tui.cli.serve_child WORKSPACE [TUI flags]``
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from typing import TextIO


class _Recorder(io.TextIOBase):
    """Writes through to ``target`` and keeps a copy."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the TUI; show its one-sentence refusal, if any, as a small app of its own."""
    from autogpt_tui.cli import main as cli_main

    recorder = _Recorder(sys.stderr)
    with contextlib.redirect_stderr(recorder):
        code = cli_main(list(sys.argv[1:] if argv is None else argv))
    sentences = [
        line.removeprefix("autogpt-tui: ")
        for line in recorder.copy.getvalue().splitlines()
        if line.startswith("autogpt-tui: ")
    ]
    if code != 0 and sentences:
        from autogpt_tui.ui.serve_notice import show_notice

        show_notice(" ".join(sentences))
    return code


if __name__ == "__main__":
    sys.exit(main())
