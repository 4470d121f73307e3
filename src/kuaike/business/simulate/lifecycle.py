"""A parcel's life, following the reference business flow, as business events in time order.

order (express bill + courier dispatch) → collect (package, sender info) → waybill and package at
the outlet → into the origin hub → one transport record per leg along the route, out of and into
each warehouse → out for delivery at the destination outlet → signed (or rejected) → evaluation.
Some orders are cancelled, some legs run late, a few parcels are lost or rejected.

The events from the first warehouse on are in journey.py. Each event returns the row operations
it makes; the writers turn them into COPY rows (history) or one SQL transaction (live). Rows are
dicts kept by the parcel, so an UPDATE changes the same dict.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from kuaike.business.simulate.journey import Journey, Op, World
from kuaike.business.simulate.model import Address, Carrier, Customer, Row
from kuaike.business.simulate.timing import minutes, next_daytime

__all__ = ["NEW_CUSTOMER_SHARE", "Op", "Parcel", "Step", "Ticket", "World", "ticket"]

CHANNELS = (0, 1, 2, 3, 4)
CHANNEL_WEIGHTS = (2, 35, 40, 15, 8)
GOODS = (
    "文件",
    "服装",
    "数码产品",
    "食品",
    "化妆品",
    "图书",
    "日用品",
    "生鲜",
    "母婴用品",
    "家电配件",
)
OS_VERSIONS = {1: (15, 16, 17, 18), 2: (11, 12, 13, 14, 15), 3: (10, 11), 4: (13, 14, 15)}
# Shares documented in docs/simulate.md and measured by tests/test_simulate_rates.py.
CANCEL, LOST, DELAY = 0.03, 0.003, 0.05  # of orders, of parcels on the road, of legs
EVALUATE = 0.3  # of signed parcels
# A leg on schedule takes this share of the route's scheduled time: the schedule (65 km/h plus
# 30 min) has slack, so a truck that meets no trouble arrives early or just on time. A delayed
# leg takes 1.5-3x the schedule (traffic, weather, a breakdown).
ON_SCHEDULE, DELAYED = (0.8, 1.0), (1.5, 3.0)
NEW_CUSTOMER_SHARE = 0.02  # new registrations per order


def number(value: int, salt: int) -> str:
    """A 10-digit business number that looks random but is unique per id."""
    return str(salt * 1_000_000_000 + (value * 7_919 + 12_345) % 1_000_000_000)


Step = tuple[datetime, Callable[[datetime], list[Op]]]


@dataclass(frozen=True)
class Ticket:
    """Who sends a parcel to whom, and when: drawn where the customer list lives."""

    ordered: datetime
    customer: Customer
    sender: Address
    receiver: Address


def ticket(rng: random.Random, carrier: Carrier, ordered: datetime) -> Ticket:
    """A new order by one of the carrier's customers to one of the known addresses."""
    pool = carrier.customers
    # Older customers order more often: a skewed pick keeps some busy and some asleep.
    customer = pool[min(int(len(pool) * rng.random() ** 2), len(pool) - 1)]
    sender = carrier.addresses[customer.address_id]
    addresses = carrier.address_pool
    receiver = addresses[rng.randrange(len(addresses))]
    if receiver.id == sender.id and len(addresses) > 1:
        receiver = addresses[0] if addresses[0].id != sender.id else addresses[1]
    return Ticket(ordered, customer, sender, receiver)


