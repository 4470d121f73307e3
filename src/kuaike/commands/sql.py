"""`kuaike sql "SELECT …"`: the read-only SQL console, through the running `kuaike run` when one
holds the store, on the store file opened read-only when none does."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

import click
from rich.console import Console as Screen
from rich.table import Table

from kuaike.commands.common import App, pass_app, print_json
from kuaike.config import Settings
from kuaike.errors import UsageError
from kuaike.serve.client import Client
from kuaike.serve.console import Console, Limits, open_read_only


def run_query(settings: Settings, sql: str) -> dict[str, Any]:
    """The console's result: over HTTP when a server holds the store, else from the file."""
    client = Client.for_store(settings)
    if client is not None:
        result: dict[str, Any] = client.post("/api/sql", {"sql": sql})
        return result
    serve = settings.serve
    con = open_read_only(settings.store_path)
    try:
        console = Console(con.cursor, Limits(serve.sql_timeout_s, serve.sql_max_rows))
        local: dict[str, Any] = json.loads(console.run(sql))
        return local
    finally:
        con.close()


def _print_table(result: dict[str, Any]) -> None:
    table = Table(*(f"{c['name']}\n[dim]{c['type']}[/dim]" for c in result["columns"]))
    for row in result["rows"]:
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    screen = Screen()
    screen.print(table)
    screen.print(f"[dim]{result['row_count']} rows in {result['elapsed_ms']} ms[/dim]")


@click.command()
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Print columns, types and rows as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the rows as CSV with a header.")
@pass_app
def sql(app: App, query: str, as_json: bool, as_csv: bool) -> None:
    """Run one read-only SQL query on the replica and the warehouse (ods.*, dwd.*, dws.*).

    One SELECT (or EXPLAIN) at a time; writes, settings, files and other side effects are
    refused. Goes through the running `kuaike run` when one holds the store.
    """
    if as_json and as_csv:
        raise UsageError("--json and --csv exclude each other; choose one")
    result = run_query(app.settings, query)
    if as_json:
        print_json(result)
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(c["name"] for c in result["columns"])
        writer.writerows(result["rows"])
    else:
        _print_table(result)
