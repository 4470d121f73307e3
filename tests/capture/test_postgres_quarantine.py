"""A value nothing converts sets its table aside; every other table keeps flowing, and
`kuaike capture --resnapshot --table T` brings it back exactly, while the source is written."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest
from pg_replica import assert_replica_equal, capture_until_caught_up, pg, settings

from kuaike import pipeline
from kuaike.errors import UsageError

TOO_LATE = "294270-01-01 00:00:00"
"""A timestamp PostgreSQL holds (up to 294276 AD) and DuckDB does not (up to 294247 AD)."""


def _create(url: str) -> None:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE good (id integer PRIMARY KEY, v integer)")
        cur.execute("CREATE TABLE bad (id integer PRIMARY KEY, ts timestamp, note text)")
        cur.execute("INSERT INTO good SELECT g, g FROM generate_series(1, 50) g")
        cur.execute("INSERT INTO bad VALUES (1, '2024-01-01', '一')")
        cur.execute("CREATE TABLE trail (at timestamptz, note text)")  # no key: a multiset
    conn.close()


def _run(url: str, sql: str, *args: object) -> None:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute(sql, args)
    conn.close()


def _quarantined(url: str, store: Path, **capture: object) -> list[dict[str, object]]:
    rows = pipeline.status(settings(url, store, **capture))
    return [q for row in rows for q in row["quarantined"]]


def _ods(store: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_unconvertible_value_quarantines_its_table_and_a_recopy_recovers_it(
    pg_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "store.duckdb"
    _create(pg_url)
    capture_until_caught_up(pg_url, store)
    _run(pg_url, "INSERT INTO bad VALUES (2, %s, 'late')", TOO_LATE)
    _run(pg_url, "INSERT INTO good VALUES (51, 51)")
    capture_until_caught_up(pg_url, store)  # does not fail: only `bad` stops

    (held,) = _quarantined(pg_url, store)
    assert held["table"] == "bad"
    line = str(held["line"])
    for part in ("source logistics", "table bad", "column ts", '{"id": "2"}', TOO_LATE):
        assert part in line
    assert "_c1" not in line and "--resnapshot --table bad" in line
    assert _ods(store, "SELECT count(*) FROM ods.good") == [(51,)]

    # Meanwhile: `bad` changes are not applied, `good` ones are.
    _run(pg_url, "UPDATE bad SET note = '改' WHERE id = 1")
    _run(pg_url, "INSERT INTO good VALUES (52, 52)")
    capture_until_caught_up(pg_url, store)
    assert _ods(store, "SELECT id, note FROM ods.bad") == [(1, "一")]
    assert _ods(store, "SELECT count(*) FROM ods.good") == [(52,)]

    # Fixed at the source; the re-copy runs while both tables are written.
    _run(pg_url, "UPDATE bad SET ts = '2024-06-01' WHERE id = 2")
    done = threading.Event()

    def writer() -> None:
        conn = pg(pg_url)
        with conn.cursor() as cur:
            for n in range(100, 400):  # spans the re-copy: it starts before, ends after
                cur.execute("INSERT INTO bad VALUES (%s, now(), 'w')", (n,))
                cur.execute("UPDATE bad SET note = note || '+' WHERE id = 1")
                cur.execute("INSERT INTO good VALUES (%s, %s)", (n, n))
                cur.execute("INSERT INTO trail VALUES ('2024-01-01', 'same'), (now(), 'x')")
                if done.wait(0.005) and n > 160:
                    break
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        pipeline.run_capture(
            settings(pg_url, store),
            threading.Event(),
            until_caught_up=True,
            resnapshot=True,
            tables=("bad", "trail"),
        )
    finally:
        done.set()
        thread.join()
    capture_until_caught_up(pg_url, store)
    assert _quarantined(pg_url, store) == []
    assert_replica_equal(pg_url, store, ["good", "bad", "trail"])
    _run(pg_url, "DELETE FROM bad WHERE id = 100")
    capture_until_caught_up(pg_url, store)
    assert_replica_equal(pg_url, store, ["good", "bad", "trail"])
    assert _ods(store, "SELECT count(*) FROM _kuaike.quarantine") == [(0,)]


def test_a_value_nothing_converts_in_the_snapshot_sets_only_its_table_aside(
    pg_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "store.duckdb"
    _create(pg_url)
    _run(pg_url, "INSERT INTO bad VALUES (2, %s, 'late')", TOO_LATE)
    capture_until_caught_up(pg_url, store)
    (held,) = _quarantined(pg_url, store)
    assert TOO_LATE in str(held["line"]) and "column ts" in str(held["line"])
    assert _ods(store, "SELECT count(*) FROM ods.good") == [(50,)]
    assert _ods(store, "SELECT count(*) FROM ods.bad") == [(0,)]


def test_recopy_of_a_table_not_captured_is_one_clear_error(pg_url: str, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    _create(pg_url)
    capture_until_caught_up(pg_url, store)
    with pytest.raises(UsageError, match="captures no table nosuch"):
        pipeline.run_capture(
            settings(pg_url, store),
            threading.Event(),
            until_caught_up=True,
            resnapshot=True,
            tables=("nosuch",),
        )
