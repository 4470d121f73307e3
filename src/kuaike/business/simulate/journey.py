"""The parcel's journey once it is at the outlet: into and out of each warehouse, one transport
record per leg along the route, out for delivery, signed (or rejected), evaluated; and what every
parcel event shares (the row operations, the ids, the staff on duty).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from kuaike.business.simulate.model import Carrier, Dot, Ids, Row, Truck
from kuaike.business.simulate.timing import minutes

OpKind = Literal["I", "U", "D"]
Op = tuple[OpKind, str, Row, tuple[str, ...]]
REJECT = 0.01
# transport_record.state: 1 in transit, 2 arrived, 3 lost (not in the reference dictionary).
IN_TRANSIT, ARRIVED, LOST_STATE = 1, 2, 3


@dataclass
class World:
    """What every parcel shares: randomness, id counters and the carrier's master data."""

    rng: random.Random
    ids: Ids
    carrier: Carrier


class ParcelState:
    """A parcel's rows and route, and the helpers its events use to change them."""

    w: World
    rng: random.Random
    carrier: Carrier
    rows: dict[str, Row]
    pw: list[Row]  # push_warehouse rows, one per warehouse reached
    path: list[int]  # warehouse ids, origin hub first
    origin: Dot
    destination: Dot

    def _new(self, table: str, when: datetime, **values: object) -> tuple[Row, Op]:
        row: Row = {"id": self.w.ids.take(table), **values, "cdt": when, "udt": when}
        return row, ("I", table, row, ())

    def _set(self, table: str, when: datetime, **values: object) -> Op:
        row = self.rows[table]
        row.update(values, udt=when)
        return ("U", table, row, (*values, "udt"))

    def _courier(self, dot_id: int) -> int:
        staff = self.carrier.couriers.get(dot_id) or next(iter(self.carrier.couriers.values()))
        return staff[self.rng.randrange(len(staff))]

    def _truck(self, warehouse_id: int) -> Truck:
        # A hub whose trucks are all in the workshop borrows one (a database edited by hand).
        fleet = self.carrier.trucks.get(warehouse_id) or next(iter(self.carrier.trucks.values()))
        return fleet[self.rng.randrange(len(fleet))]

    def _emp(self, warehouse_id: int) -> int | None:
        staff = self.carrier.warehouse_emps.get(warehouse_id)
        return staff[self.rng.randrange(len(staff))] if staff else None


