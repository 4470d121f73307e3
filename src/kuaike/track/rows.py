"""Every operational row of one parcel, read in two queries (three by waybill number).

Found by express-bill number (tbl_collect_package, which every order has, cancelled or not) or
waybill number (tbl_waybill); every later row by the waybill number, through ART indexes. Each
query is a UNION ALL BY NAME of one indexed equality per table, tagged with its kind: a
timeline costs two round trips, not nine (each round trip is ~0.3 ms of DuckDB's own before
any work, and a thread that waits for the GIL between them waits again at each).

Each branch costs even when it finds nothing (with DuckDB's two threads a branch is a pipeline
handed to its workers: ~0.5 ms of CPU, 1 M bills, measured here), so a lookup asks only what
it will use: the number as a waybill number only when no order has it as an express-bill
number, and the hub's next stop (for the ETA) only when the parcel sits in a warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from kuaike.errors import NotFound, StoreError
from kuaike.track.sql import literal, run
from kuaike.types import DuckConnection

Row = dict[str, Any]

COLUMNS: dict[str, tuple[str, str]] = {
    "collect": (
        "tbl_collect_package",
        "id, express_bill_number, eid, state, cid, cdt, udt, collect_package_dt",
    ),
    "waybill": (
        "tbl_waybill",
        "id, waybill_number, express_bill_number, eid, cdt, delivery_customer_name, "
        "delivery_mobile, delivery_addr, receive_customer_name, receive_mobile, receive_addr",
    ),
    "bill": ("tbl_express_bill", "id, express_number, cid, order_dt"),
    "push": ("tbl_push_warehouse", "id, warehouse_id, emp_id, pw_position, pw_start_dt, cdt"),
    "leg": (
        "tbl_transport_record",
        "id, sw_id, ew_id, route_id, duration, transport_tool_id, pw_driver1_id, state, remark, "
        "start_vehicle_dt, actual_arrivals_dt, cdt, udt",
    ),
    "out": ("tbl_out_warehouse", "id, warehouse_id, ow_dot_id, ow_end_dt, cdt"),
    "deliver": (
        "tbl_deliver_package",
        "id, emp_id, state, remark, collect_package_dt, rece_dt, cdt, udt",
    ),
    "state": ("tbl_waybill_state_record", "id, next_warehouse_id"),
}
"""Per kind of row: its table and the columns a timeline reads. Only these: fetching one row
decompresses a vector of every column asked for (SELECT * of a push: 4.9 ms, these: 0.7 ms,
1 M bills, measured here)."""


@contextmanager
def replica_errors() -> Iterator[None]:
    """A replica without the operational tables yet is a clear StoreError, not a traceback."""
    try:
        yield
    except duckdb.CatalogException as exc:
        raise StoreError(
            "the replica has no logistics tables yet; capture the logistics database first "
            "(`kuaike capture` or `kuaike run`)"
        ) from exc


def dicts(cur: DuckConnection, sql: str, params: list[Any]) -> list[Row]:
    """Rows of a query as dicts."""
    result = run(cur, sql, params)
    names = [d[0] for d in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _branch(kind: str, key: str, value: Any, tag: str | None = None) -> str:
    table, columns = COLUMNS[kind]
    return (
        f"SELECT '{tag or kind}' AS kind, {columns} FROM ods.{table} WHERE {key} = {literal(value)}"
    )


def tagged(cur: DuckConnection, branches: list[str]) -> dict[str, list[Row]]:
    """The rows of one UNION ALL BY NAME of `branches`, by their kind, each kind by id.
    (Sorted here: an ORDER BY keeps DuckDB from the ART index, 8-15 ms instead of 1 ms.)"""
    out: dict[str, list[Row]] = {}
    for row in dicts(cur, " UNION ALL BY NAME ".join(branches), []):
        out.setdefault(row.pop("kind"), []).append(row)
    for found in out.values():
        found.sort(key=lambda r: r["id"])
    return out


def _lowest(found: dict[str, list[Row]], kind: str) -> Row | None:
    rows = found.get(kind)
    return rows[0] if rows else None


class Rows:
    """Every operational row of one parcel (journey rows sorted in time)."""

    def __init__(self, cur: DuckConnection, number: str) -> None:
        found = tagged(
            cur,
            [
                _branch("collect", "express_bill_number", number),
                _branch("waybill", "express_bill_number", number, "by_express"),
                _branch("bill", "express_number", number),
            ],
        )
        self.collect = _lowest(found, "collect")
        self.bill = _lowest(found, "bill")
        if self.collect is not None:
            self.waybill = _lowest(found, "by_express")
        else:  # not an express-bill number of an order: a waybill number, perhaps
            by_waybill = tagged(cur, [_branch("waybill", "waybill_number", number)])
            self.waybill = _lowest(by_waybill, "waybill")
        if self.collect is None and self.waybill is None:
            raise NotFound(f"not found: no parcel with number {number}; check the number")
        self.pushes: list[Row] = []
        self.legs: list[Row] = []
        self.outs: list[Row] = []
        self.delivers: list[Row] = []
        if self.waybill is not None:
            self._journey(cur, self.waybill, by_waybill=self.collect is None)

    def next_warehouse(self, cur: DuckConnection) -> int | None:
        """The stop after the latest warehouse, as the hub recorded it (read when asked: only
        the ETA of a parcel in a warehouse needs it). Ids grow with time, so zone maps find the
        waybill's rows without an index."""
        if self.waybill is None or not self.pushes:
            return None
        states = tagged(cur, [_branch("state", "waybill_id", self.waybill["id"])]).get("state")
        return states[-1]["next_warehouse_id"] if states else None

    def _journey(self, cur: DuckConnection, waybill: Row, by_waybill: bool) -> None:
        number = waybill["waybill_number"]
        branches = [
            _branch("push", "pw_waybill_number", number),
            _branch("leg", "pw_waybill_number", number),
            _branch("out", "pw_waybill_number", number),
            _branch("deliver", "waybill_number", number),
        ]
        express = waybill["express_bill_number"]
        if by_waybill and express is not None:
            branches += [
                _branch("collect", "express_bill_number", express),
                _branch("bill", "express_number", express),
            ]
        found = tagged(cur, branches)
        if by_waybill:
            self.collect, self.bill = _lowest(found, "collect"), _lowest(found, "bill")
        self.pushes = sorted(
            found.get("push", []), key=lambda r: (r["pw_start_dt"] or r["cdt"], r["id"])
        )
        self.legs = sorted(
            found.get("leg", []), key=lambda r: (r["start_vehicle_dt"] or r["cdt"], r["id"])
        )
        self.outs = sorted(
            (r for r in found.get("out", []) if r["ow_dot_id"] is not None),
            key=lambda r: (r["ow_end_dt"] or r["cdt"], r["id"]),
        )
        self.delivers = found.get("deliver", [])
