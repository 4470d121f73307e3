"""Compare what DuckDB and Spark built: every model's rows, order-insensitive."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path
from typing import Any

import duckdb

from kuaike.warehouse import lake


def normal(value: Any) -> Any:
    """Numbers as numbers (to 9 significant digits: sums may add in another order), times as
    ISO text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, decimal.Decimal)) and value == int(value):
        return int(value)
    if isinstance(value, (int, float, decimal.Decimal)):
        return float(f"{float(value):.9g}")
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[Any]:
    found = [tuple(normal(v) for v in row) for row in con.execute(sql, params or []).fetchall()]
    return sorted(found, key=repr)


def disagreements(con: duckdb.DuckDBPyConnection, root: Path, tables: list[str]) -> list[str]:
    """The tables whose rows on DuckDB (`con`) differ from Spark's (the lake at `root`)."""
    built = lake.read(root, lake.WAREHOUSE)
    assert built is not None
    reader = duckdb.connect()
    wrong = []
    for table in tables:
        columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
        names = ", ".join(f'"{c}"' for c in columns)
        mine = rows(con, f"SELECT {names} FROM {table}")
        files = str(root / built["tables"][table] / "*.parquet")
        theirs = rows(reader, f"SELECT {names} FROM read_parquet(?)", [files])
        if mine != theirs:
            only_duck = [r for r in mine if r not in theirs][:3]
            only_spark = [r for r in theirs if r not in mine][:3]
            wrong.append(f"{table}: DuckDB only {only_duck}; Spark only {only_spark}")
    return wrong


def duckdb_from_lake(root: Path) -> duckdb.DuckDBPyConnection:
    """A store in memory holding the lake's export (the replica the lake reflects)."""
    from kuaike.store.migrations import STORE_STEPS, migrate

    manifest = lake.read(root)
    assert manifest is not None
    con = duckdb.connect()
    migrate(con, "store", STORE_STEPS)
    for table, entry in manifest["tables"].items():
        files = [str(root / f) for f in lake.table_files(manifest, table)]
        if entry["day"]:
            select = (
                f"SELECT * EXCLUDE ({lake.DAY_COLUMN}) FROM read_parquet(?, hive_partitioning = 1)"
            )
        else:
            select = "SELECT * FROM read_parquet(?)"
        con.execute(f"CREATE TABLE ods.{table} AS {select}", [files])
    return con
