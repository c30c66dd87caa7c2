"""The model and its endpoint in a few words, for the goal panel: ``m · 127.0.0.1:8080``.

Only the host (and port) of the base URL is shown: a URL can carry a user name and a
password, and some gateways put the key in the path or the query, so none of those are
ever shown. No base URL means the openai library's default, OpenAI itself: said so.
"""

from __future__ import annotations

from urllib.parse import urlsplit

OPENAI_HOST = "api.openai.com"
"""Where requests go when no base URL is set (the openai library's default)."""
NO_HOST = "(no host in the base URL)"
"""What shows for a base URL that names no host (or one that cannot be read)."""


def endpoint_host(base_url: str | None) -> str:
    """The host and port of ``base_url`` (``127.0.0.1:8080``), never its credentials,
    path or query; :data:`OPENAI_HOST` when it is None."""
    if not base_url:
        return OPENAI_HOST
    try:
        parts = urlsplit(base_url.strip())
        host = parts.hostname
    except ValueError:  # a malformed IPv6 address
        return NO_HOST
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: the host alone
        port = None
    if not host:
        return NO_HOST
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address, written as in a URL
    return f"{host}:{port}" if port is not None else host


def endpoint_label(model: str, base_url: str | None) -> str:
    """``model · host``: what the agent talks to, safe to show."""
    return f"{' '.join(model.split())} · {endpoint_host(base_url)}"
