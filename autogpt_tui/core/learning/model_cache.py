"""The reward model's cache file: what reading 30,000 steps and ratings found, kept.

Reading every step, record and rating back from git costs seconds on a long history;
this file keeps what the reward model made of them, so that the next process reads
only what changed since. It lives at ``<common git dir>/autogpt-tui/reward-model.json``
(next to the lock), is keyed by the tips it was built from (HEAD, the undone steps'
refs, the records and ratings notes refs) and is never trusted over git: the model
checks those tips on load and reads the difference, or rebuilds (see
:meth:`RewardModel.load <autogpt_tui.core.learning.reward_model.RewardModel.load>`).

The file is one header line (format version, CRC-32 of the body) and a JSON body, the
steps kept column by column with their strings in one table. A file that is missing,
truncated, corrupt or from another version reads as no cache. It is written to a
temporary file and renamed over (:func:`~autogpt_tui.core.file_text.replace_file`).
JSON, not pickle: the folder may come from someone else, and reading it must never run
code.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autogpt_tui.core.file_text import replace_file
from autogpt_tui.core.learning.packing import (
    pack_floats,
    pack_ints,
    pack_shas,
    unpack_floats,
    unpack_ints,
    unpack_shas,
)
from autogpt_tui.core.records import Rating

CACHE_FILE = Path("autogpt-tui") / "reward-model.json"
"""Where the cache lives, under the repository's common git directory."""
FORMAT = "autogpt-tui reward-model 4"
"""The header's first words; a file with any other header is ignored."""
_COLUMNS = (
    *("session", "step", "policy", "tool", "summary", "situation", "goal", "timestamp"),
    *("rating", "comment", "source", "previous", "doc", "review"),
)
_FLOAT_COLUMNS = frozenset(("rating", "review"))


@dataclass(frozen=True)
class Rejection:
    """A proposal the user rejected before a step."""

    tool: str
    summary: str
    reason: str
    situation: str = ""
    """Where it was proposed, in the user's words (see :mod:`.situations`)."""


@dataclass(slots=True)
class ModelStep:
    """What the reward model keeps of one step (not its observation or thought)."""

    sha: str
    parent: str | None
    session: str
    step: int
    policy: str
    tool: str
    summary: str
    goal: str
    timestamp: int
    rejected: tuple[Rejection, ...]
    rating: Rating | None = None
    situation: str = ""
    """The situation it was taken in, in the user's words (see :mod:`.situations`)."""
    previous: str | None = None
    """The summary of the step before it in its session; None at the session's start."""
    doc: int | None = None
    """Its lesson's id in the index, while it has one."""
    review: float | None = None
    """A reviewer agent's rating, while it counts (the user did not rate the step)."""

    @property
    def reward(self) -> float | None:
        """The reward in effect (None when unrated)."""
        return self.rating.value if self.rating else None


@dataclass(frozen=True)
class Tips:
    """What the cache was built from."""

    head: str | None
    undone: tuple[str, ...]
    """The undone steps' refs' commits, sorted."""
    undone_stamp: tuple[int, int]
    ratings: str | None
    records: str | None


