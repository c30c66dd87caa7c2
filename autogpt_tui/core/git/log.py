"""`git log` streamed into :class:`LogEntry` values, newest first."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from autogpt_tui.core.git.runner import Git
from autogpt_tui.core.records import LogEntry, parse_trailers

# Field and record separators for `git log --format`; neither can occur in a
# commit subject, a trailer or a JSON note.
_FS = "\x1f"
_RS = "\x1e"
_FORMAT = _FS.join(["%H", "%P", "%ct", "%s", "%(trailers:only,unfold)", "%N"]) + _RS


def read_log(
    git: Git,
    revs: Sequence[str],
    *,
    notes: Sequence[str] = (),
    max_count: int | None = None,
    skip: int | None = None,
) -> Iterator[LogEntry]:
    """Stream the commits ``revs`` name, newest first; git stops when the caller does.

    Each entry's ``note`` holds the notes of every ref in ``notes`` (git's one ``%N``
    placeholder shows them all, one after the other).
    """
    refs = [f"--notes={ref}" for ref in notes]
    bounds = [f"--max-count={max_count}"] if max_count else []
    bounds += [f"--skip={skip}"] if skip else []
    args = ["log", "--no-notes", *refs, f"--format={_FORMAT}", *bounds, *revs, "--"]
    records = git.stream(args, _RS.encode())
    try:
        for raw in records:
            entry = parse_log_record(raw)
            if entry is not None:
                yield entry
    finally:
        records.close()  # stops git now, not whenever the generator is collected


def parse_log_record(raw: bytes) -> LogEntry | None:
    """One record of :func:`read_log`'s format, or None when it is not one."""
    text = raw.decode("utf-8", "replace").lstrip("\n")
    if not text:
        return None
    parts = text.split(_FS)
    if len(parts) < 6:
        return None
    sha, parents, ctime, subject, trailers, note = parts[:6]
    return LogEntry(
        sha=sha,
        parents=parents.split(),
        timestamp=int(ctime or 0),
        subject=subject,
        trailers=parse_trailers(trailers),
        note=note,
    )
