"""/api/live: today's operations so far, computed once per refresh interval for every viewer.

Fifty open dashboards must not mean fifty times the queries (the complaint about Grafana,
Metabase and Superset in shared/reference/serving.md §4): the first request after the figures
aged past `serve.live_refresh_s` computes them, concurrent ones wait for that one computation,
and everyone gets the same figures with their age.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import duckdb

from kuaike.types import DuckConnection

log = logging.getLogger("kuaike.serve")

TODAY = "CAST(now() AS DATE)"
HOURS = 3  # orders per minute over this many hours

ON_THE_ROAD = (
    "start_vehicle_dt IS NOT NULL AND actual_arrivals_dt IS NULL AND state IS DISTINCT FROM 3"
)
"""A leg that left, has not arrived and was not declared lost (state 3): dws.tbl_hub_backlog's
`in_transit`, judged now."""

EXCEPTIONS: dict[str, str] = {
    # The definitions of dws.tbl_exception_summary (docs/warehouse.md), for today so far: the
    # same states, the same day column, so tonight's build agrees with the big screen.
    "cancelled": f"SELECT count(*) FROM ods.tbl_collect_package WHERE cdt >= {TODAY} AND state = 4",
    "delayed": (
        f"SELECT count(*) FROM ods.tbl_transport_record WHERE cdt >= {TODAY} "
        "AND actual_arrivals_dt > predict_arrivals_dt"
    ),
    "lost": f"SELECT count(*) FROM ods.tbl_transport_record WHERE cdt >= {TODAY} AND state = 3",
    "rejected": f"SELECT count(*) FROM ods.tbl_deliver_package WHERE cdt >= {TODAY} AND state = 4",
}
"""Today's exceptions by kind; `exceptions` is their sum."""

FIGURES: dict[str, str] = {
    "orders": f"SELECT count(*) FROM ods.tbl_express_bill WHERE cdt >= {TODAY}",
    "collected": (
        f"SELECT count(*) FROM ods.tbl_collect_package WHERE collect_package_dt >= {TODAY}"
    ),
    "in_transit": f"SELECT count(*) FROM ods.tbl_transport_record WHERE {ON_THE_ROAD}",
    "delivered": f"SELECT count(*) FROM ods.tbl_deliver_package WHERE cdt >= {TODAY}",
    "signed": f"SELECT count(*) FROM ods.tbl_deliver_package WHERE rece_dt >= {TODAY}",
    "vehicles_on_the_road": (
        "SELECT count(DISTINCT transport_tool_id) FROM ods.tbl_transport_record "
        f"WHERE {ON_THE_ROAD}"
    ),
}
"""Single numbers: a table not captured yet gives null."""

BREAKDOWNS: dict[str, str] = {
    "orders_by_channel": (
        "SELECT order_channel_id, count(*) FROM ods.tbl_express_bill "
        f"WHERE cdt >= {TODAY} GROUP BY 1 ORDER BY 2 DESC"
    ),
    "orders_by_terminal": (
        "SELECT order_terminal_type, count(*) FROM ods.tbl_express_bill "
        f"WHERE cdt >= {TODAY} GROUP BY 1 ORDER BY 2 DESC"
    ),
    "orders_by_company": (
        "SELECT coalesce(c.company_name, 'unknown'), count(*) FROM ods.tbl_express_bill b "
        "LEFT JOIN ods.tbl_courier e ON e.id = b.eid LEFT JOIN ods.tbl_dot d ON d.id = e.dot_id "
        f"LEFT JOIN ods.tbl_company c ON c.id = d.company_id WHERE b.cdt >= {TODAY} "
        "GROUP BY 1 ORDER BY 2 DESC, 1"
    ),
    "orders_by_province": (  # the province of the taking courier's company's city
        "SELECT coalesce(p.name, a.name, 'unknown'), count(*) FROM ods.tbl_express_bill b "
        "LEFT JOIN ods.tbl_courier e ON e.id = b.eid LEFT JOIN ods.tbl_dot d ON d.id = e.dot_id "
        "LEFT JOIN ods.tbl_company c ON c.id = d.company_id "
        "LEFT JOIN ods.tbl_areas a ON a.id = c.city_id LEFT JOIN ods.tbl_areas p ON p.id = a.pid "
        f"WHERE b.cdt >= {TODAY} GROUP BY 1 ORDER BY 2 DESC, 1"
    ),
    "busiest_hubs": (  # by name (the id when the hub has none)
        "SELECT coalesce(w.name, CAST(t.ew_id AS VARCHAR)), count(*) "
        "FROM ods.tbl_transport_record t LEFT JOIN ods.tbl_warehouse w ON w.id = t.ew_id "
        f"WHERE {ON_THE_ROAD} "  # tbl_warehouse has none of its columns
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"
    ),
    "orders_per_minute": (
        "SELECT strftime(date_trunc('minute', cdt), '%Y-%m-%dT%H:%M'), count(*) "
        f"FROM ods.tbl_express_bill WHERE cdt >= now()::TIMESTAMP - INTERVAL {HOURS} HOUR "
        "GROUP BY 1 ORDER BY 1"
    ),
}
"""(key, count) pairs."""


