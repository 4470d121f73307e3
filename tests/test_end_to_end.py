"""The whole platform, as a carrier's data engineer runs it: simulate the business, capture both
databases (logistics on PostgreSQL, CRM on MariaDB), build the warehouse, and check the KPIs
against counts taken straight from the source databases."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest

from kuaike.business.servers import PrivateMariaDB, PrivatePostgres
from tests.conftest import new_mysql_database, new_pg_database
from tests.test_cli import kuaike

SIMULATION = [
    "--seed", "5", "--orders-per-day", "300", "--companies", "3", "--warehouses", "8",
    "--dots", "20", "--couriers-per-dot", "3", "--customers", "150", "--workers", "1",
]  # fmt: skip


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _source_counts(url: str, table: str) -> dict[str, int]:
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute(f"SELECT cdt::date::text, count(*) FROM {table} GROUP BY 1")
        counts = {day: int(n) for day, n in cur.fetchall()}
    conn.close()
    return counts


def _store_rows(store: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _summary_totals(store: Path, theme: str) -> dict[str, int]:
    rows = _store_rows(store, f"SELECT day::text, total FROM dws.tbl_{theme}_summary")
    return {day: int(total) for day, total in rows}


@pytest.fixture
def carrier(
    pg_server: PrivatePostgres, mariadb_server: PrivateMariaDB, tmp_path: Path
) -> dict[str, str]:
    """Environment for a carrier whose logistics DB is PostgreSQL and whose CRM is MariaDB."""
    logistics = new_pg_database(pg_server, "e2e")
    return {
        "KUAIKE_LOGISTICS_URL": logistics,
        "KUAIKE_CAPTURE_SLOT_NAME": logistics.rsplit("/", 1)[1],  # slots are per server
        "KUAIKE_CRM_URL": new_mysql_database(mariadb_server, "e2e_crm"),
        "KUAIKE_DATA_DIR": str(tmp_path / "data"),
        "KUAIKE_STORE": str(tmp_path / "kuaike.duckdb"),
    }


def test_kpis_match_the_sources_after_history_live_changes_and_incremental_builds(
    carrier: dict[str, str], tmp_path: Path
) -> None:
    store = Path(carrier["KUAIKE_STORE"])
    logistics = carrier["KUAIKE_LOGISTICS_URL"]
    history = ["--history-days", "3", "--end", "2026-11-11 20:00:00"]
    _ok(kuaike("simulate", *history, *SIMULATION, env=carrier, cwd=tmp_path))
    _ok(kuaike("capture", "--until-caught-up", env=carrier, cwd=tmp_path))
    built = json.loads(_ok(kuaike("build", "--json", env=carrier, cwd=tmp_path)))
    assert built["status"] == "ok"
    assert _summary_totals(store, "express_bill") == _source_counts(logistics, "tbl_express_bill")
    assert _summary_totals(store, "waybill") == _source_counts(logistics, "tbl_waybill")
    customers = _store_rows(store, "SELECT count(*) FROM ods.tbl_customer")[0][0]
    assert customers >= 150  # the CRM arrived from MariaDB under its reference name

    # Live operation: new orders, and updates / cancellations of parcels in flight.
    _ok(
        kuaike(
            "simulate", "--rate", "20", "--duration", "4", *SIMULATION, env=carrier, cwd=tmp_path
        )
    )
    _ok(kuaike("capture", "--until-caught-up", env=carrier, cwd=tmp_path))
    incremental = json.loads(_ok(kuaike("build", "--json", env=carrier, cwd=tmp_path)))
    assert incremental["status"] == "ok"
    assert _summary_totals(store, "express_bill") == _source_counts(logistics, "tbl_express_bill")
    assert _summary_totals(store, "waybill") == _source_counts(logistics, "tbl_waybill")

    everything = "SELECT * FROM dws.tbl_waybill_summary ORDER BY day"
    after_incremental = _store_rows(store, everything)
    _ok(kuaike("build", "--full", env=carrier, cwd=tmp_path))
    assert _store_rows(store, everything) == after_incremental


def test_run_captures_and_builds_on_its_schedule_in_one_process(
    carrier: dict[str, str], tmp_path: Path
) -> None:
    store = Path(carrier["KUAIKE_STORE"])
    history = ["--history-days", "2", "--end", "2026-11-20 20:00:00"]
    _ok(kuaike("simulate", *history, *SIMULATION, env=carrier, cwd=tmp_path))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KUAIKE_")},
        **carrier,
        "KUAIKE_WAREHOUSE_SCHEDULE": "* * * * * */3",  # every 3 seconds
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "kuaike", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(20)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr[-3000:]
    builds = _store_rows(store, "SELECT status FROM _kuaike.builds")
    assert ("ok",) in builds, builds
    assert _summary_totals(store, "express_bill") == _source_counts(
        carrier["KUAIKE_LOGISTICS_URL"], "tbl_express_bill"
    )
