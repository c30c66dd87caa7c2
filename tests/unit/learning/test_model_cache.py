"""The reward model's cache: the same model as a cold build, and never trusted over git.

Every test writes the cache with a first load, changes the repository (or the cache
file) behind it, loads again and compares with a model read from git without the cache.
"""

from __future__ import annotations

import io
import json
import random
import zlib
from pathlib import Path

import pytest

from autogpt_tui.core.history import RATINGS_REF, RECORDS_REF, History
from autogpt_tui.core.learning import RewardModel, export_dpo, export_sft, model_cache
from autogpt_tui.core.learning.bm25 import TermIndex
from autogpt_tui.core.learning.packing import (
    pack_floats,
    pack_ints,
    pack_shas,
    unpack_floats,
    unpack_ints,
    unpack_shas,
)
from tests.unit.learning.steps import make_step, rated_corpus, rejection

ARMS = ["default", "careful"]
WHO = ("-c", "user.name=Test User", "-c", "user.email=test@example.com")
"""Who edits notes with `git notes` in these tests."""
QUERIES = ["parser", "src file", "drop database", "build folder", "docs", "comment"]


def cache_path(history: History) -> Path:
    return model_cache.path_in(history.common_dir)


def corpus(history: History) -> None:
    """Rated steps of two arms, a rejected proposal, and one step undone."""
    rated_corpus(history)
    for n in range(5, 13):
        step = make_step(
            history,
            n,
            "edit_file",
            {"path": f"src/file_{n}.py", "old_text": "a", "new_text": "b"},
            policy=ARMS[n % 2],
            rejected=[rejection("run_command", {"command": "rm -rf /"}, "never")] if n == 7 else [],
        )
        if n % 3:
            history.rate(step.sha, 1 if n % 2 else -1, f"comment {n}")
    make_step(history, 13, "run_command", {"command": "drop database"})
    history.undo()


