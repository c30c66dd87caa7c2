"""The key footer, rebuilt only when the keys it shows change, and without a leak."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's footer, for a long session.

    The app refreshes its bindings whenever the agent's state changes (several times a
    step in auto mode), and Textual's footer then rebuilds all its keys. Two costs grew
    with the session: the rebuild itself (a dozen widgets mounted each time), and the
    old keys, which stayed alive for good because each one's data binding (``compact``)
    is a watcher on the footer that Textual prunes only when ``compact`` changes. This
    footer rebuilds only when the keys shown (or their enabled state) changed, and drops
    the watchers of the keys it removed.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the footer (the arguments are `Footer`'s)."""
        super().__init__(*args, **kwargs)
        self._shown_keys: tuple[tuple[str, str, str, bool, str], ...] | None = None

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Rebuild only when the keys to show differ from those shown."""
        keys = _keys(screen)
        if keys == self._shown_keys and self._bindings_ready:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown_keys = keys  # the rebuild is on its way

    async def recompose(self) -> None:
        """Rebuild the keys, then forget the watchers of the keys that went."""
        await super().recompose()
        watchers: dict[str, list[tuple[Any, Any]]] = getattr(self, "__watchers", {})
        for callbacks in watchers.values():
            callbacks[:] = [
                (node, callback)
                for node, callback in callbacks
                if not (getattr(node, "_closing", False) or getattr(node, "_closed", False))
            ]


def _keys(screen: Screen[Any]) -> tuple[tuple[str, str, str, bool, str], ...]:
    """What the footer would show for ``screen``: each key, its action and label, enabled."""
    return tuple(
        (binding.key, binding.action, binding.description, enabled, tooltip)
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show
    )
