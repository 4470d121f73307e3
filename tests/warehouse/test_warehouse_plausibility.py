"""Plausibility audits: a KPI out of its sane range fails the build; thresholds come from the
`[warehouse]` settings."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from warehouse_ods import Ods

from kuaike.config import WarehouseSettings
from kuaike.errors import AuditError
from kuaike.warehouse.runner import build

REFERENCE = dt.date(2024, 3, 5)


def _legs(late_every: int, count: int = 300) -> list[dict[str, int | str | None]]:
    """`count` legs on 2024-03-01 (a closed day), every `late_every`-th one an hour late."""
    start, legs = dt.datetime(2024, 3, 1, 8, 0, 0), []
    for n in range(1, count + 1):
        predicted = start + dt.timedelta(hours=4)
        late = n % late_every == 0
        arrived = predicted + dt.timedelta(hours=1 if late else -1)
        legs.append(
            {
                "id": n, "sw_id": 20, "ew_id": 21, "route_id": 40, "state": 2,
                "remark": "延误" if late else None, "start_vehicle_dt": str(start),
                "predict_arrivals_dt": str(predicted), "actual_arrivals_dt": str(arrived),
                "cdt": str(start), "udt": str(arrived),
            }
        )  # fmt: skip
    return legs


def _replica(late_every: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ods = Ods(con)
    batch = ods.batch()
    ods.insert("tbl_transport_record", _legs(late_every), batch)
    # the start warehouse's company and city are known (an unknown one is implausible too)
    ods.insert("tbl_company_warehouse_map", [{"id": 1, "warehouse_id": 20, "company_id": 1}], batch)
    ods.insert(
        "tbl_company",
        [{"id": 1, "company_name": "客快速运(集团)有限公司", "city_id": 110100}],
        batch,
    )
    city = {
        "id": 110100,
        "pid": 110000,
        "name": "北京市",
        "level": "2",
        "mername": "中国,北京市,市辖区",
    }
    ods.insert("tbl_areas", [city], batch)
    return con


def test_an_on_time_rate_of_half_fails_the_build_and_names_the_day() -> None:
    con = _replica(late_every=2)
    # half the legs late: the day's delays and its on-time rate are both out of range
    with pytest.raises(AuditError, match=r"implausible, delayed .* 2024-03-01: 150 of 300"):
        build(con, reference_date=REFERENCE)
    assert con.execute("SELECT status FROM _kuaike.builds").fetchall() == [("failed",)]


def test_an_on_time_rate_below_the_floor_fails_even_with_few_delays_allowed() -> None:
    lenient = WarehouseSettings(plausibility_max_exception_rate=0.9)
    with pytest.raises(AuditError, match=r"on-time rate at least .*2024-03-01: 0\.5"):
        build(_replica(late_every=2), reference_date=REFERENCE, settings=lenient)


def test_a_carriers_on_time_rate_passes() -> None:
    assert build(_replica(late_every=20), reference_date=REFERENCE).status == "ok"


def test_the_thresholds_come_from_the_settings() -> None:
    lenient = WarehouseSettings(plausibility_on_time_floor=0.4, plausibility_max_exception_rate=0.6)
    assert build(_replica(late_every=2), reference_date=REFERENCE, settings=lenient).status == "ok"
    quiet = WarehouseSettings(plausibility_min_volume=1000)  # 300 legs: too few to judge
    assert build(_replica(late_every=2), reference_date=REFERENCE, settings=quiet).status == "ok"


def test_the_reference_date_is_not_judged_while_it_fills_up() -> None:
    con = _replica(late_every=2)
    assert build(con, reference_date=dt.date(2024, 3, 1)).status == "ok"
