"""`kuaike init`: write a commented configuration file."""

from __future__ import annotations

from pathlib import Path

import click

from kuaike import config
from kuaike.errors import KuaikeError


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), default=config.CONFIG_FILE)
def init(path: Path, force: bool) -> None:
    """Write a commented config template to PATH (default kuaike.toml)."""
    if path.exists() and not force:
        raise KuaikeError(f"{path} already exists; edit it, or pass --force to overwrite it")
    try:
        path.write_text(config.template(), encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise KuaikeError(
            f"cannot write {path}: {reason}; choose a path in a writable directory"
        ) from exc
    click.echo(f"wrote {path}")
