"""The CLI's side of the API: find the server holding the store, call it, read its errors.

client = Client.for_store(settings)      # None: no `kuaike run` holds the store
rows = client.get("/api/pipeline")["sources"]
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from kuaike.config import Settings
from kuaike.errors import (
    AuthError,
    KuaikeError,
    NotFound,
    QueryLimit,
    QueryRefused,
    ServeError,
    ServerUnreachable,
    StoreError,
    UsageError,
)
from kuaike.serve import locator

ERRORS: dict[int, type[KuaikeError]] = {
    400: UsageError,
    401: AuthError,
    403: QueryRefused,
    404: NotFound,
    422: QueryLimit,
    503: StoreError,
}
"""The server's one-line errors, raised again here as the class the server had (by status)."""


class Client:
    """Calls one running server; errors come back as kuaike errors with the server's line."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    @classmethod
    def for_store(cls, settings: Settings, timeout_s: float = 60.0) -> Client | None:
        """The client of the server holding the configured store, None when there is none."""
        info = locator.running(settings.store_path)
        if info is None:
            return None
        token = settings.serve.token
        return cls(info.url, token.get_secret_value() if token else None, timeout_s)

    def get(self, path: str, **params: str) -> Any:
        """GET `path` (query `params`), its JSON."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return json.loads(self._call(urllib.request.Request(self.url + path + query)))

    def get_text(self, path: str, **params: str) -> str:
        """GET `path`, its body as text (CSV reports)."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self._call(urllib.request.Request(self.url + path + query)).decode()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST `body` as JSON to `path`, its JSON."""
        data = json.dumps(body, default=str).encode()
        request = urllib.request.Request(self.url + path, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        return json.loads(self._call(request))

    def _call(self, request: urllib.request.Request) -> bytes:
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            raise _error(exc.code, exc.read()) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ServerUnreachable(
                f"the `kuaike run` serving {self.url} does not answer ({exc}); "
                "is it still starting, or stuck?"
            ) from exc


def _error(status: int, body: bytes) -> KuaikeError:
    try:
        message = str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        message = f"the server answered HTTP {status}"
    if status == 401:
        message += "; set serve.token or KUAIKE_SERVE_TOKEN to the server's token"
    return ERRORS.get(status, ServeError)(message)
