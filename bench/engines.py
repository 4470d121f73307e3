"""Engines benchmark: the full warehouse build on DuckDB and on Spark `local[2]`, same models,
same data, in one run; their ratio (target: DuckDB >= 20x faster).

    python bench/engines.py                   # 1 M express bills
    python bench/engines.py --bills 200000    # quicker

The replica is bench/warehouse.py's (generated in DuckDB, one year of bills with their rows).
It is exported to a Parquet lake (`kuaike export`), then built in full by DuckDB on the store
(kuaike's own build, audits included) and by Spark over the lake (`kuaike build --engine spark`:
registration of the lake's tables, then every model written as Parquet). Spark's session
start is measured apart and shown; the ratio compares whole build with whole build, DuckDB's
against Spark's registration plus models.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kuaike.warehouse.engines.duckdb import open_warehouse
from kuaike.warehouse.engines.spark import session
from kuaike.warehouse.export import export
from kuaike.warehouse.lake_build import build_on_spark
from kuaike.warehouse.runner import build
from warehouse import REFERENCE, SYNTHETIC

TARGET = 20.0


def generate(path: Path, bills: int) -> float:
    """bench/warehouse.py's replica, in its own process."""
    started = time.perf_counter()
    script = Path(__file__).resolve().parent / "warehouse.py"
    args = [sys.executable, str(script), "--phase", "generate", "--store", str(path)]
    subprocess.run([*args, "--bills", str(bills)], check=True, capture_output=True)
    return time.perf_counter() - started


def cpu_seconds() -> float:
    """This process's CPU time so far (every DuckDB thread's)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build_duckdb(exported: Path, run: int) -> float:
    """One full build (kuaike's, audits included) on a fresh copy of the exported store."""
    copy = exported.with_name(f"run{run}.duckdb")
    shutil.copyfile(exported, copy)
    con = open_warehouse(copy, memory_limit="3GB")
    started, cpu = time.perf_counter(), cpu_seconds()
    build(con, full=True, reference_date=REFERENCE, settings=SYNTHETIC)
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    con.close()
    copy.unlink()
    load = os.getloadavg()[0]
    print(f"DuckDB     {wall:7.1f} s   full build, run {run} ({cpu:.1f} CPU-s, load {load:.1f})")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--shuffle-partitions", type=int, default=4)
    parser.add_argument("--driver-memory", default="3g")
    parser.add_argument("--duckdb-runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store, root = Path(tmp) / "bench.duckdb", Path(tmp) / "lake"
        print(f"generate   {generate(store, args.bills):7.1f} s   ({args.bills:,} bills)")
        con = open_warehouse(store, memory_limit="3GB")
        started = time.perf_counter()
        export(con, root)
        con.close()
        print(f"export     {time.perf_counter() - started:7.1f} s")
        runs = [build_duckdb(store, 1)]
        started = time.perf_counter()
        spark = session(args.master, args.shuffle_partitions, args.driver_memory)
        start = time.perf_counter() - started
        print(f"Spark      {start:7.1f} s   session start ({args.master})")
        summary = build_on_spark(spark, root, REFERENCE)
        spark.stop()
        whole = summary.duration_ms / 1000
        print(
            f"Spark      {whole:7.1f} s   full build ({summary.register_ms / 1000:.1f} s"
            f" registering the lake's tables, {args.shuffle_partitions} shuffle partitions,"
            f" load {os.getloadavg()[0]:.1f})"
        )
        for run in sorted(summary.runs, key=lambda r: -r.duration_ms)[:5]:
            print(f"    {run.model:45s} {run.duration_ms / 1000:6.1f} s")
        runs += [build_duckdb(store, n) for n in range(2, args.duckdb_runs + 1)]
        duck = statistics.median(runs)
        print(f"DuckDB     {duck:7.1f} s   full build, median of {len(runs)} runs")
        ratio = whole / duck
        verdict = "met" if ratio >= TARGET else "missed"
        print(
            f"bills {args.bills:,}: DuckDB {duck:.1f} s, Spark {args.master} {whole:.1f} s"
            f" (+ {start:.1f} s session start): DuckDB {ratio:.1f}x faster"
            f" (target >= {TARGET:.0f}x: {verdict})"
        )


if __name__ == "__main__":
    main()
