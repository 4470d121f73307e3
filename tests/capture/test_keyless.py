"""Tables without a primary key (logs, audit trails) replicate as multisets: identical rows are
kept apart, deleting one of two deletes one, and an update that leaves a TOASTed value untouched
keeps it (so later updates and deletes of that row still find it)."""

from __future__ import annotations

import random
import string
from pathlib import Path

from mysql_helpers import capture_until_caught_up as capture_mysql
from mysql_helpers import connect, ods_rows, source_columns, source_rows
from pg_replica import assert_replica_equal, capture_until_caught_up, pg


def _big(rng: random.Random) -> str:
    """Text PostgreSQL stores out of line (TOAST): long and incompressible."""
    return "".join(rng.choices(string.ascii_letters + "客快物流", k=12_000))


def test_keyless_rows_with_toasted_values_duplicates_updates_and_deletes(
    pg_url: str, tmp_path: Path
) -> None:
    rng = random.Random(7)
    store = tmp_path / "k.duckdb"
    conn = pg(pg_url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE log (n int, note text, body text)")
        cur.execute("INSERT INTO log VALUES (1, 'a', %s), (2, 'b', %s)", (_big(rng), _big(rng)))
        cur.execute("INSERT INTO log VALUES (3, 'dup', 'same'), (3, 'dup', 'same')")
    capture_until_caught_up(pg_url, store)
    with conn.cursor() as cur:
        cur.execute("UPDATE log SET note = 'a2' WHERE n = 1")  # body unchanged: not sent
        cur.execute("UPDATE log SET note = 'a3' WHERE n = 1")  # finds the row by its old self
        cur.execute("DELETE FROM log WHERE ctid = (SELECT min(ctid) FROM log WHERE n = 3)")
        cur.execute("INSERT INTO log VALUES (4, 'x', NULL), (4, 'x', NULL), (4, 'x', NULL)")
    capture_until_caught_up(pg_url, store)
    assert_replica_equal(pg_url, store, ["log"])
    with conn.cursor() as cur:
        cur.execute("DELETE FROM log WHERE n = 1")  # the row whose body was never re-sent
        cur.execute("DELETE FROM log WHERE ctid = (SELECT min(ctid) FROM log WHERE n = 4)")
        cur.execute("INSERT INTO log VALUES (5, 'y', 'z')")
        cur.execute("DELETE FROM log WHERE n = 5")  # written and deleted in one batch
        cur.execute("UPDATE log SET body = NULL WHERE n = 2")
    conn.close()
    capture_until_caught_up(pg_url, store)
    assert_replica_equal(pg_url, store, ["log"])


def test_keyless_mysql_updates_replace_the_old_row(mysql_url: str, tmp_path: Path) -> None:
    store = tmp_path / "k.duckdb"
    conn = connect(mysql_url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE audit (n int, note varchar(20))")
        cur.execute("INSERT INTO audit VALUES (1, 'a'), (2, 'b'), (2, 'b')")
    capture_mysql(mysql_url, store)
    with conn.cursor() as cur:
        cur.execute("UPDATE audit SET note = 'a2' WHERE n = 1")
        cur.execute("UPDATE audit SET note = 'c' WHERE n = 2 LIMIT 1")
        cur.execute("DELETE FROM audit WHERE n = 1")
    capture_mysql(mysql_url, store)
    columns = source_columns(conn, "audit")
    assert sorted(ods_rows(store, "audit", columns)) == sorted(source_rows(conn, "audit", columns))