class Parcel(Journey):
    """One order and everything that happens to it; `steps` are its events in time order."""

    def __init__(self, world: World, order: Ticket) -> None:
        self.w, self.rng, self.carrier = world, world.rng, world.carrier
        self.ordered, self.customer = order.ordered, order.customer
        self.sender, self.receiver = order.sender, order.receiver
        self.origin = self.carrier.dot_for_area(self.sender.area_id)
        self.destination = self.carrier.dot_for_area(self.receiver.area_id)
        self.path = self.carrier.path(self.origin.warehouse_id, self.destination.warehouse_id)
        self.rows: dict[str, Row] = {}
        self.pw: list[Row] = []
        self.steps: list[Step] = self._plan()

    # -- planning -------------------------------------------------------------------------------

    def _plan(self) -> list[Step]:
        rng, t = self.rng, self.ordered
        steps: list[Step] = [(t, self.order)]
        self.reserve = t + minutes(rng.uniform(30, 180))
        if rng.random() < CANCEL:
            return [*steps, (t + minutes(rng.uniform(5, 60)), self.cancel)]
        return steps + self.plan_collection()

    def plan_collection(self) -> list[Step]:
        """Collection, waybill, and on (the steps after the order)."""
        t = max(self.ordered + minutes(10), self.reserve + minutes(self.rng.gauss(20, 40)))
        return [(t, self.collect), *self.plan_waybill(t)]

    def plan_waybill(self, collected: datetime) -> list[Step]:
        """The waybill at the outlet, then into the origin hub and on."""
        made = collected + minutes(self.rng.uniform(5, 40))
        return [(made, self.waybill), *self.plan_origin(collected)]

    def plan_origin(self, collected: datetime) -> list[Step]:
        """Into the first warehouse, then the legs and the delivery."""
        t = collected + minutes(self.rng.uniform(60, 240))
        return [(t, self.into_warehouse(0)), *self.plan_legs(0, t)]

    def plan_legs(self, first: int, t: datetime) -> list[Step]:
        """Departures and arrivals from the `first` leg on, then the delivery."""
        rng, steps, legs = self.rng, [], len(self.path) - 1
        lost_leg = rng.randrange(first, legs) if legs > first and rng.random() < LOST else -1
        for leg in range(first, legs):
            route = self.carrier.routes[(self.path[leg], self.path[leg + 1])]
            t += minutes(rng.uniform(60, 360))
            steps.append((t, self.depart(leg)))
            if leg == lost_leg:
                return [*steps, (t + timedelta(days=3), self.lose(leg))]
            pace = DELAYED if rng.random() < DELAY else ON_SCHEDULE
            t += minutes(route.minutes * rng.uniform(*pace))
            steps.append((t, self.into_warehouse(leg + 1)))
        return steps + self.plan_delivery(t)

    def plan_arrival(self, leg: int, arrives: datetime) -> list[Step]:
        """A truck on `leg` arriving, then the rest of the journey."""
        return [(arrives, self.into_warehouse(leg + 1)), *self.plan_legs(leg + 1, arrives)]

    def plan_delivery(self, t: datetime) -> list[Step]:
        """Out for delivery at the destination outlet, then signing."""
        t = next_daytime(t + minutes(self.rng.uniform(60, 300)), self.rng)
        return [(t, self.out_for_delivery), *self.plan_sign(t)]

    def plan_sign(self, t: datetime) -> list[Step]:
        """Signed (or rejected), perhaps evaluated."""
        rng = self.rng
        t = next_daytime(t + minutes(rng.uniform(30, 240)), rng)
        steps: list[Step] = [(t, self.sign)]
        if rng.random() < EVALUATE:
            steps.append((t + minutes(rng.uniform(60, 2880)), self.evaluate))
        return steps

    # -- events ---------------------------------------------------------------------------------

    def order(self, when: datetime) -> list[Op]:
        rng = self.rng
        channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
        terminal = (3 if rng.random() < 0.8 else 4) if channel in (3, 4) else rng.choice((1, 2, 2))
        self.courier = self._courier(self.origin.id)
        reserve = self.reserve
        bill, op = self._new(
            "tbl_express_bill",
            when,
            cid=self.customer.id,
            eid=self.courier,
            order_channel_id=channel,
            order_dt=when,
            order_terminal_type=terminal,
            order_terminal_os_type=rng.choice(OS_VERSIONS[terminal]),
            reserve_dt=reserve,
            is_collect_package_timeout=0,
            timeout_dt=reserve + timedelta(hours=1),
            type=self.customer.type,
        )
        bill["express_number"] = number(bill["id"], 7)
        self.rows["tbl_express_bill"] = bill
        collect, op2 = self._new(
            "tbl_collect_package",
            when,
            cid=self.customer.id,
            eid=self.courier,
            express_bill_id=bill["id"],
            express_bill_number=bill["express_number"],
            state=1,
        )
        self.rows["tbl_collect_package"] = collect
        return [op, op2]

    def cancel(self, when: datetime) -> list[Op]:
        bill = self.rows.pop("tbl_express_bill")
        return [
            self._set("tbl_collect_package", when, state=4),
            ("D", "tbl_express_bill", bill, ()),
        ]

    def collect(self, when: datetime) -> list[Op]:
        rng, bill = self.rng, self.rows["tbl_express_bill"]
        first, follow, _days = self.carrier.charge(self.sender.area_id, self.receiver.area_id)
        weight = round(min(50.0, max(0.1, rng.lognormvariate(0.2, 0.9))), 2)
        amount = first + follow * max(0, int(weight + 0.99) - 1)
        coupon = rng.choice((1, 2, 3, 5)) if rng.random() < 0.2 else 0
        package, op = self._new(
            "tbl_express_package",
            when,
            scan_gun_id=f"SG{self.origin.id:05d}{rng.randrange(100):02d}",
            name=rng.choice(GOODS),
            cid=self.customer.id,
            weight=weight,
            amount=amount,
            coupon_id=rng.randrange(1, 500) if coupon else None,
            coupon_amount=coupon,
            actual_amount=amount - coupon,
            insured_price=rng.choice((100, 500, 1000, 3000)) if rng.random() < 0.1 else 0,
            is_fragile="是" if rng.random() < 0.08 else "否",
            send_address_id=self.sender.id,
            recv_address_id=self.receiver.id,
        )
        self.rows["tbl_express_package"] = package
        late = 1 if when > bill["timeout_dt"] else 0
        _sender_info, op2 = self._new(
            "tbl_consumer_sender_info",
            when,
            ciid=self.customer.id,
            pkg_id=package["id"],
            express_bill_id=bill["id"],
        )
        return [
            op,
            op2,
            self._set(
                "tbl_collect_package", when, state=3, pkg_id=package["id"], collect_package_dt=when
            ),
            self._set("tbl_express_bill", when, is_collect_package_timeout=late),
        ]

    def waybill(self, when: datetime) -> list[Op]:
        bill, package = self.rows["tbl_express_bill"], self.rows["tbl_express_package"]
        waybill, op = self._new(
            "tbl_waybill",
            when,
            express_bill_number=bill["express_number"],
            cid=self.customer.id,
            eid=self.courier,
            order_channel_id=bill["order_channel_id"],
            order_dt=bill["order_dt"],
            order_terminal_type=bill["order_terminal_type"],
            order_terminal_os_type=bill["order_terminal_os_type"],
            reserve_dt=bill["reserve_dt"],
            is_collect_package_timeout=bill["is_collect_package_timeout"],
            pkg_id=package["id"],
            pkg_number=f"P{package['id']:010d}",
            timeout_dt=str(bill["timeout_dt"]),
            transform_type=1 if len(self.path) < 3 else 2,
            delivery_customer_name=self.sender.name,
            delivery_addr=self.sender.detail,
            delivery_mobile=self.sender.mobile,
            receive_customer_name=self.receiver.name,
            receive_addr=self.receiver.detail,
            receive_mobile=self.receiver.mobile,
        )
        waybill["waybill_number"] = number(waybill["id"], 2)
        self.rows["tbl_waybill"] = waybill
        # The outlet's package record shares the express package's id: one parcel, one package.
        pkg: Row = {"id": package["id"], "pw_bill": bill["express_number"], "cdt": when}
        pkg |= {"pw_dot_id": self.origin.id, "warehouse_id": self.path[0], "udt": when}
        return [op, ("I", "tbl_pkg", pkg, ())]
