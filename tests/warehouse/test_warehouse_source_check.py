"""The independent check of every DWS table: simulate a few days on real PostgreSQL databases
(logistics and CRM, as the demo keeps them), capture them, build the warehouse, and compare
every DWS table's rows with the same numbers computed straight on the source tables from the
documented definitions (tests/warehouse/source_kpis.py), before and after a round of changes
to old facts; the incremental build equals a full one."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest
from source_kpis import SOURCE_KPIS
from tests.conftest import new_pg_database

from kuaike.business.servers import PrivatePostgres
from kuaike.business.simulate import Options, Simulator, Sizes
from kuaike.warehouse.runner import build

END = dt.datetime(2026, 10, 20, 18, 0, 0)
REFERENCE = END.date()
SIZES = Sizes(companies=3, warehouses=8, dots=20, couriers_per_dot=3, customers=300)


def _normal(value: Any) -> Any:
    """Numbers as numbers, times and dates as ISO text, on both sides."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, decimal.Decimal)):
        return round(float(value), 6)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return value


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(_normal(v) for v in row) for row in rows), key=repr)


# The CRM tables, read from the logistics database through postgres_fdw so that one query sees
# both business databases; in a schema of their own, made after the first capture, which the
# capture of the logistics database never reads.
CRM_VIEW = """
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
CREATE SERVER crm FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '127.0.0.1', port '{port}', dbname '{dbname}');
CREATE USER MAPPING FOR CURRENT_USER SERVER crm OPTIONS (user 'postgres');
CREATE SCHEMA crm_check;
IMPORT FOREIGN SCHEMA public LIMIT TO (crm_customer, crm_address, crm_consumer_address_map)
    FROM SERVER crm INTO crm_check;
"""


class Carrier:
    """A simulated carrier in PostgreSQL (logistics and CRM databases) and its kuaike store."""

    def __init__(self, url: str, crm_url: str, store: Path) -> None:
        self.url, self.crm_url, self.store = url, crm_url, store
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KUAIKE_")},
            "KUAIKE_LOGISTICS_URL": url,
            "KUAIKE_CRM_URL": crm_url,
            "KUAIKE_CAPTURE_SLOT_NAME": url.rsplit("/", 1)[1],  # slots are per server
            "KUAIKE_STORE": str(store),
            "KUAIKE_DATA_DIR": str(store.parent / "data"),
        }

    def capture(self) -> None:
        command = [sys.executable, "-m", "kuaike", "capture", "--until-caught-up"]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr[-3000:]

    def build(self, **options: Any) -> dict[str, Any]:
        con = duckdb.connect(str(self.store))
        try:
            return build(con, reference_date=REFERENCE, **options).as_dict()
        finally:
            con.close()

    def see_the_crm(self, port: int) -> None:
        """Make the CRM tables readable (and writable) from the logistics database."""
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(CRM_VIEW.format(port=port, dbname=self.crm_url.rsplit("/", 1)[1]))
        conn.close()

    def _connect(self) -> Any:
        return psycopg2.connect(self.url, options="-c search_path=public,crm_check")

    def source(self, sql: str) -> list[tuple[Any, ...]]:
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, {"ref": REFERENCE})
                return list(cur.fetchall())
        finally:
            conn.close()

    def execute(self, sql: str) -> int:
        """Run a change on the source; the rows it changed."""
        conn = self._connect()
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql, {"end": END})
                return int(cur.rowcount)
        finally:
            conn.close()

    def warehouse(self, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
        return self.query(f"SELECT {', '.join(columns)} FROM {table}")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.store), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def mismatches(self) -> dict[str, str]:
        """Per DWS table whose rows differ from the source's: what differs (first rows)."""
        found = {}
        for table, sql in SOURCE_KPIS.items():
            conn = self._connect()
            with conn.cursor() as cur:
                cur.execute(f"SELECT * FROM ({sql}) AS q LIMIT 0", {"ref": REFERENCE})
                columns = [d[0] for d in cur.description]
            conn.close()
            want = _sorted(self.source(sql))
            got = _sorted(self.warehouse(table, columns))
            if want != got:
                extra = [row for row in got if row not in want][:3]
                missing = [row for row in want if row not in got][:3]
                found[table] = f"{columns}: warehouse only {extra}; source only {missing}"
        return found


@pytest.fixture(scope="module")
def carrier(
    pg_server: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Carrier]:
    url, crm_url = new_pg_database(pg_server, "check"), new_pg_database(pg_server, "check_crm")
    options = Options(seed=21, history_days=5, end=END, orders_per_day=800, sizes=SIZES, workers=2)
    Simulator(url, crm_url, options).run()
    carrier = Carrier(url, crm_url, tmp_path_factory.mktemp("check") / "kuaike.duckdb")
    carrier.capture()
    carrier.see_the_crm(pg_server.port)
    yield carrier


