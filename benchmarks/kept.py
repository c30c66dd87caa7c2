"""Workspaces a benchmark builds once under ``--keep DIR`` and reuses in later runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def reusable(base: Path, name: str, meta: dict[str, Any]) -> bool:
    """Whether ``base/name`` was built by a benchmark with exactly ``meta`` (its sizes,
    seed and layout version, kept beside it in ``base/name.json``).

    A non-empty folder there without that file was not made by a benchmark: it is
    refused (the run stops) rather than overwritten.
    """
    root = base / name
    meta_path = base / f"{name}.json"
    if root.exists() and any(root.iterdir()) and not meta_path.exists():
        raise SystemExit(f"{root} exists and was not made by this benchmark; not touching it.")
    try:
        return json.loads(meta_path.read_text()) == meta and (root / ".git").is_dir()
    except (OSError, ValueError):
        return False
