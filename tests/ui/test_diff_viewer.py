"""The diff viewer driven through Textual's Pilot: styling, proposals, split view, big diffs."""

from __future__ import annotations

import contextlib
from typing import ClassVar

from rich.color import Color as RichColor
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from autogpt_tui.ui.widgets.diff_viewer import MAX_LINES, DiffViewer

DIFF = """\
diff --git a/src/app.py b/src/app.py
index 1111111..2222222 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,4 +1,4 @@
 def main():
-    return 1
+    return 2
 # [bold]x[/] stays literal
--- not a header
diff --git a/README.md b/README.md
new file mode 100644
--- /dev/null
+++ b/README.md
@@ -0,0 +1,2 @@
+# demo
+[red]hi[/red]
"""


class ViewerApp(App[None]):
    """A host for one diff viewer, with a key that proves the app still answers."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "ping", "Ping")]

    def __init__(self) -> None:
        super().__init__()
        self.pings = 0
        self.pinged_while_building = False

    def compose(self) -> ComposeResult:
        yield DiffViewer()

    def action_ping(self) -> None:
        self.pings += 1
        self.pinged_while_building |= self.query_one(DiffViewer).is_building


def visible(viewer: DiffViewer) -> list[str]:
    """The lines the viewer shows now, as text."""
    return [viewer.render_line(y).text.rstrip() for y in range(viewer.size.height)]


def segments_of(viewer: DiffViewer, text: str) -> list[Segment]:
    """The segments of the first visible line containing ``text``."""
    for y in range(viewer.size.height):
        strip = viewer.render_line(y)
        if text in strip.text:
            return list(strip)
    raise AssertionError(f"{text!r} is not on screen")


def background(viewer: DiffViewer, text: str) -> RichColor | None:
    """The background colour of the line containing ``text``."""
    style = segments_of(viewer, text)[0].style
    assert style is not None
    return style.bgcolor


def theme_colour(app: App[None], name: str, over: str = "surface") -> RichColor:
    """A theme variable as a terminal colour, blended over ``over`` like Textual does."""
    colour = Color.parse(app.theme_variables[over]) + Color.parse(app.theme_variables[name])
    return colour.rich_color


async def settle(app: App[None], pilot: Pilot[None]) -> None:
    """Wait for any diff still building, then for its result to be shown."""
    viewer = app.query_one(DiffViewer)
    for worker in list(app.workers):  # the thread workers building diffs
        with contextlib.suppress(WorkerCancelled):  # a superseded build ends cancelled
            await worker.wait()
    await pilot.pause()  # its result, posted as a message, is shown
    assert not viewer.is_building, "the diff never finished building"


async def test_additions_and_removals_are_styled() -> None:
    app = ViewerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.show_diff("step 3 · abc1234", DIFF, rev="abc1234")
        await settle(app, pilot)
        assert viewer.diff_title == "step 3 · abc1234"
        lines = visible(viewer)
        assert lines[:3] == [
            "diff --git a/src/app.py b/src/app.py",
            "index 1111111..2222222 100644",
            "--- a/src/app.py",
        ]
        assert "+    return 2" in lines and "-    return 1" in lines
        assert " # [bold]x[/] stays literal" in lines
        assert "+[red]hi[/red]" in lines
        added = background(viewer, "+    return 2")
        removed = background(viewer, "-    return 1")
        assert added == theme_colour(app, "success-muted")
        assert removed == theme_colour(app, "error-muted")
        # Inside a hunk, "--- x" is a removed line, not a file header.
        assert background(viewer, "--- not a header") == removed
        assert background(viewer, "--- a/src/app.py") != removed
        assert (viewer.model.added, viewer.model.removed) == (3, 2)


async def test_styles_follow_the_theme() -> None:
    app = ViewerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.show_diff("step 1", DIFF)
        await settle(app, pilot)
        dark = background(viewer, "+    return 2")
        app.theme = "textual-light"
        await pilot.pause()
        light = background(viewer, "+    return 2")
        assert light != dark
        assert light == theme_colour(app, "success-muted")


async def test_proposed_new_file() -> None:
    app = ViewerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.show_proposed("src/new.py", None, "import os\nprint(os.sep)\n")
        await settle(app, pilot)
        assert viewer.diff_title == "proposed change to src/new.py"
        assert visible(viewer)[:5] == [
            "--- /dev/null",
            "+++ b/src/new.py",
            "@@ -0,0 +1,2 @@",
            "+import os",
            "+print(os.sep)",
        ]
        assert (viewer.model.added, viewer.model.removed) == (2, 0)


async def test_proposed_edit() -> None:
    app = ViewerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.show_proposed("a.txt", "one\ntwo\nthree\n", "one\nTWO\nthree\n")
        await settle(app, pilot)
        lines = visible(viewer)
        assert lines[:2] == ["--- a/a.txt", "+++ b/a.txt"]
        assert [line for line in lines if line[:1] in ("+", "-")][2:] == ["-two", "+TWO"]
        viewer.show_proposed("a.txt", "same\n", "same\n")
        await pilot.pause()
        assert visible(viewer)[0] == "The proposed change leaves a.txt unchanged"


async def test_message_state() -> None:
    app = ViewerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        viewer = app.query_one(DiffViewer)
        await pilot.pause()
        assert visible(viewer)[0] == "Select a step to see its diff"
        viewer.show_diff("step 1", DIFF)
        viewer.show_message("This step changed no file")
        await settle(app, pilot)
        lines = visible(viewer)
        assert lines[0] == "This step changed no file"
        assert not any(lines[1:])
        assert viewer.model.is_message
        style = segments_of(viewer, "This step")[0].style
        assert style is not None and style.color == theme_colour(app, "foreground-muted")


async def test_side_by_side_when_wide_enough() -> None:
    app = ViewerApp()
    async with app.run_test(size=(160, 40)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.show_diff("step 1", DIFF)
        viewer.side_by_side = True  # the app's v (tests/functional/test_diff_modes.py)
        await settle(app, pilot)
        assert viewer.side_by_side and viewer.split_active
        width = viewer.scrollable_content_region.width
        row = next(line for line in visible(viewer) if "return 1" in line)
        left, right = row[: (width - 1) // 2], row[(width - 1) // 2 :]
        assert left.rstrip() == "-    return 1"
        assert right.startswith("│+    return 2")
        context = next(line for line in visible(viewer) if "def main" in line)
        assert context.count("def main():") == 2
        # The new file's two added lines have nothing on the old side.
        added = next(line for line in visible(viewer) if "+# demo" in line)
        assert added.lstrip().startswith("│+# demo")
        viewer.side_by_side = False
        assert not viewer.split_active
        assert "-    return 1" in visible(viewer)


async def test_side_by_side_falls_back_when_narrow() -> None:
    app = ViewerApp()
    async with app.run_test(size=(159, 30)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.show_diff("step 1", DIFF)
        viewer.side_by_side = True
        await settle(app, pilot)
        assert viewer.side_by_side and not viewer.split_active
        lines = visible(viewer)
        assert lines[0].startswith("Split view needs 160 columns; the panel has 159")
        assert lines[1] == "diff --git a/src/app.py b/src/app.py"
        assert "-    return 1" in lines and "+    return 2" in lines


async def test_huge_diff_is_capped_and_the_app_stays_responsive() -> None:
    body = "".join(
        f"+line {n} of a generated file, long enough to be realistic\n" for n in range(1, 50_001)
    )
    diff = (
        f"diff --git a/big.txt b/big.txt\n--- /dev/null\n+++ b/big.txt\n@@ -0,0 +1,50000 @@\n{body}"
    )
    app = ViewerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.show_diff("step 9 · def5678", diff, rev="def5678")
        assert viewer.is_building
        assert visible(viewer)[0] == "Building the diff…"
        await pilot.press("x")
        assert app.pings == 1
        await settle(app, pilot)
        assert not viewer.is_building
        lines = viewer.model.lines
        assert len(lines) == MAX_LINES + 1
        hidden = 50_004 - MAX_LINES
        assert lines[-1] == ("note", f"… {hidden:,} more lines (see `autogpt-tui show def5678`)")
        assert viewer.model.added == 50_000
        viewer.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert f"… {hidden:,} more lines" in "\n".join(visible(viewer))
        await pilot.press("x")
        assert app.pings == 2


async def test_a_newer_diff_supersedes_one_still_building() -> None:
    big = "".join(f"+{n}\n" for n in range(40_000))
    app = ViewerApp()
    async with app.run_test(size=(100, 30)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.show_diff("first", "@@ -0,0 +1,40000 @@\n" + big)
        viewer.show_diff("second", DIFF)
        await settle(app, pilot)
        assert viewer.diff_title == "second"
        viewer.show_diff("third", "@@ -0,0 +1,40000 @@\n" + big)
        viewer.show_message("Select a step to see its diff")
        await settle(app, pilot)
        assert viewer.model.is_message
        assert visible(viewer)[0] == "Select a step to see its diff"
