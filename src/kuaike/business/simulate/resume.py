"""Parcels in flight, read back from the logistics database, so live operation started in a
later run moves them on: collected, into and out of warehouses, delivered, signed.

A parcel is rebuilt from its rows (express bill, dispatch, package, waybill, warehouse and
transport records, delivery) and continues from the last thing that happened to it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from kuaike.business.simulate.lifecycle import Parcel, Step, Ticket, World, ticket
from kuaike.business.simulate.model import Customer, Row
from kuaike.business.simulate.writers import cursor

LOOK_BACK = timedelta(days=10)  # older parcels still open are left as they are (lost, stuck)
IN_TRANSIT = 1

_OPEN_BILLS = (
    "SELECT b.* FROM tbl_express_bill b WHERE b.cdt > %s AND NOT EXISTS (SELECT 1 FROM "
    "tbl_deliver_package d WHERE d.express_bill_id = b.id AND d.state IN (3, 4)) AND NOT EXISTS "
    "(SELECT 1 FROM tbl_waybill w JOIN tbl_transport_record t ON t.pw_waybill_number = "
    "w.waybill_number WHERE w.express_bill_number = b.express_number AND t.state = 3) "
    "ORDER BY b.id"
)


def _dicts(cur: Any, sql: str, args: tuple[Any, ...]) -> list[Row]:
    cur.execute(sql, args)
    names = [column[0] for column in cur.description]
    return [dict(zip(names, values, strict=True)) for values in cur.fetchall()]


def _by(rows: list[Row], key: str) -> dict[Any, list[Row]]:
    grouped: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


def _first(rows: list[Row] | None) -> Row | None:
    return rows[0] if rows else None


def load_in_flight(url: str, world: World, now: datetime) -> list[Parcel]:
    """The parcels ordered in the last days that are neither delivered, cancelled nor lost."""
    with cursor(url) as cur:
        bills = _dicts(cur, _OPEN_BILLS, (now - LOOK_BACK,))
        numbers = [b["express_number"] for b in bills]
        ids = [b["id"] for b in bills]
        collects = _by(
            _dicts(
                cur,
                "SELECT * FROM tbl_collect_package WHERE express_bill_id = ANY(%s) ORDER BY id",
                (ids,),
            ),
            "express_bill_id",
        )
        waybills = _by(
            _dicts(
                cur,
                "SELECT * FROM tbl_waybill WHERE express_bill_number = ANY(%s) ORDER BY id",
                (numbers,),
            ),
            "express_bill_number",
        )
        waybill_numbers = [w[0]["waybill_number"] for w in waybills.values()]
        related = {
            name: _by(
                _dicts(
                    cur,
                    f"SELECT * FROM {name} WHERE {column} = ANY(%s) ORDER BY id",
                    (waybill_numbers,),
                ),
                column,
            )
            for name, column in (
                ("tbl_push_warehouse", "pw_waybill_number"),
                ("tbl_transport_record", "pw_waybill_number"),
                ("tbl_out_warehouse", "pw_waybill_number"),
                ("tbl_deliver_package", "waybill_number"),
            )
        }
        package_ids = [c[0]["pkg_id"] for c in collects.values() if c[0]["pkg_id"]]
        packages = {
            p["id"]: p
            for p in _dicts(
                cur, "SELECT * FROM tbl_express_package WHERE id = ANY(%s)", (package_ids,)
            )
        }
    customers = {c.id: c for c in world.carrier.customers}
    parcels = []
    for bill in bills:
        collect = _first(collects.get(bill["id"]))
        if collect is None or collect["state"] == 4:
            continue
        waybill = _first(waybills.get(bill["express_number"]))
        number = waybill["waybill_number"] if waybill else None
        found = {name: rows.get(number, []) for name, rows in related.items()}
        customer = customers.get(bill["cid"])
        if customer is None:
            continue
        package = packages.get(collect["pkg_id"])
        parcel = _rebuild(world, customer, bill, collect, package, waybill, found)
        if parcel is not None:
            parcels.append(parcel)
    return parcels


def _rebuild(
    world: World,
    customer: Customer,
    bill: Row,
    collect: Row,
    package: Row | None,
    waybill: Row | None,
    found: dict[str, list[Row]],
) -> Parcel | None:
    """A parcel as its rows say, with the steps still ahead of it."""
    carrier = world.carrier
    # Before collection the receiver is not written anywhere yet: one is chosen again.
    drawn = ticket(world.rng, carrier, bill["order_dt"]).receiver
    sender = carrier.addresses.get(package["send_address_id"]) if package else None
    receiver = carrier.addresses.get(package["recv_address_id"]) if package else None
    sender = sender or carrier.addresses.get(customer.address_id)
    if sender is None:
        return None
    order = Ticket(bill["order_dt"], customer, sender, receiver or drawn)
    parcel = Parcel.__new__(Parcel)
    parcel.w, parcel.rng, parcel.carrier = world, world.rng, carrier
    parcel.ordered, parcel.customer = order.ordered, order.customer
    parcel.sender, parcel.receiver = order.sender, order.receiver
    parcel.origin = carrier.dot_for_area(order.sender.area_id)
    parcel.destination = carrier.dot_for_area(order.receiver.area_id)
    parcel.courier, parcel.reserve = bill["eid"], bill["reserve_dt"]
    parcel.rows = {"tbl_express_bill": bill, "tbl_collect_package": collect}
    parcel.pw = found["tbl_push_warehouse"]
    for name, row in (("tbl_express_package", package), ("tbl_waybill", waybill)):
        if row is not None:
            parcel.rows[name] = row
    parcel.steps = _ahead(parcel, found)
    return parcel


def _ahead(parcel: Parcel, found: dict[str, list[Row]]) -> list[Step]:
    """The remaining steps, from the last recorded one."""
    carrier, pushes = parcel.carrier, found["tbl_push_warehouse"]
    legs, outs = found["tbl_transport_record"], found["tbl_out_warehouse"]
    for index, leg in enumerate(legs):
        parcel.rows[f"leg{index}"] = leg
    for index, out in enumerate(outs):
        parcel.rows[f"out{index}"] = out
    stops = [p["warehouse_id"] for p in pushes]
    if legs and legs[-1]["state"] == IN_TRANSIT:
        stops.append(legs[-1]["ew_id"])
    start = stops[-1] if stops else parcel.origin.warehouse_id
    parcel.path = stops[:-1] + carrier.path(start, parcel.destination.warehouse_id)
    delivery = found["tbl_deliver_package"]
    if delivery:
        parcel.rows["tbl_deliver_package"] = delivery[0]
        return parcel.plan_sign(delivery[0]["cdt"])
    if legs and legs[-1]["state"] == IN_TRANSIT:
        return parcel.plan_arrival(len(legs) - 1, legs[-1]["predict_arrivals_dt"])
    if pushes:
        return parcel.plan_legs(len(pushes) - 1, pushes[-1]["pw_start_dt"])
    if "tbl_waybill" in parcel.rows:
        return parcel.plan_origin(parcel.rows["tbl_collect_package"]["collect_package_dt"])
    if "tbl_express_package" in parcel.rows:
        return parcel.plan_waybill(parcel.rows["tbl_collect_package"]["collect_package_dt"])
    return parcel.plan_collection()
