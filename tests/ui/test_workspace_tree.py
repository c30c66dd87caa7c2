"""WorkspaceTree: live updates from the watcher, coalesced refreshes, marks, ignores."""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets.directory_tree import DirEntry
from textual.widgets.tree import TreeNode

from autogpt_tui.core.watcher import ChangeSet, WorkspaceWatcher
from autogpt_tui.ui.widgets.workspace_tree import (
    FOLDER_MARK_GLYPH,
    MARK_GLYPHS,
    WorkspaceTree,
)
from tests.conftest import git

SIZE = (60, 40)
DEADLINE_S = 5.0


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A committed repository that ignores ``*.log`` and ``build/``."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    (root / "README.md").write_text("# demo\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "build").mkdir()
    (root / "build" / "x.o").write_bytes(b"\0")
    (root / "old.log").write_text("noise\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Start")
    return root


class Host(App[None]):
    """The tree alone, following a watcher the host owns (as the app's runner does)."""

    def __init__(self, root: Path, *, watch: bool = True, watched: Path | None = None) -> None:
        super().__init__()
        self.root_path = root
        self.watcher = WorkspaceWatcher(watched or root, debounce_s=0.15) if watch else None
        """The watcher the tree follows; ``watched`` may be a folder holding ``root``."""

    def compose(self) -> ComposeResult:
        yield WorkspaceTree(self.root_path, watcher=self.watcher)

    def on_mount(self) -> None:
        if self.watcher is not None:
            self.watcher.start()

    def on_unmount(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()


async def wait_for(pilot: Pilot[None], check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def names(node: TreeNode[DirEntry]) -> list[str]:
    return [child.data.path.name for child in node.children if child.data is not None]


def child(node: TreeNode[DirEntry], name: str) -> TreeNode[DirEntry]:
    return next(c for c in node.children if c.data is not None and c.data.path.name == name)


async def ready(pilot: Pilot[None]) -> WorkspaceTree:
    """The tree once its top level is listed and (when watching) its watcher runs."""
    app = pilot.app
    assert isinstance(app, Host)
    tree = app.query_one(WorkspaceTree)
    await wait_for(pilot, lambda: bool(tree.root.children), "the first listing")
    if app.watcher is not None:
        await wait_for(pilot, lambda: tree.watcher is not None, "the subscription")
        assert app.watcher.running
    return tree


async def test_ignored_files_and_git_never_show(repo: Path) -> None:
    app = Host(repo)
    async with app.run_test(size=SIZE) as pilot:
        tree = await ready(pilot)
        assert names(tree.root) == ["src", ".gitignore", "README.md"]
        # Made while the tree watches: only the file git does not ignore appears.
        (repo / "debug.log").write_text("more noise\n")
        (repo / "build" / "y.o").write_bytes(b"\0")
        (repo / "keep.txt").write_text("keep\n")
        await wait_for(pilot, lambda: "keep.txt" in names(tree.root), "keep.txt")
        assert names(tree.root) == ["src", ".gitignore", "keep.txt", "README.md"]


async def test_an_external_file_appears(repo: Path) -> None:
    seen: list[Message] = []
    app = Host(repo)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        tree = await ready(pilot)
        (repo / "new.txt").write_text("hello\n")
        await wait_for(pilot, lambda: "new.txt" in names(tree.root), "new.txt in the tree")
        changes = [m for m in seen if isinstance(m, WorkspaceTree.FilesChanged)]
        assert any("new.txt" in m.paths and not m.overflow for m in changes)
        assert tree.refresh_count >= 1


async def test_a_file_in_an_expanded_folder_reloads_only_that_folder(repo: Path) -> None:
    app = Host(repo)
    async with app.run_test(size=SIZE) as pilot:
        tree = await ready(pilot)
        src = child(tree.root, "src")
        src.expand()
        await wait_for(pilot, lambda: names(src) == ["app.py"], "src listed")
        top_level = list(tree.root.children)
        (repo / "src" / "util.py").write_text("x = 1\n")
        await wait_for(pilot, lambda: "util.py" in names(src), "util.py in src")
        # The top level was not re-listed: the same node objects are still there.
        assert list(tree.root.children) == top_level


async def test_edits_to_existing_files_do_not_reload(repo: Path) -> None:
    seen: list[Message] = []
    app = Host(repo)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        tree = await ready(pilot)
        (repo / "README.md").write_text("# changed\n")
        await wait_for(
            pilot,
            lambda: any(isinstance(m, WorkspaceTree.FilesChanged) for m in seen),
            "the change report",
        )
        await pilot.pause(0.1)
        assert tree.refresh_count == 0


async def test_a_burst_of_writes_is_one_or_two_refreshes(repo: Path) -> None:
    app = Host(repo)
    async with app.run_test(size=SIZE) as pilot:
        tree = await ready(pilot)
        before = tree.refresh_count
        for number in range(300):
            (repo / f"burst{number:03}.txt").write_text(f"{number}\n")
        await wait_for(
            pilot, lambda: "burst299.txt" in names(tree.root), "the last file of the burst"
        )
        # Let any trailing change set arrive and be applied.
        await pilot.pause(0.5)
        shown = [name for name in names(tree.root) if name.startswith("burst")]
        assert len(shown) == 300
        assert 1 <= tree.refresh_count - before <= 3


async def test_marks_show_who_changed_a_file(repo: Path) -> None:
    app = Host(repo, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        tree = await ready(pilot)
        src = child(tree.root, "src")
        src.expand()
        await wait_for(pilot, lambda: bool(src.children), "src listed")
        tree.mark_changed(["src/app.py"], by="agent")
        tree.mark_changed(["./README.md"], by="user")
        await pilot.pause()
        assert tree.marks == {"src/app.py": "agent", "README.md": "user"}
        assert tree.mark_of("src") == "agent"  # the folder holding a marked file

        def label(node: TreeNode[DirEntry]) -> str:
            return tree.render_label(node, tree.rich_style, tree.rich_style).plain

        agent_style = tree.get_component_rich_style("workspace-tree--agent", partial=True)
        user_style = tree.get_component_rich_style("workspace-tree--user", partial=True)
        app_py, readme = child(src, "app.py"), child(tree.root, "README.md")
        assert label(app_py).endswith(" " + MARK_GLYPHS["agent"])
        assert label(readme).endswith(" " + MARK_GLYPHS["user"])
        assert label(src).endswith(" " + FOLDER_MARK_GLYPH)
        assert not label(child(tree.root, ".gitignore")).endswith(FOLDER_MARK_GLYPH)
        rendered = tree.render_label(app_py, tree.rich_style, tree.rich_style)
        assert rendered.get_style_at_offset(app.console, len(rendered) - 1).color == (
            agent_style.color
        )
        rendered = tree.render_label(readme, tree.rich_style, tree.rich_style)
        assert rendered.get_style_at_offset(app.console, len(rendered) - 1).color == (
            user_style.color
        )

        tree.clear_marks(by="agent")
        assert tree.marks == {"README.md": "user"}
        assert tree.mark_of("src") is None
        assert not label(app_py).endswith(MARK_GLYPHS["agent"])
        tree.clear_marks()
        assert tree.marks == {}
        assert not label(readme).endswith(MARK_GLYPHS["user"])


async def test_polling_fallback_is_reported_once(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_inotify(self: WorkspaceWatcher) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(WorkspaceWatcher, "_open_native", no_inotify)
    seen: list[Message] = []
    app = Host(repo)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        tree = await ready(pilot)
        assert tree.watcher is not None and tree.watcher.polling
        (repo / "polled.txt").write_text("x\n")
        await wait_for(pilot, lambda: "polled.txt" in names(tree.root), "polled.txt")
        warnings = [
            m.notification.message
            for m in seen
            if isinstance(m, Notify) and m.notification.severity == "warning"
        ]
        assert len(warnings) == 1
        assert "inotify watch limit" in warnings[0]


async def test_a_removed_tree_stops_following_the_watcher_it_does_not_own(repo: Path) -> None:
    seen: list[Message] = []
    app = Host(repo)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        tree = await ready(pilot)
        watcher = tree.watcher
        assert watcher is not None and watcher is app.watcher
        await tree.remove()
        assert tree.watcher is None
        assert watcher.running, "the owner stops it, not the tree"
        # Another subscriber hears of the next change; the removed tree does not.
        heard: list[ChangeSet] = []
        unsubscribe = watcher.subscribe(heard.append)
        (repo / "later.txt").write_text("x\n")
        await wait_for(pilot, lambda: bool(heard), "the other subscriber")
        unsubscribe()
        assert not [m for m in seen if isinstance(m, WorkspaceTree.FilesChanged)]


async def test_a_tree_inside_the_watched_repository_sees_its_own_paths(repo: Path) -> None:
    seen: list[Message] = []
    app = Host(repo / "src", watched=repo)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        tree = await ready(pilot)
        (repo / "README.md").write_text("outside the tree\n")
        (repo / "src" / "new.py").write_text("inside\n")
        await wait_for(pilot, lambda: "new.py" in names(tree.root), "new.py in the tree")
        changes = [m for m in seen if isinstance(m, WorkspaceTree.FilesChanged)]
        assert {path for m in changes for path in m.paths} == {"new.py"}


async def test_label_widths_match_the_drawn_labels(repo: Path) -> None:
    app = Host(repo, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        tree = await ready(pilot)
        tree.mark_changed(["src/app.py"], by="agent")
        src = child(tree.root, "src")
        src.expand()
        await wait_for(pilot, lambda: bool(src.children), "src listed")
        for node in [tree.root, *tree.root.children, *src.children]:
            drawn = tree.render_label(node, tree.rich_style, tree.rich_style)
            assert tree.get_label_width(node) == drawn.cell_len, node


async def test_a_change_in_a_collapsed_folder_waits_for_its_expansion(repo: Path) -> None:
    app = Host(repo)
    async with app.run_test(size=SIZE) as pilot:
        tree = await ready(pilot)
        src = child(tree.root, "src")
        src.expand()
        await wait_for(pilot, lambda: names(src) == ["app.py"], "src listed")
        src.collapse()
        await pilot.pause()
        (repo / "src" / "later.py").write_text("x = 1\n")
        await wait_for(
            pilot, lambda: src.data is not None and not src.data.loaded, "src marked stale"
        )
        assert not src.is_expanded
        src.expand()
        await wait_for(pilot, lambda: "later.py" in names(src), "later.py after expanding")


async def test_a_new_ignore_rule_hides_files(repo: Path) -> None:
    (repo / "notes.md").write_text("untracked\n")
    app = Host(repo)
    async with app.run_test(size=SIZE) as pilot:
        tree = await ready(pilot)
        assert "notes.md" in names(tree.root)
        (repo / ".gitignore").write_text("*.log\nbuild/\n*.md\n")
        # While the root is re-listed it has no children: wait for the new listing, in
        # which a tracked file stays (ignore rules do not apply to it).
        await wait_for(
            pilot,
            lambda: "README.md" in names(tree.root) and "notes.md" not in names(tree.root),
            "notes.md hidden, README.md still shown",
        )
