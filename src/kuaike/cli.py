"""The `kuaike` command: global options, the entry point, and the registration of the commands
in `kuaike.commands` (a command that is not built yet is not registered)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from kuaike import __version__, logs
from kuaike.commands.common import App
from kuaike.errors import KuaikeError

log = logging.getLogger("kuaike.cli")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="kuaike")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: ./kuaike.toml if present).",
)
@click.option("--log-json", is_flag=True, help="Write logs as one JSON object per line.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Least severe log level (default: log_level from the config, info).",
)
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path | None, log_json: bool, log_level: str | None
) -> None:
    """kuaike (客快): capture a carrier's business databases, replicate them into DuckDB,
    build the warehouse and serve it.

    \b
    Quick start:
      kuaike demo            a carrier in a box: databases, history, live, pages (open the URL)
      kuaike init            write a commented kuaike.toml
      kuaike schema create   create the business tables on the configured sources
    """
    app = App(config_path)
    ctx.obj = app
    level = log_level
    if level is None:
        try:
            level = app.settings.log_level
        except KuaikeError:
            level = "info"  # the command itself reports the config error
    logs.setup(level, log_json)


def _register() -> None:
    from kuaike.commands.business import db, schema
    from kuaike.commands.capture import capture, run, status
    from kuaike.commands.demo import demo
    from kuaike.commands.lake import export, load_warehouse
    from kuaike.commands.setup import init
    from kuaike.commands.simulate import simulate
    from kuaike.commands.sql import sql
    from kuaike.commands.track import search, track
    from kuaike.commands.warehouse import build

    commands: list[click.Command] = [init, schema, db, simulate, capture, status, build, run]
    commands += [sql, track, search, demo, export, load_warehouse]
    for command in commands:
        cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command; a KuaikeError becomes one line on stderr and exit ≠ 0."""
    try:
        cli.main(args=argv, prog_name="kuaike", standalone_mode=False)
    except KuaikeError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            click.echo(f"error: {line}", err=True)
        log.debug("error detail", exc_info=exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
