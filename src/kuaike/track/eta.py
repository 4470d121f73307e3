"""The ETA of a parcel on its way: p50 and p90 of the time still ahead, from history.

Ahead of a parcel are the legs it has not finished, the waits between them and the last mile:

    in a warehouse   wait for the truck (dwell) + the next leg, when the hub named the next
                     stop (tbl_waybill_state_record), + to delivery + last mile
    on a truck       the rest of the leg + to delivery + last mile
    out for delivery the last mile
    not in a warehouse yet: the whole network's order → signed history, from the order
                     (`network`)

A leg takes its route's own p50/p90 when the route has history; else its start area's ratio
of actual to scheduled time applied to the route's schedule (`area`); else the scheduled
minutes (`schedule`); `network` is the whole network's ratio, when the area has none. Legs
beyond the next stop are not in the replica until a hub records them, so on the longest
paths (four warehouses) the first ETA is early until the parcel reaches its hub. The p90 of
a sum is taken as the sum of the p90s (on the safe side).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from kuaike.track.history import Spread, Stats
from kuaike.track.model import Eta, Event
from kuaike.track.sql import run
from kuaike.types import DuckConnection

Basis = Literal["route", "area", "network", "schedule"]
_RANK: dict[Basis, int] = {"route": 0, "area": 1, "network": 2, "schedule": 3}


def leg(stats: Stats, route_id: Any, start: Any, scheduled: Any) -> tuple[Spread, Basis] | None:
    """How long a leg of `route_id` (from warehouse `start`, `scheduled` minutes) takes."""
    own = stats.route.get(int(route_id)) if route_id is not None else None
    if own is not None and own.n >= 5:
        return own, "route"
    if scheduled is None or scheduled <= 0:
        return (own, "route") if own is not None else None
    area = stats.warehouse_area.get(int(start)) if start is not None else None
    ratio = stats.area_ratio.get(area) if area is not None else None
    if ratio is not None:
        return Spread(ratio.p50 * scheduled, ratio.p90 * scheduled, ratio.n), "area"
    if (ratio := stats.network_ratio) is not None:
        return Spread(ratio.p50 * scheduled, ratio.p90 * scheduled, ratio.n), "network"
    return Spread(float(scheduled), float(scheduled), 0), "schedule"


def _route(cur: DuckConnection, start: int, end: int) -> tuple[Any, Any] | None:
    found = run(
        cur,
        "SELECT id, time_consumer_minute FROM ods.tbl_route WHERE start_warehouse_id = ? "
        "AND end_warehouse_id = ? ORDER BY id LIMIT 1",
        [start, end],
    ).fetchone()
    return (found[0], found[1]) if found else None


def estimate(
    cur: DuckConnection,
    events: list[Event],
    legs: list[dict[str, Any]],
    next_warehouse: Callable[[], int | None],
    stats: Stats,
) -> Eta | None:
    """The ETA for the parcel's state after `events` (its transport records `legs`; the next
    stop its hub named, asked only for a parcel in a warehouse); None when it is done (signed,
    rejected, lost, cancelled) or history knows nothing."""
    last = events[-1]
    parts: list[tuple[Spread | None, Basis]] = []
    if last.event in ("cancelled", "lost", "signed", "rejected"):
        return None
    if last.event in ("out_of_warehouse", "out_for_delivery"):
        parts.append((stats.last_mile, "route"))
    elif last.event in ("into_warehouse", "arrived"):
        stop = next_warehouse() if last.place is not None else None
        if stop is not None and last.place is not None:
            found = _route(cur, last.place.id, stop)
            parts.append((stats.dwell, "route"))
            if found is not None and (time := leg(stats, found[0], last.place.id, found[1])):
                parts.append(time)
        parts += [(stats.to_delivery, "route"), (stats.last_mile, "route")]
    elif last.event == "departed":
        current = legs[-1]
        time = leg(stats, current["route_id"], current["sw_id"], current["duration"])
        if time is not None:
            parts.append(time)
        parts += [(stats.to_delivery, "route"), (stats.last_mile, "route")]
    else:  # ordered, collected, at the outlet: the whole journey from the order
        if stats.journey is None:
            return None
        start = events[0].time
        journey = stats.journey
        return Eta(_plus(start, journey.p50), _plus(start, journey.p90), "network")
    known = [(spread, basis) for spread, basis in parts if spread is not None]
    if not known:
        return None
    p50 = sum(spread.p50 for spread, _ in known)
    p90 = sum(spread.p90 for spread, _ in known)
    basis = max((basis for _, basis in known), key=_RANK.__getitem__)
    return Eta(_plus(last.time, p50), _plus(last.time, p90), basis)


def _plus(when: dt.datetime, minutes: float) -> dt.datetime:
    return (when + dt.timedelta(minutes=minutes)).replace(microsecond=0)
