"""A long headless loop with tiny cache bounds: every step still right, the bounds kept."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from autogpt_tui.core.events import Event, Finished, StepCommitted
from autogpt_tui.core.git import objects
from autogpt_tui.core.session import open_session
from autogpt_tui.core.settings import load_settings
from tests.conftest import git
from tests.support.scripted_llm import ScriptedLLM, writes_responder

STEPS = 300
BOUND = 16 * 1024
"""A tree cache this small holds a handful of trees: it evicts on every step."""


class _SpyCache(objects.TreeCache):
    """The tree cache, remembering every instance and the most it ever held."""

    made: ClassVar[list[_SpyCache]] = []

    def __init__(self, max_bytes: int = objects.TREE_CACHE_BYTES) -> None:
        super().__init__(max_bytes)
        self.peak = 0
        self.evicted = 0
        _SpyCache.made.append(self)

    def put(self, sha: str, entries: dict[str, objects.TreeEntry], size: int) -> None:
        before = len(self)
        super().put(sha, entries, size)
        self.evicted += max(0, before + 1 - len(self))
        self.peak = max(self.peak, self.bytes)


@pytest.mark.slow
def test_a_long_headless_loop_with_a_tiny_tree_cache_keeps_every_step_right(
    workspace: Path, llm_server: ScriptedLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(objects, "TREE_CACHE_BYTES", BOUND)
    monkeypatch.setattr(objects, "TreeCache", _SpyCache)
    _SpyCache.made.clear()
    llm_server.responder = writes_responder()
    settings = load_settings(
        workspace,
        overrides={
            "model": {"base_url": llm_server.base_url, "api_key": "k"},
            "agent": {"max_steps": STEPS},
        },
    )
    events: list[Event] = []
    session = open_session(workspace, settings, goal="write many", mode="auto", emit=events.append)
    try:
        result = session.agent.run(max_steps=STEPS)
    finally:
        session.close()

    assert result.outcome == "stepped"  # all the steps asked for, none refused or failed
    commits = [e for e in events if isinstance(e, StepCommitted)]
    assert [c.step for c in commits] == list(range(1, STEPS + 1))
    assert all(e.outcome == "stepped" for e in events if isinstance(e, Finished))
    # Each step's commit holds exactly its own file, with what the model wrote.
    for n in (1, 2, STEPS // 2, STEPS - 1, STEPS):
        sha = commits[n - 1].sha
        assert git(workspace, "show", "--format=", "--name-only", sha).split() == [
            f"bench/f{n}.txt"
        ]
        assert git(workspace, "show", f"{sha}:bench/f{n}.txt") == f"step {n}\n"
    assert len(list((workspace / "bench").iterdir())) == STEPS
    assert git(workspace, "status", "--porcelain") == ""
    # The caches were used, kept to their bound, and had to evict to stay there.
    assert _SpyCache.made
    assert all(cache.max_bytes == BOUND and cache.peak <= BOUND for cache in _SpyCache.made)
    assert sum(cache.evicted for cache in _SpyCache.made) > STEPS
