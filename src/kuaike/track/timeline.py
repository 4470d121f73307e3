"""One parcel's timeline, assembled from the operational tables of the replica.

    order            tbl_express_bill (order_dt), tbl_collect_package state 1 (courier dispatched)
    cancel           tbl_collect_package state 4 (the express bill itself is deleted)
    collect          tbl_collect_package state 3, collect_package_dt
    at the outlet    tbl_waybill (created at the collecting courier's outlet)
    into warehouse   tbl_push_warehouse, one per warehouse reached
    depart / arrive  tbl_transport_record: vehicle, route, driver; actual_arrivals_dt, 延误
    lost             tbl_transport_record state 3
    out of warehouse tbl_out_warehouse to the destination outlet (ow_dot_id)
    out for delivery tbl_deliver_package state 2; signed 3, rejected 4 (rece_dt)

rows.py reads the rows (two queries), places.py the outlets, warehouses and people they name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from kuaike.track.eta import estimate
from kuaike.track.history import TransitTimes
from kuaike.track.model import (
    LABELS,
    ORDER,
    STATUS_OF,
    Event,
    EventKind,
    Party,
    Timeline,
    check_number,
    mask_phone,
)
from kuaike.track.places import Dimensions, Names, read_names
from kuaike.track.rows import Row, Rows, replica_errors
from kuaike.track.sql import run
from kuaike.types import DuckConnection


def names_of(rows: Rows, cur: DuckConnection, reveal: bool, dims: Dimensions | None) -> Names:
    """The dimension rows the parcel's rows name (all of them, kept, with `dims`)."""
    if dims is not None:
        return dims.names(cur, reveal)
    return read_names(
        cur,
        couriers=[
            rows.collect and rows.collect["eid"],
            rows.waybill and rows.waybill["eid"],
            *(d["emp_id"] for d in rows.delivers),
        ],
        dots=[o["ow_dot_id"] for o in rows.outs],
        warehouses=[
            *(p["warehouse_id"] for p in rows.pushes),
            *(leg["sw_id"] for leg in rows.legs),
            *(leg["ew_id"] for leg in rows.legs),
            *(o["warehouse_id"] for o in rows.outs),
        ],
        staff=[p["emp_id"] for p in rows.pushes],
        drivers=[leg["pw_driver1_id"] for leg in rows.legs],
        vehicles=[leg["transport_tool_id"] for leg in rows.legs],
        routes=[leg["route_id"] for leg in rows.legs],
        reveal=reveal,
    )


def _event(time: dt.datetime | None, kind: EventKind, **fields: Any) -> list[Event]:
    return [] if time is None else [Event(time, kind, LABELS[kind], **fields)]


def events(rows: Rows, names: Names) -> list[Event]:
    """The parcel's events in time order (same second: lifecycle order)."""
    out: list[Event] = []
    collect, bill, waybill = rows.collect, rows.bill, rows.waybill
    if collect is not None:
        courier, dot = names.courier(collect["eid"]), names.courier_dot(collect["eid"])
        ordered = bill["order_dt"] if bill is not None else collect["cdt"]
        out += _event(ordered, "ordered", place=dot, actor=courier)
        if collect["state"] == 4:
            out += _event(collect["udt"], "cancelled", place=dot, actor=courier)
        out += _event(collect["collect_package_dt"], "collected", place=dot, actor=courier)
    if waybill is not None:
        dot = names.courier_dot(waybill["eid"])
        out += _event(waybill["cdt"], "at_outlet", place=dot, actor=names.courier(waybill["eid"]))
    for push in rows.pushes:
        out += _event(
            push["pw_start_dt"] or push["cdt"],
            "into_warehouse",
            place=names.warehouse(push["warehouse_id"]),
            actor=names.worker(push["emp_id"]),
            detail=push["pw_position"],
        )
    for leg in rows.legs:
        out += _leg_events(leg, names)
    for gone in rows.outs:
        out += _event(
            gone["ow_end_dt"] or gone["cdt"],
            "out_of_warehouse",
            place=names.warehouse(gone["warehouse_id"]),
            to=names.dot(gone["ow_dot_id"]),
        )
    for deliver in rows.delivers:
        out += _delivery_events(deliver, names)
    return sorted(out, key=lambda e: (e.time, ORDER[e.event]))


