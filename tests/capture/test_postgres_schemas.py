"""Every schema the user includes is captured, named so two schemas' tables cannot collide; a
partitioned table arrives as one replica table under its root's name, partitions attached
later included."""

from __future__ import annotations

from pathlib import Path

from pg_replica import capture_until_caught_up, pg, replica_rows, source_rows


def _run(url: str, *statements: str) -> None:
    conn = pg(url)
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    conn.close()


def test_two_schemas_tables_of_one_name_land_apart(pg_url: str, tmp_path: Path) -> None:
    store = tmp_path / "k.duckdb"
    _run(
        pg_url,
        "CREATE SCHEMA sales",
        "CREATE TABLE public.orders (id int PRIMARY KEY, who text)",
        "CREATE TABLE sales.orders (id int PRIMARY KEY, amount numeric(10,2))",
        "CREATE TABLE sales.ledger (n int, note text)",  # no key
        "INSERT INTO public.orders VALUES (1, '张三')",
        "INSERT INTO sales.orders VALUES (1, 9.50), (2, 3.25)",
    )
    capture_until_caught_up(pg_url, store, schemas=["public", "sales"])
    _run(
        pg_url,
        "UPDATE sales.orders SET amount = 10 WHERE id = 1",
        "INSERT INTO sales.ledger VALUES (1, 'a'), (1, 'a')",
        "UPDATE sales.ledger SET note = 'b' WHERE ctid = (SELECT min(ctid) FROM sales.ledger)",
        "INSERT INTO public.orders VALUES (2, '李四')",
    )
    capture_until_caught_up(pg_url, store, schemas=["public", "sales"])
    assert replica_rows(store, "orders", ["id", "who"]) == source_rows(
        pg_url, "orders", ["id", "who"]
    )
    assert replica_rows(store, "sales__orders", ["id", "amount"]) == [(1, 10), (2, 3.25)]
    assert replica_rows(store, "sales__ledger", ["n", "note"]) == [(1, "a"), (1, "b")]


def test_a_schema_not_included_is_not_captured(pg_url: str, tmp_path: Path) -> None:
    store = tmp_path / "k.duckdb"
    _run(pg_url, "CREATE SCHEMA hidden", "CREATE TABLE hidden.t (id int PRIMARY KEY)")
    _run(pg_url, "CREATE TABLE shown (id int PRIMARY KEY)", "INSERT INTO hidden.t VALUES (1)")
    capture_until_caught_up(pg_url, store)
    _run(pg_url, "INSERT INTO hidden.t VALUES (2)", "INSERT INTO shown VALUES (1)")
    capture_until_caught_up(pg_url, store)
    assert replica_rows(store, "shown", ["id"]) == [(1,)]
    import duckdb

    con = duckdb.connect(str(store))
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert not any("hidden" in name for name in tables)


def test_a_partitioned_table_is_one_replica_table_partitions_attached_later_included(
    pg_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "k.duckdb"
    _run(
        pg_url,
        "CREATE TABLE waybill (id int, day date, note text, PRIMARY KEY (id, day)) "
        "PARTITION BY RANGE (day)",
        "CREATE TABLE waybill_2024_01 PARTITION OF waybill "
        "FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')",
        "INSERT INTO waybill VALUES (1, '2024-01-05', 'a')",
    )
    capture_until_caught_up(pg_url, store)
    _run(
        pg_url,
        "CREATE TABLE waybill_2024_02 (LIKE waybill INCLUDING ALL)",
        "ALTER TABLE waybill ATTACH PARTITION waybill_2024_02 "
        "FOR VALUES FROM ('2024-02-01') TO ('2024-03-01')",
        "INSERT INTO waybill VALUES (2, '2024-02-07', 'b'), (3, '2024-01-09', 'c')",
        "UPDATE waybill SET note = 'a2' WHERE id = 1",
        "DELETE FROM waybill WHERE id = 3",
    )
    capture_until_caught_up(pg_url, store)
    columns = ["id", "day", "note"]
    assert replica_rows(store, "waybill", columns) == source_rows(pg_url, "waybill", columns)
    assert len(replica_rows(store, "waybill", columns)) == 2
    import duckdb

    con = duckdb.connect(str(store))
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert not any(name.startswith("waybill_2024") for name in tables)
