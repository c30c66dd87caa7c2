"""The workspace's files as a live tree, without ``.git`` and what the workspace ignores."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, ClassVar, Literal, Self

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import DirectoryTree
from textual.widgets.directory_tree import DirEntry
from textual.widgets.tree import TreeNode, UnknownNodeID
from textual.worker import Worker

if TYPE_CHECKING:
    # Only as types: the watcher (and watchdog) is imported when the app makes one, after
    # the first frame.
    from autogpt_tui.core.watcher import ChangeSet, WorkspaceWatcher

GIT_DIR_NAME = ".git"
IGNORE_FILE_NAME = ".gitignore"

MarkKind = Literal["agent", "user"]
"""Who changed a marked file: the agent's last step, or the user."""

MARK_GLYPHS: dict[MarkKind, str] = {"agent": "●", "user": "◆"}
"""The mark after the name of a changed file, by who changed it. Shapes differ as well as
colours: in some themes (textual-dark) accent and warning are the same colour."""
FOLDER_MARK_GLYPH = "•"
"""The mark after the name of a folder holding changed files (coloured as its files')."""


def ignored_paths(root: Path, paths: Sequence[Path]) -> set[Path]:
    """Which of ``paths`` git ignores in the repository holding ``root``.

    Asks ``git check-ignore`` once for the whole batch. Tracked files are never reported
    (an ignore rule does not apply to them), and a folder that is not a repository, or a
    git that fails, hides nothing: the tree errs on the side of showing files.
    """
    if not paths:
        return set()
    try:
        result = subprocess.run(
            ["git", "check-ignore", "-z", "--stdin"],
            cwd=root,
            input=b"".join(os.fsencode(p) + b"\0" for p in paths),
            capture_output=True,
            env={**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"},
            check=False,
        )
    except OSError:
        return set()
    # 0: some ignored, 1: none ignored, anything else: git could not tell.
    if result.returncode not in (0, 1):
        return set()
    return {Path(os.fsdecode(item)) for item in result.stdout.split(b"\0") if item}


def mark_key(path: str) -> str:
    """A workspace-relative path as marks are kept: '/'-separated, no ``./`` or ``/``."""
    return PurePosixPath(path.replace(os.sep, "/").strip("/")).as_posix()


def _kind_on_disk(path: Path) -> Literal["dir", "file"] | None:
    """What is at ``path`` now (a symlink counts as what it points to, like the tree)."""
    try:
        return "dir" if path.is_dir() else "file" if os.path.lexists(path) else None
    except OSError:
        return None


class WorkspaceTree(DirectoryTree):
    """A DirectoryTree of the workspace that hides ``.git`` and files git ignores, follows
    changes on disk as they happen, and marks the files the last step or the user changed.

    Folders are listed (and ignore-checked) off the UI thread, and only when expanded, so
    a large workspace costs nothing until it is opened. The tree does not watch the disk
    itself: it subscribes to the session's watcher (one per session, shared with the
    agent), which may watch a repository holding the workspace. A burst of changes becomes
    one refresh, which re-lists only the expanded folders whose entries appeared, vanished
    or changed kind (:attr:`refresh_count` counts refreshes).

    Use from the UI thread only.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = DirectoryTree.COMPONENT_CLASSES | {
        "workspace-tree--agent",
        "workspace-tree--user",
    }
    """
    | Class | Description |
    | :- | :- |
    | `workspace-tree--agent` | The mark (●) of a file the agent's last step changed. |
    | `workspace-tree--user` | The mark (◆) of a file the user changed. |

    See also the component classes of `DirectoryTree`.
    """

    DEFAULT_CSS = """
    WorkspaceTree {
        & > .workspace-tree--agent {
            color: $text-accent;
        }

        & > .workspace-tree--user {
            color: $text-warning;
        }
    }
    """

    class FilesChanged(Message):
        """Files in the workspace changed on disk (by anyone: the agent, the user, a tool).

        ``.git`` never appears here. Posted once per debounced burst of changes.
        """

        def __init__(self, paths: frozenset[str], overflow: bool) -> None:
            super().__init__()
            self.paths = paths
            """The changed paths, relative to the workspace and '/'-separated."""
            self.overflow = overflow
            """True when too many changed to list (``paths`` is then empty): assume
            anything may have changed."""

    class _WatcherReport(Message, bubble=False):
        """From the watcher's thread: a change set to act on."""

        def __init__(self, change: ChangeSet) -> None:
            super().__init__()
            self.change = change

    def __init__(
        self,
        path: str | Path,
        *,
        watcher: WorkspaceWatcher | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """Show the folder ``path``; with a ``watcher`` (of it or of a folder holding it),
        follow changes made to it on disk. The watcher's owner starts and stops it."""
        # Resolved, as DirectoryTree resolves each folder it lists: the nodes' paths and
        # the root then share a prefix, which relative paths (marks) rely on.
        workspace = Path(path).expanduser().resolve()
        super().__init__(workspace, name=name, id=id, classes=classes, disabled=disabled)
        self._workspace = workspace
        self._prefix = str(workspace).rstrip(os.sep) + os.sep
        self._watcher = watcher
        self._unsubscribe: Callable[[], None] | None = None
        self._watch_prefix = _watch_prefix(watcher, workspace)
        self.refresh_count = 0
        """How many times the tree re-listed folders because files changed on disk."""
        self._marks: dict[str, MarkKind] = {}
        self._folder_marks: dict[str, MarkKind] = {}
        # What the loader thread learnt about each listed entry, so that building nodes
        # on the UI thread does not stat every file again.
        self._is_dir: dict[Path, bool] = {}
        self._polling_notified = False
        self._pending_paths: set[str] = set()
        self._pending_overflow = False
        self._refresher: Worker[None] | None = None

    @property
    def workspace(self) -> Path:
        """The folder shown (resolved)."""
        return self._workspace

    @property
    def marks(self) -> Mapping[str, MarkKind]:
        """The marked files: relative path → who changed it."""
        return dict(self._marks)

    @property
    def watcher(self) -> WorkspaceWatcher | None:
        """The watcher the tree follows while mounted (None when it follows none)."""
        return self._watcher if self._unsubscribe is not None else None

    # -- listing ------------------------------------------------------------------------

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Drop ``.git`` and ignored paths.

        DirectoryTree calls this from its loader thread, so running git here keeps the
        UI responsive on large folders.
        """
        visible = [path for path in paths if path.name != GIT_DIR_NAME]
        hidden = ignored_paths(self._workspace, visible)
        for path in hidden:
            self._is_dir.pop(path, None)  # never shown, so never asked about again
        return [path for path in visible if path not in hidden]

    def _directory_content(self, location: Path, worker: Worker[object]) -> Iterator[Path]:
        # On the loader thread. scandir knows each entry's kind without another stat.
        try:
            with os.scandir(location) as entries:
                for entry in entries:
                    if worker.is_cancelled:
                        break
                    path = location / entry.name
                    try:
                        self._is_dir[path] = entry.is_dir()
                    except OSError:
                        self._is_dir[path] = False
                    yield path
        except OSError:
            pass

    def _safe_is_dir(self, path: Path) -> bool:  # type: ignore[override]
        # DirectoryTree asks this on the UI thread for every entry it adds to a node.
        known = self._is_dir.get(path)
        if known is not None:
            return known
        return DirectoryTree._safe_is_dir(path)

    def _populate_node(self, node: TreeNode[DirEntry], content: Iterable[Path]) -> None:
        content = list(content)
        self._drop_children(node)
        super()._populate_node(node, content)
        for path in content:
            self._is_dir.pop(path, None)  # the nodes know now

    def clear_node(self, node: TreeNode[DirEntry]) -> Self:
        """Remove every node under ``node`` (in linear time; see :meth:`_drop_children`)."""
        self._drop_children(node)
        return super().clear_node(node)

    def _drop_children(self, node: TreeNode[DirEntry]) -> None:
        """Forget ``node``'s descendants at once.

        Textual's ``TreeNode.remove_children`` removes children one at a time, each
        removal searching the list: quadratic, 2.5 s for a folder of 20,000 files. This
        reaches into Tree's internals (textual is pinned), and leaves the caller to
        invalidate the tree, as ``clear_node`` and ``_populate_node`` both do.
        """
        stack = list(node._children)
        while stack:
            child = stack.pop()
            stack.extend(child._children)
            self._tree_nodes.pop(child.id, None)
        node._children.clear()

    def process_label(self, label: str | Text) -> Text:
        """The label's first line as Text; a one-line name skips the general split (it
        runs twice for every entry of every folder listed)."""
        if isinstance(label, str) and "\n" not in label and "\r" not in label:
            return Text(label)
        return super().process_label(label)

    # -- marks --------------------------------------------------------------------------

    def mark_changed(self, paths: Iterable[str], by: MarkKind) -> None:
        """Mark ``paths`` (relative to the workspace) as changed by the agent or the user.

        Marks add up; :meth:`clear_marks` removes them. A file marked by both shows who
        marked it last. Folders holding marked files get a smaller mark.
        """
        for path in paths:
            key = mark_key(path)
            if key and key != ".":
                self._marks[key] = by
        self._marks_changed()

    def clear_marks(self, by: MarkKind | None = None) -> None:
        """Remove the marks made by ``by``, or every mark when it is None."""
        if by is None:
            self._marks.clear()
        else:
            self._marks = {path: kind for path, kind in self._marks.items() if kind != by}
        self._marks_changed()

    def mark_of(self, path: str) -> MarkKind | None:
        """Who changed the file or folder at ``path`` (relative), if it is marked."""
        key = mark_key(path)
        return self._marks.get(key) or self._folder_marks.get(key)

    def _marks_changed(self) -> None:
        folders: dict[str, MarkKind] = {}
        for path, kind in self._marks.items():
            for parent in PurePosixPath(path).parents:
                if parent.name:
                    folders[parent.as_posix()] = kind
        self._folder_marks = folders
        # Labels get wider or narrower: Tree's own way to redo its lines and layout.
        self._invalidate()

    def _relative(self, node: TreeNode[DirEntry]) -> str | None:
        """The node's path relative to the workspace, '/'-separated; None for the root
        (and for what lies outside, under a symlinked folder)."""
        if node.data is None or node.is_root:
            return None
        path = str(node.data.path)
        # String slicing, not Path.relative_to: this runs for every line the tree lays out.
        if not path.startswith(self._prefix):
            return None
        relative = path[len(self._prefix) :]
        return relative.replace(os.sep, "/") if os.sep != "/" else relative

    def _mark(self, node: TreeNode[DirEntry]) -> tuple[MarkKind, str] | None:
        """Who changed the node's file (or a file in its folder), and the glyph to show."""
        if not self._marks:
            return None
        relative = self._relative(node)
        if relative is None:
            return None
        kind = self._marks.get(relative)
        if kind is not None:
            return kind, MARK_GLYPHS[kind]
        kind = self._folder_marks.get(relative)
        if kind is not None:
            return kind, FOLDER_MARK_GLYPH
        return None

    def render_label(self, node: TreeNode[DirEntry], base_style: Style, style: Style) -> Text:
        """DirectoryTree's label, followed by a mark when the file (or a file in the
        folder) was changed."""
        label = super().render_label(node, base_style, style)
        mark = self._mark(node) if self.is_mounted else None
        if mark is not None:
            kind, glyph = mark
            label.append(" ")
            label.append(
                glyph, self.get_component_rich_style(f"workspace-tree--{kind}", partial=True)
            )
        return label

    def get_label_width(self, node: TreeNode[DirEntry]) -> int:
        """The label's width without rendering it.

        Tree lays out every node this way, each time the tree changes: rendering 20,000
        labels (with their styles) would stall the UI for seconds in a large folder.
        """
        if node.allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        else:
            icon = self.ICON_FILE
        label = node.label
        width = cell_len(icon) + (cell_len(label) if isinstance(label, str) else label.cell_len)
        if self._mark(node) is not None:
            width += 2
        return width

    # -- watching -----------------------------------------------------------------------

    def follow(self, watcher: WorkspaceWatcher) -> None:
        """Follow ``watcher`` from now on (once mounted), instead of any watcher before.

        The app mounts the tree with its first frame and hands it the session's watcher
        later, before that starts: importing and making one is work the first frame need
        not wait for.
        """
        if watcher is self._watcher:
            return
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()
        self._watcher = watcher
        self._watch_prefix = _watch_prefix(watcher, self._workspace)
        self._polling_notified = False
        if self.is_mounted:
            self._subscribe()

    def on_mount(self) -> None:
        self._subscribe()

    def _subscribe(self) -> None:
        if self._watcher is not None and self._unsubscribe is None:
            self._unsubscribe = self._watcher.subscribe(self._on_watcher_change)
            self.notify_if_polling()

    def on_unmount(self) -> None:
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    def _on_watcher_change(self, change: ChangeSet) -> None:
        # On the watcher's thread: post_message is the thread-safe way in. RuntimeError:
        # the app's event loop has closed, and nobody is left to tell.
        change = _within(change, self._watch_prefix)
        if change:
            with contextlib.suppress(RuntimeError):
                self.post_message(self._WatcherReport(change))

    @on(_WatcherReport)
    def _watcher_report(self, message: _WatcherReport) -> None:
        if self._unsubscribe is None:
            return  # unmounted meanwhile
        self.notify_if_polling()
        change = message.change
        self.post_message(self.FilesChanged(change.paths, change.overflow))
        self._pending_paths |= change.paths
        self._pending_overflow |= change.overflow
        if self._refresher is None or self._refresher.is_finished:
            # The method, not a coroutine made here: a worker that never starts (the app
            # closing) then leaves no coroutine behind that was never awaited.
            self._refresher = self.run_worker(
                self._apply_changes,
                group="workspace-tree-refresh",
                exit_on_error=False,
                description="Show file changes in the tree",
            )

    def notify_if_polling(self) -> None:
        """Tell the user, once, that the watcher polls the disk (and why)."""
        watcher = self._watcher
        if watcher is None or self._polling_notified or not watcher.polling:
            return
        notice = watcher.notice
        if notice:
            self._polling_notified = True
            self.notify(notice, severity="warning", markup=False)

    # -- refreshing ---------------------------------------------------------------------

    async def _apply_changes(self) -> None:
        """Refresh for the pending changes, and for any that arrive meanwhile: changes
        that come in while one refresh runs are taken together by the next."""
        while self._pending_paths or self._pending_overflow:
            paths, self._pending_paths = self._pending_paths, set()
            overflow, self._pending_overflow = self._pending_overflow, False
            nodes = await self._nodes_to_reload(paths, overflow)
            if not nodes:
                continue
            self.refresh_count += 1
            for node in nodes:
                if self._still_in_tree(node):
                    await self.reload_node(node)

    def _still_in_tree(self, node: TreeNode[DirEntry]) -> bool:
        """False when ``node`` went away (a reload elsewhere replaced it) meanwhile."""
        try:
            return self.get_node_by_id(node.id) is node
        except UnknownNodeID:
            return False

    async def _nodes_to_reload(self, paths: set[str], overflow: bool) -> list[TreeNode[DirEntry]]:
        """The expanded folders whose listing is out of date, outermost only.

        A folder listed earlier but collapsed now is only marked for listing again when
        it is next expanded (reloading it would expand it).
        """
        if overflow or any(PurePosixPath(p).name == IGNORE_FILE_NAME for p in paths):
            return [self.root]  # anything may be shown or hidden now
        folders = self._listed_folders()
        # What the tree shows for each changed path whose folder was listed.
        shown: dict[str, tuple[TreeNode[DirEntry], Literal["dir", "file"] | None]] = {}
        children: dict[str, dict[str, TreeNode[DirEntry]]] = {}
        for path in paths:
            parent, _, name = path.rpartition("/")
            folder = folders.get(parent)
            if folder is None:
                continue
            names = children.get(parent)
            if names is None:
                names = children[parent] = {
                    child.data.path.name: child for child in folder.children if child.data
                }
            child = names.get(name)
            kind: Literal["dir", "file"] | None = None
            if child is not None:
                kind = "dir" if child.allow_expand else "file"
            shown[path] = (folder, kind)
        if not shown:
            return []
        workspace = self._workspace
        stale_paths = await asyncio.to_thread(
            _stale, workspace, {path: kind for path, (_, kind) in shown.items()}
        )
        stale = {id(shown[path][0]): shown[path][0] for path in stale_paths}
        reload: list[TreeNode[DirEntry]] = []
        for folder in stale.values():
            if folder.data is None:
                continue
            if folder.is_expanded or folder.is_root:
                reload.append(folder)
            else:
                folder.data.loaded = False
        # An outer folder's reload re-lists the expanded folders inside it.
        return [node for node in reload if not any(_is_above(other, node) for other in reload)]

    def _listed_folders(self) -> dict[str, TreeNode[DirEntry]]:
        """Folders whose entries the tree holds, by relative path ('' is the root)."""
        folders: dict[str, TreeNode[DirEntry]] = {}
        to_visit = [self.root]
        while to_visit:
            node = to_visit.pop()
            if node.data is None or not node.data.loaded:
                continue
            relative = "" if node.is_root else self._relative(node)
            if relative is None:
                continue
            folders[relative] = node
            to_visit.extend(child for child in node.children if child.allow_expand)
        return folders


def _watch_prefix(watcher: WorkspaceWatcher | None, workspace: Path) -> str | None:
    """The workspace's path inside the watched folder, '/'-terminated ('' when they are
    the same folder); None when the watcher watches something else."""
    if watcher is None:
        return None
    try:
        relative = workspace.relative_to(watcher.root).as_posix()
    except ValueError:
        return None
    return "" if relative == "." else relative + "/"


def _within(change: ChangeSet, prefix: str | None) -> ChangeSet:
    """The part of ``change`` inside the workspace, relative to it."""
    from autogpt_tui.core.watcher import ChangeSet  # loaded already: a watcher reports

    if prefix is None or change.overflow or not prefix:
        return change if prefix is not None else ChangeSet()
    paths = frozenset(p[len(prefix) :] for p in change.paths if p.startswith(prefix))
    return ChangeSet(paths)


def _is_above(ancestor: TreeNode[DirEntry], node: TreeNode[DirEntry]) -> bool:
    """True when ``ancestor`` is a strict ancestor of ``node``."""
    parent = node.parent
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parent
    return False


def _stale(workspace: Path, shown: dict[str, Literal["dir", "file"] | None]) -> list[str]:
    """Off the UI thread: which paths the tree shows wrongly (appeared, vanished or
    changed kind), leaving out new paths git ignores (the tree would hide them anyway)."""
    stale: list[str] = []
    appeared: list[Path] = []
    for path, kind in shown.items():
        on_disk = _kind_on_disk(workspace / path)
        if on_disk == kind:
            continue  # modified in place: the tree looks the same
        if kind is None:
            appeared.append(workspace / path)
        else:
            stale.append(path)
    if appeared:
        hidden = ignored_paths(workspace, appeared)
        stale.extend(
            path.relative_to(workspace).as_posix() for path in appeared if path not in hidden
        )
    return stale
