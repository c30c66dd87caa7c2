"""Who may talk to the server: the Host and Origin checks, and the headers every answer
carries.

textual-serve itself checks neither: any web page the user opens, on any site, could
open ``ws://127.0.0.1:8000/ws`` from their browser (a websocket is not bound by the
same-origin policy) and type into the agent's workstation. So:

- the websocket must come from a page of this server: its ``Origin`` must be this
  server's own address, which a browser always sends and a page cannot forge;
- every request must name this server by one of its own addresses in ``Host``, which
  defeats DNS rebinding (evil.example resolving to 127.0.0.1): that page's requests
  say ``Host: evil.example``;
- no page may show the workstation in a frame (clickjacking: keys typed into a hidden
  frame would approve the agent's actions).

Bound to every address (``--host 0.0.0.0``), the server cannot know every name it is
reached by, so it takes any ``Host`` and still requires the ``Origin`` to match it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

WEBSOCKET_PATH = "/ws"
"""Where textual-serve's page opens its websocket."""
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
"""How a browser on this machine names a loopback server."""
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
"""Bind addresses that mean every interface."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    """``host`` as it appears in a URL: an IPv6 address in brackets."""
    try:
        if ipaddress.ip_address(host.strip("[]")).version == 6:
            return f"[{host.strip('[]')}]"
    except ValueError:
        pass
    return host


def allowed_hosts(bind_host: str, port: int) -> frozenset[str] | None:
    """The ``Host`` values this server answers to, or None when bound to every address."""
    if bind_host in WILDCARD_HOSTS:
        return None
    names = {*LOOPBACK_NAMES, _url_host(bind_host)}
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:  # a browser leaves the default port out of Host
        hosts |= names
    return frozenset(host.lower() for host in hosts)


def refusal(request: web.Request, hosts: frozenset[str] | None) -> str | None:
    """Why ``request`` is refused (one sentence), or None when it may go on."""
    host = request.headers.get("Host", "").lower()
    if hosts is not None and host not in hosts:
        return f"This server answers only to {', '.join(sorted(hosts))}, not to {host!r}."
    if request.path == WEBSOCKET_PATH:
        origin = request.headers.get("Origin", "").lower()
        if origin not in (f"http://{host}", f"https://{host}"):
            shown = origin or "no origin"
            return f"Only this server's own page may open the workstation, not {shown}."
    return None


def guard_middleware(hosts: Callable[[], frozenset[str] | None]) -> Middleware:
    """An aiohttp middleware that refuses with 403 what :func:`refusal` refuses and
    forbids framing on everything it lets through. ``hosts`` gives :func:`allowed_hosts`
    once the port is bound."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        reason = refusal(request, hosts())
        if reason is not None:
            raise web.HTTPForbidden(text=reason + "\n")
        response = await handler(request)
        if not response.prepared:  # a websocket's headers are already sent
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
            response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return guard
