"""Customers of the CRM: registration with one or two addresses (crm_customer, crm_address,
crm_consumer_address_map). The first customers come with the master data; more register over time.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from kuaike.business.simulate import people
from kuaike.business.simulate.model import Address, Carrier, Customer, Ids, Row, stamp
from kuaike.business.simulate.people import areas

EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "gmail.com")
ENTERPRISE_SHARE = 0.15


def _district(rng: random.Random, carrier: Carrier) -> int:
    """Mostly where the carrier has outlets, sometimes anywhere in the country."""
    if carrier.dots and rng.random() < 0.8:
        return rng.choice(list(carrier.dots.values())).area_id
    districts = _districts()
    return districts[rng.randrange(len(districts))]


_DISTRICTS: list[int] = []


def _districts() -> list[int]:
    if not _DISTRICTS:
        _DISTRICTS.extend(a.id for a in areas().values() if a.level == 3)
    return _DISTRICTS


def register(
    rng: random.Random, ids: Ids, carrier: Carrier, when: datetime
) -> list[tuple[str, Row]]:
    """A new customer with its addresses as (table, row) pairs; the carrier learns of it."""
    name = people.person_name(rng)
    phone = people.mobile(rng)
    kind = 2 if rng.random() < ENTERPRISE_SHARE else 1
    customer = stamp(
        {
            "id": ids.take("crm_customer"),
            "name": name,
            "tel": f"0{rng.randrange(10, 999)}-{rng.randrange(10**7, 10**8)}"
            if kind == 2
            else None,
            "mobile": phone,
            "email": f"{phone}@{rng.choice(EMAIL_DOMAINS)}",
            "type": kind,
            "is_own_reg": 1 if rng.random() < 0.8 else 0,
            "reg_dt": when,
            "reg_channel_id": rng.choices((0, 1, 2, 3), (10, 15, 45, 30))[0],
            "state": 1,
            "last_login_dt": when + timedelta(minutes=rng.randrange(1, 600)),
        },
        when,
    )
    rows: list[tuple[str, Row]] = [("crm_customer", customer)]
    first: Address | None = None
    for _ in range(1 if rng.random() < 0.7 else 2):
        area_id = _district(rng, carrier)
        area = areas()[area_id]
        detail = people.street_address(rng, area)
        address = stamp(
            {
                "id": ids.take("crm_address"),
                "name": name,
                "mobile": phone,
                "detail_addr": detail,
                "area_id": area_id,
                "gis_addr": people.gis(area, rng, 0.03, sep=",")[:20],
            },
            when,
        )
        link = {"id": ids.take("crm_consumer_address_map"), "consumer_id": customer["id"]}
        link["address_id"] = address["id"]
        rows += [("crm_address", address), ("crm_consumer_address_map", stamp(link, when))]
        known = Address(address["id"], name, phone, detail, area_id)
        carrier.addresses[known.id] = known
        carrier.address_pool.append(known)
        first = first or known
    assert first is not None
    carrier.customers.append(Customer(customer["id"], kind, first.id))
    return rows
