"""The DuckDB engine: open the store, run statements, turn DuckDB errors into kuaike errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from kuaike.errors import StoreError, WarehouseError
from kuaike.store.errors import duckdb_errors, store_error
from kuaike.store.writer import open_duckdb
from kuaike.types import DuckConnection


@contextmanager
def model_errors(model: str | None = None) -> Iterator[None]:
    """A DuckDB error while building `model` as a WarehouseError (the store's file errors as
    StoreErrors, worded as everywhere else)."""
    try:
        yield
    except duckdb.IOException as exc:
        raise store_error("(the store)", exc) from exc
    except duckdb.Error as exc:
        where = f"model {model}" if model else "the warehouse build"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WarehouseError(
            f"{where} failed in DuckDB: {first}; fix the model SQL or the replica", model=model
        ) from exc


@contextmanager
def lake_errors(lake: Path) -> Iterator[None]:
    """A DuckDB error while writing or reading the lake at `lake` as a WarehouseError."""
    try:
        yield
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WarehouseError(
            f"the lake at {lake} cannot be written or read: {first}; check the disk and the path"
        ) from exc


def open_warehouse(path: Path, memory_limit: str | None = None) -> DuckConnection:
    """Open the store file for building; a missing file, or one locked by another process, is
    a StoreError."""
    if not path.exists():
        raise StoreError(
            f"no store at {path} yet: capture the business databases first (`kuaike capture`)",
            path=str(path),
        )
    with duckdb_errors(path):
        con = open_duckdb(path)
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


def set_reference_date(con: DuckConnection, day: dt.date) -> None:
    """Models read the build's reference date as getvariable('reference_date')."""
    con.execute(f"SET VARIABLE reference_date = DATE '{day.isoformat()}'")


def table_exists(con: DuckConnection, name: str) -> bool:
    """Whether `schema.table` exists."""
    return name in tables(con)


def tables(con: DuckConnection) -> set[str]:
    """Every `schema.table` of the database."""
    rows = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
    return {row[0] for row in rows}


def views(con: DuckConnection) -> set[str]:
    """Every `schema.view` of the database (its own views, not DuckDB's)."""
    rows = con.execute(
        "SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE NOT internal"
    ).fetchall()
    return {row[0] for row in rows}


@contextmanager
def setting(con: DuckConnection, name: str, value: object) -> Iterator[None]:
    """Run the block with the DuckDB setting `name` = `value`, then restore the previous value."""
    previous = scalar(con, "SELECT current_setting(?)", [name])
    con.execute(f"SET {name} = {value!r}")
    try:
        yield
    finally:
        con.execute(f"SET {name} = {previous!r}")


def scalar(con: DuckConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first column of the first row of `sql`."""
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None
