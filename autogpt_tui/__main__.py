"""Run the command line: ``python -m autogpt_tui``."""

from autogpt_tui.cli import entry

if __name__ == "__main__":
    raise SystemExit(entry())
