"""Telling the terminal that the agent waits for the user: the bell, a desktop notification.

``[ui] notify`` chooses (see `UISettings.notify`): ``bell`` rings the bell; ``osc`` rings
it and sends OSC 9 (iTerm2, WezTerm, Ghostty, Windows Terminal and others show it as a
desktop notification), plus OSC 777 on the terminals known to take it; ``off`` says
nothing. Inside tmux the OSC sequences go through its passthrough (shown only where tmux
allows passthrough), since tmux drops OSC sequences it does not know; the bell needs no
wrapping.

The text goes to the terminal, and part of it can come from the model (the agent's
question): every control character is taken out, so that no escape sequence in it can
reach the terminal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from textual.app import App

NotifyMode = Literal["bell", "osc", "off"]
"""What `ring` does: see the module's docstring."""
NOTIFICATION_CHARS = 200
"""Longest text put in a desktop notification."""
OSC777_TERM_PROGRAMS = frozenset({"ghostty", "WezTerm"})
"""``TERM_PROGRAM`` values of terminals known to show OSC 777 notifications."""
OSC777_TERMS = ("foot", "rxvt-unicode")
"""``TERM`` prefixes of terminals known to show OSC 777 notifications."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def notification_text(message: str) -> str:
    """``message`` safe to put inside an OSC sequence: one line, no control characters,
    at most `NOTIFICATION_CHARS` long."""
    text = " ".join(_CONTROL.sub(" ", message).split())
    return text if len(text) <= NOTIFICATION_CHARS else text[: NOTIFICATION_CHARS - 1] + "…"


def takes_osc777(env: Mapping[str, str]) -> bool:
    """Whether the terminal (as its environment says) is known to show OSC 777."""
    return env.get("TERM_PROGRAM", "") in OSC777_TERM_PROGRAMS or env.get("TERM", "").startswith(
        OSC777_TERMS
    )


def osc_notification(message: str, env: Mapping[str, str]) -> str:
    """The escape sequences asking the terminal for a desktop notification of ``message``."""
    text = notification_text(message)
    sequences = f"\x1b]9;{text}\x07"
    if takes_osc777(env):
        # OSC 777's fields are separated by ";": the text's own are made commas.
        sequences += f"\x1b]777;notify;autogpt-tui;{text.replace(';', ',')}\x07"
    if env.get("TMUX"):
        # tmux's passthrough: DCS tmux; the sequences with each ESC doubled; ST.
        sequences = "\x1bPtmux;" + sequences.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequences


def ring(app: App[Any], mode: NotifyMode, message: str) -> None:
    """Tell the terminal that the agent waits for the user, as ``mode`` says."""
    if mode == "off":
        return
    app.bell()
    driver = app._driver  # textual is pinned; the app has no public way to write raw
    if mode == "osc" and driver is not None:
        driver.write(osc_notification(message, os.environ))
        driver.flush()
