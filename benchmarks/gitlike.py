"""A workspace shaped like git's own repository, made with ``git fast-import``.

git's repository holds ~4.8k files and ~82k commits, none of them an agent's step: the
history is long, the steps are few. No network here, so the benchmarks build one: a
first commit of every file, then one small commit after another, each changing one file
(seeded, so every build is the same). ``git fast-import`` writes ~100k commits in
seconds, where ``git commit`` would take an hour.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.bench_history import git, layout, source
from benchmarks.kept import reusable

GITLIKE_VERSION = 1
"""Bumped when the generated repository changes, so ``--keep`` rebuilds a stale one."""
AUTHOR = "Bench Author <bench@example.com>"
START_TIME = 1_500_000_000
"""The first commit's time (seconds since the epoch); each next one is 10 minutes on."""


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n%s\n" % (len(raw), raw)


def fast_import_stream(files: int, commits: int, seed: int) -> Iterator[bytes]:
    """The ``git fast-import`` input: ``commits`` commits on ``refs/heads/main`` over
    ``files`` files (the first commit adds them all)."""
    rng = random.Random(seed)
    paths = layout(files)
    when = START_TIME
    first = [b"commit refs/heads/main\n"]
    first.append(b"committer %s %d +0000\n" % (AUTHOR.encode(), when))
    first.append(_data("Initial import"))
    for index, path in enumerate(paths):
        first.append(b"M 100644 inline %s\n" % path.encode())
        first.append(_data(source(rng, index)))
    yield b"".join(first) + b"\n"
    for number in range(1, commits):
        when += 600
        index = rng.randrange(files)
        path = paths[index]
        text = f"# revision {number} of {path}\nVALUE = {rng.randint(0, 1 << 30)}\n"
        yield b"".join(
            (
                b"commit refs/heads/main\n",
                b"committer %s %d +0000\n" % (AUTHOR.encode(), when),
                _data(f"Change {path} (revision {number})"),
                b"M 100644 inline %s\n" % path.encode(),
                _data(text),
                b"\n",
            )
        )


def build_gitlike(root: Path, files: int, commits: int, seed: int) -> None:
    """Make ``root`` a repository of ``files`` files and ``commits`` commits, checked out."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    started = time.perf_counter()
    process = subprocess.Popen(
        ["git", "fast-import", "--quiet"],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert process.stdin is not None
    batch: list[bytes] = []
    for chunk in fast_import_stream(files, commits, seed):
        batch.append(chunk)
        if len(batch) >= 2000:
            process.stdin.write(b"".join(batch))
            batch.clear()
    process.stdin.write(b"".join(batch) + b"done\n")
    process.stdin.close()
    if process.wait() != 0:
        raise SystemExit(f"git fast-import failed in {root}")
    git(root, "reset", "-q", "--hard", "main")
    print(
        f"  {root.name}: {commits:,} commits over {files:,} files imported in "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )


def prepare_gitlike(base: Path, name: str, files: int, commits: int, seed: int) -> Path:
    """The git-like repository ``base/name``: reused when built already with the same
    sizes, else built (a folder there that this did not make is refused)."""
    root = base / name
    meta_path = base / f"{name}.json"
    meta = {"gitlike": GITLIKE_VERSION, "files": files, "commits": commits, "seed": seed}
    if reusable(base, name, meta):
        print(f"Reusing {name} repository at {root}", file=sys.stderr, flush=True)
        git(root, "checkout", "-q", "--", ".")
        git(root, "clean", "-q", "-f")
        return root
    print(
        f"Building {name} repository ({files:,} files, {commits:,} commits) at {root}",
        file=sys.stderr,
        flush=True,
    )
    meta_path.unlink(missing_ok=True)
    if root.exists():
        shutil.rmtree(root)
    build_gitlike(root, files, commits, seed)
    meta_path.write_text(json.dumps(meta))
    return root
