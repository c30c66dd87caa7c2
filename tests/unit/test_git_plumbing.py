"""The git plumbing under the history: what it writes in-process is what git would write."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from autogpt_tui.core.errors import GitFailure
from autogpt_tui.core.git import (
    EMPTY_TREE,
    Git,
    Notes,
    ObjectStore,
    TreeEntry,
    find_repository,
    read_log,
    run_git,
)
from autogpt_tui.core.git.objects import TreeCache, blob_id, parse_tree, tree_bytes
from tests.conftest import git
from tests.unit.history_support import write


@pytest.fixture
def repo(workspace: Path) -> Iterator[Git]:
    """The workspace as a repository with one commit of its files."""
    git(workspace, "init", "-q")
    write(workspace, "docs/guide/intro.md", "intro\n")
    write(workspace, "docs/index.md", "index\n")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "first")
    handle = Git(workspace)
    yield handle
    handle.close()


def fsck(root: Path) -> None:
    """git's own strict check of every object in the repository."""
    git(root, "fsck", "--strict", "--no-dangling")


def test_blob_ids_and_trees_agree_with_git(repo: Git) -> None:
    objects = ObjectStore(repo)
    data = b"some bytes\r\n\x00 and more"
    (repo.root / "blob.bin").write_bytes(data)
    assert blob_id(data) == git(repo.root, "hash-object", "blob.bin").strip()
    assert objects.write_blob(data) == blob_id(data)
    tree = objects.tree_of(repo.head())
    listing = git(repo.root, "ls-tree", tree).splitlines()
    parsed = parse_tree(repo.read_object(tree))
    assert sorted(parsed) == sorted(line.split("\t")[1] for line in listing)
    assert parsed["docs"].is_tree and not parsed["README.md"].is_tree


def test_rewriting_a_tree_makes_the_tree_git_would_make(repo: Git) -> None:
    objects = ObjectStore(repo)
    root = repo.root
    head_tree = objects.tree_of(repo.head())
    new_blob = objects.write_blob(b"new\n")
    changes: dict[str, TreeEntry | None] = {
        "docs/guide/intro.md": None,  # the last file of a folder: the folder goes too
        "docs/new/deep/file.txt": TreeEntry("100644", new_blob),
        "README.md": TreeEntry("100755", objects.write_blob(b"# changed\n")),
        "docs.txt": TreeEntry("100644", new_blob),  # sorts against the folder "docs"
        "missing.txt": None,  # removing what is not there changes nothing
    }
    ours = objects.rewrite_tree(head_tree, changes)
    # The same change made through git's index.
    (root / "docs/guide/intro.md").unlink()
    write(root, "docs/new/deep/file.txt", "new\n")
    write(root, "README.md", "# changed\n")
    (root / "README.md").chmod(0o755)
    write(root, "docs.txt", "new\n")
    git(root, "add", "-A")
    assert ours == git(root, "write-tree").strip()
    fsck(root)
    assert objects.rewrite_tree(head_tree, {}) == head_tree
    everything = {path: None for path in ("README.md", "docs/index.md", "docs/guide/intro.md")}
    everything.update({"src/app.py": None})
    assert objects.rewrite_tree(head_tree, everything) is None


