"""The DWS tables as reports: one table's rows between two days, as JSON rows or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from kuaike.errors import NotFound, UsageError
from kuaike.types import DuckConnection
from kuaike.warehouse.catalog import load_models

MAX_ROWS = 100_000
"""Rows one report returns at most; a DWS table holds one row per day and key, so a year of a
summary by route is well below it."""


def kpi_tables() -> list[str]:
    """The DWS tables the warehouse builds, without their schema."""
    return sorted(m.name.split(".", 1)[1] for m in load_models().values() if m.layer == "dws")


def parse_day(value: str | None, name: str) -> dt.date | None:
    """A YYYY-MM-DD query parameter, or a UsageError naming it."""
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"{name}={value!r} is not a date; write it as YYYY-MM-DD") from exc


def report(
    cur: DuckConnection, table: str, start: dt.date | None, end: dt.date | None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of dws.<table>, by day when it has one, between start and end."""
    if table not in kpi_tables():
        raise NotFound(f"no KPI table {table!r}; choose from {', '.join(kpi_tables())}")
    if start and end and end < start:
        raise UsageError(f"to={end} is before from={start}; swap them")
    if not _built(cur, table):
        raise NotFound(f"dws.{table} is not built yet; run `kuaike build`")
    columns = [row[0] for row in cur.execute(f'DESCRIBE dws."{table}"').fetchall()]
    where, params = _days(columns, start, end, table)
    key = load_models()[f"dws.{table}"].key
    order = "ORDER BY " + ", ".join(f'"{c}"' for c in key) if key else "ORDER BY ALL"
    cur.execute(f'SELECT * FROM dws."{table}" {where} {order} LIMIT {MAX_ROWS}', params)
    return columns, cur.fetchall()


def _built(cur: DuckConnection, table: str) -> bool:
    row = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'dws' AND table_name = ?",
        [table],
    ).fetchone()
    return bool(row and row[0])


def _days(
    columns: list[str], start: dt.date | None, end: dt.date | None, table: str
) -> tuple[str, list[Any]]:
    if start is None and end is None:
        return "", []
    if "day" not in columns:
        raise UsageError(f"dws.{table} has no day column; drop from= and to=")
    return "WHERE day BETWEEN ? AND ?", [start or dt.date.min, end or dt.date.max]


def as_csv(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """RFC 4180 CSV with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
