"""The simulator's picture of the carrier: what the parcel lifecycle needs to know about the
master data (hubs, outlets, routes, couriers, vehicles, customers), whether it was generated just
now or read back from a database that already has it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kuaike.business.simulate.people import Area, areas, km_between
from kuaike.business.simulate.tables import table

Row = dict[str, Any]


@dataclass(frozen=True)
class Sizes:
    """How big the carrier is."""

    companies: int = 10
    warehouses: int = 130
    dots: int = 300
    couriers_per_dot: int = 5
    customers: int = 5_000


@dataclass(frozen=True)
class Warehouse:
    id: int
    company_id: int
    lng: float
    lat: float
    type: int
    name: str


@dataclass(frozen=True)
class Dot:
    id: int
    company_id: int
    area_id: int
    lng: float
    lat: float
    warehouse_id: int


@dataclass(frozen=True)
class Route:
    id: int
    mileage_m: int
    minutes: int


@dataclass(frozen=True)
class Truck:
    id: int
    driver1: int | None
    driver2: int | None


@dataclass(frozen=True)
class Address:
    id: int
    name: str
    mobile: str
    detail: str
    area_id: int


@dataclass(frozen=True)
class Customer:
    id: int
    type: int
    address_id: int


class Ids:
    """The next id of every table; ids are chosen here so a seed gives the same rows."""

    def __init__(self, start: dict[str, int] | None = None) -> None:
        self.next: dict[str, int] = dict(start or {})
        self.step = 1

    def take(self, name: str) -> int:
        """A fresh id for a row of table `name`."""
        value = self.next.get(name, 1)
        self.next[name] = value + self.step
        return value

    def share(self, index: int, count: int) -> None:
        """Take only every `count`-th id from here on, starting at offset `index`: processes
        that share a database then never pick the same id."""
        self.next = {name: value + index for name, value in self.next.items()}
        self.step = count


@dataclass
class Carrier:
    """The master data the lifecycle draws from, with the lookups it needs."""

    warehouses: dict[int, Warehouse] = field(default_factory=dict)
    dots: dict[int, Dot] = field(default_factory=dict)
    routes: dict[tuple[int, int], Route] = field(default_factory=dict)
    couriers: dict[int, list[int]] = field(default_factory=dict)
    trucks: dict[int, list[Truck]] = field(default_factory=dict)
    warehouse_emps: dict[int, list[int]] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)
    addresses: dict[int, Address] = field(default_factory=dict)
    address_pool: list[Address] = field(default_factory=list)
    charges: dict[tuple[int, int], tuple[int, int, int]] = field(default_factory=dict)
    _hub: dict[int, int] = field(default_factory=dict)
    _dot_of_area: dict[int, int] = field(default_factory=dict)
    _paths: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)

    def hub(self, warehouse_id: int) -> int:
        """The nearest large hub (type 1) to a warehouse; itself when it is one."""
        if warehouse_id not in self._hub:
            here = self.warehouses[warehouse_id]
            hubs = [w for w in self.warehouses.values() if w.type == 1] or [here]
            best = min(hubs, key=lambda w: km_between(here.lng, here.lat, w.lng, w.lat))
            self._hub[warehouse_id] = best.id
        return self._hub[warehouse_id]

    def dot_for_area(self, area_id: int) -> Dot:
        """The outlet that serves an area: one in the area itself, else the nearest."""
        if area_id not in self._dot_of_area:
            area = areas().get(area_id) or next(iter(areas().values()))
            self._dot_of_area[area_id] = nearest_dot(self.dots.values(), area).id
        return self.dots[self._dot_of_area[area_id]]

    def warm(self) -> None:
        """Resolve every known address's outlet now, once, before work is split among
        processes (each would otherwise search the outlets for every area again)."""
        for address in self.address_pool:
            self.dot_for_area(address.area_id)
        for warehouse_id in self.warehouses:
            self.hub(warehouse_id)

    def path(self, origin: int, destination: int) -> list[int]:
        """Warehouses a parcel passes: origin, its hub, the destination's hub, destination."""
        # Every parcel asks; the great-circle distance behind the answer is worth keeping.
        known = self._paths.get((origin, destination))
        if known is None:
            known = self._paths[origin, destination] = tuple(self._path(origin, destination))
        return list(known)

    def _path(self, origin: int, destination: int) -> list[int]:
        far = origin != destination and self.distance_km(origin, destination) > 600
        stops = (
            [origin, self.hub(origin), self.hub(destination), destination]
            if far
            else [
                origin,
                destination,
            ]
        )
        path: list[int] = []
        for stop in stops:
            if not path or path[-1] != stop:
                path.append(stop)
        return path

    def distance_km(self, a: int, b: int) -> float:
        """Straight-line distance between two warehouses."""
        wa, wb = self.warehouses[a], self.warehouses[b]
        return km_between(wa.lng, wa.lat, wb.lng, wb.lat)

    def charge(self, from_area: int, to_area: int) -> tuple[int, int, int]:
        """(first kg, each further kg, days promised) between the areas' provinces."""
        key = (from_area // 10000 * 10000, to_area // 10000 * 10000)
        return self.charges.get(key, (12, 4, 3))


def nearest_dot(dots: Iterable[Dot], area: Area) -> Dot:
    """The outlet in `area` if there is one, else the nearest by distance."""
    candidates: list[Dot] = list(dots)
    local = [d for d in candidates if d.area_id == area.id]
    if local:
        return local[0]
    return min(candidates, key=lambda d: (d.lng - area.lng) ** 2 + (d.lat - area.lat) ** 2)


def nearest_warehouse(warehouses: list[Warehouse], lng: float, lat: float) -> Warehouse:
    """The warehouse closest to a point."""
    return min(warehouses, key=lambda w: km_between(lng, lat, w.lng, w.lat))


def as_tuple(name: str, row: Row) -> tuple[object, ...]:
    """A row dict as a tuple in the table's column order, strings cut to fit."""
    spec = table(name)
    return spec.fit([row.get(column) for column in spec.columns])


def stamp(row: Row, when: datetime) -> Row:
    """Set `cdt` and `udt` to `when` (a new row) and return the row."""
    row["cdt"] = when
    row["udt"] = when
    return row
