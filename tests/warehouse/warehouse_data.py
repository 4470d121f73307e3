"""A small, consistent carrier for warehouse tests, and random changes to it (seeded)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from warehouse_ods import Ods

START = dt.datetime(2024, 3, 1, 8, 0, 0)
DAYS = 6


class Carrier:
    """Fills one or more replicas with the same rows and applies the same random changes."""

    def __init__(self, replicas: list[Ods], seed: int) -> None:
        self.replicas = replicas
        self.rng = random.Random(seed)
        self.next_id: dict[str, int] = {}
        self.ids: dict[str, list[int]] = {}

    # -- writing to every replica -------------------------------------------------------------
    def _each(self, action: Callable[[Ods, int], None]) -> None:
        for ods in self.replicas:
            action(ods, self._batches[id(ods)])

    def begin(self) -> None:
        """Start a batch on every replica."""
        self._batches = {id(ods): ods.batch() for ods in self.replicas}

    def add(self, table: str, **values: Any) -> int:
        row_id = self.next_id.get(table, 1)
        self.next_id[table] = row_id + 1
        row = {"id": row_id, **values}
        self._each(lambda ods, batch: ods.insert(table, [row], batch))
        self.ids.setdefault(table, []).append(row_id)
        return row_id

    def update(self, table: str, row_id: int, **values: Any) -> None:
        self._each(lambda ods, batch: ods.update(table, row_id, values, batch))

    def delete(self, table: str, row_id: int) -> None:
        self._each(lambda ods, batch: ods.delete(table, row_id, batch))
        self.ids[table].remove(row_id)

    # -- the carrier ---------------------------------------------------------------------------
    def when(self) -> dt.datetime:
        return START + dt.timedelta(minutes=self.rng.randrange(DAYS * 24 * 60))

    def pick(self, table: str) -> int | None:
        ids = self.ids.get(table) or []
        return self.rng.choice(ids) if ids and self.rng.random() > 0.05 else None

    def seed(self, bills: int = 40) -> None:
        """Dimensions and `bills` express bills with their waybills, parcels, legs, deliveries."""
        self.begin()
        for n in range(3):
            self.add("tbl_areas", name=f"区{n}", mername=f"中国,省{n % 2},市{n},区{n}", level="3")
            self.add("tbl_company", company_name=f"公司{n}", city_id=n + 1, cdt=START)
        for n in range(5):
            dot = self.add("tbl_dot", dot_name=f"网点{n}", manage_area_id=n % 3 + 1, cdt=START)
            self.add("tbl_company_dot_map", dot_id=dot, company_id=n % 3 + 1)
            self.add("tbl_courier", name=f"快递员{n}", dot_id=dot, cdt=START)
            self.add("tbl_warehouse", name=f"仓库{n}", cdt=START)
            self.add("tbl_company_warehouse_map", warehouse_id=n + 1, company_id=n % 3 + 1)
            self.add("tbl_transport_tool", license_plate=f"京A{n}", type=n % 8 + 1, state="1")
            self.add("tbl_route", start_station=f"站{n}", end_station=f"站{n + 1}")
        for n in range(25):
            cust = self.add(
                "tbl_customer",
                name=f"客户{n}",
                type=n % 2 + 1,
                mobile=f"13{n}00000000",
                reg_dt=self.when(),
                cdt=START,
            )
            addr = self.add("tbl_address", detail_addr=f"地址{n}", area_id=n % 3 + 1)
            self.add("tbl_consumer_address_map", consumer_id=cust, address_id=addr)
        for _ in range(bills):
            self.new_bill()
        for _ in range(6):
            self.new_allocation()

    def new_bill(self) -> None:
        cdt = self.when()
        number = f"E{self.next_id.get('tbl_express_bill', 1):05d}"
        bill = self.add(
            "tbl_express_bill",
            express_number=number,
            cid=self.pick("tbl_customer"),
            eid=self.pick("tbl_courier"),
            order_channel_id=self.rng.randrange(5),
            order_terminal_type=self.rng.randrange(1, 5),
            cdt=cdt,
        )
        self.add("tbl_pkg", pw_bill=number, pw_dot_id=self.pick("tbl_dot"))
        parcel = self.add(
            "tbl_express_package",
            actual_amount=self.rng.randrange(5, 30),
            send_address_id=self.pick("tbl_address"),
            recv_address_id=self.pick("tbl_address"),
            cdt=cdt,
        )
        self.add(
            "tbl_consumer_sender_info",
            ciid=self.pick("tbl_customer"),
            pkg_id=parcel,
            express_bill_id=bill,
            cdt=cdt,
        )
        waybill = f"W{bill:05d}"
        self.add(
            "tbl_waybill",
            express_bill_number=number,
            waybill_number=waybill,
            cid=self.pick("tbl_customer"),
            eid=self.pick("tbl_courier"),
            cdt=cdt,
        )
        start = cdt + dt.timedelta(hours=2)
        arrived = self.rng.choice([None, start + dt.timedelta(hours=self.rng.randrange(1, 30))])
        self.add(
            "tbl_transport_record",
            pw_waybill_number=waybill,
            sw_id=self.pick("tbl_warehouse"),
            ew_id=self.pick("tbl_warehouse"),
            transport_tool_id=self.pick("tbl_transport_tool"),
            route_id=self.pick("tbl_route"),
            start_vehicle_dt=start,
            predict_arrivals_dt=start + dt.timedelta(hours=12),
            actual_arrivals_dt=arrived,
            cdt=start,
        )
        self.add(
            "tbl_deliver_package",
            emp_id=self.pick("tbl_courier"),
            express_bill_number=number,
            state=self.rng.randrange(1, 6),
            cdt=start + dt.timedelta(hours=20),
        )

    def new_allocation(self) -> None:
        self.add(
            "tbl_dot_transport_tool",
            dot_id=self.pick("tbl_dot"),
            transport_tool_id=self.pick("tbl_transport_tool"),
            cdt=self.when(),
        )
        self.add(
            "tbl_warehouse_transport_tool",
            warehouse_id=self.pick("tbl_warehouse"),
            transport_tool_id=self.pick("tbl_transport_tool"),
            cdt=self.when(),
        )

    def random_change(self) -> str:
        """One random change, to old or new facts or to a dimension; returns what it did."""
        choices: list[tuple[str, Callable[[], None]]] = [
            ("new bill", self.new_bill),
            ("new allocation", self.new_allocation),
            ("move a fact to another day", self._move_fact),
            ("delete a fact", self._delete_fact),
            (
                "rename a dot",
                lambda: self._update_dim("tbl_dot", dot_name=f"改名{self.rng.random()}"),
            ),
            (
                "move a courier",
                lambda: self._update_dim("tbl_courier", dot_id=self.pick("tbl_dot")),
            ),
            (
                "remap a dot",
                lambda: self._update_dim(
                    "tbl_company_dot_map", company_id=self.pick("tbl_company")
                ),
            ),
            (
                "change a customer type",
                lambda: self._update_dim("tbl_customer", type=self.rng.randrange(1, 3)),
            ),
            ("delete a dimension row", self._delete_dim),
            (
                "give a parcel to another sender",
                lambda: self._update_dim(
                    "tbl_consumer_sender_info", ciid=self.pick("tbl_customer")
                ),
            ),
            ("new dimension row", self._new_dim),
        ]
        label, action = self.rng.choice(choices)
        action()
        return label

    FACTS = (
        "tbl_consumer_sender_info",
        "tbl_express_bill",
        "tbl_waybill",
        "tbl_transport_record",
        "tbl_deliver_package",
        "tbl_express_package",
        "tbl_dot_transport_tool",
        "tbl_warehouse_transport_tool",
    )

    def _move_fact(self) -> None:
        table = self.rng.choice(self.FACTS)
        row = self.pick(table)
        if row is not None:
            self.update(table, row, cdt=self.when())

    def _delete_fact(self) -> None:
        table = self.rng.choice(self.FACTS)
        row = self.pick(table)
        if row is not None:
            self.delete(table, row)

    def _update_dim(self, table: str, **values: Any) -> None:
        row = self.pick(table)
        if row is not None:
            self.update(table, row, **values)

    def _delete_dim(self) -> None:
        table = self.rng.choice(
            (
                "tbl_dot",
                "tbl_courier",
                "tbl_company_dot_map",
                "tbl_address",
                "tbl_warehouse",
                "tbl_consumer_address_map",
            )
        )
        row = self.pick(table)
        if row is not None:
            self.delete(table, row)

    def _new_dim(self) -> None:
        if self.rng.random() < 0.5:
            self.add(
                "tbl_company_dot_map",
                dot_id=self.pick("tbl_dot"),
                company_id=self.pick("tbl_company"),
            )
        else:
            self.add(
                "tbl_consumer_address_map",
                consumer_id=self.pick("tbl_customer"),
                address_id=self.pick("tbl_address"),
            )
