"""Masking secrets before text leaves for the model, a note, an event or an export."""

from __future__ import annotations

import pytest

from autogpt_tui.core.redact import REDACTED, Redactor, environment_secrets, scrub_keys


@pytest.mark.parametrize(
    "token",
    [
        "sk-proj-abcdefghijklmnop1234",
        "ghp_abcdefghijklmnopqrstuvwx12",
        "github_pat_11ABCDEFG0123456789_abcdefghij",
        "AKIAABCDEFGHIJKLMNOP",
        "xoxb-1234567890-abcdefghij",
    ],
)
def test_common_token_shapes_are_masked(token: str) -> None:
    assert scrub_keys(f"the token is {token}.") == f"the token is {REDACTED}."


def test_a_private_key_block_is_masked_whole() -> None:
    block = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----"
    )
    assert scrub_keys(f"before\n{block}\nafter") == f"before\n{REDACTED}\nafter"


def test_credentials_in_urls_lose_their_password_only() -> None:
    text = "origin\thttps://alice:s3cr3t-pass@github.com/org/repo.git (fetch)"
    assert scrub_keys(text) == f"origin\thttps://alice:{REDACTED}@github.com/org/repo.git (fetch)"
    assert Redactor()("postgres://u:pw@db:5432/x") == f"postgres://u:{REDACTED}@db:5432/x"


def test_named_secrets_are_masked_raw_and_as_json() -> None:
    redact = Redactor(["my-key-1234", None, "ab"])
    assert redact('KEY="my-key-1234"') == f'KEY="{REDACTED}"'
    assert redact.value({"a": ["x my-key-1234"]}) == {"a": [f"x {REDACTED}"]}
    assert redact("ab stays") == "ab stays"  # too short to mask without garbling


def test_the_parent_environment_outside_the_allowlist_is_masked() -> None:
    environ = {
        "DATABASE_URL": "postgres://u:pw@db/x",
        "GITHUB_PAT": "abcdefgh12345678",
        "PATH": "/usr/bin:/bin",  # allowlisted
        "LANG": "en_US.UTF-8",
        "PWD": "/work/project",  # public
        "SHLVL": "1",  # short
        "PYTHONPATH": "/opt/lib:/opt/more",  # paths
        "BUILD_NUMBER": "123456789",  # a number
    }
    assert sorted(environment_secrets(environ)) == ["abcdefgh12345678", "postgres://u:pw@db/x"]
    redact = Redactor(environ=environ)
    assert redact("GITHUB_PAT=abcdefgh12345678 in /work/project") == (
        f"GITHUB_PAT={REDACTED} in /work/project"
    )