# Changes to old facts, as operations staff make them days later (udt: the end of the history).
CHANGES = [
    # moved: bills re-dated to the day before, parcels handed in at another dot
    "UPDATE tbl_express_bill SET cdt = cdt - interval '1 day', udt = %(end)s "
    "WHERE id %% 23 = 0 AND cdt < %(end)s - interval '2 days'",
    "UPDATE tbl_pkg SET pw_dot_id = (SELECT min(id) FROM tbl_dot), udt = %(end)s "
    "WHERE id %% 29 = 0",
    # re-channelled: orders booked under another channel and terminal
    "UPDATE tbl_express_bill SET order_channel_id = (order_channel_id + 1) %% 5, "
    "order_terminal_type = 1 + order_terminal_type %% 4, udt = %(end)s WHERE id %% 17 = 0",
    # cancelled: collected orders cancelled after all, their bills deleted
    "UPDATE tbl_collect_package SET state = 4, udt = %(end)s WHERE express_bill_id IN "
    "(SELECT id FROM tbl_express_bill WHERE id %% 31 = 0 AND cdt < %(end)s - interval '3 days')",
    "DELETE FROM tbl_express_bill WHERE id %% 31 = 0 AND cdt < %(end)s - interval '3 days'",
    # deleted: waybills and legs entered by mistake, deliveries withdrawn
    "DELETE FROM tbl_transport_record WHERE id %% 37 = 0",
    "DELETE FROM tbl_waybill WHERE id %% 41 = 0",
    "DELETE FROM tbl_deliver_package WHERE id %% 43 = 0",
    # signed late: legs still on the road arrive late, deliveries out are signed or rejected
    "UPDATE tbl_transport_record SET state = 2, actual_arrivals_dt = predict_arrivals_dt "
    "+ interval '5 hours', remark = '延误', udt = %(end)s WHERE state = 1 AND id %% 3 = 0 "
    "AND predict_arrivals_dt + interval '5 hours' < %(end)s",
    "UPDATE tbl_deliver_package SET state = CASE WHEN id %% 2 = 0 THEN 3 ELSE 4 END, "
    "rece_dt = %(end)s, udt = %(end)s WHERE state = 2",
    # corrections of dimensions: a customer's type, a parcel's price, a warehouse's company
    "UPDATE crm_customer SET type = 3 - type, udt = %(end)s WHERE id %% 7 = 0",
    "UPDATE tbl_express_package SET actual_amount = actual_amount + 1, udt = %(end)s "
    "WHERE id %% 11 = 0",
    "UPDATE tbl_company_warehouse_map SET company_id = (SELECT max(id) FROM tbl_company) "
    "WHERE id = (SELECT min(id) FROM tbl_company_warehouse_map)",
]


# The dashboard's figures over the closed days, and the range docs/simulate.md documents.
FIGURES = {
    "on-time rate": ("sum(on_time) / sum(arrived)", "dws.tbl_transit_area_summary", 0.93, 0.97),
    "delayed legs": ("sum(delayed) / sum(arrived)", "dws.tbl_exception_summary", 0.03, 0.07),
    "cancelled orders": ("sum(cancelled) / sum(orders)", "dws.tbl_exception_summary", 0.02, 0.04),
    "rejected deliveries": (
        "sum(rejected) / sum(deliveries)",
        "dws.tbl_exception_summary",
        0.004,
        0.02,
    ),
    "lost legs": ("sum(lost) / sum(legs)", "dws.tbl_exception_summary", 0.0002, 0.004),
}


def assert_a_carriers_figures(carrier: Carrier) -> None:
    """What a carrier's analyst sees on the dashboard is in the documented ranges, and no
    spread has an "unknown" group as its largest."""
    for what, (rate, table, low, high) in FIGURES.items():
        ((value,),) = carrier.query(f"SELECT {rate} FROM {table} WHERE day < DATE '{REFERENCE}'")
        assert low <= value <= high, f"{what}: {value:.4f} not in [{low}, {high}]"
    spreads = carrier.warehouse(
        "dws.tbl_express_bill_summary", ["day", "total", "max_dot_total", "max_type_total"]
    )
    for day, total, max_dot, max_type in spreads:
        assert max_dot < total / 2 and max_type < total, (day, total, max_dot, max_type)


def test_every_dws_table_matches_the_source_before_and_after_changes_to_old_facts(
    carrier: Carrier,
) -> None:
    first = carrier.build()
    assert first["mode"] == "full" and first["reason"] == "first build"
    assert carrier.mismatches() == {}
    assert_a_carriers_figures(carrier)
    for sql in CHANGES:
        assert carrier.execute(sql) > 0, f"changed nothing: {sql}"
    carrier.capture()
    incremental = carrier.build()
    assert incremental["mode"] == "incremental"
    assert carrier.mismatches() == {}
    dws = sorted(SOURCE_KPIS)
    after_incremental = {t: _sorted(carrier.warehouse(t, ["*"])) for t in dws}
    carrier.build(full=True)
    assert {t: _sorted(carrier.warehouse(t, ["*"])) for t in dws} == after_incremental


def test_every_dws_table_has_a_source_side_definition() -> None:
    from kuaike.warehouse.catalog import load_models

    assert {name for name in load_models() if name.startswith("dws.")} == set(SOURCE_KPIS)
