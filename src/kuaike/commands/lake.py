"""`kuaike export`: the replica as a Parquet lake, through the running `kuaike run` when one holds
the store (see docs/spark.md)."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from kuaike.commands.common import App, pass_app, print_json
from kuaike.errors import StoreError
from kuaike.serve.client import Client
from kuaike.warehouse import lake
from kuaike.warehouse.engines.duckdb import open_warehouse, tables
from kuaike.warehouse.export import export as export_lake
from kuaike.warehouse.export import fact_days

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
