"""The escape sequences that ask the terminal for a desktop notification."""

from __future__ import annotations

from pathlib import Path

import pytest

from autogpt_tui.core.settings import ConfigError, load_settings
from autogpt_tui.ui.terminal_notify import (
    NOTIFICATION_CHARS,
    notification_text,
    osc_notification,
    takes_osc777,
)


def test_the_text_keeps_no_control_character_that_could_reach_the_terminal() -> None:
    # A question from the model that tries to set the clipboard (OSC 52) and ring.
    hostile = "Proceed?\x1b]52;c;ZXZpbA==\x07\n\tnow\x9b31m"
    text = notification_text(hostile)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)
    assert text == "Proceed? ]52;c;ZXZpbA== now 31m"
    assert len(notification_text("x" * 1000)) == NOTIFICATION_CHARS


def test_osc_9_always_and_osc_777_only_where_the_terminal_is_known_to_take_it() -> None:
    plain = osc_notification("Step 2: write_file waits", {"TERM": "xterm-256color"})
    assert plain == "\x1b]9;Step 2: write_file waits\x07"
    for env in ({"TERM": "foot"}, {"TERM_PROGRAM": "WezTerm"}, {"TERM_PROGRAM": "ghostty"}):
        assert takes_osc777(env)
        both = osc_notification("Pick one; or the other", env)
        assert both.startswith("\x1b]9;Pick one; or the other\x07")
        assert both.endswith("\x1b]777;notify;autogpt-tui;Pick one, or the other\x07")
    assert not takes_osc777({"TERM": "xterm-256color", "TERM_PROGRAM": "Apple_Terminal"})


def test_inside_tmux_the_sequences_go_through_its_passthrough() -> None:
    wrapped = osc_notification("waits", {"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "screen"})
    assert wrapped == "\x1bPtmux;\x1b\x1b]9;waits\x07\x1b\\"


def test_the_setting_defaults_to_the_bell_and_a_bad_value_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    monkeypatch.setenv("AUTOGPT_TUI_CONFIG", str(config))
    assert load_settings().ui.notify == "bell"
    config.write_text('[ui]\nnotify = "osc"\n')
    assert load_settings().ui.notify == "osc"
    config.write_text('[ui]\nnotify = "loud"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "ui.notify" in message and "\n" not in message
