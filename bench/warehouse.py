"""Warehouse benchmark: full build over N express bills with their related rows, then the
incremental build after one day of changes, each with its peak memory (RSS).

    python bench/warehouse.py                 # 10 M bills (the target: full < 60 s, incr < 10%)
    python bench/warehouse.py --bills 1000000 # quicker

The replica is generated directly in DuckDB (generate_series) over one year: per bill an express
bill, a pkg row, a parcel, a sender-info row, a waybill, a transport leg and a delivery; plus
1 M customers with addresses, 300 dots, 5,000 couriers, 130 warehouses, 16,000 routes.
"One day of changes" = the next day's bills with all their rows, arrivals and sign-offs for the
legs and deliveries of the 3 previous days, 100 bills of the last 30 days changed, 10 deleted.
`--rename-dot` adds a renamed dot (which touches every day: a dimension change reaches every row
that names it). Each phase runs in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "warehouse"))

from warehouse_ods import Ods

from kuaike.config import WarehouseSettings
from kuaike.store.writer import open_duckdb
from kuaike.warehouse.engines.duckdb import open_warehouse
from kuaike.warehouse.runner import build

YEAR = 365 * 86400
START = "TIMESTAMP '2023-01-01 00:00:00'"
REFERENCE = dt.date(2024, 1, 2)
SYNTHETIC = WarehouseSettings(plausibility_on_time_floor=0, plausibility_max_exception_rate=1)
"""generate_series data is not a plausible carrier (a third of its legs are late): the
plausibility audits run, with thresholds it passes; the key and row audits are unchanged."""
META = "'snapshot' AS _kuaike_op, '0' AS _kuaike_pos, now() AS _kuaike_commit_ts"


def dimensions(con: duckdb.DuckDBPyConnection, batch: int) -> None:
    """Dots, couriers, customers, addresses, warehouses, vehicles, routes."""
    meta = f"{META}, {batch} AS _kuaike_batch"
    statements = {
        "tbl_areas": "SELECT i AS id, '区' || i AS name, '中国-省' || (i % 31) || '-市'"
        " || (i % 300) || '-区' || i AS mername, '3' AS level FROM range(1, 3001) t(i)",
        "tbl_company": "SELECT i AS id, '公司' || i AS company_name, (i * 7) % 3000 + 1 AS city_id"
        " FROM range(1, 11) t(i)",
        "tbl_dot": "SELECT i AS id, '网点' || i AS dot_name, (i * 10) % 3000 + 1 AS manage_area_id"
        " FROM range(1, 301) t(i)",
        "tbl_company_dot_map": "SELECT i AS id, i AS dot_id, i % 10 + 1 AS company_id"
        " FROM range(1, 301) t(i)",
        "tbl_courier": "SELECT i AS id, '快递员' || i AS name, i % 300 + 1 AS dot_id"
        " FROM range(1, 5001) t(i)",
        "tbl_customer": "SELECT i AS id, '客户' || i AS name, i % 2 + 1 AS type, '13'"
        " || (i % 10) || lpad(CAST(i AS VARCHAR), 8, '0') AS mobile,"
        " TIMESTAMP '2022-01-01' + to_seconds(i * 30) AS reg_dt FROM range(1, 1000001) t(i)",
        "tbl_address": "SELECT i AS id, '地址' || i AS detail_addr, i % 3000 + 1 AS area_id"
        " FROM range(1, 1000001) t(i)",
        "tbl_consumer_address_map": "SELECT i AS id, i AS consumer_id, i AS address_id"
        " FROM range(1, 1000001) t(i)",
        "tbl_warehouse": "SELECT i AS id, '仓库' || i AS name FROM range(1, 131) t(i)",
        "tbl_company_warehouse_map": "SELECT i AS id, i AS warehouse_id, i % 10 + 1 AS company_id"
        " FROM range(1, 131) t(i)",
        "tbl_transport_tool": "SELECT i AS id, '京A' || i AS license_plate, i % 8 + 1 AS type,"
        " '1' AS state FROM range(1, 1001) t(i)",
        "tbl_route": "SELECT i AS id, '站' || i AS start_station, '站' || (i + 1) AS end_station"
        " FROM range(1, 16001) t(i)",
        "tbl_dot_transport_tool": f"SELECT i AS id, i % 300 + 1 AS dot_id, i % 1000 + 1 AS"
        f" transport_tool_id, {START} + to_seconds(i * 3000) AS cdt FROM range(1, 10001) t(i)",
        "tbl_warehouse_transport_tool": f"SELECT i AS id, i % 130 + 1 AS warehouse_id, i % 1000 + 1"
        f" AS transport_tool_id, {START} + to_seconds(i * 3000) AS cdt FROM range(1, 10001) t(i)",
    }
    for table, select in statements.items():
        con.execute(f"INSERT INTO ods.{table} BY NAME SELECT *, {meta} FROM ({select})")


def bills(con: duckdb.DuckDBPyConnection, first: int, last: int, total: int, batch: int) -> None:
    """Bills first..last (one year spread over `total` bills) with every related row."""
    meta = f"{META}, {batch} AS _kuaike_batch"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE b AS SELECT i, {START} + to_seconds(CAST(i * {YEAR} //"
        f" {total} AS BIGINT)) AS cdt, hash(i) % 1000000 + 1 AS cid, i % 5000 + 1 AS eid"
        f" FROM range({first}, {last + 1}) t(i)"
    )
    selects = {
        "tbl_express_bill": "i AS id, 'E' || i AS express_number, cid, eid, i % 5 AS"
        " order_channel_id, i % 4 + 1 AS order_terminal_type, cdt",
        "tbl_pkg": "i AS id, 'E' || i AS pw_bill, i % 300 + 1 AS pw_dot_id, cdt",
        "tbl_express_package": "i AS id, CAST(i % 50 + 0.5 AS DECIMAL(10, 2)) AS actual_amount,"
        " cid AS send_address_id, hash(i + 1) % 1000000 + 1 AS recv_address_id, cdt",
        "tbl_consumer_sender_info": "i AS id, cid AS ciid, i AS pkg_id, i AS express_bill_id, cdt",
        "tbl_waybill": "i AS id, 'E' || i AS express_bill_number, 'W' || i AS waybill_number, cid,"
        " eid, cdt + INTERVAL 1 HOUR AS cdt",
        "tbl_transport_record": "i AS id, 'W' || i AS pw_waybill_number, i % 130 + 1 AS sw_id,"
        " (i * 7) % 130 + 1 AS ew_id, i % 1000 + 1 AS transport_tool_id, i % 16000 + 1 AS"
        " route_id, cdt + INTERVAL 2 HOUR AS start_vehicle_dt, cdt + INTERVAL 14 HOUR AS"
        " predict_arrivals_dt, CASE WHEN i % 50 <> 0 THEN cdt + to_hours(2 + i % 20) END AS"
        " actual_arrivals_dt, cdt + INTERVAL 2 HOUR AS cdt",
        "tbl_deliver_package": "i AS id, eid AS emp_id, 'E' || i AS express_bill_number,"
        " i % 5 + 1 AS state, cdt + INTERVAL 20 HOUR AS cdt",
    }
    for table, select in selects.items():
        con.execute(f"INSERT INTO ods.{table} BY NAME SELECT {select}, {meta} FROM b")


def one_day_of_changes(con: duckdb.DuckDBPyConnection, total: int, rename_dot: bool) -> int:
    """The next day's bills, arrivals/sign-offs of 3 days, 100 changed and 10 deleted bills."""
    ods = Ods.__new__(Ods)
    ods.con = con
    batch = ods.batch("bench")
    per_day = total // 365
    bills(con, total + 1, total + per_day, total, batch)
    recent = f"id BETWEEN {total - 3 * per_day} AND {total}"
    con.execute(
        f"UPDATE ods.tbl_transport_record SET actual_arrivals_dt = predict_arrivals_dt,"
        f" _kuaike_batch = {batch} WHERE {recent} AND actual_arrivals_dt IS NULL"
    )
    con.execute(
        f"UPDATE ods.tbl_deliver_package SET state = 3, _kuaike_batch = {batch}"
        f" WHERE {recent} AND state = 2"
    )
    month = f"id BETWEEN {total - 30 * per_day} AND {total}"
    con.execute(
        f"UPDATE ods.tbl_express_bill SET order_channel_id = 4, _kuaike_batch = {batch}"
        f" WHERE id IN (SELECT id FROM ods.tbl_express_bill WHERE {month} USING SAMPLE 100 ROWS)"
    )
    for row_id in range(total - 10 * per_day, total - 10 * per_day + 10):
        ods.delete("tbl_express_bill", row_id, batch)
    if rename_dot:
        ods.update("tbl_dot", 7, {"dot_name": "改名网点"}, batch)
    return batch


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(name: str, path: Path, total: int, rename_dot: bool) -> dict[str, object]:
    """Run one phase in this process; return its figures."""
    started = time.perf_counter()
    if name == "generate":
        con = open_duckdb(path)  # as a new store is created: in DuckDB's newest storage format
        ods = Ods(con)
        batch = ods.batch("bench")
        dimensions(con, batch)
        bills(con, 1, total, total, batch)
        con.close()
        return {"seconds": time.perf_counter() - started, "rss_mb": rss_mb()}
    con = open_warehouse(path, memory_limit="3GB")
    if name == "changes":
        one_day_of_changes(con, total, rename_dot)
        con.close()
        return {"seconds": time.perf_counter() - started, "rss_mb": rss_mb()}
    summary = build(con, full=(name == "full"), reference_date=REFERENCE, settings=SYNTHETIC)
    con.close()
    slowest = sorted(summary.runs, key=lambda run: -run.duration_ms)[:5]
    return {
        "seconds": time.perf_counter() - started,
        "rss_mb": rss_mb(),
        "slowest": [(run.model, run.action, round(run.duration_ms / 1000, 2)) for run in slowest],
    }


