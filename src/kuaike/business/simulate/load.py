"""Reading back what a database already holds: the next free ids and the carrier's master data,
so a second run (live after history, or another day) continues the same carrier.
"""

from __future__ import annotations

from typing import Any

from kuaike.business.simulate.model import (
    Address,
    Carrier,
    Customer,
    Dot,
    Route,
    Truck,
    Warehouse,
    nearest_warehouse,
)
from kuaike.business.simulate.tables import crm, logistics
from kuaike.business.simulate.writers import cursor


def next_ids(logistics_url: str, crm_url: str) -> dict[str, int]:
    """max(id) + 1 of every business table."""
    found: dict[str, int] = {}
    for url, names in ((logistics_url, list(logistics())), (crm_url, list(crm()))):
        with cursor(url) as cur:
            sql = " UNION ALL ".join(
                f"SELECT '{name}', COALESCE(MAX(id), 0) FROM {name}" for name in names
            )
            cur.execute(sql)
            found |= {str(name): int(top) + 1 for name, top in cur.fetchall()}
    # tbl_pkg shares the express package's id (one parcel, one package).
    found["tbl_express_package"] = max(found["tbl_express_package"], found["tbl_pkg"])
    return found


def has_master_data(logistics_url: str) -> bool:
    """True when the outlets exist already (master data is generated once per database)."""
    with cursor(logistics_url) as cur:
        cur.execute("SELECT count(*) FROM tbl_dot")
        return int(cur.fetchone()[0]) > 0


def _point(text: str | None) -> tuple[float, float]:
    lng, _, lat = (text or "0-0").partition("-")
    return float(lng), float(lat)


def _clean(text: str | None) -> str:
    """Text safe to write unescaped again (COPY text format): no tabs, newlines, backslashes."""
    return "".join(" " if ch in "\t\n\r\\" else ch for ch in text or "")


def load_carrier(logistics_url: str, crm_url: str) -> Carrier:
    """The carrier as stored: warehouses, routes, outlets, couriers, trucks, customers."""
    carrier = Carrier()
    with cursor(logistics_url) as cur:
        _load_network(cur, carrier)
        _load_staff(cur, carrier)
    with cursor(crm_url) as cur:
        _load_customers(cur, carrier)
    return carrier


def _load_network(cur: Any, carrier: Carrier) -> None:
    cur.execute("SELECT id, company_id, addr_gis, type, name FROM tbl_warehouse ORDER BY id")
    for wid, company, gis, kind, name in cur.fetchall():
        carrier.warehouses[wid] = Warehouse(wid, company, *_point(gis), kind or 3, name)
    houses = list(carrier.warehouses.values())
    cur.execute("SELECT id, company_id, manage_area_id, dot_gis_addr FROM tbl_dot ORDER BY id")
    for did, company, area, gis in cur.fetchall():
        lng, lat = _point(gis)
        home = nearest_warehouse(houses, lng, lat).id
        carrier.dots[did] = Dot(did, company, area, lng, lat, home)
    cur.execute(
        "SELECT start_warehouse_id, end_warehouse_id, id, mileage_m, time_consumer_minute "
        "FROM tbl_route WHERE state = 1 ORDER BY id"
    )
    for start, end, rid, mileage, minutes in cur.fetchall():
        carrier.routes.setdefault((start, end), Route(rid, mileage, minutes))
    cur.execute(
        "SELECT start_area_id, stop_area_id, first_weight_charge, follow_up_weight_charge, "
        "prescription FROM tbl_charge_standard"
    )
    for start, stop, first, follow, days in cur.fetchall():
        carrier.charges[(start, stop)] = (first, follow, days)


def _load_staff(cur: Any, carrier: Carrier) -> None:
    cur.execute("SELECT id, dot_id FROM tbl_courier WHERE state = 1 ORDER BY id")
    for cid, dot in cur.fetchall():
        carrier.couriers.setdefault(dot, []).append(cid)
    cur.execute("SELECT id, warehouse_id FROM tbl_warehouse_emp ORDER BY id")
    for eid, house in cur.fetchall():
        carrier.warehouse_emps.setdefault(house, []).append(eid)
    cur.execute("SELECT car_id, id FROM tbl_driver ORDER BY id")
    drivers: dict[int, list[int]] = {}
    for car, did in cur.fetchall():
        drivers.setdefault(car, []).append(did)
    cur.execute(
        "SELECT w.warehouse_id, t.id FROM tbl_warehouse_transport_tool w "
        "JOIN tbl_transport_tool t ON t.id = w.transport_tool_id WHERE t.state = '1' "
        "ORDER BY w.id"
    )
    for house, tool in cur.fetchall():
        crew = [*drivers.get(tool, []), None, None]
        carrier.trucks.setdefault(house, []).append(Truck(tool, crew[0], crew[1]))


def _load_customers(cur: Any, carrier: Carrier) -> None:
    cur.execute("SELECT id, name, mobile, detail_addr, area_id FROM crm_address ORDER BY id")
    for aid, name, phone, detail, area in cur.fetchall():
        address = Address(aid, _clean(name), _clean(phone), _clean(detail), area)
        carrier.addresses[aid] = address
        carrier.address_pool.append(address)
    cur.execute(
        "SELECT c.id, c.type, MIN(m.address_id) FROM crm_customer c "
        "JOIN crm_consumer_address_map m ON m.consumer_id = c.id "
        "GROUP BY c.id, c.type ORDER BY c.id"
    )
    for cid, kind, address in cur.fetchall():
        if address in carrier.addresses:
            carrier.customers.append(Customer(cid, int(kind or 1), address))
