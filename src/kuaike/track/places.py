"""The dimension rows a timeline names: outlets and warehouses (with city and coordinates),
couriers, warehouse staff, drivers, vehicles, routes. Small tables: read per lookup (the CLI),
or kept in memory until one of them changes (the service, `Dimensions`), so a renamed outlet
shows its new name at once either way. Ids are integers, formatted into the query."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kuaike.track.model import Actor, Place, Route, Vehicle, mask_phone
from kuaike.types import DuckConnection

_POINT = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*[-_,]\s*(-?\d+(?:\.\d+)?)\s*")


def point(text: str | None) -> tuple[float | None, float | None]:
    """`lng-lat` (the reference's format; `_` and `,` also read) as two floats.

    >>> point("120.155070-30.274085"), point(None)
    ((120.15507, 30.274085), (None, None))
    """
    match = _POINT.fullmatch(text or "")
    if not match:
        return None, None
    return float(match.group(1)), float(match.group(2))


def _ids(values: Iterable[Any]) -> list[int]:
    return sorted({int(v) for v in values if v is not None})


@dataclass
class Names:
    """What a timeline's rows refer to, read in one go per kind."""

    dots: dict[int, Place] = field(default_factory=dict)
    warehouses: dict[int, Place] = field(default_factory=dict)
    couriers: dict[int, tuple[str | None, str | None, int | None]] = field(default_factory=dict)
    staff: dict[int, tuple[str | None, str | None]] = field(default_factory=dict)
    drivers: dict[int, str | None] = field(default_factory=dict)
    vehicles: dict[int, Vehicle] = field(default_factory=dict)
    routes: dict[int, Route] = field(default_factory=dict)
    reveal: bool = False

    def dot(self, dot_id: Any) -> Place | None:
        return self.dots.get(int(dot_id)) if dot_id is not None else None

    def warehouse(self, warehouse_id: Any) -> Place | None:
        return self.warehouses.get(int(warehouse_id)) if warehouse_id is not None else None

    def courier(self, courier_id: Any) -> Actor | None:
        if courier_id is None or int(courier_id) not in self.couriers:
            return None
        name, tel, _dot = self.couriers[int(courier_id)]
        return Actor("courier", int(courier_id), name, mask_phone(tel, self.reveal))

    def courier_dot(self, courier_id: Any) -> Place | None:
        known = self.couriers.get(int(courier_id)) if courier_id is not None else None
        return self.dot(known[2]) if known else None

    def worker(self, emp_id: Any) -> Actor | None:
        if emp_id is None or int(emp_id) not in self.staff:
            return None
        name, tel = self.staff[int(emp_id)]
        return Actor("warehouse_staff", int(emp_id), name, mask_phone(tel, self.reveal))

    def driver(self, driver_id: Any) -> Actor | None:
        if driver_id is None or int(driver_id) not in self.drivers:
            return None
        return Actor("driver", int(driver_id), self.drivers[int(driver_id)])


_DOT = (
    "SELECT 'dot', d.id, d.dot_name, d.dot_gis_addr, coalesce(city.name, district.name) "
    "FROM ods.tbl_dot d LEFT JOIN ods.tbl_areas district ON district.id = d.manage_area_id "
    "LEFT JOIN ods.tbl_areas city ON city.id = district.pid"
)
BRANCHES: dict[str, tuple[str, str]] = {
    "courier": (
        "SELECT 'courier', id, name, tel, CAST(dot_id AS VARCHAR) FROM ods.tbl_courier",
        "id",
    ),
    "dot": (_DOT, "d.id"),
    "courier_dot": (_DOT, "d.id IN (SELECT dot_id FROM ods.tbl_courier WHERE id"),
    "warehouse": ("SELECT 'warehouse', id, name, addr_gis, area FROM ods.tbl_warehouse", "id"),
    "staff": ("SELECT 'staff', id, name, tel, NULL FROM ods.tbl_warehouse_emp", "id"),
    "driver": ("SELECT 'driver', id, name, NULL, NULL FROM ods.tbl_driver", "id"),
    "vehicle": (
        "SELECT 'vehicle', id, license_plate, NULL, NULL FROM ods.tbl_transport_tool",
        "id",
    ),
    "route": (
        "SELECT 'route', id, start_station || '-' || end_station, NULL, "
        "CAST(time_consumer_minute AS VARCHAR) FROM ods.tbl_route",
        "id",
    ),
}
"""One SELECT per kind of row, all as (kind, id, text, text, text), with the column its ids
filter (an outlet of each courier: the courier's ids, through a subquery): read in ONE query
(a timeline's dimension rows cost one round trip, not seven)."""

TABLES = (
    "tbl_courier",
    "tbl_dot",
    "tbl_areas",
    "tbl_warehouse",
    "tbl_warehouse_emp",
    "tbl_driver",
    "tbl_transport_tool",
    "tbl_route",
)
"""The tables BRANCHES read: a change to any of them refreshes the Dimensions."""


def _filtered(kind: str, ids: list[int]) -> str:
    select, key = BRANCHES[kind]
    close = ")" if kind == "courier_dot" else ""
    return f"{select} WHERE {key} IN ({', '.join(str(i) for i in ids)}){close}"


def read_names(
    cur: DuckConnection,
    *,
    couriers: Iterable[Any] = (),
    dots: Iterable[Any] = (),
    warehouses: Iterable[Any] = (),
    staff: Iterable[Any] = (),
    drivers: Iterable[Any] = (),
    vehicles: Iterable[Any] = (),
    routes: Iterable[Any] = (),
    reveal: bool = False,
) -> Names:
    """The named rows (an outlet of each courier too), in one query."""
    courier_ids = _ids(couriers)
    wanted = {
        "courier": courier_ids,
        "dot": _ids(dots),
        "courier_dot": courier_ids,
        "warehouse": _ids(warehouses),
        "staff": _ids(staff),
        "driver": _ids(drivers),
        "vehicle": _ids(vehicles),
        "route": _ids(routes),
    }
    branches = [_filtered(kind, ids) for kind, ids in wanted.items() if ids]
    return _fill(Names(reveal=reveal), cur, branches)


def read_all(cur: DuckConnection) -> Names:
    """Every named row."""
    return _fill(Names(), cur, [BRANCHES[kind][0] for kind in BRANCHES if kind != "courier_dot"])


def _fill(names: Names, cur: DuckConnection, branches: list[str]) -> Names:
    if not branches:
        return names
    for kind, key, a, b, c in cur.execute(" UNION ALL ".join(branches)).fetchall():
        if kind == "courier":
            names.couriers[key] = (a, b, int(c) if c is not None else None)
        elif kind == "dot":
            names.dots[key] = Place("dot", key, a, c, *point(b))
        elif kind == "warehouse":
            names.warehouses[key] = Place("warehouse", key, a, c, *point(b))
        elif kind == "staff":
            names.staff[key] = (a, b)
        elif kind == "driver":
            names.drivers[key] = a
        elif kind == "vehicle":
            names.vehicles[key] = Vehicle(key, a)
        else:
            names.routes[key] = Route(key, a, int(c) if c is not None else None)
    return names


class Dimensions:
    """Every named row, kept in memory while none of their TABLES changed.

    `version` tells the tables' change count (the store's per-table count of committed
    batches): the same count, the same rows. Only these few small tables are kept; a parcel's
    own rows are read at every lookup.
    """

    def __init__(self, version: Callable[[], object]) -> None:
        self.version = version
        self._names: Names | None = None
        self._at: object = None
        self._lock = threading.Lock()

    def names(self, cur: DuckConnection, reveal: bool) -> Names:
        """The cached rows (read again first when a table changed), phones as `reveal` says."""
        now = self.version()
        names = self._names
        if names is None or now != self._at:
            with self._lock:
                if self._names is None or now != self._at:
                    self._names, self._at = read_all(cur), now
                names = self._names
        return dataclasses.replace(names, reveal=reveal)
