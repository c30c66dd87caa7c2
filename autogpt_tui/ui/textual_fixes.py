"""A fix to the pinned Textual (8.2) that a long session needs: applied once, on import.

``StylesCache.get_inner_outer`` is decorated with ``functools.lru_cache(1024)`` as a
plain method, so its cache keys hold the ``StylesCache`` itself: the last 1,024 widgets'
caches, with every line they rendered, outlive the widgets. The action log mounts and
unmounts a few widgets each step, and that kept a long auto-mode session growing by
about 36 KB a step until 1,024 were held. The replacement caches on the two colours
alone, which is all the result depends on. ``tests/ui/test_textual_fixes.py`` checks
that removed widgets' caches are freed (so a Textual upgrade that changes this shows).
"""

from __future__ import annotations

from functools import lru_cache

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style


@lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    """Inner and outer background styles (what Textual's method computes)."""
    return Style(background=base_background + background), Style(background=base_background)


def _get_inner_outer(
    self: StylesCache, base_background: Color, background: Color
) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[method-assign,assignment]
