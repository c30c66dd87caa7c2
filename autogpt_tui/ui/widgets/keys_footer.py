"""The workstation's footer: its keys in the first frame, rebuilt only when they change."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

KeyRow = tuple[str, str, str, bool, str]
"""One key as shown: key, action, label, enabled, tooltip."""


class KeysFooter(Footer):
    """Textual's Footer, for a fast first frame and a long session.

    - **First frame.** The stock footer composes empty and shows its keys only once the
      screen first reports its bindings: another layout and paint after the first
      frame. This one lists the keys that apply as it first composes (they are the
      app's own).
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

    def compose(self) -> ComposeResult:
        """The stock keys, remembering which they are."""
        if self.is_attached:
            self._shown_keys = _keys(self.screen)
        yield from super().compose()

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Queue one recompose when the keys to show differ from those shown.

        The stock handler's steps (textual is pinned), with the queueing made once.
        """
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if not (self.is_attached and screen is self.screen) or self._recompose_queued:
            return
        if _keys(screen) == self._shown_keys:
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
    """What the footer would show for ``screen``: each key, its action and label, enabled."""
    return tuple(
        (binding.key, binding.action, binding.description, enabled, tooltip)
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show
    )
