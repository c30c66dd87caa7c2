"""What the goal panel says while the model works, and how it names the endpoint:
plain functions of a clock value, so no test waits for time to pass."""

from __future__ import annotations

import pytest

from autogpt_tui.ui.endpoint import NO_HOST, endpoint_host, endpoint_label
from autogpt_tui.ui.model_activity import FRAME_S, SPINNER, ModelActivity, format_elapsed


def test_elapsed_time_reads_in_whole_units() -> None:
    assert [format_elapsed(s) for s in (0, 0.9, 12.4, 59.99, 60, 125, 3_725)] == [
        "0s",
        "0s",
        "12s",
        "59s",
        "1m00s",
        "2m05s",
        "1h02m",
    ]


def test_thinking_shows_a_spinner_that_follows_the_clock_the_time_and_the_tokens() -> None:
    activity = ModelActivity()
    assert activity.describe(100.0) == ""  # not waiting for the model: nothing to say
    activity.start(100.0)
    assert activity.describe(100.0) == f"{SPINNER[0]} thinking 0s"
    assert activity.describe(100.0 + FRAME_S) == f"{SPINNER[1]} thinking 0s"
    assert activity.describe(112.0).endswith(" thinking 12s")
    activity.streamed(1)
    assert activity.describe(112.0).endswith(" thinking 12s · 1 token")
    activity.streamed(12_345)
    assert activity.describe(112.0).endswith(" thinking 12s · 12.3k tokens")
    # The same time always draws the same frame: a frozen clock, a fixed picture.
    assert activity.describe(112.0) == activity.describe(112.0)
    activity.stop()
    assert activity.describe(113.0) == ""


def test_a_retry_counts_down_then_names_the_attempt_under_way() -> None:
    activity = ModelActivity()
    activity.start(0.0)
    activity.streamed(40)
    activity.retrying(5.0, 3.0, attempt=2, max_attempts=5)
    assert activity.describe(5.0).endswith(" retrying in 3s (attempt 2/5)")
    assert activity.describe(6.2).endswith(" retrying in 2s (attempt 2/5)")
    assert activity.describe(7.9).endswith(" retrying in 1s (attempt 2/5)")  # never "in 0s"
    # The wait is over: the new attempt is under way, its tokens counted afresh.
    assert activity.describe(8.0).endswith(" thinking 8s (attempt 2/5)")
    activity.streamed(3)
    assert activity.describe(9.0).endswith(" thinking 9s (attempt 2/5) · 3 tokens")


def test_a_retry_without_a_known_limit_says_the_attempt_alone() -> None:
    activity = ModelActivity()
    activity.retrying(0.0, 1.0, attempt=3, max_attempts=None)
    assert activity.describe(0.0).endswith(" retrying in 1s (attempt 3)")


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
        (None, "api.openai.com"),
        ("http://127.0.0.1:8080/v1", "127.0.0.1:8080"),
        ("https://API.Example.com/v1", "api.example.com"),
        ("http://[::1]:11434/v1", "[::1]:11434"),
        ("http://host:notaport/v1", "host"),
        ("http:///v1", NO_HOST),
        ("http://[::1/v1", NO_HOST),
    ],
)
def test_the_endpoint_is_its_host_and_port(base_url: str | None, shown: str) -> None:
    assert endpoint_host(base_url) == shown


def test_credentials_paths_and_queries_never_show() -> None:
    url = "https://alice:sk-secret-1@gateway.example.com:8443/keys/sk-secret-2/v1?key=sk-3"
    label = endpoint_label("gpt-4o\nmini", url)
    assert label == "gpt-4o mini · gateway.example.com:8443"
    assert "sk-" not in label and "alice" not in label
