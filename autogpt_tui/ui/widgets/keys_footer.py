"""The workstation's footer: its keys in the first frame, fitted to the width, rebuilt
only when they change."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from autogpt_tui.ui.actions import ALWAYS_SHOWN, footer_priority


class KeyRow(NamedTuple):
    """One key as the footer shows it."""

    key: str
    """Textual's key name(s), which a click on the key simulates."""
    key_display: str
    """The key as people read it."""
    action: str
    """The action it runs."""
    label: str
    """What it does, in a word or two."""
    enabled: bool
    """Whether it works now (a disabled key is dimmed)."""
    tooltip: str
    """Shown when the mouse rests on it."""
    palette: bool = False
    """The command palette's key, docked on the right."""

    @property
    def width(self) -> int:
        """The cells it takes: the key and the label, padded (a key: by one either side,
        its label: one after; the palette's compact key: a border, one between, one after)."""
        return cell_len(self.key_display) + cell_len(self.label) + 3


def fit_keys(keys: Sequence[KeyRow], width: int) -> tuple[KeyRow, ...]:
    """The keys to show in ``width`` cells, in their order.

    When they do not all fit, the least important go first (`footer_priority`), those of
    equal priority together (approve and reject, rate up and down: one without the other
    would mislead), and help and quit stay, so that a narrow terminal still shows the way
    to every key, and out.
    """
    kept = list(keys)
    levels = sorted({footer_priority(row.action) for row in keys} - {ALWAYS_SHOWN})
    for level in levels:
        if _needed(kept) <= width:
            break
        kept = [row for row in kept if footer_priority(row.action) != level]
    return tuple(kept)


def _needed(keys: Collection[KeyRow]) -> int:
    """The cells ``keys`` take in a row: the palette's key, docked on the right, may cover
    the blank after the last of the others."""
    overlap = 1 if len(keys) > 1 and any(row.palette for row in keys) else 0
    return sum(row.width for row in keys) - overlap


class KeysFooter(Footer):
    """Textual's Footer, for a fast first frame, a narrow terminal and a long session.

    - **First frame.** The stock footer composes empty and shows its keys only once the
      screen first reports its bindings: another layout and paint after the first
      frame. This one lists the keys that apply as it first composes (they are the
      app's own).
    - **Narrow terminals.** The stock footer shows the keys in a row and cuts off what
      does not fit: at 80 columns, help and quit. This one leaves out the least
      important keys instead (`fit_keys`); help lists them all.
    - **Bursts.** The stock footer queues one full recompose (every key label unmounted
      and mounted again) per change of the screen's bindings. At start-up several come
      together (the first focus, the history's arrival), and in auto mode the app
      refreshes its bindings several times a step. Here a change while a recompose is
      queued joins it, and a change that leaves the shown keys as they are is no
      rebuild at all.
    - **No leak.** Each key's data binding (``compact``) is a watcher on the footer that
      Textual prunes only when ``compact`` changes, so the keys of every rebuild stayed
      alive (about 47 widgets per agent step in auto mode). After a rebuild the
      watchers of the keys that went are dropped.
    """

    def __init__(self) -> None:
        """Create the footer, ready to list its keys in its first compose."""
        super().__init__()
        self.set_reactive(Footer._bindings_ready, True)  # textual is pinned
        self._recompose_queued = False
        self._shown_keys: tuple[KeyRow, ...] | None = None

    @property
    def shown_keys(self) -> tuple[KeyRow, ...]:
        """The keys on show (the palette's last, when it is)."""
        return self._shown_keys or ()

    def _width(self) -> int:
        # Before its first layout the footer has no size; it spans the screen.
        return self.size.width or self.app.size.width

    def compose(self) -> ComposeResult:
        """The keys that apply and fit (the stock footer's, without groups)."""
        if not self.is_attached:
            return
        keys = self._shown_keys = fit_keys(_keys(self.screen), self._width())
        for row in keys:
            key = FooterKey(
                row.key,
                row.key_display,
                row.label,
                row.action,
                disabled=not row.enabled,
                tooltip=row.tooltip,
                classes="-command-palette" if row.palette else "",
            )
            # As in the stock footer, the palette's key stays compact (FooterKey's default).
            yield key if row.palette else key.data_bind(compact=Footer.compact)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Queue one recompose when the keys to show differ from those shown.

        The stock handler's steps (textual is pinned), with the queueing made once.
        """
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if not (self.is_attached and screen is self.screen):
            return
        self._queue_recompose()

    def on_resize(self, _event: Resize) -> None:
        """A new width may fit more keys, or fewer."""
        if self.is_attached:
            self._queue_recompose()

    def _queue_recompose(self) -> None:
        if self._recompose_queued:
            return
        if fit_keys(_keys(self.screen), self._width()) == self._shown_keys:
            return
        self._recompose_queued = True
        self.call_after_refresh(self._recompose_now)

    async def _recompose_now(self) -> None:
        self._recompose_queued = False
        await self.recompose()
        # Forget the watchers of the keys that went (see the class's docstring).
        watchers: dict[str, list[tuple[Any, Any]]] = getattr(self, "__watchers", {})
        for callbacks in watchers.values():
            callbacks[:] = [
                (node, callback)
                for node, callback in callbacks
                if not (getattr(node, "_closing", False) or getattr(node, "_closed", False))
            ]


def _keys(screen: Screen[Any]) -> tuple[KeyRow, ...]:
    """The keys that apply on ``screen``, in order, the command palette's last."""
    app = screen.app
    rows = [
        KeyRow(binding.key, app.get_key_display(binding), binding.action,
               binding.description, enabled, tooltip)
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show
    ]  # fmt: skip
    if app.ENABLE_COMMAND_PALETTE:
        palette = screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
        if palette is not None:
            _node, binding, enabled, _tooltip = palette
            rows.append(
                KeyRow(binding.key, app.get_key_display(binding), binding.action,
                       binding.description, enabled, binding.tooltip or binding.description,
                       palette=True)
            )  # fmt: skip
    return tuple(rows)
