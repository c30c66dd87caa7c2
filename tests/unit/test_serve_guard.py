"""Which requests the ``serve`` guard lets through: its own page's websocket, on its own
addresses; not another site's page, nor another name for this address."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from autogpt_tui.web.guard import allowed_hosts, is_loopback, refusal
from autogpt_tui.web.server import public_url


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        *[("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True)],
        *[("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("devbox", False)],
    ],
)
def test_what_counts_as_this_machine_only(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_hosts_a_loopback_server_answers_to() -> None:
    assert allowed_hosts("127.0.0.1", 8000) == frozenset(
        {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"}
    )
    assert "[::1]:9000" in (allowed_hosts("::1", 9000) or ())
    assert "devbox:80" in (allowed_hosts("devbox", 80) or ())
    assert "devbox" in (allowed_hosts("devbox", 80) or ())  # browsers drop the default port
    assert allowed_hosts("0.0.0.0", 8000) is None


HOSTS = allowed_hosts("127.0.0.1", 8000)


@pytest.mark.parametrize(
    ("path", "headers", "refused"),
    [
        ("/", {"Host": "127.0.0.1:8000"}, None),
        ("/", {"Host": "localhost:8000"}, None),
        ("/", {"Host": "evil.example:8000"}, "answers only to"),
        ("/ws", {"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:8000"}, None),
        ("/ws", {"Host": "127.0.0.1:8000", "Origin": "http://evil.example"}, "not http://evil"),
        ("/ws", {"Host": "127.0.0.1:8000", "Origin": "null"}, "not null"),
        ("/ws", {"Host": "127.0.0.1:8000"}, "not no origin"),
        # Another port of this machine is another site.
        ("/ws", {"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:3000"}, "3000"),
    ],
)
def test_what_the_guard_refuses(path: str, headers: dict[str, str], refused: str | None) -> None:
    reason = refusal(make_mocked_request("GET", path, headers=headers), HOSTS)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_bound_to_every_address_the_origin_must_still_match_the_host() -> None:
    ok = {"Host": "devbox:8000", "Origin": "http://devbox:8000"}
    assert refusal(make_mocked_request("GET", "/ws", headers=ok), None) is None
    forged = {"Host": "devbox:8000", "Origin": "http://evil.example"}
    assert refusal(make_mocked_request("GET", "/ws", headers=forged), None) is not None


def test_the_url_printed_is_one_a_browser_here_can_open() -> None:
    assert public_url("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    assert public_url("0.0.0.0", 8000) == "http://127.0.0.1:8000/"
    assert public_url("::1", 8000) == "http://[::1]:8000/"
    assert public_url("::", 8000) == "http://[::1]:8000/"
