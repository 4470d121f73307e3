"""A failed audit fails the build, keeps the previous tables and records the failure."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from warehouse_data import Carrier
from warehouse_ods import Ods

from kuaike.errors import AuditError
from kuaike.warehouse.audits import audit
from kuaike.warehouse.catalog import parse_model
from kuaike.warehouse.runner import build

REFERENCE = dt.date(2024, 3, 5)


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def test_duplicate_fact_in_replica_fails_the_audit_and_keeps_the_previous_tables() -> None:
    con = duckdb.connect()
    carrier = Carrier([Ods(con)], seed=7)
    carrier.seed(bills=10)
    build(con, reference_date=REFERENCE)
    detail, summary = (
        rows(con, "dwd.tbl_express_bill_detail"),
        rows(con, "dws.tbl_express_bill_summary"),
    )

    # a replica that breaks the contract: the same bill twice (as a faulty loader would write it)
    batch = Ods.__new__(Ods)
    batch.con = con
    number = batch.batch()
    con.execute(
        "INSERT INTO ods.tbl_express_bill SELECT * REPLACE (? AS _kuaike_batch) "
        "FROM ods.tbl_express_bill WHERE id = 1",
        [number],
    )
    # the first detail table built from the bill sees it twice (the parcel detail joins bills)
    with pytest.raises(AuditError, match=r"audit failed for dwd\.\w+: .*duplicate keys \(id\)"):
        build(con, reference_date=REFERENCE)

    assert rows(con, "dwd.tbl_express_bill_detail") == detail
    assert rows(con, "dws.tbl_express_bill_summary") == summary
    failed = con.execute(
        "SELECT model, status, error, days FROM _kuaike.runs WHERE status = 'failed'"
    ).fetchall()
    assert len(failed) == 1
    model, _status, error, days = failed[0]
    assert model.startswith("dwd.") and "duplicate keys (id)" in error and days == 1
    assert con.execute("SELECT status FROM _kuaike.builds ORDER BY build").fetchall() == [
        ("ok",),
        ("failed",),
    ]

    # once the replica is fixed, the next build picks the change up (state did not advance)
    con.execute("DELETE FROM ods.tbl_express_bill WHERE id = 1 AND _kuaike_batch = ?", [number])
    con.execute("UPDATE ods.tbl_express_bill SET _kuaike_batch = ? WHERE id = 1", [number])
    result = build(con, reference_date=REFERENCE)
    assert result.status == "ok"
    runs = {run.model: run for run in result.runs}
    # only the changed bill is rebuilt, on its one day
    rebuilt = runs["dwd.tbl_express_bill_detail"]
    assert (rebuilt.action, rebuilt.days, rebuilt.rows) == ("keys", 1, 1)


def test_two_companies_claiming_one_dot_do_not_repeat_bills() -> None:
    con = duckdb.connect()
    carrier = Carrier([Ods(con)], seed=3)
    carrier.seed(bills=5)
    # two companies claim the same dot: the model keeps the first mapping, one row per bill
    carrier.begin()
    carrier.add("tbl_company_dot_map", dot_id=1, company_id=2)
    summary = build(con, reference_date=REFERENCE)
    assert summary.status == "ok"
    count = con.execute("SELECT count(*) FROM dwd.tbl_express_bill_detail").fetchone()
    facts = con.execute("SELECT count(*) FROM ods.tbl_express_bill").fetchone()
    assert count == facts


@pytest.mark.parametrize(
    ("column_type", "keys", "expected"),
    [
        ("TINYINT", [(1, -128), (1, 127), (1, None), (2, None)], []),
        ("TINYINT", [(1, -128), (1, 127), (1, -128)], ["1 duplicate keys (day, k)"]),
        ("BIGINT", [(1, None), (1, None), (2, 5), (2, 5)], ["2 duplicate keys (day, k)"]),
        # beyond the bitmap's reach, and not a number: counted by grouping
        ("BIGINT", [(1, -(10**18)), (1, 10**18), (1, 10**18)], ["1 duplicate keys (day, k)"]),
        ("VARCHAR", [(1, "a"), (1, "b"), (2, "a")], []),
        ("VARCHAR", [(1, "a"), (1, "a")], ["1 duplicate keys (day, k)"]),
    ],
)
def test_repeated_keys_are_counted_with_nulls_as_one_value_whatever_the_key_type(
    column_type: str, keys: list[tuple[int, object]], expected: list[str]
) -> None:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA dws")
    con.execute(f"CREATE TABLE dws.t (day DATE, k {column_type})")
    for day, key in keys:
        con.execute("INSERT INTO dws.t VALUES (?, ?)", [REFERENCE + dt.timedelta(days=day), key])
    model = parse_model("dws.t", "-- kind: full\n-- key: day, k\n-- not_null: day\nSELECT 1")
    assert audit(con, model, None) == expected


def test_keys_near_the_largest_bigint_are_checked_without_overflow() -> None:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA dws")
    con.execute("CREATE TABLE dws.t (k BIGINT, day DATE)")
    largest = 2**63 - 1
    con.execute("INSERT INTO dws.t VALUES (?, ?), (?, ?)", [largest, REFERENCE] * 2)
    con.execute("UPDATE dws.t SET day = day + 1 WHERE rowid = 0")
    model = parse_model("dws.t", "-- kind: full\n-- key: k, day\nSELECT 1")
    assert audit(con, model, None) == []
    con.execute("UPDATE dws.t SET day = day - 1 WHERE rowid = 0")
    assert audit(con, model, None) == ["1 duplicate keys (k, day)"]
