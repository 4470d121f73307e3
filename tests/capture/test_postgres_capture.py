"""PostgreSQL capture on a real server: the replica equals the source, row for row."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from pg_replica import (
    assert_replica_equal,
    batch_positions_increase,
    capture_until_caught_up,
    pg,
)
from workload import TABLES, Workload


@pytest.mark.parametrize("seed", [1, 2])
def test_randomized_workload_replica_equals_source(pg_url: str, tmp_path: Path, seed: int) -> None:
    store = tmp_path / "store.duckdb"
    work = Workload(pg_url, seed)
    work.create()
    for _ in range(30):
        work.step()
    capture_until_caught_up(pg_url, store)  # snapshot
    assert_replica_equal(pg_url, store, TABLES)
    for round_ in range(3):
        for _ in range(50):
            work.step()
        progress = capture_until_caught_up(
            pg_url, store, batch_max_rows=300 if round_ % 2 else 100_000
        )["logistics"]
        assert_replica_equal(pg_url, store, TABLES)
        assert progress.changes > 0
        assert 0 < progress.first_read <= progress.last_applied
    assert batch_positions_increase(store)


def test_schema_changes_and_truncates_are_recorded(pg_url: str, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    conn = pg(pg_url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id integer PRIMARY KEY, v numeric(6,2), gone text)")
        cur.execute("INSERT INTO t VALUES (1, 1.5, 'a')")
    capture_until_caught_up(pg_url, store)
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE t ADD COLUMN added varchar(10)")
        cur.execute("ALTER TABLE t ALTER COLUMN v TYPE numeric(12,4)")
        cur.execute("ALTER TABLE t DROP COLUMN gone")
        cur.execute("INSERT INTO t VALUES (2, 12345678.1234, 'x')")
        cur.execute("TRUNCATE t")
        cur.execute("INSERT INTO t VALUES (3, 3, 'y')")
        cur.execute("CREATE TABLE later (id bigint PRIMARY KEY, s text)")
        cur.execute("INSERT INTO later VALUES (1, '后来')")
    capture_until_caught_up(pg_url, store)
    con = duckdb.connect(str(store))
    try:
        assert con.execute("SELECT id, v, gone, added FROM ods.t").fetchall() == [(3, 3, None, "y")]
        changes = con.execute(
            "SELECT table_name, change, detail FROM _kuaike.schema_changes ORDER BY applied_at"
        ).fetchall()
        assert ("t", "add_column", "added VARCHAR") in changes
        assert ("t", "alter_type", "v DECIMAL(6,2) -> DECIMAL(12,4)") in changes
        assert ("t", "drop_column", "gone") in changes
        assert ("later", "create_table", "id BIGINT, s VARCHAR") in changes
        assert con.execute("SELECT count(*) FROM _kuaike.truncates").fetchone() == (1,)
        assert con.execute("SELECT s FROM ods.later").fetchall() == [("后来",)]
    finally:
        con.close()
