"""The FastAPI app: routes, the one error handler, the token gate, CORS, request timing."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kuaike import __version__
from kuaike.errors import KuaikeError, NotFound, UsageError
from kuaike.serve import api, kpi, metrics
from kuaike.serve.auth import TokenGate
from kuaike.serve.live import LiveFigures
from kuaike.serve.pages import STATIC
from kuaike.serve.pages import routes as pages
from kuaike.serve.service import Service

log = logging.getLogger("kuaike.serve")


def create_app(service: Service) -> FastAPI:
    """The app serving `service` (see docs/api.md for the routes)."""
    app = FastAPI(title="kuaike", version=__version__, summary="客快 data service")
    registry, http_seconds = metrics.registry(service.status, service.cursor)
    app.state.service = service
    app.state.registry = registry
    app.state.live = LiveFigures(service.cursor, service.settings.serve.live_refresh_s)
    app.state.kpi_answers = kpi.Answers()
    app.state.track_limiters = {}  # api._tracking's, one per kind of tracking request
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if not (STATIC / "vendor" / "echarts.min.js").exists():
        log.warning("the pages' charts are missing (static/vendor); run `make assets`")
    app.add_exception_handler(KuaikeError, _kuaike_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    serve = service.settings.serve
    if serve.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=serve.cors_origins, allow_methods=["*"])
    if serve.token is not None:
        app.add_middleware(TokenGate, token=serve.token.get_secret_value())
    app.add_middleware(_Timing, histogram=http_seconds)
    return app


JSON_PATHS = ("/api/", "/healthz", "/metrics", "/openapi.json", "/docs", "/static/")
"""Paths answered with JSON errors; every other path is a page and gets the error page."""


def _error(request: Request, status: int, message: str) -> Response:
    line = message.strip().splitlines()[0] if message.strip() else "error"
    if not request.url.path.startswith(JSON_PATHS):
        return pages.error_page(request, status, line)
    return JSONResponse({"error": line}, status_code=status)


async def _kuaike_error(request: Request, exc: Exception) -> Response:
    """The one mapping of kuaike errors to HTTP: the status lives on the exception class."""
    assert isinstance(exc, KuaikeError)
    return _error(request, exc.http_status, str(exc) or type(exc).__name__)


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return await _kuaike_error(request, UsageError(f"{where}: {first.get('msg')}"))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return await _kuaike_error(request, NotFound(f"no route {request.url.path}; see /docs"))
    return _error(request, exc.status_code, str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error answering %s", request.url.path, exc_info=exc)
    return _error(request, 500, "internal error; the server log has the details")


class _Timing:
    """ASGI middleware: each request's seconds, by method, route template and status."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "other")
            labels = (scope["method"], route, str(status[0]))
            self.histogram.labels(*labels).observe(time.perf_counter() - started)