def compute(cur: DuckConnection) -> dict[str, Any]:
    """Every figure and breakdown, read in one transaction so they agree with each other."""
    cur.execute("BEGIN TRANSACTION")
    try:
        figures: dict[str, Any] = {name: _scalar(cur, sql) for name, sql in FIGURES.items()}
        for name, sql in BREAKDOWNS.items():
            figures[name] = _pairs(cur, sql)
        kinds = {kind: _scalar(cur, sql) for kind, sql in EXCEPTIONS.items()}
        counted = [n for n in kinds.values() if n is not None]
        figures["exceptions"] = sum(counted) if counted else None
        figures["exceptions_by_kind"] = [[kind, n] for kind, n in kinds.items() if n is not None]
    finally:
        cur.execute("ROLLBACK")
    return figures


def _scalar(cur: DuckConnection, sql: str) -> int | None:
    try:
        row = cur.execute(sql).fetchone()
    except duckdb.CatalogException:
        return None
    return int(row[0]) if row else 0


def _pairs(cur: DuckConnection, sql: str) -> list[list[Any]]:
    try:
        return [[key, int(n)] for key, n in cur.execute(sql).fetchall()]
    except duckdb.CatalogException:
        return []


class LiveFigures:
    """The shared figures: `get()` returns them with their age; stale figures are recomputed
    by one background thread while every viewer keeps getting the last ones (only the very
    first request waits), so no dashboard's request waits for a computation."""

    def __init__(self, cursor: Callable[[], DuckConnection], refresh_s: float) -> None:
        self.cursor = cursor
        self.refresh_s = refresh_s
        self.computations = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._refreshing = False
        self._starting = threading.Lock()  # only guards `_refreshing`: never held while computing
        self._figures: dict[str, Any] | None = None
        self._encoded = b"{}"
        self._at = 0.0
        self._wall = 0.0

    def get(self) -> bytes:
        """The figures as JSON, with `as_of` (epoch seconds), `age_s` and `refresh_s`.

        The figures are encoded once per computation; each answer only adds its age.
        """
        if self._figures is None:
            with self._lock:  # the first computation: everyone waits for it
                if self._figures is None:
                    self._refresh()
        elif self._stale():
            self._refresh_in_background()
        age = round(time.monotonic() - self._at, 3)
        meta = json.dumps({"as_of": self._wall, "age_s": age, "refresh_s": self.refresh_s})
        return meta[:-1].encode() + b', "figures": ' + self._encoded + b"}"

    def stale(self) -> bool:
        """Whether the next `get` must compute before answering (and so should not run on the
        event loop): only before the first figures exist."""
        return self._figures is None

    def _stale(self) -> bool:
        return time.monotonic() - self._at >= self.refresh_s

    def _refresh_in_background(self) -> None:
        with self._starting:
            if self._refreshing:
                return
            self._refreshing = True
        threading.Thread(target=self._background, name="kuaike-live", daemon=True).start()

    def _background(self) -> None:
        try:
            with self._lock:
                self._refresh()
            self.last_error = None
        except Exception as exc:  # the last figures stay; their age tells the viewer
            self.last_error = str(exc).splitlines()[0]
            log.warning("live figures not refreshed: %s", self.last_error)
        finally:
            self._refreshing = False

    def _refresh(self) -> None:
        cur = self.cursor()
        try:
            figures = compute(cur)
        finally:
            cur.close()
        self._encoded = json.dumps(figures, default=str, ensure_ascii=False).encode()
        self._figures, self._at, self._wall = figures, time.monotonic(), round(time.time(), 3)
        self.computations += 1
