"""An incremental build always equals a full rebuild, whatever changed (seeded random changes)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from warehouse_data import Carrier
from warehouse_ods import Ods

from kuaike.warehouse.catalog import load_models
from kuaike.warehouse.lookups import is_narrow, stored_name
from kuaike.warehouse.runner import build

REFERENCE = dt.date(2024, 3, 5)


def assert_same_tables(inc: duckdb.DuckDBPyConnection, ref: duckdb.DuckDBPyConnection) -> None:
    """Every model's rows as read, and the stored rows (with their lineage) of narrow ones."""
    models = load_models()
    for name in [*models, *(stored_name(m) for m in models.values() if is_narrow(m))]:
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


def twins(seed: int) -> tuple[Carrier, duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection]:
    inc, ref = duckdb.connect(), duckdb.connect()
    carrier = Carrier([Ods(inc), Ods(ref)], seed)
    carrier.seed(bills=12)
    build(inc, reference_date=REFERENCE)
    return carrier, inc, ref


def test_parcel_given_to_another_sender_updates_both_customers() -> None:
    carrier, inc, ref = twins(seed=11)
    row = inc.execute("SELECT id, ciid FROM ods.tbl_consumer_sender_info LIMIT 1").fetchall()[0]
    others = {r[0] for r in inc.execute("SELECT id FROM ods.tbl_customer").fetchall()}
    carrier.begin()
    carrier.update("tbl_consumer_sender_info", row[0], ciid=max(others - {row[1]}))
    summary = build(inc, reference_date=REFERENCE)
    assert {r.model: r.action for r in summary.runs}["dwd.tbl_customer_detail"] == "keys"
    build(ref, full=True, reference_date=REFERENCE)
    assert_same_tables(inc, ref)


def test_deleting_a_customers_only_parcel_resets_their_figures() -> None:
    carrier, inc, ref = twins(seed=12)
    carrier.begin()
    lonely = carrier.add("tbl_customer", name="独", type=1, mobile="13900000000")
    parcel = carrier.add("tbl_express_package", actual_amount=9, cdt=dt.datetime(2024, 3, 2, 9))
    sender = carrier.add("tbl_consumer_sender_info", ciid=lonely, pkg_id=parcel)
    build(inc, reference_date=REFERENCE)
    carrier.begin()
    carrier.delete("tbl_consumer_sender_info", sender)
    carrier.delete("tbl_express_package", parcel)
    build(inc, reference_date=REFERENCE)
    count = inc.execute(
        "SELECT total_count FROM dwd.tbl_customer_detail WHERE id = ?", [lonely]
    ).fetchone()
    assert count == (0,)
    build(ref, full=True, reference_date=REFERENCE)
    assert_same_tables(inc, ref)


def test_truncated_dimension_rebuilds_its_dependants_in_full() -> None:
    carrier, inc, ref = twins(seed=13)
    for ods in carrier.replicas:
        ods.truncate("tbl_dot", ods.batch())
    summary = build(inc, reference_date=REFERENCE)
    actions = {run.model: run.action for run in summary.runs}
    assert actions["dwd.tbl_express_bill_detail"] == "full"
    assert actions["dwd.tbl_dot_transport_tool_detail"] == "full"
    assert actions["dwd.tbl_warehouse_transport_tool_detail"] == "skipped"
    build(ref, full=True, reference_date=REFERENCE)
    assert_same_tables(inc, ref)
    assert inc.execute("SELECT count(dot_name) FROM dwd.tbl_express_bill_detail").fetchone() == (0,)


def test_row_deleted_and_inserted_again_in_one_batch_leaves_its_old_day() -> None:
    # the store marks such a row 'insert' and records no deleted key for it
    carrier, inc, ref = twins(seed=14)
    for ods in carrier.replicas:
        batch = ods.batch()
        ods.con.execute(
            "UPDATE ods.tbl_express_bill SET cdt = cdt + INTERVAL 2 DAY, _kuaike_op = 'insert',"
            " _kuaike_batch = ? WHERE id = 1",
            [batch],
        )
    build(inc, reference_date=REFERENCE)
    build(ref, full=True, reference_date=REFERENCE)
    assert_same_tables(inc, ref)
