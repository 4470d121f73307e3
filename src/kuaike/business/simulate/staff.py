"""The people and vehicles of the master data: employees, warehouse staff, couriers, trucks
with their drivers, outlet vehicles, fixed areas and delivery regions."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kuaike.business.simulate import people
from kuaike.business.simulate.model import Carrier, Dot, Ids, Row, Sizes, Truck, Warehouse, stamp
from kuaike.business.simulate.people import Area, areas, display_name

PROVINCE_ABBR = dict(
    zip(
        (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50),
        "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝",
        strict=True,
    )
) | dict(
    zip((51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82), "川贵云藏陕甘青宁新台港澳", strict=True)
)
VEHICLES = {
    1: ("解放", "J6P 重卡", "30"),
    2: ("东风", "天锦 中卡", "12"),
    3: ("江淮", "帅铃 轻卡", "5"),
    4: ("依维柯", "欧胜 大面包", "2"),
    5: ("长安", "睿行 M80", "1.2"),
    6: ("五菱", "荣光 小卡", "0.8"),
    7: ("雅马哈", "天剑 125", "0.1"),
    8: ("宗申", "电动三轮", "0.5"),
}


@dataclass
class MasterData:
    """Generated rows per table (logistics and CRM) and the carrier built from them."""

    rows: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    carrier: Carrier = field(default_factory=Carrier)


class StaffBuilder:
    """Generates the staff and vehicles; `add` appends a row with the next id."""

    def __init__(self, sizes: Sizes, rng: random.Random, ids: Ids, when: datetime) -> None:
        self.sizes, self.rng, self.ids, self.when = sizes, rng, ids, when
        self.out = MasterData()
        self.city_of: dict[int, int] = {}
        self.city_ids = [a.id for a in areas().values() if a.level == 2]
        self.districts: dict[int, list[Area]] = defaultdict(list)
        for area in areas().values():
            if area.level == 3:
                self.districts[area.pid].append(area)

    def add(self, table_name: str, /, **values: object) -> Row:
        row: Row = {"id": self.ids.take(table_name), **values}
        self.out.rows[table_name].append(stamp(row, self.when))
        return row

    def warehouse_staff(self, warehouse: Warehouse, city: Area) -> None:
        for place in ("货架区", "分拣区"):
            common = {"warehouse_name": warehouse.name + place, "company_id": warehouse.company_id}
            common |= {
                "warehouse_addr": display_name(city),
                "warehouse_addr_gis": f"{warehouse.lng:.4f}-{warehouse.lat:.4f}",
            }
            self.add("tbl_goods_rack" if place == "货架区" else "tbl_store_grid", **common)
            if place == "分拣区":
                self.add("tbl_warehouse_rack_map", **common)
        staff = self.out.carrier.warehouse_emps.setdefault(warehouse.id, [])
        for kind in (1, 2, 2):
            row = self.add(
                "tbl_warehouse_emp",
                job_num=f"W{warehouse.id:04d}{len(staff) + 1:02d}",
                name=people.person_name(self.rng),
                birathday=self._birthday(),
                tel=people.mobile(self.rng),
                type=kind,
                warehouse_id=warehouse.id,
                state=1,
            )
            staff.append(row["id"])
            self.employee(warehouse.company_id, None, job_id=3)

    def employee(self, company_id: int, dot_id: int | None, job_id: int) -> Row:
        emp = self.add(
            "tbl_emp",
            emp_number=f"E{self.ids.next.get('tbl_emp', 1):06d}",
            emp_name=people.person_name(self.rng),
            emp_gender=self.rng.randrange(1, 3),
            emp_birathday=self._birthday(),
            state=1 if self.rng.random() < 0.97 else 2,
        )
        self.add(
            "tbl_emp_info_map",
            company_id=company_id,
            dot_id=dot_id,
            emp_id=emp["id"],
            job_id=job_id,
            dep_id=1 if dot_id else 2,
        )
        return emp

    def _birthday(self) -> datetime:
        return datetime(1965, 1, 1) + timedelta(days=self.rng.randrange(365 * 38))

    def vehicle(self, kind: int, province: int) -> Row:
        brand, model, load = VEHICLES[kind]
        serial = self.ids.next.get("tbl_transport_tool", 1)
        state = {7: "2", 8: "3", 9: "4"}.get(serial % 10, "1")
        letter = chr(ord("A") + self.rng.randrange(12))
        plate = self.rng.randrange(10**5)
        return self.add(
            "tbl_transport_tool",
            brand=brand,
            model=model,
            type=kind,
            given_load=load,
            load_cn_unit="吨",
            load_en_unit="t",
            buy_dt=self.when - timedelta(days=self.rng.randrange(60, 2500)),
            license_plate=f"{PROVINCE_ABBR.get(province, '京')}{letter}·{plate:05d}",
            state=state,
        )

    def trucks(self, warehouse: Warehouse) -> None:
        province = self.city_of[warehouse.id] // 10000
        fleet = self.out.carrier.trucks.setdefault(warehouse.id, [])
        for kind in (1, 2, 3):
            self._truck(warehouse, self.vehicle(kind, province), fleet)
        if not fleet:  # every hub keeps one truck on the road
            tool = self.vehicle(1, province)
            tool["state"] = "1"
            self._truck(warehouse, tool, fleet)

    def _truck(self, warehouse: Warehouse, tool: Row, fleet: list[Truck]) -> None:
        """Allocate a truck to a warehouse, with two drivers."""
        when = self.when - timedelta(days=self.rng.randrange(30, 700))
        self.add(
            "tbl_warehouse_transport_tool",
            warehouse_id=warehouse.id,
            transport_tool_id=tool["id"],
            allocate_dt=when,
            state=1,
        )
        self.add("tbl_warehouse_vehicle_map", warehouse_id=warehouse.id, vehicle_id=tool["id"])
        drivers = [self.driver(tool["id"]) for _ in range(2)]
        if tool["state"] == "1":
            fleet.append(Truck(tool["id"], drivers[0], drivers[1]))

    def driver(self, car_id: int) -> int:
        return int(
            self.add(
                "tbl_driver",
                job_number=f"DR{self.ids.next.get('tbl_driver', 1):06d}",
                name=people.person_name(self.rng),
                gender="男" if self.rng.random() < 0.9 else "女",
                birathday=self._birthday(),
                state=1,
                driver_license_number=f"{self.rng.randrange(10**17, 10**18)}",
                driver_license_type=self.rng.choice((1, 2)),
                get_driver_license_dt=self.when - timedelta(days=self.rng.randrange(400, 7000)),
                car_id=car_id,
            )["id"]
        )

    def dot_staff(self, dot: Dot, district: Area) -> None:
        tool = self.vehicle(4 + dot.id % 5, district.id // 10000)
        when = self.when - timedelta(days=self.rng.randrange(30, 700))
        self.add(
            "tbl_dot_transport_tool",
            dot_id=dot.id,
            transport_tool_id=tool["id"],
            allocate_dt=when,
            state=1,
        )
        manager = self.employee(dot.company_id, dot.id, job_id=2)
        area = self.add(
            "tbl_fixed_area",
            name=f"{display_name(district)}片区",
            emp_id=manager["id"],
            operator_dt=self.when,
            operator_id=manager["id"],
            gis_fence=f"{dot.lng:.3f}-{dot.lat:.3f};{dot.lng + 0.02:.3f}-{dot.lat + 0.02:.3f}",
        )
        self.add(
            "tbl_deliver_region",
            search_keyword=display_name(district),
            search_assist_keyword=district.name,
            area_id=district.id,
            fixed_area_id=area["id"],
            state=1,
        )
        staff = self.out.carrier.couriers.setdefault(dot.id, [])
        for n in range(self.sizes.couriers_per_dot):
            state = 1 if n == 0 or self.rng.random() < 0.95 else self.rng.choice((2, 3))
            row = self.add(
                "tbl_courier",
                job_num=f"C{dot.id:05d}{n + 1:02d}",
                name=people.person_name(self.rng),
                birathday=self._birthday(),
                tel=people.mobile(self.rng),
                pda_num=f"PDA{self.rng.randrange(10**8):08d}",
                car_id=tool["id"],
                postal_standard_id=1,
                work_time_id=1 + n % 2,
                dot_id=dot.id,
                state=state,
            )
            if state == 1:
                staff.append(row["id"])
