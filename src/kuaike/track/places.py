"""The dimension rows a timeline names: outlets and warehouses (with city and coordinates),
couriers, warehouse staff, drivers, vehicles, routes. Small tables, read per lookup, so a
renamed outlet shows its new name at once. Ids are integers, formatted into the query."""

from __future__ import annotations

import re
from collections.abc import Iterable
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


BRANCHES: dict[str, str] = {
    "courier": "SELECT 'courier', id, name, tel, CAST(dot_id AS VARCHAR) FROM ods.tbl_courier "
    "WHERE id IN ({ids})",
    "dot": "SELECT 'dot', d.id, d.dot_name, d.dot_gis_addr, coalesce(city.name, district.name) "
    "FROM ods.tbl_dot d LEFT JOIN ods.tbl_areas district ON district.id = d.manage_area_id "
    "LEFT JOIN ods.tbl_areas city ON city.id = district.pid WHERE d.id IN ({ids})",
    "courier_dot": "SELECT 'dot', d.id, d.dot_name, d.dot_gis_addr, "
    "coalesce(city.name, district.name) FROM ods.tbl_dot d "
    "LEFT JOIN ods.tbl_areas district ON district.id = d.manage_area_id "
    "LEFT JOIN ods.tbl_areas city ON city.id = district.pid "
    "WHERE d.id IN (SELECT dot_id FROM ods.tbl_courier WHERE id IN ({ids}))",
    "warehouse": "SELECT 'warehouse', id, name, addr_gis, area FROM ods.tbl_warehouse "
    "WHERE id IN ({ids})",
    "staff": "SELECT 'staff', id, name, tel, NULL FROM ods.tbl_warehouse_emp WHERE id IN ({ids})",
    "driver": "SELECT 'driver', id, name, NULL, NULL FROM ods.tbl_driver WHERE id IN ({ids})",
    "vehicle": "SELECT 'vehicle', id, license_plate, NULL, NULL FROM ods.tbl_transport_tool "
    "WHERE id IN ({ids})",
    "route": "SELECT 'route', id, start_station || '-' || end_station, NULL, "
    "CAST(time_consumer_minute AS VARCHAR) FROM ods.tbl_route WHERE id IN ({ids})",
}
"""One SELECT per kind of row, all as (kind, id, text, text, text): read in ONE query (a
timeline's dimension rows cost one round trip, not seven)."""


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
    branches = [
        BRANCHES[kind].format(ids=", ".join(str(i) for i in ids))
        for kind, ids in wanted.items()
        if ids
    ]
    names = Names(reveal=reveal)
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
