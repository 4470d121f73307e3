"""`kuaike build`: build the warehouse (DWD, DWS) from the replica, incrementally by default."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from kuaike.commands.common import App, pass_app, print_json
from kuaike.commands.lake import build_on_spark_command
from kuaike.errors import UsageError
from kuaike.serve.client import Client
from kuaike.warehouse.catalog import load_models
from kuaike.warehouse.engines.duckdb import open_warehouse
from kuaike.warehouse.runner import Builder

BUILD_TIMEOUT_S = 3_600.0
"""How long `kuaike build` waits for the running pipeline's build (a full one at 10 M bills
took about a minute)."""


def parse_day(value: str | None, option: str) -> dt.date | None:
    """A YYYY-MM-DD option value, or a UsageError saying what is wrong."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"{option} {value!r} is not a date; write it as YYYY-MM-DD") from exc


def backfill_days(start: dt.date | None, end: dt.date | None, full: bool) -> set[dt.date]:
    """The days of `--from`/`--to` (both inclusive)."""
    if start is None and end is None:
        return set()
    if start is None or end is None:
        raise UsageError("--from and --to go together; give both (the same day for one day)")
    if full:
        raise UsageError("--full rebuilds every day already; drop --from/--to, or drop --full")
    if end < start:
        raise UsageError(f"--to {end} is before --from {start}; swap them")
    return {start + dt.timedelta(days=n) for n in range((end - start).days + 1)}


def _print(summary: dict[str, Any]) -> None:
    """A build summary (`BuildSummary.as_dict()`, local or from the server) as a table."""
    table = Table(
        "model", "action", "days", "rows", "ms", "status", title=f"build {summary['build']}"
    )
    for run in summary["runs"]:
        days = "all" if run["days"] < 0 else str(run["days"])
        table.add_row(
            run["model"],
            run["action"],
            days,
            str(run["rows"]),
            f"{run['duration_ms']:.0f}",
            run["status"],
        )
    console = Console()
    console.print(table)
    console.print(
        f"{summary['mode']} build {summary['status']} in {summary['duration_ms'] / 1000:.1f} s "
        f"(replica batch {summary['batch']}, reference date {summary['reference_date']})"
        + (f"; rebuilt in full: {summary['reason']}" if summary.get("reason") else "")
    )


def _build_remotely(
    client: Client, full: bool, days: set[dt.date], reference: dt.date | None
) -> dict[str, Any]:
    """Ask the running `kuaike run` to build (it holds the store)."""
    body: dict[str, Any] = {"full": full, "reference_date": reference}
    if days:
        body.update({"from": min(days), "to": max(days)})
    summary: dict[str, Any] = client.post("/api/build", body)
    return summary


@click.command()
@click.option("--full", is_flag=True, help="Rebuild every model and every day from scratch.")
@click.option("--from", "start", metavar="YYYY-MM-DD", help="Backfill: rebuild days from this one…")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="…to this one (inclusive).")
@click.option(
    "--reference-date",
    metavar="YYYY-MM-DD",
    help="The 'today' of the customer theme and snapshots (default: today).",
)
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    show_default=True,
    help="duckdb: the store, incrementally; spark: the lake (--lake), in full.",
)
@click.option("--lake", "lake_dir", metavar="DIR", help="Spark: the lake `kuaike export` wrote.")
@click.option("--master", metavar="URL", help="Spark: local[2], spark://host:7077, yarn, ...")
@click.option("--json", "as_json", is_flag=True, help="Print the build summary as JSON.")
@pass_app
def build(
    app: App,
    full: bool,
    start: str | None,
    end: str | None,
    reference_date: str | None,
    engine: str,
    lake_dir: str | None,
    master: str | None,
    as_json: bool,
) -> None:
    """Build the warehouse (dwd.*, dws.*) from the replica in the store, or on Spark.

    By default only the days touched by changes since the last build are rebuilt. Every run is
    recorded in _kuaike.runs; a failed audit keeps the previous tables and exits non-zero.
    With --engine spark the same models run on Spark over the lake (--lake), always in full,
    and write DWD/DWS back to the lake (`kuaike load-warehouse` brings DWS into the store).
    """
    days = backfill_days(parse_day(start, "--from"), parse_day(end, "--to"), full)
    reference = parse_day(reference_date, "--reference-date")
    if engine == "spark":
        if days:
            raise UsageError("--engine spark always builds every day; drop --from/--to")
        build_on_spark_command(app, lake_dir, master, reference, as_json)
        return
    if lake_dir is not None or master is not None:
        raise UsageError("--lake and --master are for --engine spark; add it, or drop them")
    client = Client.for_store(app.settings, timeout_s=BUILD_TIMEOUT_S)
    if client is not None:
        remote = _build_remotely(client, full, days, reference)
        if as_json:
            print_json(remote)
        else:
            _print(remote)
        return
    con = open_warehouse(app.settings.store_path)
    warehouse = app.settings.warehouse  # the plausibility thresholds
    try:
        if as_json:
            summary = Builder(
                con, full=full, days=days, reference_date=reference, settings=warehouse
            ).run()
            print_json(summary.as_dict())
            return
        with Progress(transient=True) as progress:
            task = progress.add_task("building", total=len(load_models()))

            def advance(name: str) -> None:
                progress.update(task, advance=1, description=name)

            builder = Builder(
                con,
                full=full,
                days=days,
                reference_date=reference,
                progress=advance,
                settings=warehouse,
            )
            summary = builder.run()
        _print(summary.as_dict())
    finally:
        con.close()
