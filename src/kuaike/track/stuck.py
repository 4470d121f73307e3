"""Stuck parcels: no new event for longer than the step they are in normally takes.

    on a truck         departed longer ago than `factor` × the leg's p90 (route, area or
                       schedule: eta.leg)
    in a warehouse     arrived longer ago than `factor` × the p90 of the wait for a truck or
                       for delivery (the larger: the replica does not say which comes next)
    out for delivery   longer than `factor` × the last mile's p90

"Expected by" is when the step's p90 ran out; the parcel is stuck from `factor` times that.
Lost legs (state 3) are lost, not stuck. Only parcels whose last event is within `LOOK_BACK`
are judged (older ones are the carrier's lost-and-found, not today's exceptions).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kuaike.errors import UsageError
from kuaike.track.eta import leg
from kuaike.track.history import Stats
from kuaike.track.model import LABELS, Place, Status, _Plain
from kuaike.track.places import read_names
from kuaike.track.rows import dicts, replica_errors
from kuaike.track.sql import run
from kuaike.types import DuckConnection

LOOK_BACK = dt.timedelta(days=30)
MAX_LIMIT = 200


@dataclass(frozen=True)
class StuckParcel(_Plain):
    """One stuck parcel: where, since when, and by when it should have moved on."""

    express_number: str | None
    waybill_number: str
    status: Status
    status_label: str
    place: Place | None
    since: dt.datetime
    expected_by: dt.datetime
    overdue_minutes: int


@dataclass(frozen=True)
class StuckPage(_Plain):
    """A page of stuck parcels, newest first; `total` counts every page."""

    as_of: dt.datetime
    factor: float
    total: int
    offset: int
    limit: int
    parcels: list[StuckParcel] = field(default_factory=list)


def _candidates(
    cur: DuckConnection, stats: Stats, as_of: dt.datetime, factor: float
) -> list[tuple[dt.datetime, float, Status, int, dict[str, Any]]]:
    """(since, p90 minutes, status, warehouse or dot id, row) of every parcel in a step."""
    since = as_of - LOOK_BACK
    found: list[tuple[dt.datetime, float, Status, int, dict[str, Any]]] = []
    for row in dicts(
        cur,
        "SELECT t.pw_waybill_number AS waybill, t.route_id, t.sw_id, t.duration, "
        "t.start_vehicle_dt AS since FROM ods.tbl_transport_record t "
        "WHERE t.state = 1 AND t.actual_arrivals_dt IS NULL AND t.start_vehicle_dt >= ?",
        [since],
    ):
        spread = leg(stats, row["route_id"], row["sw_id"], row["duration"])
        if spread is not None:
            found.append((row["since"], spread[0].p90, "in_transit", row["sw_id"], row))
    waits = [s.p90 for s in (stats.dwell, stats.to_delivery) if s is not None]
    if waits:
        wait = max(waits)
        latest = as_of - dt.timedelta(minutes=wait * factor)
        for row in dicts(
            cur,
            "SELECT p.pw_waybill_number AS waybill, p.warehouse_id, p.pw_start_dt AS since "
            "FROM ods.tbl_push_warehouse p WHERE p.pw_start_dt >= ? AND p.pw_start_dt < ? "
            "AND NOT EXISTS (SELECT 1 FROM ods.tbl_transport_record t WHERE t.pw_id = p.id) "
            "AND NOT EXISTS (SELECT 1 FROM ods.tbl_out_warehouse o WHERE "
            "o.pw_waybill_number = p.pw_waybill_number AND o.warehouse_id = p.warehouse_id "
            "AND o.ow_dot_id IS NOT NULL)",
            [since, latest],
        ):
            found.append((row["since"], wait, "at_hub", row["warehouse_id"], row))
    if stats.last_mile is not None:
        mile = stats.last_mile.p90
        latest = as_of - dt.timedelta(minutes=mile * factor)
        for row in dicts(
            cur,
            "SELECT d.waybill_number AS waybill, c.dot_id, d.cdt AS since "
            "FROM ods.tbl_deliver_package d LEFT JOIN ods.tbl_courier c ON c.id = d.emp_id "
            "WHERE d.state = 2 AND d.cdt >= ? AND d.cdt < ?",
            [since, latest],
        ):
            found.append((row["since"], mile, "out_for_delivery", row["dot_id"], row))
    return found


def stuck(
    cur: DuckConnection,
    stats: Stats,
    *,
    factor: float = 1.5,
    as_of: dt.datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> StuckPage:
    """The stuck parcels as of `as_of` (default: now, local time like the source's
    timestamps), newest first. Raises UsageError for a factor under 1 or a bad page."""
    if factor < 1:
        raise UsageError(
            f"factor {factor:g} would call parcels stuck before they are late; use 1 or more"
        )
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise UsageError(f"limit is 1 to {MAX_LIMIT} and offset 0 or more")
    as_of = as_of or dt.datetime.now().replace(microsecond=0)
    with replica_errors():
        late = [
            entry
            for entry in _candidates(cur, stats, as_of, factor)
            if entry[0] + dt.timedelta(minutes=entry[1] * factor) < as_of
        ]
        late.sort(key=lambda e: e[0], reverse=True)
        page = late[offset : offset + limit]
        parcels = _parcels(cur, page, as_of)
    return StuckPage(as_of, factor, len(late), offset, limit, parcels)


def _parcels(
    cur: DuckConnection,
    page: list[tuple[dt.datetime, float, Status, int, dict[str, Any]]],
    as_of: dt.datetime,
) -> list[StuckParcel]:
    names = read_names(
        cur,
        warehouses=[e[3] for e in page if e[2] != "out_for_delivery"],
        dots=[e[3] for e in page if e[2] == "out_for_delivery"],
    )
    out = []
    for since, p90, status, where, row in page:
        express = run(
            cur,
            "SELECT express_bill_number FROM ods.tbl_waybill WHERE waybill_number = ?",
            [row["waybill"]],
        ).fetchone()
        expected = since + dt.timedelta(minutes=p90)
        place = names.dot(where) if status == "out_for_delivery" else names.warehouse(where)
        out.append(
            StuckParcel(
                express_number=express[0] if express else None,
                waybill_number=row["waybill"],
                status=status,
                status_label=LABELS[status],
                place=place,
                since=since,
                expected_by=expected.replace(microsecond=0),
                overdue_minutes=int((as_of - expected).total_seconds() // 60),
            )
        )
    return out
