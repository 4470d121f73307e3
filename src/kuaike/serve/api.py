"""The routes (documented one by one in docs/api.md; tests/test_docs.py checks that)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from kuaike import track
from kuaike.errors import UsageError
from kuaike.serve import kpi, report
from kuaike.serve.auth import carries
from kuaike.serve.service import BuildRequest, Service
from kuaike.warehouse import lake

router = APIRouter()


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


class SqlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sql: str = Field(min_length=1, max_length=100_000)
    """One read-only statement."""


class BuildBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    full: bool = False
    start: dt.date | None = Field(default=None, alias="from")
    end: dt.date | None = Field(default=None, alias="to")
    reference_date: dt.date | None = None


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    """Liveness, without the token: the pid and store let the CLI tell its own server."""
    service = _service(request)
    return {"ok": True, "pid": service.pid, "store": str(service.store.path)}


@router.get("/api/pipeline")
def pipeline(request: Request) -> dict[str, Any]:
    """Per source phase, position, lag, retained WAL, changes/s, last error; schema changes;
    warehouse builds with their failed runs and audits."""
    return report.overview(_service(request))


@router.get("/api/live")
async def live(request: Request) -> Response:
    """Today's operations so far; computed once per `serve.live_refresh_s` for every viewer."""
    figures = request.app.state.live
    # fresh figures are answered on the event loop: no thread hand-off for a cached answer
    body = await run_in_threadpool(figures.get) if figures.stale() else figures.get()
    return Response(body, media_type="application/json")


@router.get("/api/kpi")
def kpi_tables() -> dict[str, list[str]]:
    """The KPI tables (DWS) /api/kpi/{table} serves."""
    return {"tables": kpi.kpi_tables()}


@router.get("/api/kpi/{table}")
async def kpi_table(
    request: Request,
    table: str,
    start: str | None = Query(default=None, alias="from"),
    end: str | None = Query(default=None, alias="to"),
    format: Literal["json", "csv"] = "json",
) -> Response:
    """One DWS table's rows between `from` and `to` (YYYY-MM-DD, inclusive), JSON or CSV."""
    first, last = kpi.parse_day(start, "from"), kpi.parse_day(end, "to")
    service, answers = _service(request), request.app.state.kpi_answers
    generation, key = service.generation, (table, first, last, format)
    body = answers.get(generation, key)
    if body is None:
        body = await run_in_threadpool(_kpi_answer, service, table, first, last, format)
        answers.put(generation, key, body)
    media = "text/csv" if format == "csv" else "application/json"
    return Response(body, media_type=media)


def _kpi_answer(
    service: Service, table: str, first: dt.date | None, last: dt.date | None, format: str
) -> bytes:
    cur = service.cursor()
    try:
        columns, rows = kpi.report(cur, table, first, last)
    finally:
        cur.close()
    if format == "csv":
        return kpi.as_csv(columns, rows).encode()
    return kpi.as_json(table, columns, rows)


@router.post("/api/sql")
async def sql(request: Request, body: SqlRequest) -> Response:
    """The read-only SQL console: columns with types, rows, elapsed milliseconds."""
    result = await run_in_threadpool(_service(request).console.run, body.sql)
    return Response(result, media_type="application/json")


@router.post("/api/build")
def build(request: Request, body: BuildBody) -> dict[str, Any]:
    """Build the warehouse now (what `kuaike build` does), incrementally by default."""
    if (body.start is None) != (body.end is None):
        raise UsageError("from and to go together; give both (the same day for one day)")
    if body.full and body.start is not None:
        raise UsageError("full rebuilds every day already; drop from/to, or drop full")
    days: frozenset[dt.date] = frozenset()
    if body.start is not None and body.end is not None:
        if body.end < body.start:
            raise UsageError(f"to {body.end} is before from {body.start}; swap them")
        count = (body.end - body.start).days + 1
        days = frozenset(body.start + dt.timedelta(days=n) for n in range(count))
    request_ = BuildRequest(full=body.full, days=days, reference_date=body.reference_date)
    return _service(request).build(request_)


def _reveal(request: Request) -> bool:
    """Phones in clear only for a caller presenting the configured token."""
    token = _service(request).settings.serve.token
    return carries(request.scope.get("headers", []), token.get_secret_value() if token else None)


def _tracked(request: Request, work: Any) -> dict[str, Any]:
    """Run a tracking function on a cursor of its own (after making sure of the indexes)."""
    service = _service(request)
    service.indexes.ensure()
    cur = service.cursor()
    try:
        data: dict[str, Any] = work(cur, service)
    finally:
        cur.close()
    return data


