"""An incremental build always equals a full rebuild, whatever changed (seeded random changes)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from warehouse_data import Carrier
from warehouse_ods import Ods

from kuaike.warehouse.catalog import load_models
from kuaike.warehouse.runner import build

REFERENCE = dt.date(2024, 3, 5)


def assert_same_tables(inc: duckdb.DuckDBPyConnection, ref: duckdb.DuckDBPyConnection) -> None:
    for name in load_models():
        left = sorted(inc.execute(f"SELECT * FROM {name}").fetchall(), key=repr)
        right = sorted(ref.execute(f"SELECT * FROM {name}").fetchall(), key=repr)
        assert left == right, f"{name} differs from a full rebuild"


@pytest.mark.parametrize("seed", range(2))
def test_incremental_build_after_random_changes_equals_full_rebuild(seed: int) -> None:
    inc, ref = duckdb.connect(), duckdb.connect()
    carrier = Carrier([Ods(inc), Ods(ref)], seed)
    carrier.seed()
    build(inc, reference_date=REFERENCE)
    for _round in range(3):
        for _ in range(carrier.rng.randrange(2, 8)):
            carrier.begin()
            carrier.random_change()
        summary = build(inc, reference_date=REFERENCE)
        assert summary.mode == "incremental"
        build(ref, full=True, reference_date=REFERENCE)
        assert_same_tables(inc, ref)
