"""`kuaike capture` and `kuaike status`. Commands sit above the stages: they call the pipeline
facade, which wires capture to the store."""

from __future__ import annotations

import signal
import textwrap
import threading
from types import FrameType
from typing import Any

import click
from rich.console import Console

from kuaike.capture.formats import FORMATS
from kuaike.commands.common import App, pass_app, print_json
from kuaike.commands.kafka_consume import from_options
from kuaike.errors import UsageError


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
    help="Apply everything up to each source's log position (WAL / binlog; with --from: the "
    "topics' high watermarks) at start, then exit 0.",
)
@click.option(
    "--resnapshot",
    is_flag=True,
    help="Forget the stored position (and drop the slot) and copy every table again; with "
    "--table, copy only those tables again (and end their quarantine) while the stream goes on.",
)
@click.option(
    "--table",
    "tables",
    multiple=True,
    help="With --resnapshot: the table to copy again (PostgreSQL sources); repeatable. "
    "Needs --source when several sources are captured.",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="Capture only this source (logistics, crm); repeatable. Default: every source.",
)
@click.option(
    "--to",
    "to",
    metavar="kafka://HOST:PORT",
    help="Publish every change to Kafka instead (a topic per table, key = primary key); "
    "positions are confirmed only once Kafka acknowledged. No local replica is written.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was captured as JSON at exit.")
@from_options
@pass_app
def capture(
    app: App,
    until_caught_up: bool,
    resnapshot: bool,
    tables: tuple[str, ...],
    sources: tuple[str, ...],
    to: str | None,
    as_json: bool,
    from_url: str | None,
    fmt: str | None,
    topics: str | None,
) -> None:
    """Capture every change of the source databases into the DuckDB replica, exactly once.

    The first run copies every table (a consistent snapshot), then streams the PostgreSQL WAL and
    the MySQL binlog. Runs until
    stopped; Ctrl-C or SIGTERM stops after the current batch is applied and confirmed.

    With --to kafka://HOST:PORT the changes go to Kafka topics instead; with --from
    kafka://HOST:PORT it consumes change topics into the replica (docs/kafka.md).
    """
    if from_url and to:
        raise UsageError("--from and --to exclude each other: consume from Kafka or publish to it")
    if from_url:
        from kuaike.commands import kafka_consume

        stop = threading.Event()
        _stop_on_signals(stop)
        summary = kafka_consume.consume(
            app, (from_url, fmt, topics), until_caught_up, (resnapshot, tables), sources, stop
        )
        kafka_consume.report(summary, as_json)
        return
    if topics:
        raise UsageError("--topics goes with --from kafka://HOST:PORT")
    if fmt and not to:
        raise UsageError("--format goes with --from or --to kafka://HOST:PORT")
    if fmt and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    publish = (to, fmt) if to else None
    _capture_and_report(
        app, until_caught_up, (resnapshot, tables), sources, as_json, None, publish=publish
    )


@click.command()
@click.option("--host", help="Address to serve the HTTP API on (default: serve.host, 127.0.0.1).")
@click.option("--port", type=int, help="Port of the HTTP API (default: serve.port, 8765).")
@click.option("--json", "as_json", is_flag=True, help="Print what was captured as JSON at exit.")
@pass_app
def run(app: App, host: str | None, port: int | None, as_json: bool) -> None:
    """The pipeline process: capture every source continuously, build the warehouse on its
    schedule (`warehouse.schedule`: every 5 minutes for the demo database, 01:00 daily
    otherwise) and serve the HTTP API, in one process that owns the store. Ctrl-C or SIGTERM
    stops cleanly.
    """
    from kuaike.warehouse.scheduler import schedule_for

    cron = schedule_for(app.settings)
    at = (host or app.settings.serve.host, app.settings.serve.port if port is None else port)
    click.echo(f"capturing; warehouse builds at '{cron}' (Ctrl-C to stop)", err=True)
    _capture_and_report(app, False, (False, ()), (), as_json, build_schedule=cron, serve_at=at)


def _capture_and_report(
    app: App,
    until_caught_up: bool,
    resnapshot: tuple[bool, tuple[str, ...]],
    sources: tuple[str, ...],
    as_json: bool,
    build_schedule: str | None,
    serve_at: tuple[str, int] | None = None,
    publish: tuple[str, str | None] | None = None,
) -> None:
    """Run the capture (and builds when scheduled) until stopped; print what was captured.
    With `publish` (Kafka URL, format) the changes go to Kafka instead of the store."""
    from kuaike import pipeline

    stop = threading.Event()
    _stop_on_signals(stop)
    console = Console(stderr=True)

    def on_table(source: str, table: str, rows: int) -> None:
        console.print(f"[dim]{source}: snapshot of {table}: {rows} rows[/dim]")

    with console.status("capturing (Ctrl-C to stop)"):
        if publish is not None:
            progress = pipeline.run_publish(
                app.settings,
                stop,
                *publish,
                until_caught_up=until_caught_up,
                resnapshot=resnapshot,
                names=list(sources) or None,
                on_table=on_table,
            )
        else:
            progress = pipeline.run_capture(
                app.settings,
                stop,
                until_caught_up=until_caught_up,
                resnapshot=resnapshot[0],
                tables=resnapshot[1],
                names=list(sources) or None,
                on_table=on_table,
                build_schedule=build_schedule,
                serve_at=serve_at,
                on_serving=lambda url: console.print(f"serving on {url} (API docs: {url}/docs)"),
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

    Asks the running `kuaike run` when one holds the store; reads the store file otherwise.
    """
    from kuaike import pipeline
    from kuaike.serve.client import Client

    client = Client.for_store(app.settings)
    rows = client.get("/api/pipeline")["sources"] if client else pipeline.status(app.settings)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo("\n".join(status_lines(row)))


def status_lines(row: dict[str, Any], width: int = 80) -> list[str]:
    """One source's status as short lines (readable at 80 columns, and when piped)."""
    head = f"{row['source']}: {row['phase']}, position {row.get('position') or '-'}"
    lag_s = row.get("lag_s")
    figures = [
        f"lag {_size(row.get('lag_bytes'))}, {'-' if lag_s is None else f'{lag_s:g} s'}",
        f"retained WAL {_size(row.get('retained_wal_bytes'))}",
        f"{row.get('changes_per_s', 0) or 0:g} changes/s",
    ]
    if row.get("dead_letters"):
        figures.append(f"{row['dead_letters']} dead letters")
    lines = [head, "  " + "; ".join(figures)]
    error = row.get("last_error") or row.get("source_error")
    if error:
        lines += textwrap.wrap(
            f"last error: {error}", width, initial_indent="  ", subsequent_indent="    "
        )
    for held in row.get("quarantined") or []:
        lines += textwrap.wrap(
            f"quarantined {held['table']}: {held['line']}",
            width,
            initial_indent="  ",
            subsequent_indent="    ",
        )
    return lines


def _size(value: object) -> str:
    """Bytes as B/kB/MB/GB; '-' when unknown."""
    if not isinstance(value, int | float):
        return "-"
    size = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return "-"
