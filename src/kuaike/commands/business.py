"""Commands for the business databases: `kuaike schema create`, `kuaike db start|stop|status`."""

from __future__ import annotations

from dataclasses import asdict

import click
from rich.console import Console
from rich.table import Table

from kuaike.business import embedded
from kuaike.business import schema as schemas
from kuaike.commands.common import App, pass_app, print_json


@click.group()
def schema() -> None:
    """The business schemas (48 logistics tables, 3 CRM tables)."""


@schema.command("create")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def schema_create(app: App, as_json: bool) -> None:
    """Create the business tables and the dictionary on the configured sources (idempotent).

    Creates the databases too when they are missing. Without a logistics URL, the embedded
    demo PostgreSQL is started and holds both databases.
    """
    sources = embedded.resolve(app.settings)
    results = [schemas.create_logistics(sources.logistics_url), schemas.create_crm(sources.crm_url)]
    if as_json:
        print_json([asdict(result) for result in results])
        return
    table = Table("source", "database", "tables before", "tables after", "codes added")
    for result in results:
        table.add_row(
            result.source,
            result.url,
            str(result.tables_before),
            str(result.tables_after),
            str(result.codes_added),
        )
    Console().print(table)


@click.group()
def db() -> None:
    """The embedded demo PostgreSQL (used when no logistics URL is configured)."""


@db.command("start")
@pass_app
def db_start(app: App) -> None:
    """Start the embedded PostgreSQL in the data directory (no-op when it runs)."""
    handle = embedded.start(app.settings.data_dir)
    click.echo(f"embedded PostgreSQL running: pid {handle.pid}, {handle.url_for('logistics')}")


@db.command("stop")
@pass_app
def db_stop(app: App) -> None:
    """Stop the embedded PostgreSQL; its data stays in the data directory."""
    stopped = embedded.stop(app.settings.data_dir)
    click.echo("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_app
def db_status(app: App, as_json: bool) -> None:
    """Whether the embedded PostgreSQL runs, with its pid and URLs."""
    handle = embedded.status(app.settings.data_dir)
    info = {
        "running": handle is not None,
        "pid": handle.pid if handle else None,
        "logistics_url": handle.url_for("logistics") if handle else None,
        "crm_url": handle.url_for("crm") if handle else None,
        "directory": str(embedded.server(app.settings.data_dir).directory),
    }
    if as_json:
        print_json(info)
    elif handle:
        click.echo(f"running: pid {handle.pid}, {info['logistics_url']}")
    else:
        click.echo(f"not running (directory {info['directory']})")