def _plain_json(data: dict[str, Any]) -> Response:
    """Plain data encoded here (FastAPI's encoder walking a timeline cost more than the lookup)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, media_type="application/json")


async def _tracking(
    request: Request, kind: Literal["lookup", "search"], answer: Callable[[], dict[str, Any]]
) -> Response:
    """`answer()` in a worker thread, at most `track.concurrency` of `kind` at once (the others
    wait on the event loop, holding no thread), JSON-encoded there too.

    Each is CPU work in DuckDB and Python: with the thread pool's 40 at once, 200 saturating
    clients starved capture's decoder of the GIL (freshness p95 1.1 s at 5,000 changes/s, 1 M
    bills, bench/track.py; 0.3-0.6 s with 2-4 at once). Searches and stuck lists have their
    own: a 100 ms address scan does not hold up 4 ms lookups."""
    limiters: dict[str, CapacityLimiter] = request.app.state.track_limiters
    if kind not in limiters:  # made on the event loop that uses it (anyio binds it there)
        limiters[kind] = CapacityLimiter(_service(request).settings.track.concurrency)
    return await anyio.to_thread.run_sync(lambda: _plain_json(answer()), limiter=limiters[kind])


@router.get("/api/track/stuck")
async def track_stuck(
    request: Request,
    factor: float | None = Query(default=None, ge=1, le=100),
    offset: int = Query(default=0, ge=0),
    limit: int = Query(default=50, ge=1, le=200),
) -> Response:
    """Parcels with no new event for longer than their current step normally takes, newest
    first, paged (`track.stuck_factor` × the step's p90 unless `factor` is given)."""
    return await _tracking(request, "search", lambda: stuck_data(request, factor, offset, limit))


def stuck_data(request: Request, factor: float | None, offset: int, limit: int) -> dict[str, Any]:
    """What /api/track/stuck answers (the tracking page renders it too)."""

    def work(cur: Any, service: Service) -> dict[str, Any]:
        stats = service.transit.get(cur)
        chosen = factor if factor is not None else service.settings.track.stuck_factor
        page = track.stuck(cur, stats, factor=chosen, offset=offset, limit=limit)
        return page.as_dict()

    return _tracked(request, work)


@router.get("/api/track/{number}")
async def track_number(request: Request, number: str) -> Response:
    """A parcel's timeline by express-bill or waybill number: events in time order, status,
    place, ETA; 404 for an unknown number. Public: phones masked without the token."""
    return await _tracking(request, "lookup", lambda: timeline_data(request, number))


def timeline_data(request: Request, number: str) -> dict[str, Any]:
    """What /api/track/{number} answers (the tracking page renders it too)."""
    reveal = _reveal(request)

    def work(cur: Any, service: Service) -> dict[str, Any]:
        timeline = track.lookup(
            cur, number, reveal=reveal, transit=service.transit, dims=service.dims
        )
        return timeline.as_dict()

    return _tracked(request, work)


@router.get("/api/search")
async def search(
    request: Request,
    q: str = "",
    offset: int = Query(default=0, ge=0),
    limit: int = Query(default=20, ge=1, le=100),
) -> Response:
    """Parcels by phone, its last 4 digits, name or part of an address (every word must
    match), best first, paged, with their current status."""
    return await _tracking(request, "search", lambda: search_data(request, q, offset, limit))


def search_data(request: Request, q: str, offset: int, limit: int) -> dict[str, Any]:
    """What /api/search answers (the tracking page renders it too)."""
    reveal = _reveal(request)

    def work(cur: Any, service: Service) -> dict[str, Any]:
        return track.search(
            cur, q, offset=offset, limit=limit, reveal=reveal, index=service.search_index
        ).as_dict()

    return _tracked(request, work)


class ExportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=1)
    """The lake folder, an absolute path on the server's machine."""


@router.post("/api/export")
def export(request: Request, body: ExportBody) -> dict[str, Any]:
    """Export the replica to a Parquet lake now (what `kuaike export` does), incrementally."""
    to = lake.lake_path(body.to)
    if not Path(body.to).is_absolute():
        raise UsageError(f"to {body.to!r} must be an absolute path on the server's machine")
    return _service(request).export(to)


class LoadBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    source: str = Field(alias="from", min_length=1)
    """The lake folder, an absolute path on the server's machine."""


@router.post("/api/load-warehouse")
def load_warehouse(request: Request, body: LoadBody) -> dict[str, Any]:
    """Replace the DWS tables by the lake's last Spark build (what `kuaike load-warehouse` does)."""
    root = lake.lake_path(body.source)
    if not Path(body.source).is_absolute():
        raise UsageError(f"from {body.source!r} must be an absolute path on the server's machine")
    return _service(request).load_warehouse(root)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format: lag, changes/s, batch latency, batches, builds, HTTP latency."""
    body = generate_latest(request.app.state.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
