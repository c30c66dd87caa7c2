"""The workstation's footer: its keys in the first frame, one recompose per burst."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """Textual's Footer, with its keys in the first frame and recomposed once per burst
    of binding changes.

    The stock footer composes empty, and shows its keys only once the screen first
    reports its bindings: another layout and paint after the first frame. Then it queues
    one full recompose (every key label unmounted and mounted again) for each change of
    the screen's bindings; at start-up several come together (the first focus, the
    history's arrival, keys that now apply), and each kept the full frame waiting. This
    one lists the keys that apply as it first composes (they are the app's own), and a
    change while a recompose is queued joins it: the one recompose reads the bindings as
    they are when it runs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.set_reactive(Footer._bindings_ready, True)  # textual is pinned
        self._recompose_queued = False

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Queue a recompose, unless one is queued already (it will see this change).

        The stock handler's steps (textual is pinned), with the queueing made once.
        """
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._recompose_queued:
            self._recompose_queued = True
            self.call_after_refresh(self._recompose_now)

    async def _recompose_now(self) -> None:
        self._recompose_queued = False
        await self.recompose()
