"""Live operation's writer on a real PostgreSQL: several events per round trip, each its own
transaction, and what happens when one of them fails in the middle of a batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg2
import pytest

from kuaike.business import schema
from kuaike.business.simulate.journey import Op
from kuaike.business.simulate.transactions import LiveWriter
from kuaike.errors import SourceError

WHEN = datetime(2026, 11, 11, 10, 0, 0)


def _order(bill_id: int) -> list[Op]:
    """An order event: the bill and its dispatch, as the lifecycle makes them."""
    bill = {"id": bill_id, "express_number": f"7{bill_id:09d}", "cdt": WHEN, "udt": WHEN}
    collect = {"id": bill_id, "express_bill_id": bill_id, "state": 1, "cdt": WHEN, "udt": WHEN}
    return [("I", "tbl_express_bill", bill, ()), ("I", "tbl_collect_package", collect, ())]


def _ids(url: str, table: str) -> list[int]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT id FROM {table} ORDER BY id")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


@pytest.fixture
def logistics(pg_url: str) -> str:
    schema.create_logistics(pg_url)
    return pg_url


@pytest.mark.parametrize("connections", [1, 2])
def test_a_batch_commits_every_event_and_counts_its_rows(logistics: str, connections: int) -> None:
    writer = LiveWriter(logistics, connections, batch=4)
    for bill_id in range(1, 11):  # two full batches per connection and a remainder on flush
        writer.submit(bill_id, _order(bill_id))
    update: Op = ("U", "tbl_collect_package", {"id": 3, "state": 3, "udt": WHEN}, ("state", "udt"))
    writer.submit(3, [update])
    writer.close()
    assert _ids(logistics, "tbl_express_bill") == list(range(1, 11))
    assert writer.events == 11
    assert writer.rows == {
        "tbl_express_bill:I": 10,
        "tbl_collect_package:I": 10,
        "tbl_collect_package:U": 1,
    }


def test_an_event_failing_mid_batch_keeps_those_before_it_and_names_those_after(
    logistics: str,
) -> None:
    writer = LiveWriter(logistics, 1, batch=5)
    writer.submit(0, _order(1))
    writer.submit(0, _order(2))
    writer.submit(0, _order(1))  # the same ids again: a unique violation in the third event
    writer.submit(0, _order(4))
    with pytest.raises(SourceError) as failed:
        writer.submit(0, _order(5))  # the batch is full and sent here
    message = str(failed.value)
    assert "duplicate key" in message
    assert "the 2 events before it in its batch were committed" in message
    assert "the 2 after it were not sent" in message
    # Each event was its own transaction: the two before the failure are there, whole.
    assert _ids(logistics, "tbl_express_bill") == [1, 2]
    assert _ids(logistics, "tbl_collect_package") == [1, 2]
    assert writer.events == 2
    assert writer.rows["tbl_express_bill:I"] == 2
    with pytest.raises(SourceError):
        writer.close()  # the failure is reported again, nothing else is sent


def test_a_failure_in_a_thread_stops_the_producer(logistics: str) -> None:
    writer = LiveWriter(logistics, 2, batch=2)
    writer.submit(0, _order(1))
    writer.submit(0, _order(1))
    error: Any = None
    try:
        for bill_id in range(2, 200):
            writer.submit(1, _order(bill_id * 2 + 1))
        writer.flush()
    except SourceError as exc:
        error = exc
    with pytest.raises(SourceError):
        writer.close()
    assert error is None or "duplicate key" in str(error)
    assert 1 in _ids(logistics, "tbl_express_bill")


def test_an_event_that_changes_one_row_twice_still_commits_both_changes(logistics: str) -> None:
    # One statement per event cannot change a row twice; such an event is sent row by row.
    bill = {"id": 20, "express_number": "7000000020", "cdt": WHEN, "udt": WHEN}
    later = {"id": 20, "is_collect_package_timeout": 1, "udt": WHEN}
    changed = ("is_collect_package_timeout", "udt")
    writer = LiveWriter(logistics, 1)
    writer.submit(0, [*_order(21), ("I", "tbl_express_bill", bill, ())])
    writer.submit(
        0, [("I", "tbl_express_package", {"id": 5}, ()), ("D", "tbl_express_bill", bill, ())]
    )
    writer.submit(
        0, [("I", "tbl_express_bill", dict(bill), ()), ("U", "tbl_express_bill", later, changed)]
    )
    writer.close()
    conn = psycopg2.connect(logistics)
    with conn.cursor() as cur:
        cur.execute("SELECT id, is_collect_package_timeout FROM tbl_express_bill ORDER BY id")
        assert cur.fetchall() == [(20, 1), (21, None)]
    conn.close()
    assert _ids(logistics, "tbl_express_package") == [5]
    assert writer.rows["tbl_express_bill:I"] == 3
    assert writer.rows["tbl_express_bill:D"] == 1


# Text a composite literal must escape: its quote and backslash, the SQL literal's quote, the
# delimiters of a row, spaces, an empty string (not NULL) and a string cut to the column.
AWKWARD = ['a"b', "c\\d", "e'f", "(g,h)", " i j ", "", "寄件人 张三", "x" * 60]


def _bills(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    for row in rows:
        row |= {"cdt": WHEN, "udt": WHEN}
    return [(row["id"], row.get("express_number"), row.get("remark")) for row in rows]


def _read_bills(url: str) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT id, express_number, remark, cdt FROM tbl_express_bill ORDER BY id")
        rows = cur.fetchall()
    conn.close()
    assert {row[3] for row in rows} == {WHEN}
    return [row[:3] for row in rows]


def test_new_rows_travel_as_one_composite_value_and_keep_every_character(logistics: str) -> None:
    rows = [{"id": n, "express_number": text, "remark": None} for n, text in enumerate(AWKWARD, 1)]
    expected = [(n, text[:50], remark) for n, text, remark in _bills(rows)]
    writer = LiveWriter(logistics, 1)
    assert "tbl_express_bill" in writer._prepared[0].whole_rows
    for row in rows:
        writer.submit(0, [("I", "tbl_express_bill", row, ())])
    writer.close()
    assert _read_bills(logistics) == expected


def test_a_table_edited_by_hand_gets_its_rows_column_by_column(logistics: str) -> None:
    conn = psycopg2.connect(logistics)
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE tbl_express_bill ADD COLUMN added_by_hand integer DEFAULT 7")
    conn.commit()
    conn.close()
    rows = [{"id": n, "express_number": text, "remark": "r"} for n, text in enumerate(AWKWARD, 1)]
    expected = [(n, text[:50], remark) for n, text, remark in _bills(rows)]
    writer = LiveWriter(logistics, 1)
    assert "tbl_express_bill" not in writer._prepared[0].whole_rows
    assert "tbl_collect_package" in writer._prepared[0].whole_rows
    for row in rows:
        writer.submit(0, [("I", "tbl_express_bill", row, ())])
    writer.close()
    assert _read_bills(logistics) == expected
