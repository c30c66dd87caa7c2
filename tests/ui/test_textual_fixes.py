"""The Textual fix the app applies (``autogpt_tui.ui.textual_fixes``) holds."""

from __future__ import annotations

import gc

from textual._styles_cache import StylesCache
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

import autogpt_tui.ui.app  # noqa: F401  (applies the fix, as the workstation does)


class Churn(App[None]):
    """A scroll view whose children come and go, as the action log's do."""

    def compose(self) -> ComposeResult:
        yield VerticalScroll()


def alive(kind: type[object]) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, kind))


async def test_removed_widgets_take_their_render_caches_with_them() -> None:
    app = Churn()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(VerticalScroll)
        for round_ in range(40):
            added = [Static(f"line {round_}.{n}") for n in range(5)]
            await view.mount_all(added)
            await pilot.pause()  # rendered: each has lines in its cache
            await view.remove_children(added)
        await pilot.pause()
        # Textual's own lru_cache kept the caches of up to 1,024 removed widgets.
        assert alive(StylesCache) <= alive(Widget) + 5