def test_diff_trees_lists_the_files_git_lists(repo: Git) -> None:
    objects = ObjectStore(repo)
    root = repo.root
    before = repo.head()
    (root / "docs/guide/intro.md").unlink()
    write(root, "docs/guide/more.md", "more\n")
    write(root, "src/app.py", "changed\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "second")
    after = git(root, "rev-parse", "HEAD").strip()
    expected = git(root, "diff-tree", "-r", "--name-only", "--no-renames", before, after).split()
    got = objects.diff_trees(objects.tree_of(before), objects.tree_of(after))
    assert got == sorted(expected)
    assert objects.diff_trees(EMPTY_TREE, EMPTY_TREE) == []
    assert objects.entry_at(after, "docs/guide/more.md") is not None
    assert objects.entry_at(after, "docs/guide/intro.md") is None
    assert objects.entry_at(after, "docs/index.md/not-a-folder") is None


def test_commits_written_in_process_read_back_and_pass_fsck(repo: Git) -> None:
    objects = ObjectStore(repo)
    head = repo.head()
    env = {**repo.user_identity(), "GIT_AUTHOR_NAME": "An <Agent>\nName"}
    message = "Subject line\n\nBody.\n\nAgent-Step: 7\n"
    sha = objects.write_commit(objects.tree_of(head), head, message, env)
    fsck(repo.root)
    entry = objects.read_commit(sha)
    assert entry.parents == [head] and entry.subject == "Subject line"
    assert entry.trailers == {"Agent-Step": "7"}
    assert git(repo.root, "log", "-1", "--format=%an", sha).strip() == "An Agent Name"
    assert objects.parent_of(sha) == head
    with pytest.raises(GitFailure, match="has no parent"):
        objects.parent_of(head)


def test_fixed_dates_in_the_environment_are_left_to_git(
    repo: Git, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = ObjectStore(repo)
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2020-01-02T03:04:05+00:00")
    sha = objects.write_commit(EMPTY_TREE, None, "dated\n", repo.user_identity())
    assert objects.read_commit(sha).timestamp == 1577934245


def test_three_way_merges_of_blobs(repo: Git) -> None:
    objects = ObjectStore(repo)
    lines = [f"line {i}\n" for i in range(10)]

    def blob(changed: dict[int, str]) -> TreeEntry:
        text = "".join(changed.get(i, line) for i, line in enumerate(lines))
        return TreeEntry("100644", objects.write_blob(text.encode()))

    base = blob({})
    merged = objects.merge_blobs(blob({1: "ours\n"}), base, blob({8: "theirs\n"}))
    assert merged is not None
    text = objects.read_blob(merged.sha).decode()
    assert "ours\n" in text and "theirs\n" in text
    assert objects.merge_blobs(blob({1: "ours\n"}), base, blob({1: "theirs\n"})) is None


def test_notes_are_git_notes_at_either_level(repo: Git) -> None:
    objects = ObjectStore(repo)
    notes = Notes(repo, objects)
    ref = "refs/notes/test"
    head = repo.head()
    assert notes.read(ref, head) is None
    git(repo.root, "notes", f"--ref={ref}", "add", "-m", "flat, by git", head)
    assert notes.read(ref, head) == "flat, by git\n"
    notes.apply([notes.stage(ref, head, "ours")], "test")
    assert git(repo.root, "notes", f"--ref={ref}", "show", head) == "ours"
    assert len(git(repo.root, "notes", f"--ref={ref}", "list").splitlines()) == 1
    assert notes.read(ref, head) == "ours"
    fsck(repo.root)


def test_a_note_and_other_refs_move_in_one_transaction(repo: Git) -> None:
    objects = ObjectStore(repo)
    notes = Notes(repo, objects)
    head = repo.head()
    before = git(repo.root, "for-each-ref")
    with pytest.raises(GitFailure, match="update-ref"):
        # The other ref's old value is wrong, so nothing may move, the note neither.
        notes.apply(
            [f"update HEAD {head} {'1' * 40}", notes.stage("refs/notes/test", head, "x")], "t"
        )
    assert git(repo.root, "for-each-ref") == before
    notes.apply([f"update refs/heads/copy {head}", notes.stage("refs/notes/test", head, "x")], "t")
    assert repo.ref_value("refs/heads/copy") == head
    assert notes.read("refs/notes/test", head) == "x"


def test_the_log_streams_entries_with_their_notes(repo: Git) -> None:
    for n in range(3):
        git(repo.root, "commit", "-q", "--allow-empty", "-m", f"c{n}\n\nAgent-Step: {n}")
    notes = Notes(repo, ObjectStore(repo))
    notes.apply([notes.stage("refs/notes/test", repo.head(), '["note"]')], "test")
    entries = list(read_log(repo, ["HEAD"], notes=["refs/notes/test"], max_count=2))
    assert [e.subject for e in entries] == ["c2", "c1"]
    assert entries[0].note.strip() == '["note"]' and entries[1].note == ""
    assert entries[0].trailers == {"Agent-Step": "2"}
    assert [e.subject for e in read_log(repo, ["HEAD"], skip=3)] == ["first"]


def test_git_failures_carry_gits_own_words(repo: Git) -> None:
    with pytest.raises(GitFailure, match=r"git rev-parse failed: fatal: Needed a single revision"):
        repo.run("rev-parse", "--verify", "no-such-rev")
    assert repo.try_run("rev-parse", "--verify", "no-such-rev").returncode != 0
    assert run_git(repo.root, ["rev-parse", "HEAD"]).stdout.decode().strip() == repo.head()


def test_find_repository_makes_one_only_when_asked(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    with pytest.raises(Exception, match="is not a git repository"):
        find_repository(folder, create=False)
    assert not (folder / ".git").exists()
    assert find_repository(folder, create=True) == (folder, True)
    assert find_repository(folder, create=True) == (folder, False)


def _cat_file_children() -> int:
    """Live (not zombie) `git cat-file` processes this process started."""
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[1]) == os.getpid() and b"cat-file" in cmdline:
            count += 1
    return count


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_closing_stops_the_cat_file_helpers(workspace: Path) -> None:
    git(workspace, "init", "-q")
    git(workspace, "commit", "-q", "--allow-empty", "-m", "first")
    before = _cat_file_children()
    handle = Git(workspace)
    ObjectStore(handle).read_commit(handle.head())  # starts GitPython's persistent cat-file
    assert _cat_file_children() > before
    handle.close()
    assert _cat_file_children() == before


def test_head_is_read_right_in_every_shape_git_stores_it(repo: Git, tmp_path: Path) -> None:
    root = repo.root

    def agrees(g: Git) -> None:
        assert g.head() == git(g.root, "rev-parse", "HEAD").strip()

    agrees(repo)  # a loose branch ref
    git(root, "pack-refs", "--all")
    assert not any((root / ".git" / "refs" / "heads").iterdir())  # no loose branch left
    agrees(repo)  # a packed one
    git(root, "checkout", "-q", "--detach")
    agrees(repo)  # detached
    git(root, "checkout", "-q", "-b", "feature/x")
    write(root, "f.txt", "f\n")
    git(root, "add", "f.txt")
    git(root, "commit", "-qm", "f")
    agrees(repo)  # a branch in a folder
    other = tmp_path / "other-tree"
    git(root, "worktree", "add", "-q", "-b", "wt", str(other))
    linked = Git(other)
    try:
        agrees(linked)  # HEAD in the worktree's git dir, the branch in the common one
    finally:
        linked.close()
    git(root, "checkout", "-q", "--orphan", "unborn")
    assert repo.head_or_none() is None


def test_the_tree_cache_stays_under_its_byte_bound_and_answers_stay_right(repo: Git) -> None:
    root = repo.root
    for n in range(40):  # a folder that grows by a file per commit, as a session's does
        write(root, f"grow/f{n:03d}.txt", f"{n}\n")
        git(root, "add", "grow")
        git(root, "commit", "-qm", f"grow {n}")
    commits = git(root, "rev-list", "HEAD", "-40").split()
    expected: dict[str, dict[str, TreeEntry]] = {}
    for commit in commits:
        sha = git(root, "rev-parse", f"{commit}:grow").strip()
        expected[sha] = {
            line.split("\t")[1]: TreeEntry(line.split()[0], line.split()[2])
            for line in git(root, "ls-tree", sha).splitlines()
        }
    bound = 30_000  # a few of the bigger trees at most
    store = ObjectStore(repo, tree_cache_bytes=bound)
    for _ in range(3):
        for sha, entries in expected.items():
            assert store.read_tree(sha) == entries  # evicted and read again: still right
            assert store.trees.bytes <= bound
            assert 0 < len(store.trees) < len(expected)


def test_a_tree_cache_entry_is_estimated_at_no_less_than_it_weighs() -> None:
    import hashlib
    import tracemalloc

    data = b"".join(
        b"100644 some-file-%d.py\0" % i + hashlib.sha1(b"%d" % i).digest() for i in range(2_000)
    )
    parse_tree(data)  # the interned modes are made once, outside the measure
    tracemalloc.start()
    try:
        parsed = parse_tree(data)
        weighed, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(parsed) == 2_000
    assert weighed <= tree_bytes(data, len(parsed))


def test_the_tree_cache_drops_the_least_recently_used_tree_first() -> None:
    cache = TreeCache(max_bytes=300)
    a, b, c = ({"x": TreeEntry("100644", str(n) * 40)} for n in range(3))
    cache.put("a", a, 100)
    cache.put("b", b, 100)
    cache.put("c", c, 100)
    assert cache.get("a") is a  # "a" is now the most recently used
    cache.put("d", a, 100)  # one must go: "b", the least recently used
    assert cache.get("b") is None
    assert cache.get("a") is a and cache.get("c") is c and cache.get("d") is a
    assert cache.bytes == 300
    cache.put("huge", a, 301)  # bigger than the whole bound: not kept, nothing dropped
    assert cache.get("huge") is None and len(cache) == 3
