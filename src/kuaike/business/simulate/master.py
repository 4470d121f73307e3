"""Master data, generated once per database: areas, companies, hubs, routes, outlets, work
times, charge and postal standards; the staff and vehicles come from staff.py, the first customers
(CRM) from customers.py.
"""

from __future__ import annotations

import random
from datetime import datetime

from kuaike.business.simulate import people
from kuaike.business.simulate.model import Dot, Ids, Route, Sizes, Warehouse, nearest_warehouse
from kuaike.business.simulate.people import Area, areas, display_name
from kuaike.business.simulate.staff import MasterData, StaffBuilder

__all__ = ["MasterData", "Sizes", "generate"]

COMPANY_CITIES: tuple[int, ...] = (110100, 310100, 440100, 440300, 330100, 510100, 420100)
COMPANY_CITIES += (610100, 410100, 210100, 320100, 500100, 120100, 430100, 370100, 370200)
COMPANY_CITIES += (350100, 530100, 230100, 130100)
JOBS = (("快递员", 1), ("网点经理", 3), ("仓管员", 2), ("分拣员", 1), ("司机", 2), ("客服", 1))
DEPARTMENTS = (("运营部", 1), ("仓储部", 1), ("运输部", 1), ("客服部", 2))


class _Builder(StaffBuilder):
    """Generates master data with one seeded random generator, in a fixed order."""

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
