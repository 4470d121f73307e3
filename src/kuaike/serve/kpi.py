"""The DWS tables as reports: one table's rows between two days, as JSON rows or CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import duckdb

from kuaike.errors import NotFound, UsageError
from kuaike.serve.console import plain
from kuaike.types import DuckConnection
from kuaike.warehouse.catalog import Model, load_models

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
    model = load_models()[f"dws.{table}"]
    where, params = _days(model, start, end)
    order = "ORDER BY " + ", ".join(f'"{c}"' for c in model.key) if model.key else "ORDER BY ALL"
    try:
        cur.execute(f'SELECT * FROM dws."{table}" {where} {order} LIMIT {MAX_ROWS}', params)
    except duckdb.CatalogException as exc:
        raise NotFound(f"dws.{table} is not built yet; run `kuaike build`") from exc
    return [d[0] for d in cur.description or []], cur.fetchall()


def _days(model: Model, start: dt.date | None, end: dt.date | None) -> tuple[str, list[Any]]:
    if start is None and end is None:
        return "", []
    if model.kind == "by_key":  # one row per entity (a customer's tags), no day to filter on
        raise UsageError(f"{model.name} has no day column; drop from= and to=")
    return "WHERE day BETWEEN ? AND ?", [start or dt.date.min, end or dt.date.max]


def as_json(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> bytes:
    """`{"table", "columns", "rows"}`; dates as ISO text, decimals as exact strings."""
    body = {"table": f"dws.{table}", "columns": columns, "rows": rows}
    return json.dumps(body, default=plain, ensure_ascii=False).encode()


def as_csv(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """RFC 4180 CSV with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


class Answers:
    """KPI answers (bytes) of the current warehouse generation; DWS tables change only when a
    build commits, so an answer stays right until then."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.generation = -1
        self._answers: dict[tuple[object, ...], bytes] = {}

    def get(self, generation: int, key: tuple[object, ...]) -> bytes | None:
        if generation != self.generation:
            self._answers, self.generation = {}, generation
        return self._answers.get(key)

    def put(self, generation: int, key: tuple[object, ...], answer: bytes) -> None:
        if generation == self.generation and len(self._answers) < self.size:
            self._answers[key] = answer


def key_of(table: str) -> list[str]:
    """The key columns of dws.<table> (its rows are one per key)."""
    return list(load_models()[f"dws.{table}"].key)