class Journey(ParcelState):
    """Events from the first warehouse to the customer's door."""

    def into_warehouse(self, stop: int) -> Callable[[datetime], list[Op]]:
        """Into the `stop`-th warehouse of the path (and the arrival of the leg before it)."""

        def event(when: datetime) -> list[Op]:
            ops = [self._arrive(stop - 1, when)] if stop else []
            return ops + self._push(stop, when)

        return event

    def _arrive(self, leg: int, when: datetime) -> Op:
        record = self.rows[f"leg{leg}"]
        record.update(state=ARRIVED, actual_arrivals_dt=when, udt=when)
        # Any arrival after the predicted time is a delay: the on-time KPI counts the same legs.
        if when > record["predict_arrivals_dt"]:
            record["remark"] = "延误"
        return (
            "U",
            "tbl_transport_record",
            record,
            ("state", "actual_arrivals_dt", "udt", "remark"),
        )

    def _push(self, stop: int, when: datetime) -> list[Op]:
        rng, waybill = self.rng, self.rows["tbl_waybill"]
        house, emp = self.path[stop], self._emp(self.path[stop])
        done = when + minutes(rng.uniform(10, 40))
        receipt = f"RK{house:04d}{waybill['id']:010d}{stop}"
        push, op = self._new(
            "tbl_push_warehouse",
            when,
            pw_waybill_id=waybill["id"],
            pw_waybill_number=waybill["waybill_number"],
            pw_dot_id=self.origin.id,
            warehouse_id=house,
            emp_id=emp,
            pw_start_dt=when,
            pw_end_dt=done,
            pw_position=f"{'ABCDEF'[rng.randrange(6)]}区{rng.randrange(1, 40)}排",
            pw_reg_emp_id=emp,
            pw_confirm_emp_id=emp,
            pw_receipt_number=receipt,
            pw_receipt_dt=done,
        )
        self.pw.append(push)
        _detail, op2 = self._new(
            "tbl_push_warehouse_detail",
            when,
            push_warehouse_id=push["id"],
            push_warehouse_bill=receipt,
            warehouse_id=house,
            pw_start_dt=str(when),
            pw_end_dt=str(done),
            pack_id=waybill["pkg_id"],
            pack_desc=self.rows["tbl_express_package"]["name"],
        )
        nxt = self.path[stop + 1] if stop + 1 < len(self.path) else None
        _state, op3 = self._new(
            "tbl_waybill_state_record",
            when,
            waybill_id=waybill["id"],
            waybill_number=waybill["waybill_number"],
            employee_id=str(emp),
            cur_warehouse_id=house,
            next_warehouse_id=nxt,
        )
        return [op, op2, op3]

    def _out(self, stop: int, when: datetime, truck: Truck, dot_id: int | None) -> list[Op]:
        waybill, push, house = self.rows["tbl_waybill"], self.pw[stop], self.path[stop]
        emp = self._emp(house)
        out, op = self._new(
            "tbl_out_warehouse",
            when,
            pw_waybill_id=waybill["id"],
            pw_waybill_number=waybill["waybill_number"],
            ow_dot_id=dot_id,
            warehouse_id=house,
            ow_vehicle_id=truck.id,
            ow_driver_emp_id=truck.driver1,
            ow_follow1_emp_id=truck.driver2,
            ow_start_dt=when - minutes(20),
            ow_end_dt=when,
            ow_position=push["pw_position"],
            ow_reg_emp_id=emp,
            ow_confirm_emp_id=emp,
            ow_receipt_number=f"CK{house:04d}{waybill['id']:010d}{stop}",
            ow_receipt_dt=when,
        )
        self.rows[f"out{stop}"] = out
        _detail, op2 = self._new(
            "tbl_out_warehouse_detail",
            when,
            push_warehouse_id=push["id"],
            push_warehouse_bill=push["pw_receipt_number"],
            warehouse_id=house,
            waybill_id=waybill["id"],
            pkg_id=waybill["pkg_id"],
            pkg_desc=self.rows["tbl_express_package"]["name"],
        )
        return [op, op2]

    def depart(self, leg: int) -> Callable[[datetime], list[Op]]:
        """Out of the leg's start warehouse onto a truck along the route."""

        def event(when: datetime) -> list[Op]:
            start, end = self.path[leg], self.path[leg + 1]
            route, truck = self.carrier.routes[(start, end)], self._truck(start)
            ops = self._out(leg, when, truck, None)
            waybill, push, out = self.rows["tbl_waybill"], self.pw[leg], self.rows[f"out{leg}"]
            record, op = self._new(
                "tbl_transport_record",
                when,
                pw_id=push["id"],
                pw_waybill_id=waybill["id"],
                pw_waybill_number=waybill["waybill_number"],
                ow_id=out["id"],
                ow_waybill_id=waybill["id"],
                ow_waybill_number=waybill["waybill_number"],
                sw_id=start,
                ew_id=end,
                transport_tool_id=truck.id,
                pw_driver1_id=truck.driver1,
                pw_driver2_id=truck.driver2,
                ow_driver1_id=truck.driver1,
                ow_driver2_id=truck.driver2,
                route_id=route.id,
                distance=route.mileage_m // 1000,
                duration=route.minutes,
                state=IN_TRANSIT,
                start_vehicle_dt=when,
                predict_arrivals_dt=when + minutes(route.minutes),
            )
            self.rows[f"leg{leg}"] = record
            _line, op2 = self._new(
                "tbl_waybill_line",
                when,
                waybill_number=waybill["waybill_number"],
                route_id=route.id,
                serial_number=f"{waybill['waybill_number']}-{leg + 1}",
                transport_tool=truck.id,
            )
            return [*ops, op, op2]

        return event

    def lose(self, leg: int) -> Callable[[datetime], list[Op]]:
        """Three days without a scan: the parcel is declared lost on its leg."""

        def event(when: datetime) -> list[Op]:
            record = self.rows[f"leg{leg}"]
            record.update(state=LOST_STATE, remark="丢失", udt=when)
            return [("U", "tbl_transport_record", record, ("state", "remark", "udt"))]

        return event

    def out_for_delivery(self, when: datetime) -> list[Op]:
        last = len(self.path) - 1
        ops = self._out(last, when, self._truck(self.path[last]), self.destination.id)
        waybill, bill = self.rows["tbl_waybill"], self.rows["tbl_express_bill"]
        deliver, op = self._new(
            "tbl_deliver_package",
            when,
            emp_id=self._courier(self.destination.id),
            waybill_id=waybill["id"],
            waybill_number=waybill["waybill_number"],
            express_bill_id=bill["id"],
            express_bill_number=bill["express_number"],
            package_id=waybill["pkg_id"],
            collect_package_dt=when,
            state=2,
        )
        self.rows["tbl_deliver_package"] = deliver
        return [*ops, op]

    def sign(self, when: datetime) -> list[Op]:
        if self.rng.random() < REJECT:
            return [self._set("tbl_deliver_package", when, state=4, rece_dt=when, remark="拒收")]
        kind = self.rng.choices((1, 2, 3), (60, 15, 25))[0]
        return [self._set("tbl_deliver_package", when, state=3, rece_type=kind, rece_dt=when)]

    def evaluate(self, when: datetime) -> list[Op]:
        if self.rows["tbl_deliver_package"]["state"] != 3:
            return []
        rng, bill = self.rng, self.rows["tbl_express_bill"]
        slow = any(r.get("remark") == "延误" for k, r in self.rows.items() if k.startswith("leg"))
        scores = [min(5, max(1, round(rng.gauss(3.2 if slow else 4.5, 0.7)))) for _ in range(3)]
        _, op = self._new(
            "tbl_service_evaluation",
            when,
            express_bill_id=bill["express_number"],
            express_bill=bill["id"],
            pack_score=scores[0],
            delivery_time_score=scores[1],
            courier_score=scores[2],
        )
        return [op]
