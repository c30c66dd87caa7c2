"""The diff viewer's hunk review, driven through Pilot: hunk states drawn in words (and
struck through), in the unified and the split view, moving and toggling, and the answer
it makes."""

from __future__ import annotations

from textual.message import Message

from autogpt_tui.core.collaborators import Approval
from autogpt_tui.ui.widgets.diff_viewer import DiffViewer
from autogpt_tui.ui.widgets.hunk_review import ACCEPTED, CURRENT, REJECTED
from tests.ui.test_diff_viewer import ViewerApp, settle, visible

OLD = "".join(f"line {n}\n" for n in range(1, 41))
NEW = (
    OLD.replace("line 2\n", "line two\n")
    .replace("line 20\n", "line twenty\n")
    .replace("line 38\n", "line thirty-eight\n")
)


class RecordingApp(ViewerApp):
    """The viewer's host, keeping the hunk messages it posts."""

    def __init__(self) -> None:
        super().__init__()
        self.hunk_messages: list[Message] = []

    def on_diff_viewer_hunks_changed(self, message: DiffViewer.HunksChanged) -> None:
        self.hunk_messages.append(message)


def drawn_style(viewer: DiffViewer, text: str) -> str:
    """Whether the visible line holding ``text`` is struck through."""
    for y in range(viewer.size.height):
        strip = viewer.render_line(y)
        if text in strip.text:
            styles = [seg.style for seg in strip if seg.style is not None and seg.text.strip()]
            return "strike" if styles and styles[0].strike else "plain"
    raise AssertionError(f"{text!r} is not on screen")


async def test_each_hunk_says_its_state_and_the_current_one_is_marked() -> None:
    app = RecordingApp()
    async with app.run_test(size=(100, 60)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.show_proposed("notes.txt", OLD, NEW)
        await settle(app, pilot)
        review = viewer.review
        assert review is not None and review.count == 3
        assert app.hunk_messages  # the app is told hunks are on show
        headers = [line for line in visible(viewer) if "@@" in line]
        assert headers[0] == f"{CURRENT} @@ -1,5 +1,5 @@  {ACCEPTED} · hunk 1/3"
        assert headers[1].startswith("  @@ -17,7 +17,7 @@") and ACCEPTED in headers[1]
        assert viewer.border_subtitle == "+3 −3 · 3/3 hunks accepted"
        assert review.approval() == Approval.approve()
        assert viewer.move_hunk(1) and viewer.toggle_hunk() is False
        await pilot.pause()
        headers = [line for line in visible(viewer) if "@@" in line]
        assert headers[1] == f"{CURRENT} @@ -17,7 +17,7 @@  {REJECTED} · hunk 2/3"
        assert not headers[0].startswith(CURRENT)
        assert drawn_style(viewer, "+line twenty") == "strike"
        assert drawn_style(viewer, "-line 20") == "strike"
        assert drawn_style(viewer, "+line two") == "plain"
        assert viewer.border_subtitle == "+3 −3 · 2/3 hunks accepted"
        assert review.approval() == Approval.partial({0, 2})
        # At either end a move is refused, and nothing changes.
        assert viewer.move_hunk(1) and not viewer.move_hunk(1)
        assert review.current == 2
        assert not viewer.move_hunk(-3)
        # Toggling back accepts it again.
        assert viewer.move_hunk(-1) and viewer.toggle_hunk() is True
        assert review.approval() == Approval.approve()


async def test_the_split_view_draws_the_states_too() -> None:
    app = RecordingApp()
    async with app.run_test(size=(170, 60)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.side_by_side = True
        viewer.show_proposed("notes.txt", OLD, NEW)
        await settle(app, pilot)
        assert viewer.split_active
        viewer.toggle_hunk()
        await pilot.pause()
        lines = visible(viewer)
        assert any(f"{REJECTED} · hunk 1/3" in line and CURRENT in line for line in lines)
        assert drawn_style(viewer, "line two") == "strike"
        assert drawn_style(viewer, "line twenty") == "plain"


async def test_no_review_for_one_hunk_nor_once_something_else_shows() -> None:
    app = RecordingApp()
    async with app.run_test(size=(100, 30)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.show_proposed("new.txt", None, "a\nb\n")  # a new file: one hunk
        await settle(app, pilot)
        assert viewer.review is None and viewer.toggle_hunk() is None
        assert not viewer.move_hunk(1)
        assert not any(ACCEPTED in line for line in visible(viewer))
        viewer.show_proposed("notes.txt", OLD, NEW)
        await settle(app, pilot)
        assert viewer.review is not None
        viewer.show_message("write_file approved · running…", proposal=True)
        await pilot.pause()
        assert viewer.review is None and viewer.toggle_hunk() is None
        assert len(app.hunk_messages) == 2  # hunks shown, then gone


async def test_the_keys_move_only_among_the_hunks_drawn() -> None:
    """A proposal too long to show whole: hunks past the line cap are not reachable (they
    stay accepted, as the whole change was before hunk review)."""
    from autogpt_tui.ui.widgets.diff_viewer import MAX_LINES

    count = MAX_LINES // 5  # hunks of 9 lines each: about 5,400 lines, over the cap
    old = "".join(f"{n}\n" for n in range(count * 10))
    new = "".join(f"{n} x\n" if n % 10 == 5 else f"{n}\n" for n in range(count * 10))
    app = RecordingApp()
    async with app.run_test(size=(100, 30)) as pilot:
        viewer = app.query_one(DiffViewer)
        viewer.show_proposed("big.txt", old, new)
        await settle(app, pilot)
        review = viewer.review
        assert review is not None and review.count == count
        moves = 1
        while viewer.move_hunk(1):
            moves += 1
        drawn = sum(1 for kind, _ in viewer.model.lines if kind == "hunk")
        assert moves == drawn < count
        assert any(f"hunk {drawn}/{count}" in line for line in visible(viewer))
