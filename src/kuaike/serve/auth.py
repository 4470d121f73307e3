"""The access token (`serve.token` / KUAIKE_SERVE_TOKEN) and where the server may listen.

With a token set, every request but /healthz and a parcel's timeline (/api/track/{number},
phones masked) needs `Authorization: Bearer <token>`. The token
is compared in constant time and never appears in a response, a log line or an error message.
"""

from __future__ import annotations

import hmac
import ipaddress
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from kuaike.errors import ServeError

OPEN_PATHS = frozenset({"/healthz"})
"""Paths answered without the token: a load balancer or `kuaike status` probing liveness."""

OPEN_PREFIX = "/api/track/"
"""A parcel's timeline by its number is public, as on every carrier's tracking page: phones
are masked for a caller without the token. Stuck parcels and search stay behind it."""


def is_open(path: str) -> bool:
    """Whether `path` is answered without the token.

    >>> is_open("/healthz"), is_open("/api/track/7000012345"), is_open("/api/track/stuck")
    (True, True, False)
    """
    if path in OPEN_PATHS:
        return True
    return path.startswith(OPEN_PREFIX) and path != OPEN_PREFIX + "stuck"


def carries(scope_headers: list[tuple[bytes, bytes]], token: str | None) -> bool:
    """Whether the request's headers carry `token` (constant-time; False without a token)."""
    if not token:
        return False
    expected = f"Bearer {token}".encode()
    for name, value in scope_headers:
        if name == b"authorization":
            return hmac.compare_digest(value, expected)
    return False


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token (one line, no token in it)."""
    if not token and not is_loopback(host):
        raise ServeError(
            f"serving on {host} needs an access token; set serve.token in kuaike.toml or "
            "KUAIKE_SERVE_TOKEN, or serve on 127.0.0.1"
        )


class TokenGate:
    """ASGI middleware: 401 with one line unless the request carries the token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open(scope["path"]) or self._carries(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"error": "missing or wrong access token; send Authorization: Bearer <serve.token>"}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _carries(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                return hmac.compare_digest(value, self.expected)
        return False
