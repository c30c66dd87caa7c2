"""Loose objects read straight from the object folder, without a ``git cat-file`` round trip.

Everything a step writes (its commit, the new notes trees and blobs) is a loose object
until git packs it; reading one is a file read and a zlib inflate, where GitPython's
persistent ``cat-file`` costs a round trip through a pipe to another process, twice the
scheduler's attention on a busy machine. Callers fall back to :class:`ObjectStore` for
anything this cannot read (packed objects, alternates).
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path


def read_loose(objects_dir: str | Path, sha: str) -> tuple[str, bytes] | None:
    """The kind and content of loose object ``sha``, or None when it is not loose here."""
    if len(sha) != 40:
        return None
    try:
        with open(os.path.join(objects_dir, sha[:2], sha[2:]), "rb") as handle:
            compressed = handle.read()
        raw = zlib.decompress(compressed)
    except (OSError, zlib.error):
        return None
    header, _, body = raw.partition(b"\0")
    kind, _, size = header.partition(b" ")
    if not size.isdigit() or int(size) != len(body):
        return None
    return kind.decode("ascii", "replace"), body