@dataclass
class StepRows:
    """Steps read from the cache, turned into :class:`ModelStep` only when asked for."""

    index: dict[str, int] = field(default_factory=dict)
    """Step id -> row, for the rows not taken yet."""
    columns: dict[str, list[Any]] = field(default_factory=dict)
    strings: list[str] = field(default_factory=list)
    rejected: dict[int, tuple[Rejection, ...]] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)

    def take(self, sha: str) -> ModelStep | None:
        """The step ``sha`` as an object (removed from the rows), or None."""
        row = self.index.pop(sha, None)
        return None if row is None else self.peek(sha, row)

    def peek(self, sha: str, row: int) -> ModelStep:
        """Row ``row`` (step ``sha``) as an object, leaving it in the rows."""
        c, s = self.columns, self.strings
        value, comment, source = c["rating"][row], c["comment"][row], c["source"][row]
        rating = None
        if value == value:  # NaN: unrated
            rating = Rating(float(value), s[comment] if comment >= 0 else None, s[source])
        previous, doc, review = c["previous"][row], c["doc"][row], c["review"][row]
        return ModelStep(
            sha=sha,
            parent=self.parents.get(sha),
            session=s[c["session"][row]],
            step=c["step"][row],
            policy=s[c["policy"][row]],
            tool=s[c["tool"][row]],
            summary=s[c["summary"][row]],
            situation=s[c["situation"][row]],
            goal=s[c["goal"][row]],
            timestamp=c["timestamp"][row],
            rejected=self.rejected.get(row, ()),
            rating=rating,
            previous=s[previous] if previous >= 0 else None,
            doc=doc if doc >= 0 else None,
            review=float(review) if review == review else None,
        )

    def remaining(self) -> Iterable[ModelStep]:
        """Every row not taken, as objects (the rows stay)."""
        return (self.peek(sha, row) for sha, row in self.index.items())


@dataclass
class Snapshot:
    """The reward model's state as the cache keeps it."""

    tips: Tips
    parents: dict[str, str | None]
    """Every commit read (steps and others) -> its first parent."""
    undo_of: dict[str, str]
    arms: dict[str, list[float]]
    """Arm name -> :meth:`ArmTally.to_list <autogpt_tui.core.learning.bandit.ArmTally.to_list>`."""
    rows: StepRows
    step_shas: list[str]
    """The steps in row order (what ``lesson_steps`` refers to)."""
    lessons: dict[str, Any]
    lesson_steps: list[int]
    lesson_orders: list[int]


def path_in(common_dir: Path) -> Path:
    """The cache file of the repository whose common git directory is ``common_dir``."""
    return common_dir / CACHE_FILE


def write(
    target: Path,
    tips: Tips,
    parents: dict[str, str | None],
    undo_of: dict[str, str],
    arms: dict[str, list[float]],
    steps: Iterable[ModelStep],
    lessons: dict[str, Any],
    lesson_shas: list[str],
    lesson_orders: list[int],
) -> None:
    """Write the cache atomically (a temporary file renamed over)."""
    strings: dict[str, int] = {}

    def ref(text: str | None) -> int:
        if text is None:
            return -1
        found = strings.get(text)
        if found is None:
            found = strings[text] = len(strings)
        return found

    cols: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    shas: list[str] = []
    rejected: dict[str, list[list[str]]] = {}
    for step in steps:
        row = len(shas)
        shas.append(step.sha)
        cols["session"].append(ref(step.session))
        cols["step"].append(step.step)
        cols["policy"].append(ref(step.policy))
        cols["tool"].append(ref(step.tool))
        cols["summary"].append(ref(step.summary))
        cols["situation"].append(ref(step.situation))
        cols["goal"].append(ref(step.goal))
        cols["timestamp"].append(step.timestamp)
        rating = step.rating
        cols["rating"].append(rating.value if rating else math.nan)
        cols["comment"].append(ref(rating.comment) if rating else -1)
        cols["source"].append(ref(rating.source) if rating else -1)
        cols["previous"].append(ref(step.previous))
        cols["doc"].append(-1 if step.doc is None else step.doc)
        cols["review"].append(math.nan if step.review is None else step.review)
        if step.rejected:
            rejected[str(row)] = [[r.tool, r.summary, r.reason, r.situation] for r in step.rejected]
    row_of = {sha: n for n, sha in enumerate(shas)}
    commits = list(parents)
    commit_of = {sha: n for n, sha in enumerate(commits)}
    # A parent is a commit's index in the list; -1 none, -2 one outside it (in "outside").
    links: list[int] = []
    outside: dict[str, str] = {}
    for sha, parent in parents.items():
        if parent is None:
            links.append(-1)
        elif (n := commit_of.get(parent)) is not None:
            links.append(n)
        else:
            links.append(-2)
            outside[sha] = parent
    packed = {
        name: pack_floats(column) if name in _FLOAT_COLUMNS else pack_ints(column)
        for name, column in cols.items()
    }
    body = {
        "tips": {
            "head": tips.head,
            "undone": list(tips.undone),
            "undone_stamp": list(tips.undone_stamp),
            "ratings": tips.ratings,
            "records": tips.records,
        },
        "commits": pack_shas(commits),
        "parents": pack_ints(links),
        "outside": outside,
        "undo_of": undo_of,
        "arms": arms,
        "steps": pack_ints([commit_of[sha] for sha in shas]),
        "strings": list(strings),
        "columns": packed,
        "rejected": rejected,
        "lessons": lessons,
        "lesson_steps": pack_ints([row_of[sha] for sha in lesson_shas]),
        "lesson_orders": pack_ints(lesson_orders),
    }
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    header = f"{FORMAT} {zlib.crc32(data):08x}\n".encode()
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_file(target, header + data)


