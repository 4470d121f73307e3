"""Golden fixtures: hand-written replica rows and the KPI rows computed by hand from the
definitions in docs/warehouse.md (tests/warehouse/golden/*.json), checked on DuckDB."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from warehouse_ods import Ods

from kuaike.warehouse.catalog import load_models
from kuaike.warehouse.runner import build

GOLDEN = Path(__file__).parent / "golden"
FIXTURES = sorted(GOLDEN.glob("*.json"))


def normal(value: Any) -> Any:
    """Compare numbers as numbers and times as their ISO text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, decimal.Decimal)):
        return round(float(value), 6)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def actual_rows(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> list[dict]:
    names = ", ".join(columns)
    rows = con.execute(f"SELECT {names} FROM {table}").fetchall()
    found = [{c: normal(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    return sorted(found, key=repr)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_golden_fixture(path: Path) -> None:
    fixture = json.loads(path.read_text(encoding="utf-8"))
    con = duckdb.connect()
    ods = Ods(con)
    batch = ods.batch()
    for table, rows in fixture["input"].items():
        ods.insert(table, rows, batch)
    build(con, full=True, reference_date=dt.date.fromisoformat(fixture["reference_date"]))
    for table, expected in fixture["expected"].items():
        columns = list(expected[0])
        wanted = sorted(({c: normal(r[c]) for c in columns} for r in expected), key=repr)
        assert actual_rows(con, table, columns) == wanted, f"{path.name}: {table}"


def test_every_dws_model_has_a_golden_fixture() -> None:
    covered = {
        table for path in FIXTURES for table in json.loads(path.read_text("utf-8"))["expected"]
    }
    assert {name for name in load_models() if name.startswith("dws.")} <= covered
