"""Fitting the footer's keys to the terminal's width: the least important go first."""

from __future__ import annotations

from autogpt_tui.ui.actions import ACTIONS
from autogpt_tui.ui.widgets.keys_footer import KeyRow, fit_keys


def row(key: str, action: str, label: str, palette: bool = False) -> KeyRow:
    return KeyRow(key, key, action, label, True, "", palette)


KEYS = (
    row("a", "approve", "Approve"),
    row("r", "reject", "Reject"),
    row("m", "cycle_mode", "Mode"),
    row("+", "rate(1)", "Rate +"),
    row("-", "rate(-1)", "Rate -"),
    row("U", "redo", "Redo"),
    row("?", "help", "Help"),
    row("q", "quit", "Quit"),
    row("^p", "command_palette", "palette", palette=True),
)


def actions(keys: tuple[KeyRow, ...]) -> list[str]:
    return [key.action for key in keys]


def test_every_key_shows_when_there_is_room() -> None:
    assert fit_keys(KEYS, 200) == KEYS
    # Each key is padded (one either side of the key, one after the label); the palette's
    # key may cover the blank after the last of the others.
    assert sum(key.width for key in KEYS) - 1 == 84
    assert fit_keys(KEYS, 84) == KEYS


def test_the_least_important_keys_go_first_and_the_order_stays() -> None:
    assert actions(fit_keys(KEYS, 83)) == [
        "approve", "reject", "cycle_mode", "rate(1)", "rate(-1)", "help", "quit",
        "command_palette",
    ]  # fmt: skip
    assert actions(fit_keys(KEYS, 65)) == [
        "approve", "reject", "cycle_mode", "rate(1)", "rate(-1)", "help", "quit",
    ]  # fmt: skip
    assert actions(fit_keys(KEYS, 64)) == [
        "approve", "reject", "rate(1)", "rate(-1)", "help", "quit",
    ]  # fmt: skip


def test_keys_of_equal_priority_go_together() -> None:
    # Room for one of the rating keys (47 cells) but not both: neither shows.
    assert actions(fit_keys(KEYS, 56)) == ["approve", "reject", "help", "quit"]
    assert sum(key.width for key in fit_keys(KEYS, 56)) + KEYS[3].width == 47


def test_help_and_quit_stay_however_narrow() -> None:
    assert actions(fit_keys(KEYS, 5)) == ["help", "quit"]


def test_help_and_quit_outrank_every_other_key() -> None:
    ranks = {a.action: a.priority for a in ACTIONS}
    others = [p for action, p in ranks.items() if action not in ("help", "quit")]
    assert ranks["help"] == ranks["quit"] > max(others)