def load_counting_rebuilds(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> tuple[RewardModel, int]:
    """A cached load, and how many times it read everything from git."""
    rebuilds = 0
    real = RewardModel._load

    def counted(self: RewardModel, h: History) -> None:
        nonlocal rebuilds
        rebuilds += 1
        real(self, h)

    with monkeypatch.context() as patch:
        patch.setattr(RewardModel, "_load", counted)
        model = RewardModel.load(history, ARMS)
    return model, rebuilds


def assert_same_as_git(model: RewardModel, history: History) -> None:
    """The model says what a model read from git without the cache says."""
    fresh = RewardModel.load(history, model.arm_names, cache=False)
    assert len(model) == len(fresh)
    assert model.arm_stats() == fresh.arm_stats()
    for query in QUERIES:
        assert model.lessons(query, ["Read src/file_1.py"]) == fresh.lessons(
            query, ["Read src/file_1.py"]
        )
        assert model.prompt_section(query, []) == fresh.prompt_section(query, [])
    for entry in history.log_entries("HEAD", "--all"):
        assert model.reward(entry.sha) == fresh.reward(entry.sha)


def test_a_cache_hit_gives_the_model_a_cold_build_gives(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus(history)
    first = RewardModel.load(history, ARMS)
    assert cache_path(history).read_bytes().startswith(model_cache.FORMAT.encode())
    assert_same_as_git(first, history)

    def no_log(*args: object, **kwargs: object) -> None:
        raise AssertionError("a load with a current cache walked the history")

    monkeypatch.setattr(History, "log_entries", no_log)
    cached = RewardModel.load(history, ARMS)
    monkeypatch.undo()
    assert len(cached) == len(first) == 13
    assert_same_as_git(cached, history)
    # It keeps working as a model: refresh after a new step and a rating.
    step = make_step(history, 14, "edit_file", {"path": "src/parser.py"})
    history.rate(step.sha, -1, "not the parser again")
    assert cached.refresh(history)
    assert "not the parser again" in cached.prompt_section("parser", [])
    assert_same_as_git(cached, history)


def test_a_stale_cache_reads_what_came_since(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus(history)
    RewardModel.load(history, ARMS)
    written = cache_path(history).read_bytes()
    with History.open(history.root) as other:  # another process: new steps and ratings
        for n in range(20, 60):  # more than are read in-process: one git log reads them
            step = make_step(other, n, "run_command", {"command": f"pytest -k case{n}"})
            if n % 4 == 0:
                other.rate(step.sha, -1, f"case {n} was flaky")
    model, rebuilds = load_counting_rebuilds(history, monkeypatch)
    assert rebuilds == 0
    assert len(model) == 13 + 40
    assert "flaky" in model.prompt_section("pytest case40", [])
    assert_same_as_git(model, history)
    # Fewer than the rewrite threshold past the cache: it stays as it was.
    assert cache_path(history).read_bytes() == written


@pytest.mark.parametrize(
    "damage",
    ["missing", "truncated", "garbage", "other version", "bad checksum", "a folder"],
)
def test_a_missing_or_damaged_cache_is_rebuilt(
    history: History, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus(history)
    RewardModel.load(history, ARMS)
    path = cache_path(history)
    raw = path.read_bytes()
    header, _, body = raw.partition(b"\n")
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff not json at all")
    elif damage == "other version":
        path.write_bytes(header.replace(b"reward-model 4", b"reward-model 999") + b"\n" + body)
    elif damage == "bad checksum":
        path.write_bytes(header + b"\n" + body.replace(b'"tips"', b'"tipz"'))
    else:
        path.unlink()
        path.mkdir()  # the cache cannot be read or written: the model goes without
    model, rebuilds = load_counting_rebuilds(history, monkeypatch)
    assert rebuilds == 1
    assert_same_as_git(model, history)
    if damage != "a folder":
        assert path.read_bytes().startswith(model_cache.FORMAT.encode())  # written again
        assert_same_as_git(RewardModel.load(history, ARMS), history)


def test_a_cache_that_parses_but_names_nothing_real_is_rebuilt(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus(history)
    RewardModel.load(history, ARMS)
    path = cache_path(history)
    body = json.loads(path.read_bytes().partition(b"\n")[2])
    body["tips"]["head"] = "0" * 40  # a commit git does not have
    body["steps"] = pack_ints([10**6])  # a step past the commits
    data = json.dumps(body).encode()
    path.write_bytes(f"{model_cache.FORMAT} {zlib.crc32(data):08x}\n".encode() + data)
    model, rebuilds = load_counting_rebuilds(history, monkeypatch)
    assert rebuilds == 1
    assert_same_as_git(model, history)


def test_ratings_edited_behind_the_cache_are_followed(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = rated_corpus(history)
    before = RewardModel.load(history, ARMS)
    assert before.reward(steps["docs"].sha) == 1
    # `git notes` directly: the docs step now rated down, the parser step's rating gone.
    note = json.dumps([{"value": -1, "comment": "docs were wrong", "source": "user"}])
    history.git(*WHO, "notes", f"--ref={RATINGS_REF}", "add", "-f", "-m", note, steps["docs"].sha)
    history.git(*WHO, "notes", f"--ref={RATINGS_REF}", "remove", steps["parser"].sha)
    model, rebuilds = load_counting_rebuilds(history, monkeypatch)
    assert rebuilds == 0
    assert model.reward(steps["docs"].sha) == -1
    assert model.reward(steps["parser"].sha) is None
    assert "docs were wrong" in model.prompt_section("docs index", [])
    assert_same_as_git(model, history)


def test_a_rerated_step_is_followed(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = rated_corpus(history)
    RewardModel.load(history, ARMS)
    history.rate(steps["tests"].sha, -1, "the tests were the wrong ones")
    history.rate(steps["delete"].sha, 0)
    model, rebuilds = load_counting_rebuilds(history, monkeypatch)
    assert rebuilds == 0
    assert model.reward(steps["tests"].sha) == -1
    assert model.reward(steps["delete"].sha) is None
    assert "build folder" not in model.prompt_section("build folder", [])
    assert_same_as_git(model, history)


def test_undone_and_redone_steps_are_followed(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus(history)
    RewardModel.load(history, ARMS)
    top = make_step(history, 30, "write_file", {"path": "notes.md", "content": "x"})
    RewardModel.load(history, ARMS)
    history.undo(2)  # the new step and the one below: an implicit -1 each
    model, rebuilds = load_counting_rebuilds(history, monkeypatch)
    assert rebuilds == 0
    assert model.reward(top.sha) == -1
    assert_same_as_git(model, history)
    history.redo()
    model, rebuilds = load_counting_rebuilds(history, monkeypatch)
    assert rebuilds == 0
    assert_same_as_git(model, history)


def test_a_rewritten_history_is_rebuilt(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus(history)
    for n in range(40, 43):
        history.rate(make_step(history, n, "list_files", {"path": f"dir{n}"}).sha, -1)
    assert len(RewardModel.load(history, ARMS)) == 16
    history.git("reset", "-q", "--hard", "HEAD~3")  # cached steps no longer reachable
    model, rebuilds = load_counting_rebuilds(history, monkeypatch)
    assert rebuilds == 1
    assert len(model) == 13
    assert "dir40" not in model.prompt_section("list dir40", [])
    assert_same_as_git(model, history)


def test_a_record_edited_behind_the_cache_is_followed(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = rated_corpus(history)
    RewardModel.load(history, ARMS)
    sha = steps["delete"].sha
    record = json.loads(history.read_note(RECORDS_REF, sha) or "{}")
    record["goal"] = "Clean the workspace"
    record["arguments"] = {"command": "rm -rf dist"}
    history.git(*WHO, "notes", f"--ref={RECORDS_REF}", "add", "-f", "-m", json.dumps(record), sha)
    model, rebuilds = load_counting_rebuilds(history, monkeypatch)
    assert rebuilds == 1  # a step's record changed: read everything again
    section = model.prompt_section("clean workspace", [])
    assert "When running `rm -rf dist`: never delete the build folder" in section
    assert_same_as_git(model, history)


def test_exports_do_not_change_with_the_cache(history: History) -> None:
    corpus(history)

    def exports() -> tuple[str, str]:
        sft, dpo = io.StringIO(), io.StringIO()
        export_sft(history, sft)
        export_dpo(history, dpo)
        return sft.getvalue(), dpo.getvalue()

    before = exports()
    assert before[0] and before[1]
    RewardModel.load(history, ARMS)
    assert cache_path(history).exists()
    assert exports() == before


# ------------------------------------------------------------- the lesson index


def test_lesson_candidates_do_not_depend_on_reading_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bounded candidates: a rare word finds an old lesson; the order read changes nothing."""
    monkeypatch.setattr("autogpt_tui.core.learning.bm25.CANDIDATES_PER_TERM", 3)
    rng = random.Random(5)
    docs = [({"src": 1, "py": 1, f"file{n}": 1}, (n, n, 0, f"{n:040x}")) for n in range(40)]
    docs.append(({"src": 2, "kubernetes": 1}, (0, 0, 1, "f" * 40)))  # the oldest
    orders = [list(docs), list(reversed(docs)), rng.sample(docs, len(docs))]
    results = []
    for order in orders:
        index = TermIndex()
        ids = {rank: index.add(counts, rank) for counts, rank in order}
        for n in (39, 12):  # two retired, whatever order they were read in
            rank = (n, n, 0, f"{n:040x}")
            index.retire(ids[rank], ["src", "py", f"file{n}"])
        scores = index.scores(["src", "kubernetes", "file5"])
        results.append({index.rank(doc): round(score, 9) for doc, score in scores.items()})
        assert (0, 0, 1, "f" * 40) in results[-1]  # found through its rare word
        assert (5, 5, 0, f"{5:040x}") in results[-1]
        assert (39, 39, 0, f"{39:040x}") not in results[-1]
    assert results[0] == results[1] == results[2]


def test_packed_columns_round_trip_and_refuse_garbage() -> None:
    ints = [0, -1, 2**31 - 1, -(2**31), 7]
    assert unpack_ints(pack_ints(ints)) == ints
    big = [2**40, -(2**40), 3]
    assert unpack_ints(pack_ints(big)) == big
    floats = [0.5, -1.0, float("inf"), 1e-300]
    assert unpack_floats(pack_floats(floats)) == floats
    shas = ["0123456789abcdef0123456789abcdef01234567", "f" * 40]
    assert unpack_shas(pack_shas(shas)) == shas
    assert unpack_ints(pack_ints([])) == []
    for bad in ("x:AAAA", "i:AAA", "no colon", 42):
        with pytest.raises(ValueError):
            unpack_ints(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        unpack_shas("AAAA")


def test_refresh_and_load_after_git_packed_everything(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The step reader reads loose objects; packed ones go through History instead."""
    corpus(history)
    model = RewardModel.load(history, ARMS)
    history.git("gc", "-q", "--prune=now")  # every object packed: nothing loose left
    steps = [make_step(history, n, "search", {"pattern": f"needle{n}"}) for n in (50, 51)]
    history.rate(steps[0].sha, -1, "needle 50 was the wrong search")
    history.rate(steps[1].sha, 1, "needle 51 found it")
    assert model.refresh(history)
    assert model.reward(steps[0].sha) == -1 and model.reward(steps[1].sha) == 1
    assert_same_as_git(model, history)
    cached, rebuilds = load_counting_rebuilds(history, monkeypatch)
    assert rebuilds == 0
    assert_same_as_git(cached, history)
