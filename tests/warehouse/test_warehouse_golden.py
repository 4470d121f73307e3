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

from kuaike.business.simulate.people import areas, display_name, lineage
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


# The states and remarks the simulator writes (docs/simulate.md), per table and column.
SIMULATED_VALUES: dict[tuple[str, str], set[Any]] = {
    ("tbl_transport_record", "state"): {1, 2, 3},
    ("tbl_transport_record", "remark"): {None, "延误", "丢失"},
    ("tbl_collect_package", "state"): {1, 3, 4},
    ("tbl_deliver_package", "state"): {2, 3, 4, 5},
}


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_golden_fixtures_use_the_simulators_value_shapes(path: Path) -> None:
    """A fixture in invented shapes (areas named `中国-省-市`) would agree with a model that
    splits them the invented way: areas must be real ones as the simulator writes them, and
    states and remarks the simulator's."""
    known = areas()
    tables = json.loads(path.read_text(encoding="utf-8"))["input"]
    for row in tables.get("tbl_areas", []):
        if "mername" in row:
            area = known[row["id"]]
            assert row["mername"] == "中国," + ",".join(a.name for a in lineage(area)), row
            assert row.get("name", display_name(area)) == display_name(area), row
    for (table, column), allowed in SIMULATED_VALUES.items():
        for row in tables.get(table, []):
            assert row.get(column) in allowed, (table, row)
