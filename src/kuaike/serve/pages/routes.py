"""The page routes (documented in docs/pages.md): each renders what its /api twin answers."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from kuaike.errors import KuaikeError, NotFound, QueryLimit, QueryRefused
from kuaike.serve import api, kpi, report
from kuaike.serve.console import plain
from kuaike.serve.pages import TEMPLATES
from kuaike.serve.pages.examples import EXAMPLES
from kuaike.serve.pages.labels import COOKIE, LABELS, lang_of, translator
from kuaike.serve.service import Service
from kuaike.track.model import NUMBER

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES))


def _as_json(value: Any) -> Markup:
    """`value` as JSON safe inside a <script> element."""
    text = json.dumps(value, default=plain, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


templates.env.filters["json"] = _as_json


NAV = [
    ("live", "/"),
    ("kpi", "/kpi"),
    ("track", "/track"),
    ("sql", "/sql"),
    ("pipeline", "/pipeline"),
]
"""The header's links, in order; a page not built is left out."""


def _nav() -> list[tuple[str, str]]:
    paths = {getattr(route, "path", "") for route in router.routes}
    return [(name, href) for name, href in NAV if href in paths]


def render(request: Request, name: str, page: str, status: int = 200, **context: Any) -> Response:
    """The template `name` with the labels in the viewer's language and both label sets."""
    lang = lang_of(request.cookies.get(COOKIE))
    context.update(
        page=page,
        lang=lang,
        t=translator(lang),
        labels=LABELS,
        kpi_tables=kpi.kpi_tables(),
        nav=_nav(),
    )
    return templates.TemplateResponse(request, name, context, status_code=status)


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


@router.get("/", response_class=HTMLResponse)
async def live_page(request: Request) -> Response:
    """The live big screen: today's figures, refreshed from /api/live without a reload."""
    figures = request.app.state.live
    body = await run_in_threadpool(figures.get) if figures.stale() else figures.get()
    return render(request, "live.html", "live", live=json.loads(body))


@router.get("/kpi")
def kpi_index() -> Response:
    """The first KPI report."""
    return RedirectResponse(f"/kpi/{kpi.kpi_tables()[0]}", status_code=307)


@router.get("/kpi/{theme}", response_class=HTMLResponse)
def kpi_page(
    request: Request,
    theme: str,
    start: str | None = Query(default=None, alias="from"),
    end: str | None = Query(default=None, alias="to"),
) -> Response:
    """One DWS table between two days: trend and breakdown charts, its rows, CSV download."""
    if theme not in kpi.kpi_tables():
        raise NotFound(f"no KPI report {theme!r}; choose from {', '.join(kpi.kpi_tables())}")
    first, last = kpi.parse_day(start, "from"), kpi.parse_day(end, "to")
    cur = _service(request).cursor()
    columns: list[str] = []
    rows: list[tuple[Any, ...]] = []
    missing = None
    try:
        columns, rows = kpi.report(cur, theme, first, last)
    except NotFound as exc:  # the theme exists (checked above): its table is not built yet
        missing = str(exc)
    finally:
        cur.close()
    return render(
        request,
        "kpi.html",
        "kpi",
        theme=theme,
        key=kpi.key_of(theme),
        start=first.isoformat() if first else "",
        end=last.isoformat() if last else "",
        columns=columns,
        rows=rows,
        missing=missing,
    )


@router.get("/sql", response_class=HTMLResponse)
async def sql_page(request: Request, q: str = "") -> Response:
    """The console: with `q`, its result (or its refusal) rendered; the editor posts to
    /api/sql afterwards."""
    result, refusal = None, None
    if q.strip():
        try:
            answer = await run_in_threadpool(_service(request).console.run, q)
            result = json.loads(answer)
        except (QueryRefused, QueryLimit) as exc:
            refusal = str(exc).strip().splitlines()[0]
    return render(
        request, "sql.html", "sql", q=q, result=result, refusal=refusal, examples=EXAMPLES
    )


@router.get("/pipeline", response_class=HTMLResponse)
def pipeline_page(request: Request) -> Response:
    """Sources, schema changes, builds and audits; refreshed from /api/pipeline."""
    return render(request, "pipeline.html", "pipeline", overview=report.overview(_service(request)))


STUCK_SHOWN = 20  # stuck parcels listed on the tracking page


@router.get("/track", response_class=HTMLResponse)
def track_page(request: Request, q: str = "") -> Response:
    """Tracking: with `q`, the journey of the parcel of that number, or the search's hits; the
    stuck parcels. The functions of /api/track/{number}, /api/search and /api/track/stuck."""
    timeline, hits, error = None, None, None
    query = q.strip()
    try:
        if query and NUMBER.fullmatch(query):
            try:
                timeline = api.track_number(request, query)
            except NotFound:  # a phone number, or its last 4 digits
                hits = api.search(request, query, offset=0, limit=20)
        elif query:
            hits = api.search(request, query, offset=0, limit=20)
    except KuaikeError as exc:  # a query the search refuses: its one line on the page
        error = str(exc).strip().splitlines()[0]
    stuck = api.track_stuck(request, factor=None, offset=0, limit=STUCK_SHOWN)
    return render(
        request, "track.html", "track", q=q, timeline=timeline, hits=hits, stuck=stuck, error=error
    )


def error_page(request: Request, status: int, line: str) -> Response:
    """The error page: what went wrong in one line, and the way back."""
    return render(request, "error.html", "error", status=status, line=line)
