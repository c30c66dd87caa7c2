"""The TUI's flags, declared once: what ``serve`` parses is what the TUI it starts gets."""

from __future__ import annotations

import argparse

import pytest

from autogpt_tui.cli.tui_options import tui_arguments, tui_flags


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    tui_arguments(parser)
    return parser.parse_args(args)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--goal", "-v should print more", "--mode", "edits", "--model", "m"],
        ["--continue", "--base-url", "http://127.0.0.1:1/v1", "--theme", "autogpt-light"],
        ["--session", "abc123"],
        ["--goal", "Ship it", "--agents", "planner,coder,reviewer"],
    ],
)
def test_the_flags_given_are_the_flags_passed_on(args: list[str]) -> None:
    options = parse(args)
    assert parse(tui_flags(options)) == options


def test_flags_not_given_are_not_passed_on() -> None:
    assert tui_flags(parse([])) == []
    assert tui_flags(parse(["--continue"])) == ["--continue"]
