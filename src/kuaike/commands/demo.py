"""`kuaike demo`: a carrier in a box, live in the browser, with one command.

1. start the embedded business databases: PostgreSQL for logistics, MariaDB for the CRM when it
   is installed (so the binlog path runs too), PostgreSQL's `crm` database otherwise
2. create the business schemas; load the history (first run only) with progress bars
3. capture until caught up (the first run snapshots every table), build the warehouse
4. run the carrier live (`kuaike simulate --rate`, a child process), capture continuously,
   build on schedule and serve the pages and the API until Ctrl-C or `--duration`
Ctrl-C stops everything this run started; the next run resumes where this one stopped.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kuaike.business import embedded
from kuaike.business import schema as schemas
from kuaike.business.servers import PrivateMariaDB, PrivatePostgres, stop_pid
from kuaike.business.simulate.engine import Simulator
from kuaike.business.simulate.model import Sizes
from kuaike.business.simulate.options import Options
from kuaike.commands.capture import _stop_on_signals
from kuaike.commands.common import App, pass_app, print_json
from kuaike.commands.simulate import _progress
from kuaike.config import Settings
from kuaike.databases import SourceURL, connect_postgres, postgres_errors
from kuaike.errors import UsageError
from kuaike.serve.metrics import freshness_bound
from kuaike.warehouse.catalog import load_models
from kuaike.warehouse.engines.duckdb import open_warehouse
from kuaike.warehouse.runner import Builder

SIZES = {
    "mid": Sizes(),  # 10 companies, 130 hubs, 300 outlets, 1,500 couriers, 5,000 customers
    "small": Sizes(3, 8, 20, 3, 150),
}
"""Master data by carrier size (`--size`)."""

DAY_S = 86_400
HISTORY_FILE = "demo-history.json"
"""The history's shape, for a second run's live rate (in the data directory)."""


@dataclass
class Started:
    """What this run started (and so stops at the end)."""

    postgres: PrivatePostgres | None = None
    mariadb: PrivateMariaDB | None = None
    simulator: subprocess.Popen[bytes] | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        """The simulator first (it writes into the databases), then the databases."""
        if self.simulator is not None and self.simulator.poll() is None:
            stop_pid(self.simulator.pid, signal.SIGINT, timeout=15)
        for server in (self.mariadb, self.postgres):
            if server is not None:
                server.stop()


@click.command()
@click.option(
    "--history-days",
    type=int,
    default=30,
    show_default=True,
    help="Days of history (first run only).",
)
@click.option(
    "--orders-per-day",
    type=int,
    default=5_000,
    show_default=True,
    help="History volume on an ordinary weekday.",
)
@click.option(
    "--size",
    type=click.Choice(list(SIZES)),
    default="mid",
    show_default=True,
    help="Master data: a mid-size carrier, or a small one for a quick look (first run only).",
)
@click.option(
    "--speed",
    type=float,
    default=20.0,
    show_default=True,
    help="Live pace, as a multiple of an ordinary day of the history: orders/s = orders a day "
    "× speed / 86,400.",
)
@click.option("--rate", type=float, help="Live orders per second (instead of --speed).")
@click.option(
    "--duration",
    type=float,
    metavar="SECONDS",
    help="Stop after this many seconds of live operation (default: until Ctrl-C).",
)
@click.option(
    "--crm",
    "crm_kind",
    type=click.Choice(["auto", "mariadb", "postgres"]),
    default="auto",
    show_default=True,
    help="Where the CRM lives: MariaDB when installed (auto), or PostgreSQL (first run only).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed of the history.")
@click.option("--host", help="Address to serve on (default: serve.host, 127.0.0.1).")
@click.option(
    "--port", type=int, help="Port to serve on (default: serve.port, 8765; 0: any free port)."
)
@click.option("--json", "as_json", is_flag=True, help="Print what the demo did as JSON at exit.")
@pass_app
def demo(app: App, /, as_json: bool, **values: Any) -> None:
    """A carrier in a box: embedded databases, a history, the carrier running live, capture,
    warehouse builds and the pages, in one command. Open the URL it prints.

    Data lives in the data directory (data_dir, KUAIKE_DATA_DIR; default .kuaike); a second run
    resumes there (no history is loaded again). Ctrl-C stops everything cleanly.
    """
    settings = app.settings
    source = click.get_current_context().get_parameter_source("orders_per_day")
    values["orders_per_day_given"] = source is not click.core.ParameterSource.DEFAULT
    _check(settings, values)
    _quiet_logs()
    console = Console(stderr=True)
    started = Started()
    try:
        settings = _databases(settings, values["crm_kind"], started, console)
        _history(settings, values, started, console)
        _catch_up(settings, started, console)
        _build(settings, started, console)
        _live(app, settings, values, started, console)
    finally:
        started.stop()
    if as_json:
        print_json(started.summary)


def _quiet_logs() -> None:
    """Progress bars and the summary lines say what happens; info logs would bury them (unless
    asked for with --log-level)."""
    parent = click.get_current_context().find_root()
    if parent.params.get("log_level") is None:
        logging.getLogger("kuaike").setLevel(logging.WARNING)


def _check(settings: Settings, values: dict[str, Any]) -> None:
    if settings.logistics_url:
        raise UsageError(
            "kuaike demo runs its own embedded databases; unset logistics_url "
            "(KUAIKE_LOGISTICS_URL) for the demo, or use `kuaike run` with your own"
        )
    for name in ("history_days", "orders_per_day"):
        if values[name] < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be 0 or more")
    for name in ("speed", "rate", "duration"):
        if values[name] is not None and values[name] <= 0:
            raise UsageError(f"--{name} must be more than 0")
    if values["crm_kind"] == "mariadb" and not embedded.mariadb_installed():
        raise UsageError("--crm mariadb needs MariaDB (apt-get install mariadb-server)")


def _databases(settings: Settings, crm_kind: str, started: Started, console: Console) -> Settings:
    """Start the embedded PostgreSQL (and MariaDB for the CRM) and create the schemas."""
    data_dir = settings.data_dir
    if embedded.status(data_dir) is None:
        started.postgres = embedded.start(data_dir)
    else:
        embedded.start(data_dir)  # already running (`kuaike db start`): left running at exit
    first_run = not settings.store_path.exists()
    had_mariadb = embedded.mariadb_dir(data_dir).exists()
    use_mariadb = had_mariadb or (
        first_run
        and settings.crm_url is None
        and crm_kind != "postgres"
        and embedded.mariadb_installed()
    )
    if use_mariadb:
        mariadb, ours = embedded.start_mariadb(data_dir)
        started.mariadb = mariadb if ours else None
        settings = settings.model_copy(update={"crm_url": mariadb.url_for("crm")})
    sources = embedded.resolve(settings)
    schemas.create_logistics(sources.logistics_url)
    schemas.create_crm(sources.crm_url)
    crm = "MariaDB (binlog)" if use_mariadb else "PostgreSQL"
    console.print(f"business databases: logistics on PostgreSQL (WAL), CRM on {crm}")
    started.summary["crm"] = "mariadb" if use_mariadb else "postgres"
    return settings


def _has_history(url: str) -> bool:
    """Whether the logistics database holds orders already (a history loaded before)."""
    parsed = SourceURL.parse(url)
    conn = connect_postgres(parsed)
    try:
        with postgres_errors(parsed), conn.cursor() as cur:
            cur.execute("SELECT EXISTS (SELECT 1 FROM tbl_express_bill)")
            row = cur.fetchone()
            return bool(row and row[0])
    finally:
        conn.close()


def _history(
    settings: Settings, values: dict[str, Any], started: Started, console: Console
) -> None:
    """Load the history unless the databases hold one (a second run resumes)."""
    sources = embedded.resolve(settings)
    marker = Path(settings.data_dir) / HISTORY_FILE
    if _has_history(sources.logistics_url):
        if marker.exists():
            console.print("history: loaded by an earlier run; resuming")
            if values["orders_per_day_given"] is False:
                values["orders_per_day"] = json.loads(marker.read_text())["orders_per_day"]
        else:
            console.print(
                "history: an earlier run stopped while loading it (or `kuaike simulate` wrote "
                f"one); going on with what is there. To start over: remove {settings.data_dir}"
            )
        started.summary["history"] = "resumed"
        return
    days, per_day = values["history_days"], values["orders_per_day"]
    console.print(f"history: {days} days of a {values['size']} carrier, ~{per_day:,} orders a day")
    options = Options(
        seed=values["seed"],
        history_days=days,
        orders_per_day=per_day,
        sizes=SIZES[values["size"]],
    )
    with _progress(quiet=False) as report:
        summary = Simulator(sources.logistics_url, sources.crm_url, options).run(report)
    history = summary.as_dict()["history"]
    shape = {"history_days": days, "orders_per_day": per_day, "size": values["size"]}
    marker.write_text(json.dumps(shape))
    console.print(f"history: {history['orders']:,} orders, {history['rows_total']:,} rows")
    started.summary["history"] = {"orders": history["orders"], "rows": history["rows_total"]}


def _catch_up(settings: Settings, started: Started, console: Console) -> None:
    """Capture until caught up: the first run copies every table (the snapshot)."""
    from kuaike import pipeline

    stop = threading.Event()
    tables = len(schemas.logistics_tables()) + len(schemas.CRM_TABLES)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("snapshot / catching up", total=tables)

        def on_table(source: str, table: str, rows: int) -> None:
            bar.update(task, advance=1, description=f"snapshot {source}.{table} ({rows:,} rows)")

        progress = pipeline.run_capture(settings, stop, until_caught_up=True, on_table=on_table)
    copied = {name: p.snapshot_rows for name, p in progress.items()}
    if any(copied.values()):
        console.print("replica: " + ", ".join(f"{n} {r:,} rows copied" for n, r in copied.items()))
    else:
        console.print("replica: resumed from the stored positions, caught up")
    started.summary["snapshot_rows"] = copied


def _build(settings: Settings, started: Started, console: Console) -> None:
    """Build the warehouse once before going live (incremental after the first run)."""
    con = open_warehouse(settings.store_path)
    try:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("building the warehouse", total=len(load_models()))
            builder = Builder(
                con,
                progress=lambda name: bar.update(task, advance=1, description=name),
                settings=settings.warehouse,
            )
            summary = builder.run().as_dict()
    finally:
        con.close()
    seconds = summary["duration_ms"] / 1000
    console.print(f"warehouse: {summary['mode']} build {summary['status']} in {seconds:.1f} s")
    started.summary["build"] = {"mode": summary["mode"], "status": summary["status"]}


def _live_rate(values: dict[str, Any]) -> float:
    rate = values["rate"]
    if rate is None:
        rate = values["orders_per_day"] * values["speed"] / DAY_S
    return float(max(rate, 0.05))


def _simulator(app: App, settings: Settings, rate: float) -> subprocess.Popen[bytes]:
    """`kuaike simulate --rate` in a child process of its own session (stopped by its pid)."""
    env = {**os.environ, "KUAIKE_DATA_DIR": str(settings.data_dir)}
    if settings.crm_url:
        env["KUAIKE_CRM_URL"] = settings.crm_url
    config = ["--config", str(app.config_path)] if app.config_path else []
    command = [sys.executable, "-m", "kuaike", *config, "simulate", "--rate", f"{rate:g}"]
    command += ["--workers", "1", "--connections", "2"]
    log = open(Path(settings.data_dir) / "demo-simulate.log", "ab")  # noqa: SIM115 - the child's
    try:
        return subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        log.close()


def _live(
    app: App, settings: Settings, values: dict[str, Any], started: Started, console: Console
) -> None:
    """The carrier live, captured, built and served until Ctrl-C or --duration."""
    from kuaike import pipeline
    from kuaike.warehouse.scheduler import schedule_for

    stop = threading.Event()
    _stop_on_signals(stop)
    rate = _live_rate(values)
    serve = settings.serve
    at = (values["host"] or serve.host, serve.port if values["port"] is None else values["port"])

    def on_serving(url: str) -> None:
        started.simulator = _simulator(app, settings, rate)
        threading.Thread(target=_watch, args=(started, stop, console), daemon=True).start()
        if values["duration"] is not None:
            timer = threading.Timer(values["duration"], stop.set)
            timer.daemon = True  # Ctrl-C before the time is up must not wait for it
            timer.start()
        console.print(f"live: {rate:g} orders/s; capture, builds at '{schedule_for(settings)}'")
        click.echo(f"kuaike demo: open {url}/  (Ctrl-C to stop)")

    progress = pipeline.run_capture(
        settings, stop, build_schedule=schedule_for(settings), serve_at=at, on_serving=on_serving
    )
    started.summary["live"] = {
        "orders_per_s": rate,
        "changes": {name: p.changes for name, p in progress.items()},
        "freshness_p95_s": {name: freshness_bound(name, 0.95) for name in progress},
    }
    for name, p in progress.items():
        bound = freshness_bound(name, 0.95)
        fresh = f", freshness p95 ≤ {bound:g} s" if p.changes and bound is not None else ""
        console.print(f"{name}: {p.changes:,} live changes captured{fresh}")


def _watch(started: Started, stop: threading.Event, console: Console) -> None:
    """Stop the demo when the live simulator stops by itself (an error: see its log)."""
    simulator = started.simulator
    assert simulator is not None
    while simulator.poll() is None:
        if stop.wait(0.5):
            return
    if not stop.is_set():
        console.print(
            f"[red]the live simulator stopped (exit {simulator.returncode}); "
            "see demo-simulate.log in the data directory[/red]"
        )
        stop.set()
