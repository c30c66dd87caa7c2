"""Which folders' notes apply to the files worked on (no git, no model)."""

from __future__ import annotations

from autogpt_tui.core.instructions import MAX_FOLDERS, candidate_folders


def test_folders_go_root_first_then_shallow_to_deep() -> None:
    assert candidate_folders(["src/pkg/mod.py", "docs/x.md", "top.py"]) == [
        "",
        "docs",
        "src",
        "src/pkg",
    ]


def test_paths_out_of_the_workspace_and_into_git_are_ignored() -> None:
    assert candidate_folders(["../etc/passwd", "/etc/hosts", ".git/config"]) == [""]


def test_the_folders_are_capped_keeping_the_newest_paths() -> None:
    paths = [f"d{n}/f.py" for n in range(MAX_FOLDERS + 5)]
    folders = candidate_folders(paths)
    assert len(folders) == MAX_FOLDERS + 1
    assert "d0" in folders and f"d{MAX_FOLDERS + 4}" not in folders
