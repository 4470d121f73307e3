"""`kuaike simulate`: a realistic carrier in a box, writing into the business databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kuaike.business import embedded
from kuaike.business.simulate.engine import Simulator
from kuaike.business.simulate.model import Sizes
from kuaike.business.simulate.options import Options
from kuaike.business.simulate.timing import parse_when
from kuaike.commands.common import App, pass_app, print_json
from kuaike.errors import UsageError


def _positive(name: str, value: float | None, allow_zero: bool = False) -> None:
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        bound = "0 or more" if allow_zero else "more than 0"
        raise UsageError(f"{name} must be {bound}, got {value:g}")


def _end(text: str | None) -> datetime | None:
    if text is None:
        return None
    when = parse_when(text)
    if when is None:
        raise UsageError(f"--end {text!r} is not a date; use YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS'")
    return when


@click.command()
@click.option(
    "--history-days",
    type=int,
    default=0,
    show_default=True,
    help="Load this many past days of operation (COPY), ending at --end.",
)
@click.option(
    "--end",
    "end_text",
    metavar="DATETIME",
    help="Local time the history ends at (YYYY-MM-DD[ HH:MM:SS]); default: now.",
)
@click.option(
    "--orders-per-day",
    type=int,
    default=20_000,
    show_default=True,
    help="History volume on an ordinary weekday (weekends and sale days vary).",
)
@click.option("--rate", type=float, help="Run live at this many new orders per second.")
@click.option(
    "--duration",
    type=float,
    metavar="SECONDS",
    help="Stop live operation after this many seconds (default: until Ctrl-C).",
)
@click.option("--seed", type=int, help="Random seed: the same seed gives the same history.")
@click.option(
    "--connections",
    type=int,
    default=4,
    show_default=True,
    help="Database connections used in live mode.",
)
@click.option(
    "--workers",
    type=int,
    default=4,
    show_default=True,
    help="Processes: history chunks, or live mode's shares of the rate and connections.",
)
@click.option(
    "--companies",
    type=int,
    default=10,
    show_default=True,
    help="Companies (master data, first run only).",
)
@click.option(
    "--warehouses",
    type=int,
    default=130,
    show_default=True,
    help="Warehouses (hubs) (master data, first run only).",
)
@click.option(
    "--dots",
    type=int,
    default=300,
    show_default=True,
    help="Outlets (master data, first run only).",
)
@click.option(
    "--couriers-per-dot",
    type=int,
    default=5,
    show_default=True,
    help="Couriers per outlet (master data, first run only).",
)
@click.option(
    "--customers",
    type=int,
    default=5_000,
    show_default=True,
    help="Customers registered before the history starts (first run only).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def simulate(app: App, /, end_text: str | None, as_json: bool, **values: Any) -> None:
    """Simulate a parcel carrier's operation in the business databases.

    \b
    The first run creates the schemas and master data (areas, companies, hubs, routes, outlets,
    vehicles, staff, customers). Then:
      --history-days N          load N past days fast (COPY) and exit
      --rate R [--duration S]   run live: R new orders/s, one transaction per business event
      both                      history first, then live, continuing the parcels in flight
    A live run also picks up the parcels an earlier run left in flight.
    Without a logistics URL the embedded demo PostgreSQL is used.
    """
    options = _options(values, _end(end_text))
    sources = embedded.resolve(app.settings)
    simulator = Simulator(sources.logistics_url, sources.crm_url, options)
    with _progress(quiet=False) as report:
        summary = simulator.run(report)
    if as_json:
        print_json(summary.as_dict())
    else:
        _print_summary(summary.as_dict())


def _options(values: dict[str, Any], end: datetime | None) -> Options:
    for name in ("history_days", "orders_per_day", "customers"):
        _positive(f"--{name.replace('_', '-')}", values[name], allow_zero=True)
    for name in ("rate", "duration", "connections", "workers", "companies", "warehouses", "dots"):
        _positive(f"--{name}", values[name])
    _positive("--couriers-per-dot", values["couriers_per_dot"])
    if values["warehouses"] < 2:
        raise UsageError("--warehouses must be at least 2 (parcels travel between hubs)")
    if values["companies"] > 20:
        raise UsageError("--companies must be 20 or fewer (one per major city)")
    if values["duration"] is not None and values["rate"] is None:
        raise UsageError("--duration needs --rate (it limits live operation)")
    sizes = Sizes(
        values["companies"],
        values["warehouses"],
        values["dots"],
        values["couriers_per_dot"],
        values["customers"],
    )
    return Options(
        seed=values["seed"],
        history_days=values["history_days"],
        end=end,
        orders_per_day=values["orders_per_day"],
        rate=values["rate"],
        duration=values["duration"],
        connections=values["connections"],
        workers=values["workers"],
        sizes=sizes,
    )


@contextmanager
def _progress(quiet: bool) -> Iterator[Any]:
    """A rich progress bar on stderr, fed by the simulator's (phase, done, total) reports."""
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=quiet, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def report(phase: str, done: float, total: float | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield report


def _print_summary(summary: dict[str, Any]) -> None:
    console = Console()
    history, live = summary["history"], summary["live"]
    table = Table("table", "master rows", "history rows", "live changes")
    names = sorted(
        set(summary["master_rows"])
        | set(history["rows"])
        | {key.split(":")[0] for key in live["row_changes"]}
    )
    for name in names:
        changes = [
            f"{k[-1]}{v}" for k, v in live["row_changes"].items() if k.startswith(name + ":")
        ]
        table.add_row(
            name,
            str(summary["master_rows"].get(name, "")),
            str(history["rows"].get(name, "")),
            " ".join(changes),
        )
    console.print(table)
    if history["orders"]:
        console.print(
            f"history: {history['orders']} orders, {history['rows_total']} rows in "
            f"{history['seconds']:.1f}s = {history['rows_per_second']:,.0f} rows/s"
        )
    if live["seconds"]:
        console.print(
            f"live: {live['orders']} orders, {live['operations']} business operations in "
            f"{live['seconds']:.1f}s = {live['operations_per_second']:,.0f} operations/s"
        )
