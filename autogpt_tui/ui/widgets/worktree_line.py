"""One line of the goal panel: the worktree and branch a ``--worktree`` session works in."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from autogpt_tui.core.records import escape_surrogates
from autogpt_tui.core.worktree import WorktreePlace


class WorktreeLine(Static):
    """``branch autogpt-tui/3f2a… · worktree .git/autogpt-tui/worktrees/3f2a…``: shown only
    when the workspace is a session's own worktree, so the user knows their checkout is
    not the one changing.

    CSS class ``-shown`` while it names a worktree.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"worktree-line--label"}
    """
    | Class | Description |
    | :- | :- |
    | `worktree-line--label` | The words "branch" and "worktree". |
    """

    DEFAULT_CSS = """
    WorktreeLine {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        display: none;

        &.-shown {
            display: block;
        }

        & > .worktree-line--label {
            color: $foreground-muted;
        }
    }
    """

    def __init__(self, place: WorktreePlace | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.place = place
        """The worktree shown, or None (the line is hidden)."""

    def on_mount(self) -> None:
        self.show(self.place)

    def show(self, place: WorktreePlace | None) -> None:
        """Name ``place`` (None: hide the line)."""
        self.place = place
        self.set_class(place is not None, "-shown")
        if place is None:
            self.update("")
            return
        label = self.get_component_rich_style("worktree-line--label")
        # Text, not markup: a folder's name is shown as it is. The branch first: it is
        # what `land` and `git log` name, and the folder is the longer of the two.
        self.update(
            Text.assemble(
                ("branch ", label),
                escape_surrogates(place.branch),
                ("  worktree ", label),
                escape_surrogates(place.folder),
                no_wrap=True,
                end="",
            )
        )
