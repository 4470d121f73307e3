"""The simulator on real servers: the invariants of a carrier's data, determinism, the CRM on
MariaDB, live operation, and the command's bad options."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import psycopg2
import pymysql
import pytest

from kuaike.business.servers import PrivatePostgres
from kuaike.business.simulate import Options, Simulator, Sizes
from kuaike.business.simulate.tables import logistics
from kuaike.cli import main
from tests.conftest import new_pg_database

SMALL = Sizes(companies=3, warehouses=8, dots=20, couriers_per_dot=3, customers=150)
# Three days that end on Double 11's evening: a sale-day peak and parcels still in flight.
END = datetime(2026, 11, 11, 20, 0, 0)


def _options(**changes: Any) -> Options:
    base: dict[str, Any] = {
        "seed": 7,
        "history_days": 3,
        "end": END,
        "orders_per_day": 400,
        "sizes": SMALL,
    }
    return Options(**(base | changes))


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def _one(url: str, sql: str) -> Any:
    return _rows(url, sql)[0][0]


@pytest.fixture(scope="module")
def history(pg_server: PrivatePostgres) -> str:
    """Three days of history (logistics and CRM in PostgreSQL), simulated once for the module."""
    url = new_pg_database(pg_server, "sim")
    Simulator(url, url, _options()).run()
    return url


def test_history_writes_every_stage_of_the_parcel_lifecycle(history: str) -> None:
    for name in (
        "tbl_express_bill",
        "tbl_collect_package",
        "tbl_express_package",
        "tbl_consumer_sender_info",
        "tbl_waybill",
        "tbl_pkg",
        "tbl_push_warehouse",
        "tbl_push_warehouse_detail",
        "tbl_transport_record",
        "tbl_out_warehouse",
        "tbl_out_warehouse_detail",
        "tbl_deliver_package",
        "tbl_service_evaluation",
        "crm_customer",
    ):
        assert _one(history, f"SELECT count(*) FROM {name}") > 0, name
    # Updated rows carry a later udt; cancelled orders are deleted, their dispatch cancelled.
    assert _one(history, "SELECT count(*) FROM tbl_transport_record WHERE udt > cdt") > 0
    cancelled = _one(
        history,
        "SELECT count(*) FROM tbl_collect_package c WHERE c.state = 4 AND NOT EXISTS "
        "(SELECT 1 FROM tbl_express_bill b WHERE b.id = c.express_bill_id)",
    )
    assert cancelled > 0
    assert _one(history, "SELECT count(*) FROM tbl_express_bill WHERE udt < cdt") == 0


def test_every_waybill_references_an_existing_bill_and_package(history: str) -> None:
    orphans = _one(
        history,
        "SELECT count(*) FROM tbl_waybill w "
        "LEFT JOIN tbl_express_bill b ON b.express_number = w.express_bill_number "
        "LEFT JOIN tbl_express_package p ON p.id = w.pkg_id "
        "LEFT JOIN tbl_pkg k ON k.id = w.pkg_id AND k.pw_bill = w.express_bill_number "
        "WHERE b.id IS NULL OR p.id IS NULL OR k.id IS NULL",
    )
    assert orphans == 0


def test_timestamps_never_go_backwards_along_a_parcel(history: str) -> None:
    _assert_time_runs_forward(history)


def _assert_time_runs_forward(url: str) -> None:
    checks = {
        "collected before ordered": "SELECT count(*) FROM tbl_collect_package c JOIN "
        "tbl_express_bill b ON b.id = c.express_bill_id WHERE c.collect_package_dt < b.order_dt",
        "waybill before collection": "SELECT count(*) FROM tbl_waybill w JOIN tbl_collect_package"
        " c ON c.express_bill_number = w.express_bill_number WHERE w.cdt < c.collect_package_dt",
        "into a hub before the waybill": "SELECT count(*) FROM tbl_push_warehouse p JOIN "
        "tbl_waybill w ON w.waybill_number = p.pw_waybill_number WHERE p.pw_start_dt < w.cdt",
        "left before arriving": "SELECT count(*) FROM tbl_transport_record t JOIN "
        "tbl_push_warehouse p ON p.id = t.pw_id WHERE t.start_vehicle_dt < p.pw_start_dt "
        "OR t.actual_arrivals_dt < t.start_vehicle_dt",
        "next leg before the last arrived": "SELECT count(*) FROM tbl_transport_record a JOIN "
        "tbl_transport_record b ON a.pw_waybill_number = b.pw_waybill_number AND b.sw_id = "
        "a.ew_id AND b.id > a.id WHERE b.start_vehicle_dt < a.actual_arrivals_dt",
        "delivered before the last arrival": "SELECT count(*) FROM tbl_deliver_package d JOIN "
        "tbl_transport_record t ON t.pw_waybill_number = d.waybill_number "
        "WHERE d.cdt < t.actual_arrivals_dt OR d.rece_dt < d.cdt",
        "evaluated before signing": "SELECT count(*) FROM tbl_service_evaluation e JOIN "
        "tbl_deliver_package d ON d.express_bill_id = e.express_bill WHERE e.cdt < d.rece_dt",
    }
    for what, sql in checks.items():
        assert _one(url, sql) == 0, what


def test_every_signed_parcel_has_a_delivery_record(history: str) -> None:
    signed = _one(history, "SELECT count(*) FROM tbl_deliver_package WHERE state = 3")
    assert signed > 0
    unrecorded = _one(
        history,
        "SELECT count(*) FROM tbl_deliver_package d WHERE d.state = 3 AND (d.rece_dt IS NULL "
        "OR NOT EXISTS (SELECT 1 FROM tbl_out_warehouse o WHERE o.pw_waybill_number = "
        "d.waybill_number AND o.ow_dot_id IS NOT NULL))",
    )
    assert unrecorded == 0
    evaluated_unsigned = _one(
        history,
        "SELECT count(*) FROM tbl_service_evaluation e LEFT JOIN tbl_deliver_package d "
        "ON d.express_bill_id = e.express_bill AND d.state = 3 WHERE d.id IS NULL",
    )
    assert evaluated_unsigned == 0


def test_every_leg_follows_a_route_between_the_warehouses_it_names(history: str) -> None:
    astray = _one(
        history,
        "SELECT count(*) FROM tbl_transport_record t LEFT JOIN tbl_route r ON r.id = t.route_id "
        "AND r.start_warehouse_id = t.sw_id AND r.end_warehouse_id = t.ew_id WHERE r.id IS NULL",
    )
    assert astray == 0
    first_leg_elsewhere = _one(
        history,
        "SELECT count(*) FROM tbl_transport_record t JOIN tbl_pkg k ON k.pw_bill = "
        "(SELECT w.express_bill_number FROM tbl_waybill w WHERE w.waybill_number = "
        "t.pw_waybill_number) WHERE t.id = (SELECT min(id) FROM tbl_transport_record x WHERE "
        "x.pw_waybill_number = t.pw_waybill_number) AND t.sw_id <> k.warehouse_id",
    )
    assert first_leg_elsewhere == 0


def test_exceptions_happen_delays_and_rejections(history: str) -> None:
    assert _one(history, "SELECT count(*) FROM tbl_transport_record WHERE remark = '延误'") > 0
    assert _one(history, "SELECT count(*) FROM tbl_transport_record WHERE state = 1") > 0


def test_every_kpi_dimension_is_populated_and_joins(history: str) -> None:
    distinct = {
        "order_channel_id": 5,
        "order_terminal_type": 4,
        "type": 2,
    }
    for column, expected in distinct.items():
        found = _one(
            history,
            f"SELECT count(DISTINCT b.{column}) FROM tbl_express_bill b JOIN tbl_codes c "
            f"ON c.code = b.{column}::text AND c.type = "
            f"{ {'order_channel_id': 18, 'order_terminal_type': 17, 'type': 16}[column] }",
        )
        assert found == expected, column
    assert _one(history, "SELECT count(*) FROM tbl_express_bill b WHERE b.cid IS NULL") == 0
    dims = _rows(
        history,
        "SELECT count(DISTINCT d.id), count(DISTINCT a.id), count(DISTINCT c.id) "
        "FROM tbl_express_bill b JOIN tbl_courier k ON k.id = b.eid JOIN tbl_dot d "
        "ON d.id = k.dot_id JOIN tbl_areas a ON a.id = d.manage_area_id JOIN "
        "tbl_company_dot_map m ON m.dot_id = d.id JOIN tbl_company c ON c.id = m.company_id "
        "JOIN tbl_areas city ON city.id = c.city_id",
    )[0]
    assert dims[0] > 5 and dims[1] > 5 and dims[2] == SMALL.companies
    legs = _rows(
        history,
        "SELECT count(DISTINCT t.route_id), count(DISTINCT v.id), count(DISTINCT w.id) "
        "FROM tbl_transport_record t JOIN tbl_waybill w ON w.waybill_number = "
        "t.pw_waybill_number JOIN tbl_transport_tool v ON v.id = t.transport_tool_id "
        "JOIN tbl_warehouse h ON h.id = t.sw_id JOIN tbl_company_warehouse_map m "
        "ON m.warehouse_id = h.id",
    )[0]
    assert legs[0] > 3 and legs[1] > 3 and legs[2] > 0
    assert _one(history, "SELECT count(DISTINCT type) FROM tbl_transport_tool") == 8
    assert _one(history, "SELECT count(DISTINCT state) FROM tbl_transport_tool") == 4
    for fact, column in (("tbl_dot_transport_tool", "dot_id"), ("tbl_courier", "dot_id")):
        assert (
            _one(
                history,
                f"SELECT count(*) FROM {fact} WHERE {column} NOT IN (SELECT id FROM tbl_dot)",
            )
            == 0
        )
    unknown_senders = _one(
        history,
        "SELECT count(*) FROM tbl_consumer_sender_info s LEFT JOIN crm_customer c "
        "ON c.id = s.ciid WHERE c.id IS NULL",
    )
    assert unknown_senders == 0


def test_the_sale_day_is_busier_than_an_ordinary_day(history: str) -> None:
    # Every order gets a courier dispatch, cancelled or not: count orders by those.
    per_day = dict(_rows(history, "SELECT cdt::date, count(*) FROM tbl_collect_package GROUP BY 1"))
    assert per_day[END.date()] > 2 * per_day[(END - timedelta(days=2)).date()]


def _fingerprint(url: str) -> dict[str, str]:
    digest = {}
    # tbl_codes is loaded by `schema create` with the wall-clock time; everything else is ours.
    names = [n for n in logistics() if n != "tbl_codes"]
    for name in [*names, "crm_customer", "crm_address", "crm_consumer_address_map"]:
        rows = _rows(url, f"SELECT t::text FROM {name} t ORDER BY id")
        digest[name] = hashlib.sha256("\n".join(r[0] for r in rows).encode()).hexdigest()
    return digest


def test_the_same_seed_gives_the_same_rows_in_any_number_of_processes(
    pg_server: PrivatePostgres,
) -> None:
    first, second, other = (new_pg_database(pg_server, "seed") for _ in range(3))
    # 1,500 orders: two chunks, so the parallel run splits them between its processes.
    small = {"history_days": 1, "orders_per_day": 1_500, "end": datetime(2026, 11, 3, 23)}
    Simulator(first, first, _options(workers=1, **small)).run()
    Simulator(second, second, _options(workers=3, **small)).run()
    Simulator(other, other, _options(seed=8, **small)).run()
    assert _fingerprint(first) == _fingerprint(second)
    assert _fingerprint(first)["tbl_express_bill"] != _fingerprint(other)["tbl_express_bill"]


def test_crm_rows_go_to_mysql_when_the_crm_url_is_mysql(pg_url: str, mysql_url: str) -> None:
    Simulator(pg_url, mysql_url, _options(history_days=1, orders_per_day=100)).run()
    before = _mysql_ids(mysql_url)
    assert len(before) >= SMALL.customers
    bill_customers = {row[0] for row in _rows(pg_url, "SELECT DISTINCT cid FROM tbl_express_bill")}
    assert bill_customers and bill_customers <= before
    assert _one(pg_url, "SELECT to_regclass('crm_customer') IS NULL")
    # Live registrations are transactions on MariaDB too.
    live = _options(history_days=0, rate=150.0, duration=1.5, workers=1)
    summary = Simulator(pg_url, mysql_url, live).run().as_dict()["live"]
    registered = summary["row_changes"]["crm_customer:I"]
    assert registered >= 2
    assert len(_mysql_ids(mysql_url)) == len(before) + registered


def _mysql_ids(url: str) -> set[int]:
    conn = pymysql.connect(**_mysql_kwargs(url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM crm_customer")
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def _mysql_kwargs(url: str) -> dict[str, Any]:
    from kuaike.databases import SourceURL

    return SourceURL.parse(url).pymysql_kwargs()


def test_live_continues_the_parcels_in_flight_with_transactions(pg_url: str) -> None:
    end = datetime.now().replace(microsecond=0) - timedelta(hours=30)
    options = _options(history_days=1, end=end, orders_per_day=200, rate=20.0, duration=2.0)
    summary = Simulator(pg_url, pg_url, options).run()
    live = summary.as_dict()["live"]
    assert live["orders"] >= 20
    assert live["operations"] > live["orders"]  # in-flight parcels moved on as well
    assert live["row_changes"].get("tbl_transport_record:U", 0) > 0
    live_orders = _one(
        pg_url, "SELECT count(*) FROM tbl_collect_package WHERE cdt > now() - interval '1 hour'"
    )
    assert live_orders == live["orders"]
    # A second run finds the master data and continues the ids.
    Simulator(pg_url, pg_url, _options(history_days=0, rate=10.0, duration=1.0)).run()
    assert _one(pg_url, "SELECT count(*) FROM tbl_dot") == SMALL.dots
    duplicates = _one(
        pg_url, "SELECT count(*) - count(DISTINCT express_number) FROM tbl_express_bill"
    )
    assert duplicates == 0


def _run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(args)
    out, err = capsys.readouterr()
    return int(stopped.value.code or 0), out, err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--rate", "-5"], "--rate must be more than 0"),
        (["--history-days", "1", "--end", "2026-13-45"], "is not a date"),
        (["--history-days", "-1"], "--history-days must be 0 or more"),
        (["--duration", "5"], "--duration needs --rate"),
    ],
)
def test_bad_options_give_one_line_and_fail(
    args: list[str], words: str, workdir: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = _run_cli(["simulate", *args], capsys)
    assert code != 0
    assert len(err.strip().splitlines()) == 1
    assert words in err


def test_cli_prints_a_json_summary(
    pg_url: str, workdir: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUAIKE_LOGISTICS_URL", pg_url)
    monkeypatch.setenv("KUAIKE_CRM_URL", pg_url)
    args = ["simulate", "--history-days", "1", "--end", "2026-11-02", "--orders-per-day", "100"]
    args += ["--seed", "3", "--warehouses", "4", "--dots", "8", "--customers", "50", "--json"]
    try:
        main(args)
    except SystemExit as stopped:
        assert not stopped.code
    summary = json.loads(capsys.readouterr().out)
    assert summary["history"]["orders"] > 50
    assert summary["master_rows"]["tbl_dot"] == 8
    assert summary["history"]["rows_total"] == sum(summary["history"]["rows"].values())


def test_an_empty_crm_gets_its_first_customers(pg_server: PrivatePostgres) -> None:
    logistics_url, first_crm, new_crm = (new_pg_database(pg_server, "crm") for _ in range(3))
    Simulator(logistics_url, first_crm, _options(history_days=0)).run()
    Simulator(logistics_url, new_crm, _options(history_days=1, orders_per_day=100)).run()
    assert _one(new_crm, "SELECT count(*) FROM crm_customer") >= SMALL.customers
    assert _one(logistics_url, "SELECT count(*) FROM tbl_dot") == SMALL.dots


def test_a_later_live_run_moves_the_parcels_left_in_flight(pg_url: str) -> None:
    end = datetime.now().replace(microsecond=0) - timedelta(hours=20)
    Simulator(pg_url, pg_url, _options(history_days=1, end=end, orders_per_day=300)).run()
    in_transit = "SELECT id FROM tbl_transport_record WHERE state = 1"
    waiting = [row[0] for row in _rows(pg_url, in_transit)]
    assert waiting
    live = _options(history_days=0, rate=5.0, duration=3.0)
    summary = Simulator(pg_url, pg_url, live).run().as_dict()["live"]
    assert summary["resumed_parcels"] > 0
    assert summary["row_changes"].get("tbl_transport_record:U", 0) > 0
    assert summary["row_changes"].get("tbl_deliver_package:U", 0) > 0
    arrived = _one(
        pg_url,
        "SELECT count(*) FROM tbl_transport_record WHERE state = 2 AND id IN ("
        + ",".join(map(str, waiting))
        + ")",
    )
    assert arrived > 0
    _assert_time_runs_forward(pg_url)
    legs = "SELECT count(*) FROM tbl_transport_record t LEFT JOIN tbl_route r ON r.id = t.route_id "
    legs += "AND r.start_warehouse_id = t.sw_id AND r.end_warehouse_id = t.ew_id WHERE r.id IS NULL"
    assert _one(pg_url, legs) == 0