def run_phase(name: str, path: Path, total: int, rename_dot: bool) -> dict[str, object]:
    """Run a phase in a fresh process (own peak RSS)."""
    args = [sys.executable, __file__, "--phase", name, "--store", str(path), "--bills", str(total)]
    if rename_dot:
        args.append("--rename-dot")
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        sys.exit(f"phase {name} failed: {lines[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=10_000_000)
    parser.add_argument("--rename-dot", action="store_true")
    parser.add_argument("--phase", choices=["generate", "full", "changes", "incremental"])
    parser.add_argument("--store", type=Path)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.store, args.bills, args.rename_dot)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        figures = {}
        for name in ("generate", "full", "changes", "incremental"):
            figures[name] = run_phase(name, path, args.bills, args.rename_dot)
            print(
                f"{name:12s} {figures[name]['seconds']:7.1f} s   peak RSS "
                f"{figures[name]['rss_mb']:7.0f} MB",
                flush=True,
            )
            for slow in figures[name].get("slowest", []):  # type: ignore[union-attr]
                print(f"    {slow}")
        full, incremental = figures["full"]["seconds"], figures["incremental"]["seconds"]
        print(
            f"bills {args.bills:,}: full build {full:.1f} s (target < 60 s), incremental "
            f"{incremental:.1f} s = {100 * incremental / full:.1f}% of full (target < 10%), "
            f"peak RSS {max(f['rss_mb'] for f in figures.values()):.0f} MB (target < 4096 MB)"
        )


if __name__ == "__main__":
    main()