def read(target: Path) -> Snapshot | None:
    """The cache at ``target``, or None when it is missing, damaged or of another format."""
    try:
        raw = target.read_bytes()
    except OSError:
        return None
    header, _, data = raw.partition(b"\n")
    words = header.decode("ascii", "replace").rsplit(" ", 1)
    if len(words) != 2 or words[0] != FORMAT or words[1] != f"{zlib.crc32(data):08x}":
        return None
    try:
        return _parse(json.loads(data))
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def _parse(body: dict[str, Any]) -> Snapshot:
    t = body["tips"]
    stamp = t["undone_stamp"]
    tips = Tips(
        head=t["head"],
        undone=tuple(t["undone"]),
        undone_stamp=(int(stamp[0]), int(stamp[1])),
        ratings=t["ratings"],
        records=t["records"],
    )
    commits = unpack_shas(body["commits"])
    links = unpack_ints(body["parents"])
    if len(links) != len(commits):
        raise ValueError("the commits' columns differ in length")
    outside = body["outside"]
    # Index -1 is None, -2 a marker for a parent outside the list (C-speed lookups).
    ends: list[str | None] = [*commits, "", None]
    parents: dict[str, str | None] = dict(zip(commits, map(ends.__getitem__, links), strict=True))
    for sha, parent in outside.items():
        if parents.get(sha) != "":
            raise ValueError("an outside parent of a commit that has one inside")
        parents[str(sha)] = str(parent)
    if "" in parents.values():
        raise ValueError("a commit whose parent is outside but not named")
    shas = [commits[n] for n in unpack_ints(body["steps"])]
    columns: dict[str, list[Any]] = {}
    for name in _COLUMNS:
        packed = body["columns"][name]
        column = unpack_floats(packed) if name in _FLOAT_COLUMNS else unpack_ints(packed)
        if len(column) != len(shas):
            raise ValueError(f"the column {name} has the wrong length")
        columns[name] = column
    rejected = {
        int(row): tuple(Rejection(str(a), str(b), str(c), str(d)) for a, b, c, d in items)
        for row, items in body["rejected"].items()
    }
    rows = StepRows(
        index={sha: n for n, sha in enumerate(shas)},
        columns=columns,
        strings=[str(s) for s in body["strings"]],
        rejected=rejected,
        parents=parents,
    )
    arms = {str(name): [float(x) for x in tally] for name, tally in body["arms"].items()}
    lesson_steps = unpack_ints(body["lesson_steps"])
    lesson_orders = unpack_ints(body["lesson_orders"])
    if len(lesson_steps) != len(lesson_orders):
        raise ValueError("the lesson columns differ in length")
    return Snapshot(
        tips=tips,
        parents=parents,
        undo_of={str(k): str(v) for k, v in body["undo_of"].items()},
        arms=arms,
        rows=rows,
        step_shas=shas,
        lessons=body["lessons"],
        lesson_steps=lesson_steps,
        lesson_orders=lesson_orders,
    )
