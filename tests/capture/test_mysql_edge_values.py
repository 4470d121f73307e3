"""Values of the MySQL map where conversions fail or drift, by snapshot and by binlog: zero dates,
TIME beyond a day and negative, BIT(64), YEAR 0000, DECIMAL(65,30) beyond DuckDB's 38 digits,
the empty ENUM and SET, the zero TIMESTAMP. Expected values are written from MySQL's manual."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
from mysql_helpers import capture_until_caught_up, connect

COLUMNS: dict[str, tuple[str, list[tuple[str, Any]]]] = {
    # column: (definition, [(literal, value in ODS)])
    "d": (
        "date",
        [("'0000-00-00'", None), ("'2024-00-00'", None), ("'9999-12-31'", dt.date(9999, 12, 31))],
    ),
    "dt": (
        "datetime",
        [
            ("'0000-00-00 00:00:00'", None),
            ("'2024-02-00 01:02:03'", None),
            ("'1000-01-01 00:00:00'", dt.datetime(1000, 1, 1)),
        ],
    ),
    "t": (
        "time",
        [
            ("'838:59:59'", dt.timedelta(hours=838, minutes=59, seconds=59)),
            ("'-838:59:59'", -dt.timedelta(hours=838, minutes=59, seconds=59)),
            ("'-00:00:01'", -dt.timedelta(seconds=1)),
        ],
    ),
    "b": ("bit(64)", [("b'" + "1" * 64 + "'", 2**64 - 1), ("b'0'", 0), ("b'1'", 1)]),
    "y": ("year", [("0", 0), ("1901", 1901), ("2155", 2155)]),
    "m": (
        "decimal(65,30)",
        [
            ("'" + "9" * 35 + "." + "9" * 30 + "'", "9" * 35 + "." + "9" * 30),
            ("'-0.000000000000000000000000000001'", "-0." + "0" * 29 + "1"),
            ("0", "0." + "0" * 30),
        ],
    ),
    "e": ("enum('a','b')", [("''", ""), ("'a'", "a"), ("'b'", "b")]),
    "s": ("set('x','y')", [("''", ""), ("'y,x'", "x,y"), ("'x'", "x")]),
    "ts": (
        "timestamp NULL",
        [
            ("'0000-00-00 00:00:00'", None),
            ("'2038-01-19 03:14:07'", dt.datetime(2038, 1, 19, 3, 14, 7, tzinfo=dt.UTC)),
            ("'1970-01-01 00:00:01'", dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC)),
        ],
    ),
}


def _insert(cur: Any, first: int) -> None:
    cur.execute("SET SESSION sql_mode = ''")  # zero dates and the empty ENUM are accepted
    for row in range(3):
        values = ", ".join(samples[row][0] for _, samples in COLUMNS.values())
        cur.execute(f"INSERT INTO crm_edge VALUES ({first + row}, {values})")


def test_edge_values_arrive_the_same_by_snapshot_and_by_binlog(
    mysql_url: str, tmp_path: Path
) -> None:
    conn = connect(mysql_url)
    store = tmp_path / "store.duckdb"
    with conn.cursor() as cur:
        ddl = ", ".join(f"{name} {kind}" for name, (kind, _) in COLUMNS.items())
        cur.execute(f"CREATE TABLE crm_edge (id int PRIMARY KEY, {ddl})")
        _insert(cur, 0)
    capture_until_caught_up(mysql_url, store)
    with conn.cursor() as cur:
        _insert(cur, 10)
    conn.close()
    capture_until_caught_up(mysql_url, store)
    con = duckdb.connect(str(store), read_only=True)
    try:
        names = ", ".join(COLUMNS)
        rows = {
            r[0]: r[1:] for r in con.execute(f"SELECT id, {names} FROM ods.tbl_edge").fetchall()
        }
        held = con.execute("SELECT count(*) FROM _kuaike.quarantine").fetchall()
    finally:
        con.close()
    assert held == [(0,)]
    for first, how in ((0, "snapshot"), (10, "binlog")):
        for row in range(3):
            for i, (name, (_, samples)) in enumerate(COLUMNS.items()):
                literal, wanted = samples[row]
                assert rows[first + row][i] == wanted, f"{name} = {literal} by {how}"