def _leg_events(leg: Row, names: Names) -> list[Event]:
    common = {
        "vehicle": names.vehicles.get(leg["transport_tool_id"]),
        "route": names.routes.get(leg["route_id"]),
    }
    start, end = names.warehouse(leg["sw_id"]), names.warehouse(leg["ew_id"])
    out = _event(
        leg["start_vehicle_dt"],
        "departed",
        place=start,
        to=end,
        actor=names.driver(leg["pw_driver1_id"]),
        **common,
    )
    late = "延误" if leg["remark"] == "延误" else None
    out += _event(leg["actual_arrivals_dt"], "arrived", place=end, detail=late, **common)
    if leg["state"] == 3:
        out += _event(leg["udt"], "lost", place=start, to=end, detail=leg["remark"], **common)
    return out


def _delivery_events(deliver: Row, names: Names) -> list[Event]:
    courier = names.courier(deliver["emp_id"])
    dot = names.courier_dot(deliver["emp_id"])
    out = _event(
        deliver["collect_package_dt"] or deliver["cdt"],
        "out_for_delivery",
        place=dot,
        actor=courier,
    )
    if deliver["state"] == 3:
        out += _event(deliver["rece_dt"] or deliver["udt"], "signed", place=dot, actor=courier)
    elif deliver["state"] == 4:
        detail = deliver["remark"]
        out += _event(
            deliver["rece_dt"] or deliver["udt"],
            "rejected",
            place=dot,
            actor=courier,
            detail=detail,
        )
    return out


def parties(rows: Rows, cur: DuckConnection, reveal: bool) -> tuple[Party | None, Party | None]:
    """Sender and receiver from the waybill; before it, the ordering customer."""
    waybill = rows.waybill
    if waybill is not None:
        return (
            Party(
                waybill["delivery_customer_name"],
                mask_phone(waybill["delivery_mobile"], reveal),
                waybill["delivery_addr"],
            ),
            Party(
                waybill["receive_customer_name"],
                mask_phone(waybill["receive_mobile"], reveal),
                waybill["receive_addr"],
            ),
        )
    customer_id = (rows.bill or rows.collect or {}).get("cid")
    if customer_id is None:
        return None, None
    try:
        found = run(
            cur, "SELECT name, mobile FROM ods.tbl_customer WHERE id = ?", [customer_id]
        ).fetchone()
    except duckdb.CatalogException:  # the CRM is not captured: the sender stays unnamed
        found = None
    if found is None:
        return None, None
    return Party(found[0], mask_phone(found[1], reveal), None), None


def lookup(
    cur: DuckConnection,
    number: str,
    *,
    reveal: bool = False,
    transit: TransitTimes | None = None,
    dims: Dimensions | None = None,
) -> Timeline:
    """The timeline of the parcel with this express-bill or waybill number.

    Raises UsageError for something that is not a number, NotFound for an unknown one,
    StoreError when the logistics tables are not captured yet. Phones are masked unless
    `reveal`. `transit` gives the ETA (none without it); `dims` keeps the named rows.
    """
    number = check_number(number)
    with replica_errors():
        rows = Rows(cur, number)
        names = names_of(rows, cur, reveal, dims)
        timeline = events(rows, names)
        sender, receiver = parties(rows, cur, reveal)
        stats = transit.get(cur) if transit is not None else None
        eta = (
            estimate(cur, timeline, rows.legs, lambda: rows.next_warehouse(cur), stats)
            if stats is not None and timeline
            else None
        )
    last = timeline[-1] if timeline else None
    status = STATUS_OF[last.event] if last else "ordered"
    express = (rows.collect or {}).get("express_bill_number") or (rows.waybill or {}).get(
        "express_bill_number", number
    )
    return Timeline(
        number=number,
        express_number=str(express),
        waybill_number=rows.waybill["waybill_number"] if rows.waybill else None,
        status=status,
        status_label=LABELS[status],
        place=last.place if last else None,
        eta=eta,
        sender=sender,
        receiver=receiver,
        events=timeline,
    )
