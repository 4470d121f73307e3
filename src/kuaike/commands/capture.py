"""`kuaike capture` and `kuaike status`. Commands sit above the stages: they call the pipeline
facade, which wires capture to the store."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from rich.console import Console
from rich.table import Table

from kuaike.commands.common import App, pass_app, print_json


def _stop_on_signals(stop: threading.Event) -> None:
    """Ctrl-C / SIGTERM: finish the current batch, confirm it, exit."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop now (nothing unapplied was confirmed)
        click.echo("stopping after the current batch (Ctrl-C again to abort)", err=True)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


@click.command()
@click.option(
    "--until-caught-up",
    is_flag=True,
    help="Apply everything up to each source's log position (WAL / binlog) at start, then exit 0.",
)
@click.option(
    "--resnapshot",
    is_flag=True,
    help="Forget the stored position (and drop the slot) and copy every table again.",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="Capture only this source (logistics, crm); repeatable. Default: every source.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was captured as JSON at exit.")
@pass_app
def capture(
    app: App, until_caught_up: bool, resnapshot: bool, sources: tuple[str, ...], as_json: bool
) -> None:
    """Capture every change of the source databases into the DuckDB replica, exactly once.

    The first run copies every table (a consistent snapshot), then streams the PostgreSQL WAL and
    the MySQL binlog. Runs until
    stopped; Ctrl-C or SIGTERM stops after the current batch is applied and confirmed.
    """
    _capture_and_report(app, until_caught_up, resnapshot, sources, as_json, build_schedule=None)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print what was captured as JSON at exit.")
@pass_app
def run(app: App, as_json: bool) -> None:
    """The pipeline process: capture every source continuously and build the warehouse on its
    schedule (`warehouse.schedule`: every 5 minutes for the demo database, 01:00 daily
    otherwise), in one process that owns the store. Ctrl-C or SIGTERM stops cleanly.
    """
    from kuaike.warehouse.scheduler import schedule_for

    cron = schedule_for(app.settings)
    click.echo(f"capturing; warehouse builds at '{cron}' (Ctrl-C to stop)", err=True)
    _capture_and_report(app, False, False, (), as_json, build_schedule=cron)


def _capture_and_report(
    app: App,
    until_caught_up: bool,
    resnapshot: bool,
    sources: tuple[str, ...],
    as_json: bool,
    build_schedule: str | None,
) -> None:
    """Run the capture (and builds when scheduled) until stopped; print what was captured."""
    from kuaike import pipeline

    stop = threading.Event()
    _stop_on_signals(stop)
    console = Console(stderr=True)

    def on_table(source: str, table: str, rows: int) -> None:
        console.print(f"[dim]{source}: snapshot of {table}: {rows} rows[/dim]")

    with console.status("capturing (Ctrl-C to stop)"):
        progress = pipeline.run_capture(
            app.settings,
            stop,
            until_caught_up=until_caught_up,
            resnapshot=resnapshot,
            names=list(sources) or None,
            on_table=on_table,
            build_schedule=build_schedule,
        )
    summary = {
        name: {
            "snapshot_rows": p.snapshot_rows,
            "batches": p.batches,
            "changes": p.changes,
            "position": str(p.position) if p.position else None,
            "reconnects": p.reconnects,
        }
        for name, p in progress.items()
    }
    if as_json:
        print_json(summary)
        return
    for name, figures in summary.items():
        click.echo(
            f"{name}: {figures['snapshot_rows']} rows copied, {figures['changes']} changes in "
            f"{figures['batches']} batches, position {figures['position']}"
        )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_app
def status(app: App, as_json: bool) -> None:
    """Per source: phase, position, lag (bytes, seconds), retained WAL, changes/s, last error.

    Reads the store file, so it cannot run while `kuaike capture` holds it (it says so).
    """
    from kuaike import pipeline

    rows = pipeline.status(app.settings)
    if as_json:
        print_json(rows)
        return
    table = Table(
        "source",
        "phase",
        "position",
        "lag bytes",
        "lag s",
        "retained WAL",
        "changes/s",
        "last error",
    )
    for row in rows:
        table.add_row(
            row["source"],
            row["phase"],
            str(row.get("position") or "-"),
            str(row.get("lag_bytes", "-")),
            str(row.get("lag_s", "-")),
            str(row.get("retained_wal_bytes", "-")),
            str(row.get("changes_per_s", "-")),
            str(row.get("last_error") or row.get("source_error") or ""),
        )
    Console().print(table)
