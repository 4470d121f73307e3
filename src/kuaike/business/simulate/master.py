"""Master data, generated once per database: areas, companies, hubs, routes, outlets, vehicles,
drivers, couriers, employees, work times, charge and postal standards (logistics) and the first
customers with their addresses (CRM).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kuaike.business.simulate import people
from kuaike.business.simulate.model import (
    Carrier,
    Dot,
    Ids,
    Route,
    Row,
    Truck,
    Warehouse,
    nearest_warehouse,
    stamp,
)
from kuaike.business.simulate.people import Area, areas, display_name

COMPANY_CITIES: tuple[int, ...] = (110100, 310100, 440100, 440300, 330100, 510100, 420100)
COMPANY_CITIES += (610100, 410100, 210100, 320100, 500100, 120100, 430100, 370100, 370200)
COMPANY_CITIES += (350100, 530100, 230100, 130100)
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
JOBS = (("快递员", 1), ("网点经理", 3), ("仓管员", 2), ("分拣员", 1), ("司机", 2), ("客服", 1))
DEPARTMENTS = (("运营部", 1), ("仓储部", 1), ("运输部", 1), ("客服部", 2))


@dataclass(frozen=True)
class Sizes:
    """How big the carrier is."""

    companies: int = 10
    warehouses: int = 130
    dots: int = 300
    couriers_per_dot: int = 5
    customers: int = 5_000


@dataclass
class MasterData:
    """Generated rows per table (logistics and CRM) and the carrier built from them."""

    rows: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    carrier: Carrier = field(default_factory=Carrier)


class _Builder:
    """Generates master data with one seeded random generator, in a fixed order."""

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

    def build(self) -> MasterData:
        self.areas()
        self.dictionaries()
        cities = self.companies()
        self.warehouses(cities)
        self.routes()
        self.dots()
        self.charges()
        return self.out

    def areas(self) -> None:
        for area in areas().values():
            chain = people.lineage(area)
            self.out.rows["tbl_areas"].append(
                {
                    "id": area.id,
                    # A municipality's city level is "市辖区" in the source; people say 北京市.
                    "name": display_name(area),
                    "pid": area.pid,
                    "sname": people.short_name(area.name),
                    "level": str(area.level),
                    "citycode": f"{area.id // 100:04d}",
                    "yzcode": f"{area.id}",
                    "mername": "中国," + ",".join(a.name for a in chain),
                    "lng": f"{area.lng:.4f}",
                    "lat": f"{area.lat:.4f}",
                }
            )

    def dictionaries(self) -> None:
        for job, level in JOBS:
            self.add("tbl_job", job_name=job, job_level=level)
        for dep, level in DEPARTMENTS:
            self.add("tbl_department", dep_name=dep, dep_level=level)
        for name, start, stop in (("早班", "08:00", "17:00"), ("晚班", "13:00", "22:00")):
            self.add(
                "tbl_work_time",
                name=name,
                start_dt=start,
                stop_dt=stop,
                saturday_start_dt=start,
                saturday_stop_dt=stop,
                sunday_start_dt="09:00",
                sunday_stop_dt="16:00",
                state=1,
                company_id=1,
            )
        for name, weight, lo, hi in (("标准件", "0.1", "10", "100"), ("大件", "20", "50", "300")):
            self.add(
                "tbl_postal_standard",
                name=name,
                min_weight=weight,
                min_length=lo,
                max_length=hi,
                trajectory="陆运",
            )

    def companies(self) -> list[Area]:
        cities = [areas()[c] for c in COMPANY_CITIES[: self.sizes.companies]]
        for index, city in enumerate(cities):
            place = display_name(city)
            name = "客快速运(集团)有限公司" if index == 0 else f"客快速运({place[:-1]})有限公司"
            self.add(
                "tbl_company",
                company_name=name,
                city_id=city.id,
                company_number=f"KK{index + 1:04d}",
                company_addr=people.street_address(self.rng, self._district(city)),
                company_addr_gis=people.gis(city, self.rng, sep="_"),
                company_tel=f"400-{self.rng.randrange(100, 999)}-{self.rng.randrange(1000, 9999)}",
                is_sub_company=0 if index == 0 else 1,
                state=1,
            )
        return cities

    def _district(self, city: Area) -> Area:
        return self.rng.choice(self.districts.get(city.id) or [city])

    def _warehouse_cities(self, company_cities: list[Area]) -> list[Area]:
        """Company cities first (the hubs), then provincial capitals, then other cities."""
        chosen = [c.id for c in company_cities]
        capitals = [c for c in self.city_ids if c % 10000 == 100 and c not in chosen]
        others = [c for c in self.city_ids if c not in chosen and c not in capitals]
        self.rng.shuffle(others)
        order = chosen + capitals + others
        return [areas()[order[i % len(order)]] for i in range(self.sizes.warehouses)]

    def warehouses(self, company_cities: list[Area]) -> None:
        companies = self.out.rows["tbl_company"]
        for index, city in enumerate(self._warehouse_cities(company_cities)):
            owner = min(
                companies,
                key=lambda c: people.km_between(
                    city.lng, city.lat, areas()[c["city_id"]].lng, areas()[c["city_id"]].lat
                ),
            )
            kind = 1 if index < len(company_cities) else (2 if city.id % 10000 == 100 else 3)
            kind = 4 if kind == 3 and index % 10 == 0 else kind
            district = self._district(city)
            name = f"{display_name(city)}{'转运中心' if kind == 1 else '分拨中心'}"
            row = self.add(
                "tbl_warehouse",
                name=name,
                addr=people.street_address(self.rng, district),
                addr_gis=people.gis(district, self.rng),
                company_id=owner["id"],
                type=kind,
                area=display_name(city),
                is_lease=1 if self.rng.random() < 0.6 else 2,
            )
            lng, lat = (float(x) for x in row["addr_gis"].split("-"))
            warehouse = Warehouse(row["id"], owner["id"], lng, lat, kind, name)
            self.out.carrier.warehouses[warehouse.id] = warehouse
            self.city_of[warehouse.id] = city.id
            self.add("tbl_company_warehouse_map", company_id=owner["id"], warehouse_id=row["id"])
            self.warehouse_staff(warehouse, city)
            self.trucks(warehouse)

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

    def routes(self) -> None:
        houses = list(self.out.carrier.warehouses.values())
        for start in houses:
            for end in houses:
                if start.id == end.id:
                    continue
                km = people.km_between(start.lng, start.lat, end.lng, end.lat) * 1.25 + 5
                minutes = int(km / 65 * 60) + 30
                row = self.add(
                    "tbl_route",
                    start_station=start.name,
                    start_station_area_id=self.city_of[start.id],
                    start_warehouse_id=start.id,
                    end_station=end.name,
                    end_station_area_id=self.city_of[end.id],
                    end_warehouse_id=end.id,
                    mileage_m=int(km * 1000),
                    time_consumer_minute=minutes,
                    state=1,
                )
                route = Route(row["id"], row["mileage_m"], minutes)
                self.out.carrier.routes[(start.id, end.id)] = route
                self.add(
                    "tbl_company_transport_route_ma",
                    company_id=start.company_id,
                    transport_route_id=row["id"],
                )

    def dots(self) -> None:
        houses = list(self.out.carrier.warehouses.values())
        for index in range(self.sizes.dots):
            home = houses[index % len(houses)]
            city = areas()[self.city_of[home.id]]
            district = self._district(city)
            street = people.street_address(self.rng, district)
            road = street[len(display_name(district)) :].split("号")[0].rstrip("0123456789")
            row = self.add(
                "tbl_dot",
                dot_number=f"D{self.ids.next.get('tbl_dot', 1):05d}",
                dot_name=f"客快{display_name(city)}{display_name(district)}{road}营业点",
                dot_addr=street,
                dot_gis_addr=people.gis(district, self.rng, 0.02),
                dot_tel=f"0{self.rng.randrange(10, 999)}-{self.rng.randrange(10**7, 10**8)}",
                company_id=home.company_id,
                manage_area_id=district.id,
                manage_area_gis=f"{district.lng:.4f}-{district.lat:.4f}",
                state=1,
            )
            lng, lat = (float(x) for x in row["dot_gis_addr"].split("-"))
            # The outlet hands parcels to its nearest hub (what a reload finds too).
            home = nearest_warehouse(houses, lng, lat)
            dot = Dot(row["id"], home.company_id, district.id, lng, lat, home.id)
            self.out.carrier.dots[dot.id] = dot
            self.add("tbl_company_dot_map", company_id=dot.company_id, dot_id=dot.id)
            self.dot_staff(dot, district)

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

    def charges(self) -> None:
        provinces = [a for a in areas().values() if a.level == 1]
        for a in provinces:
            for b in provinces:
                km = people.km_between(a.lng, a.lat, b.lng, b.lat)
                first, follow, days = 8 + int(km / 500), 2 + int(km / 800), 1 + int(km / 900)
                self.add(
                    "tbl_charge_standard",
                    start_area_id=a.id,
                    stop_area_id=b.id,
                    first_weight_charge=first,
                    follow_up_weight_charge=follow,
                    prescription=days,
                )
                self.out.carrier.charges[(a.id, b.id)] = (first, follow, days)


def generate(sizes: Sizes, rng: random.Random, ids: Ids, when: datetime) -> MasterData:
    """Master data for a new database, as of `when` (the day history starts)."""
    return _Builder(sizes, rng, ids, when).build()
