"""One line of the goal panel: the project's instruction files the agent reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from autogpt_tui.core.records import escape_surrogates


class ProjectNotesLine(Static):
    """``notes  AGENTS.md · src/AGENTS.md``: the instruction files in the prompt, in the
    order the model reads them (nearest last); hidden while there are none.

    CSS class ``-shown`` while it lists files.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"project-notes-line--label"}
    """
    | Class | Description |
    | :- | :- |
    | `project-notes-line--label` | The word "notes" and the "cut" mark. |
    """

    DEFAULT_CSS = """
    ProjectNotesLine {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        display: none;

        &.-shown {
            display: block;
        }

        & > .project-notes-line--label {
            color: $foreground-muted;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.files: tuple[str, ...] = ()
        """The files listed, in prompt order."""
        self.truncated = False
        """Whether the notes were cut to fit the prompt's cap."""
        self.told: set[str] = set()
        """The sentences about skipped files already said in the log."""

    def show(self, files: Sequence[str], truncated: bool = False) -> None:
        """List ``files`` (none: hide the line); ``truncated`` adds a "cut" mark."""
        self.files, self.truncated = tuple(files), truncated
        label = self.get_component_rich_style("project-notes-line--label")
        # Text, not markup: a file name is shown as it is.
        names = " · ".join(escape_surrogates(f) for f in self.files)
        line = Text.assemble(("notes  ", label), names, no_wrap=True, end="")
        if truncated:
            line.append("  (cut to fit)", style=label)
        self.update(line)
        self.set_class(bool(self.files), "-shown")
