"""Transit times from history, behind ETAs and stuck parcels: p50 and p90, in minutes.

Per route: departure → actual arrival of the legs that arrived in the last `weeks` weeks (as
the replica's clock goes: up to its latest departure). Per area (the city of the start
warehouse's company, the area of `dws.tbl_transit_area_summary`): the ratio of actual to
scheduled minutes, which scales to any route starting there; and the same ratio over the whole
network. Then the waits around the legs: in a warehouse until the truck leaves (`dwell`), from
the last warehouse to out for delivery (`to_delivery`), out for delivery to signed
(`last_mile`), and order to signed (`journey`, for parcels not in a warehouse yet).

Computed in a few queries over the replica and kept for `refresh_s`: the figures move slowly,
a lookup must not pay for them (at 10 M bills the queries take seconds).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from kuaike.types import DuckConnection

MIN_SAMPLES = 5
"""Legs a route needs before its own history is trusted over its area's."""


@dataclass(frozen=True)
class Spread:
    """p50 and p90 of a duration (minutes, or a ratio), over `n` samples."""

    p50: float
    p90: float
    n: int


@dataclass
class Stats:
    """Everything history says about how long things take."""

    route: dict[int, Spread] = field(default_factory=dict)
    area_ratio: dict[int, Spread] = field(default_factory=dict)
    network_ratio: Spread | None = None
    dwell: Spread | None = None
    to_delivery: Spread | None = None
    last_mile: Spread | None = None
    journey: Spread | None = None
    warehouse_area: dict[int, int] = field(default_factory=dict)


def _spread(row: Any) -> Spread | None:
    if row is None or row[-1] == 0 or row[-3] is None:
        return None
    return Spread(float(row[-3]), float(row[-2]), int(row[-1]))


QUANTILES = "quantile_cont({x}, 0.5), quantile_cont({x}, 0.9), count({x})"


def compute(cur: DuckConnection, weeks: int) -> Stats:
    """The figures over the last `weeks` weeks of the replica's own clock."""
    stats = Stats()
    latest = cur.execute("SELECT max(start_vehicle_dt) FROM ods.tbl_transport_record").fetchone()
    if latest is None or latest[0] is None:
        return stats
    since = [latest[0] - dt.timedelta(weeks=weeks)]
    legs = (
        "SELECT route_id, sw_id, duration, "
        "date_diff('second', start_vehicle_dt, actual_arrivals_dt) / 60.0 AS m "
        "FROM ods.tbl_transport_record WHERE actual_arrivals_dt IS NOT NULL "
        "AND start_vehicle_dt >= ?"
    )
    for row in cur.execute(
        f"SELECT route_id, {QUANTILES.format(x='m')} FROM ({legs}) GROUP BY route_id", since
    ).fetchall():
        if row[0] is not None and (spread := _spread(row)) is not None:
            stats.route[int(row[0])] = spread
    areas = (
        "SELECT cwm.warehouse_id, arg_min(co.city_id, cwm.id) AS city_id "
        "FROM ods.tbl_company_warehouse_map cwm JOIN ods.tbl_company co ON co.id = cwm.company_id "
        "GROUP BY cwm.warehouse_id"
    )
    stats.warehouse_area = {
        int(w): int(c) for w, c in cur.execute(areas).fetchall() if w is not None and c is not None
    }
    ratio = "m / duration"
    for row in cur.execute(
        f"SELECT a.city_id, {QUANTILES.format(x=ratio)} FROM ({legs}) l "
        f"JOIN ({areas}) a ON a.warehouse_id = l.sw_id WHERE duration > 0 GROUP BY a.city_id",
        since,
    ).fetchall():
        if (spread := _spread(row)) is not None:
            stats.area_ratio[int(row[0])] = spread
    stats.network_ratio = _spread(
        cur.execute(
            f"SELECT {QUANTILES.format(x=ratio)} FROM ({legs}) WHERE duration > 0", since
        ).fetchone()
    )
    stats.dwell = _spread(
        cur.execute(
            f"SELECT {QUANTILES.format(x='m')} FROM (SELECT date_diff('second', p.pw_start_dt, "
            "t.start_vehicle_dt) / 60.0 AS m FROM ods.tbl_transport_record t "
            "JOIN ods.tbl_push_warehouse p ON p.id = t.pw_id WHERE t.start_vehicle_dt >= ?)",
            since,
        ).fetchone()
    )
    stats.to_delivery = _spread(
        cur.execute(
            f"SELECT {QUANTILES.format(x='m')} FROM (SELECT date_diff('second', p.pw_start_dt, "
            "o.ow_end_dt) / 60.0 AS m FROM ods.tbl_out_warehouse o JOIN ods.tbl_push_warehouse p "
            "ON p.pw_waybill_number = o.pw_waybill_number AND p.warehouse_id = o.warehouse_id "
            "WHERE o.ow_dot_id IS NOT NULL AND o.ow_end_dt >= ?)",
            since,
        ).fetchone()
    )
    stats.last_mile = _spread(
        cur.execute(
            f"SELECT {QUANTILES.format(x='m')} FROM (SELECT date_diff('second', cdt, rece_dt) "
            "/ 60.0 AS m FROM ods.tbl_deliver_package WHERE state IN (3, 4) AND cdt >= ?)",
            since,
        ).fetchone()
    )
    stats.journey = _spread(
        cur.execute(
            f"SELECT {QUANTILES.format(x='m')} FROM (SELECT date_diff('second', b.order_dt, "
            "d.rece_dt) / 60.0 AS m FROM ods.tbl_deliver_package d JOIN ods.tbl_express_bill b "
            "ON b.id = d.express_bill_id WHERE d.state = 3 AND d.cdt >= ?)",
            since,
        ).fetchone()
    )
    return stats


class TransitTimes:
    """The Stats, recomputed when older than `refresh_s` (one caller computes, the others
    keep using the previous figures; the very first callers wait for them)."""

    def __init__(self, weeks: int = 4, refresh_s: float = 600.0) -> None:
        self.weeks = weeks
        self.refresh_s = refresh_s
        self._stats: Stats | None = None
        self._at = float("-inf")
        self._lock = threading.Lock()

    def get(self, cur: DuckConnection) -> Stats:
        fresh = time.monotonic() - self._at < self.refresh_s
        if self._stats is not None and fresh:
            return self._stats
        if self._stats is not None and not self._lock.acquire(blocking=False):
            return self._stats  # someone is recomputing: the previous figures meanwhile
        if self._stats is None:
            self._lock.acquire()
        try:
            if self._stats is None or time.monotonic() - self._at >= self.refresh_s:
                self._stats = compute(cur, self.weeks)
                self._at = time.monotonic()
            return self._stats
        finally:
            self._lock.release()
