"""The diff's two other views: split (old | new side by side) and full screen.

Both keys work whatever has the focus (``v`` and ``z``; the footer shows them while the
diff has it). The split view needs `SPLIT_MIN_WIDTH` columns: on a terminal that wide,
turning it on shows the diff full screen when its panel is narrower (beside the other
panels it is about a third of the width), and turning it off puts the panels back; on a
narrower terminal it says why it cannot. Full screen works at any width: the diff takes
the screen but for the header and the footer, whose keys (approve, reject) still work.
"""

from __future__ import annotations

from textual.app import App

from autogpt_tui.ui.widgets.diff_viewer import SPLIT_MIN_WIDTH, DiffViewer

FULL_DIFF_CLASS = "-full-diff"
"""The workstation screen's class while the diff is full screen (app.tcss)."""


class DiffModes(App[None]):
    """The app's half of the diff's views: the keys, the room they need, the notices."""

    _full_diff_for_split = False
    """Whether full screen was turned on by the split view (and goes with it)."""

    @property
    def full_diff(self) -> bool:
        """Whether the diff is shown full screen."""
        return self.screen_stack[0].has_class(FULL_DIFF_CLASS)

    def action_toggle_split(self) -> None:
        """Show the diff side by side, or as one column; say why when it cannot be split."""
        viewer = self.query_one(DiffViewer)
        if viewer.side_by_side:
            viewer.side_by_side = False
            if self._full_diff_for_split:
                self._set_full_diff(False)
            return
        width = self.size.width
        if width < SPLIT_MIN_WIDTH:
            self.notify(
                f"Split view needs {SPLIT_MIN_WIDTH} columns; the terminal has {width}. "
                "z shows the diff full screen.",
                markup=False,
            )
            return
        if not self.full_diff and viewer.outer_size.width < SPLIT_MIN_WIDTH:
            self._set_full_diff(True)
            self._full_diff_for_split = True
        viewer.side_by_side = True

    def action_toggle_full_diff(self) -> None:
        """Show the diff on the whole screen, or back among the other panels."""
        self._set_full_diff(not self.full_diff)

    def leave_full_diff(self) -> None:
        """Put the panels back (another panel was asked for)."""
        if self.full_diff:
            self._set_full_diff(False)

    def _set_full_diff(self, on: bool) -> None:
        self._full_diff_for_split = False  # until the split view says it turned it on
        self.screen_stack[0].set_class(on, FULL_DIFF_CLASS)
        if on:
            # Its keys (v, z, scrolling) are then the ones the footer shows.
            self.query_one(DiffViewer).focus()
