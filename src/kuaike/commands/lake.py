"""The lake commands (docs/spark.md): `kuaike export` (the replica as a Parquet lake),
`kuaike build --engine spark` (its helper here), `kuaike load-warehouse` (DWS back into the
store); export and load go through the running `kuaike run` when one holds the store."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from kuaike.commands.common import App, pass_app, print_json
from kuaike.errors import StoreError, UsageError, WarehouseError
from kuaike.serve.client import Client
from kuaike.warehouse import lake
from kuaike.warehouse.catalog import load_models
from kuaike.warehouse.engines.duckdb import open_warehouse, tables
from kuaike.warehouse.engines.spark import running, session
from kuaike.warehouse.export import export as export_lake
from kuaike.warehouse.export import fact_days
from kuaike.warehouse.lake_build import build_on_spark
from kuaike.warehouse.load import load_warehouse as load_into_store

EXPORT_TIMEOUT_S = 3_600.0
"""How long `kuaike export` waits for the running pipeline's export."""


def _print_export(summary: dict[str, Any]) -> None:
    table = Table("table", "action", "rows written", "days written", title=summary["lake"])
    for done in summary["tables"]:
        if done["action"] != "kept":
            days = str(done["days"]) if done["days"] else ""
            table.add_row(done["table"], done["action"], str(done["rows"]), days)
    kept = sum(1 for done in summary["tables"] if done["action"] == "kept")
    console = Console()
    console.print(table)
    positions = ", ".join(f"{s} {p}" for s, p in summary["positions"].items()) or "none"
    console.print(
        f"export {summary['export']} in {summary['duration_ms'] / 1000:.1f} s: replica batch"
        f" {summary['batch']}, positions {positions}; {kept} tables unchanged"
    )


@click.command()
@click.option("--to", "to", required=True, metavar="DIR", help="The lake folder (a path).")
@click.option("--json", "as_json", is_flag=True, help="Print the export summary as JSON.")
@pass_app
def export(app: App, to: str, as_json: bool) -> None:
    """Export the replica as Parquet: one folder per table, fact tables one folder a day.

    Incremental: only the tables and days changed since the last export to DIR are rewritten.
    DIR/manifest.json records the source positions the export reflects; it is replaced at once,
    so a reader (or a killed export) never sees half an export.
    """
    path = lake.lake_path(to)
    client = Client.for_store(app.settings, timeout_s=EXPORT_TIMEOUT_S)
    if client is not None:
        summary: dict[str, Any] = client.post("/api/export", {"to": str(path)})
    else:
        con = open_warehouse(app.settings.store_path)
        try:
            summary = _export_here(con, path, as_json)
        finally:
            con.close()
    if as_json:
        print_json(summary)
    else:
        _print_export(summary)


def _export_here(con: Any, path: Any, quiet: bool) -> dict[str, Any]:
    count = len([t for t in tables(con) if t.startswith("ods.")])
    if count == 0:
        raise StoreError("the replica has no tables yet; capture the business databases first")
    if quiet:
        return export_lake(con, path).as_dict()
    with Progress(transient=True) as progress:
        task = progress.add_task("exporting", total=count)
        days = fact_days()

        def advance(name: str) -> None:
            label = f"{name} (by day)" if name in days else name
            progress.update(task, advance=1, description=label)

        return export_lake(con, path, advance).as_dict()


def build_on_spark_command(
    app: App, lake_dir: str | None, master: str | None, reference: dt.date | None, as_json: bool
) -> None:
    """`kuaike build --engine spark`: a full build over the lake, on Spark."""
    if lake_dir is None:
        raise UsageError("--engine spark reads a lake: give --lake DIR (see `kuaike export`)")
    root = lake.lake_path(lake_dir)
    if lake.read(root) is None:  # before Spark takes seconds to start
        raise WarehouseError(f"{root} holds no export yet; run `kuaike export --to {root}` first")
    settings = app.settings.spark
    started = time.perf_counter()
    ours = not running()  # a session the caller runs (kuaike as a library) is left running
    spark = session(master or settings.master, settings.shuffle_partitions, settings.driver_memory)
    start_ms = (time.perf_counter() - started) * 1000
    day = reference or dt.date.today()
    try:
        if as_json:
            summary = build_on_spark(spark, root, day).as_dict()
        else:
            with Progress(transient=True) as progress:
                task = progress.add_task("building on Spark", total=len(load_models()))

                def advance(name: str) -> None:
                    progress.update(task, advance=1, description=name)

                summary = build_on_spark(spark, root, day, progress=advance).as_dict()
    finally:
        if ours:
            spark.stop()
    summary["session_start_ms"] = start_ms
    if as_json:
        print_json(summary)
        return
    table = Table("model", "rows", "ms", title=f"Spark build {summary['build']} of {root}")
    for run in summary["runs"]:
        table.add_row(run["model"], str(run["rows"]), f"{run['duration_ms']:.0f}")
    console = Console()
    console.print(table)
    console.print(
        f"full build on Spark in {summary['duration_ms'] / 1000:.1f} s (session start"
        f" {start_ms / 1000:.1f} s, lake export {summary['export']}, reference date"
        f" {summary['reference_date']})"
    )


@click.command("load-warehouse")
@click.option("--from", "from_", required=True, metavar="DIR", help="The lake folder.")
@click.option("--json", "as_json", is_flag=True, help="Print what was loaded as JSON.")
@pass_app
def load_warehouse(app: App, from_: str, as_json: bool) -> None:
    """Replace the store's DWS tables by the lake's last Spark build, for serving.

    Goes through the running `kuaike run` when one holds the store. The next DuckDB build
    rebuilds the loaded tables in full.
    """
    root = lake.lake_path(from_)
    client = Client.for_store(app.settings, timeout_s=EXPORT_TIMEOUT_S)
    if client is not None:
        loaded: dict[str, Any] = client.post("/api/load-warehouse", {"from": str(root)})
    else:
        con = open_warehouse(app.settings.store_path)
        try:
            loaded = load_into_store(con, root)
        finally:
            con.close()
    if as_json:
        print_json(loaded)
        return
    table = Table("table", "rows", title=f"loaded from {root}")
    for name, rows in loaded["tables"].items():
        table.add_row(name, str(rows))
    console = Console()
    console.print(table)
    console.print(
        f"Spark build {loaded['build']} (reference date {loaded['reference_date']}) loaded"
    )
