"""What tracking returns: plain frozen dataclasses, each with `as_dict()` (JSON-ready: times as
ISO text), and the rules for what a caller may send and see (numbers, masked phones).

A timeline, as /api/track/{number} and `kuaike track --json` give it:

    {"number": "7000012345", "express_number": "7000012345", "waybill_number": "2000067890",
     "status": "in_transit", "status_label": "运输中",
     "place": {"kind": "warehouse", "id": 3, "name": "杭州市转运中心", "city": "杭州市", ...},
     "eta": {"p50": "2026-12-03T15:20:00", "p90": "2026-12-03T19:05:00", "basis": "route"},
     "sender": {"name": "王芳", "phone": "138****1234", "address": "..."}, "receiver": {...},
     "events": [{"time": "2026-12-01T09:12:00", "event": "ordered", "label": "已下单",
                 "place": {...}, "actor": {...}, "vehicle": null, "route": null, "to": null,
                 "detail": null}, ...]}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from kuaike.errors import UsageError

EventKind = Literal[
    "ordered",
    "cancelled",
    "collected",
    "at_outlet",
    "arrived",
    "into_warehouse",
    "departed",
    "lost",
    "out_of_warehouse",
    "out_for_delivery",
    "signed",
    "rejected",
]
Status = Literal[
    "ordered",
    "cancelled",
    "collected",
    "at_hub",
    "in_transit",
    "lost",
    "out_for_delivery",
    "signed",
    "rejected",
]

LABELS: dict[str, str] = {
    "ordered": "已下单",
    "cancelled": "已取消",
    "collected": "已揽收",
    "at_outlet": "网点已收件",
    "into_warehouse": "已入库",
    "departed": "已发车",
    "arrived": "已到达",
    "lost": "已丢失",
    "out_of_warehouse": "已出库",
    "out_for_delivery": "派送中",
    "signed": "已签收",
    "rejected": "已拒收",
    "at_hub": "在仓库",
    "in_transit": "运输中",
}
"""Chinese labels of events and statuses (the words a carrier's tracking page uses)."""

ORDER: dict[str, int] = {kind: rank for rank, kind in enumerate(EventKind.__args__)}  # type: ignore[attr-defined]
"""Events at the same second sort in lifecycle order (an arrival before its warehouse entry)."""

STATUS_OF: dict[str, Status] = {
    "ordered": "ordered",
    "cancelled": "cancelled",
    "collected": "collected",
    "at_outlet": "collected",
    "into_warehouse": "at_hub",
    "departed": "in_transit",
    "arrived": "at_hub",
    "lost": "lost",
    "out_of_warehouse": "out_for_delivery",
    "out_for_delivery": "out_for_delivery",
    "signed": "signed",
    "rejected": "rejected",
}
"""A parcel's status is what its latest event made it."""

FINAL: frozenset[str] = frozenset({"cancelled", "lost", "signed", "rejected"})


_FIELDS: dict[type, tuple[str, ...]] = {}
"""Field names per dataclass (dataclasses.fields builds its tuple anew at every call: a
timeline asks it once per event, place and actor)."""


def _plain(value: Any) -> Any:
    """JSON-ready data: dataclasses walked field by field (dataclasses.asdict deep-copies every
    value first: 4 ms of a 20 ms timeline), times as ISO 8601 text."""
    if isinstance(value, _Plain):
        names = _FIELDS.get(type(value))
        if names is None:
            fields = dataclasses.fields(value)  # type: ignore[arg-type]
            names = _FIELDS[type(value)] = tuple(f.name for f in fields)
        return {name: _plain(getattr(value, name)) for name in names}
    if value is None or isinstance(value, str | int | float):  # most leaves: no further tests
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class _Plain:
    def as_dict(self) -> dict[str, Any]:
        """The dataclass as JSON-ready data (times as ISO 8601 text)."""
        data: dict[str, Any] = _plain(self)
        return data


@dataclass(frozen=True)
class Place(_Plain):
    """An outlet (`dot`) or a warehouse, with its city and coordinates."""

    kind: Literal["dot", "warehouse"]
    id: int
    name: str | None
    city: str | None
    lng: float | None
    lat: float | None


@dataclass(frozen=True)
class Actor(_Plain):
    """Who did it: a courier, warehouse staff or a driver (phone masked unless revealed)."""

    role: Literal["courier", "warehouse_staff", "driver"]
    id: int
    name: str | None
    phone: str | None = None


@dataclass(frozen=True)
class Vehicle(_Plain):
    id: int
    plate: str | None


@dataclass(frozen=True)
class Route(_Plain):
    id: int
    name: str | None  # "杭州市转运中心-上海市转运中心"
    scheduled_minutes: int | None


@dataclass(frozen=True)
class Event(_Plain):
    """One thing that happened to the parcel."""

    time: dt.datetime
    event: EventKind
    label: str
    place: Place | None
    actor: Actor | None = None
    vehicle: Vehicle | None = None
    route: Route | None = None
    to: Place | None = None  # where a departing truck or a dispatched parcel goes
    detail: str | None = None  # 延误 (late), 丢失 (lost), the signer, the rack position


@dataclass(frozen=True)
class Party(_Plain):
    """Sender or receiver as the waybill (or, before it, the customer record) names them."""

    name: str | None
    phone: str | None
    address: str | None


@dataclass(frozen=True)
class Eta(_Plain):
    """When the parcel should be signed for: the median and the 90th percentile, and what
    they rest on: `route` (the remaining legs' own history), `area` (legs starting in the same
    city, scaled to the route's schedule), `network` (the whole network's history: legs scaled
    the same way, or order → signed for a parcel not in a warehouse yet), `schedule` (the
    routes' scheduled minutes)."""

    p50: dt.datetime
    p90: dt.datetime
    basis: Literal["route", "area", "network", "schedule"]


@dataclass(frozen=True)
class Timeline(_Plain):
    """A parcel's journey: events in time order, current status and place, ETA."""

    number: str
    express_number: str
    waybill_number: str | None
    status: Status
    status_label: str
    place: Place | None
    eta: Eta | None
    sender: Party | None
    receiver: Party | None
    events: list[Event] = field(default_factory=list)


NUMBER = re.compile(r"[0-9A-Za-z]{1,40}")


def check_number(number: str) -> str:
    """The parcel number as given, or UsageError (one line; the input is not echoed when it
    is not a number, so a 10 kB string or a control character never reaches a log)."""
    if not NUMBER.fullmatch(number):
        raise UsageError(
            "a parcel number is 1 to 40 letters or digits (an express-bill or waybill number)"
        )
    return number


def mask_phone(phone: str | None, reveal: bool = False) -> str | None:
    """A phone number with its middle hidden, unless `reveal`.

    >>> mask_phone("13812341234"), mask_phone("0571-88886666"), mask_phone(None)
    ('138****1234', '057******6666', None)
    """
    if phone is None or reveal:
        return phone
    if len(phone) <= 4:
        return "*" * len(phone)
    head = 3 if len(phone) >= 8 else 0
    return phone[:head] + "*" * (len(phone) - head - 4) + phone[-4:]
