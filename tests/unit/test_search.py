"""The search tool by ripgrep and by Python's ``re`` give the same text on the same tree:
gitignored files, globs, context lines, a file that is not UTF-8, symlinks, secrets,
big files, truncation; and the Python search answers when ripgrep is missing or fails."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from autogpt_tui.core.sandbox import CommandRunner
from autogpt_tui.core.search import (
    RipgrepFailed,
    glob_matcher,
    python_search,
    ripgrep_binary,
    ripgrep_search,
)
from autogpt_tui.core.tools import SearchArgs, ToolRunner
from tests.conftest import git

RG = ripgrep_binary()
needs_rg = pytest.mark.skipif(RG is None, reason="the ripgrep package is not installed")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with a bit of everything a search meets (searches change nothing)."""
    tmp_path = tmp_path_factory.mktemp("search")
    root = tmp_path / "repo"
    outside = tmp_path / "outside.txt"
    outside.write_text("needle outside the workspace\n")
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "ignored").mkdir()
    files = {
        "README.md": "# needle\n\nA needle in the docs.\n",
        "src/app.py": "".join(f"line {n}\n" for n in range(1, 30)) + "needle = 1\n",
        "src/pkg/util.py": "def needle():\n    return 'needle'\n\n\nx = 1\nneedle()\n",
        "src/pkg/web.ts": "const needle = 1;\r\nexport { needle };\r\n",
        "src/pkg/web.tsx": "<Needle needle={1} />\n",
        "docs/guide.txt": "needle\n" * 4 + "end\n",
        "docs/long.txt": "needle " * 200 + "\n",
        "docs/no-newline.txt": "first\nlast needle",
        "docs/empty.txt": "",
        "ignored/skip.py": "needle in an ignored folder\n",
        "debug.log": "needle in a log\n",
        ".env": "TOKEN=needle\n",
        "config/secrets.json": '{"needle": 1}\n',
        "-dash.txt": "needle in a file named like an option\n",
        "sp ace/ünï.txt": "needle in an odd name\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "docs" / "latin1.txt").write_bytes("café needle\n".encode("latin-1"))
    (root / "docs" / "binary.bin").write_bytes(b"\0\1\2needle\n")
    (root / "docs" / "late-nul.txt").write_bytes(b"needle\n" + b"x" * 9000 + b"\0needle\n")
    (root / "big.txt").write_bytes(b"needle\n" + b"y" * (9 * 1024 * 1024))
    (root / "link.txt").symlink_to("README.md")
    (root / "out.txt").symlink_to(outside)
    (root / ".gitignore").write_text("ignored/\n*.log\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    # A tracked file git would ignore is still listed, and searched.
    (root / "tracked.log").write_text("needle tracked though ignored\n")
    git(root, "add", "-f", "tracked.log")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tree")
    (root / "untracked.py").write_text("needle not yet added\n")
    return root


def runner(root: Path, ripgrep: str | None, max_search_matches: int = 200) -> ToolRunner:
    return ToolRunner(
        root,
        CommandRunner(root, sandbox=False),
        ripgrep=ripgrep,
        max_search_matches=max_search_matches,
    )


def search(root: Path, ripgrep: str | None, **arguments: object) -> str:
    result = runner(root, ripgrep).execute("search", SearchArgs.model_validate(arguments))
    assert result.ok, result.output
    return result.output


CASES = [
    {"pattern": "needle"},
    {"pattern": "needle", "context": 2},
    {"pattern": "needle", "context": 1, "path": "src"},
    {"pattern": "needle", "glob": "*.py"},
    {"pattern": "needle", "glob": "src/**/*.ts"},
    {"pattern": "needle", "glob": "*.{ts,tsx}"},
    {"pattern": "needle", "glob": "!*.txt"},
    {"pattern": "needle", "glob": "pkg"},
    {"pattern": "needle", "glob": "docs/"},
    {"pattern": r"^\s*return"},
    {"pattern": r"needle\(\)$"},
    {"pattern": r"(?i)NEEDLE"},
    {"pattern": r"needle;$"},
    {"pattern": "^$", "path": "src/pkg"},
    {"pattern": "ünï|odd"},
    {"pattern": "needle", "path": "docs/guide.txt", "context": 3},
    {"pattern": "needle", "path": "ignored/skip.py"},
    {"pattern": "nothing matches this"},
]


@needs_rg
@pytest.mark.parametrize("arguments", CASES, ids=lambda a: "-".join(map(str, a.values())))
def test_ripgrep_and_python_give_the_same_text(
    tree: Path, tmp_path: Path, arguments: dict[str, object]
) -> None:
    # rg through a wrapper that notes each run's exit status: ripgrep really answered.
    runs = tmp_path / "runs"
    wrapper = tmp_path / "rg"
    wrapper.write_text(f'#!/bin/sh\n"{RG}" "$@"\ncode=$?\necho $code >> "{runs}"\nexit $code\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    assert search(tree, str(wrapper), **arguments) == search(tree, None, **arguments)
    assert runs.exists() and set(runs.read_text().split()) <= {"0", "1"}


def test_what_is_searched_and_how_it_reads(tree: Path) -> None:
    out = search(tree, None, pattern="needle").splitlines()
    files = {line.split(":")[0] for line in out if ":" in line and not line.startswith("[")}
    assert files == {
        "-dash.txt",
        "README.md",
        "docs/guide.txt",
        "docs/late-nul.txt",  # a NUL after the first 8 KiB is still text
        "docs/long.txt",
        "docs/no-newline.txt",
        "sp ace/ünï.txt",
        "src/app.py",
        "src/pkg/util.py",
        "src/pkg/web.ts",
        "src/pkg/web.tsx",
        "tracked.log",
        "untracked.py",
    }  # not: ignored files, .env and secrets.json, latin-1, binary, symlinks, big.txt
    assert out[-1] == "[skipped 1 files larger than 8 MiB]"
    assert "src/pkg/web.ts:1: const needle = 1;" in out  # no \r shown
    long = next(line for line in out if line.startswith("docs/long.txt"))
    assert long.endswith("…") and len(long) == len("docs/long.txt:1: ") + 301


def test_context_lines_read_like_grep(tree: Path) -> None:
    out = search(tree, None, pattern="needle", path="src/pkg/util.py", context=1)
    assert out.splitlines() == [
        "src/pkg/util.py:1: def needle():",
        "src/pkg/util.py:2:     return 'needle'",
        "src/pkg/util.py-3- ",
        "--",
        "src/pkg/util.py-5- x = 1",
        "src/pkg/util.py:6: needle()",
    ]


@needs_rg
def test_truncation_is_the_same_for_both(tree: Path) -> None:
    for cap in (1, 3, 4, 5, 12):
        texts = [
            runner(tree, rg, max_search_matches=cap)
            .execute("search", SearchArgs(pattern="needle"))
            .output
            for rg in (RG, None)
        ]
        assert texts[0] == texts[1]
        assert f"showing the first {cap} matches" in texts[0]


@needs_rg
def test_ripgrep_fails_on_patterns_it_reads_otherwise_and_python_answers(tree: Path) -> None:
    regex = re.compile(r"(?<=ne)edle")  # a look-behind: ripgrep's engine refuses it
    with pytest.raises(RipgrepFailed):
        ripgrep_search(RG or "", tree, ["README.md"], regex, 10)
    assert search(tree, RG, pattern=r"(?<=ne)edle") == search(tree, None, pattern=r"(?<=ne)edle")
    assert "README.md:1: # needle" in search(tree, RG, pattern=r"(?<=ne)edle")


def test_the_python_search_answers_when_rg_is_missing_or_broken(tree: Path, tmp_path: Path) -> None:
    expected = search(tree, None, pattern="needle", glob="*.py", context=1)
    assert search(tree, str(tmp_path / "no-such-rg"), pattern="needle", glob="*.py", context=1) == (
        expected
    )
    broken = tmp_path / "rg"
    broken.write_text("#!/bin/sh\necho 'rg: something went wrong' >&2\nexit 2\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    assert search(tree, str(broken), pattern="needle", glob="*.py", context=1) == expected


@needs_rg
def test_ripgrep_finds_what_python_finds(tree: Path) -> None:
    files = ["README.md", "src/app.py", "docs/latin1.txt", "docs/binary.bin", "-dash.txt"]
    regex = re.compile("needle")
    by_rg = ripgrep_search(RG or "", tree, files, regex, 100)
    by_python = python_search(tree, files, regex, 100)
    assert by_rg == by_python
    assert [f.rel for f in by_rg.files] == ["README.md", "src/app.py", "-dash.txt"]


def test_the_installed_ripgrep_is_found() -> None:
    # The ripgrep wheel is a dependency: its rg sits next to this Python.
    assert RG is not None and Path(RG).name.startswith("rg")


@pytest.mark.parametrize(
    ("glob", "yes", "no"),
    [
        ("*.py", ["a.py", "src/b.py"], ["a.pyc", "py"]),
        ("src/**/*.ts", ["src/a.ts", "src/x/y/b.ts"], ["a.ts", "lib/src/a.ts"]),
        ("*.{ts,tsx}", ["a.ts", "b/c.tsx"], ["a.js"]),
        ("!*.txt", ["a.py"], ["b/c.txt"]),
        ("tests", ["tests/a.py", "x/tests/b.py"], ["test/a.py"]),
        ("src/lib", ["src/lib/a.py"], ["src/library.py", "lib/a.py"]),
        ("[ab].py", ["a.py", "b.py"], ["c.py"]),
        ("[!ab].py", ["c.py"], ["a.py"]),
    ],
)
def test_globs_read_as_ripgrep_reads_them(glob: str, yes: list[str], no: list[str]) -> None:
    match = glob_matcher(glob)
    assert [p for p in yes if not match(p)] == []
    assert [p for p in no if match(p)] == []


@pytest.mark.parametrize("glob", ["{a,b", "a}", "[ab", "!", "/"])
def test_a_bad_glob_is_one_sentence_and_nothing_runs(tree: Path, glob: str) -> None:
    result = runner(tree, RG).execute("search", SearchArgs(pattern="x", glob=glob))
    assert not result.ok
    assert result.output.startswith("The glob") and "\n" not in result.output
