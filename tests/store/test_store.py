"""The store on real DuckDB: type maps, dedupe + MERGE, unchanged TOAST, truncate order, tables
without a key, all-or-nothing batches, and the one-process lock."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kuaike.capture.events import UNCHANGED, BatchBuilder, Column, Position, TableSchema
from kuaike.capture.registry import TYPE_MAPS, duckdb_type
from kuaike.errors import StoreError
from kuaike.store import apply as apply_module
from kuaike.store.types import ods_name
from kuaike.store.writer import Store

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
PARCEL = TableSchema(
    "logistics",
    "parcel",
    (
        Column("id", "bigint"),
        Column("name", "varchar(20)"),
        Column("fee", "numeric(10,2)"),
        Column("note", "text"),
    ),
    ("id",),
)


@pytest.mark.parametrize("dialect", sorted(TYPE_MAPS))
def test_every_mapped_type_is_a_valid_duckdb_type(dialect: str) -> None:
    con = duckdb.connect()
    for source_type in TYPE_MAPS[dialect]:
        target = duckdb_type(
            dialect,
            f"{source_type}(10,2)" if "{p}" in TYPE_MAPS[dialect][source_type] else source_type,
        )
        con.execute(f"SELECT CAST(NULL AS {target})")


def test_contract_type_mapping_and_crm_rename() -> None:
    assert duckdb_type("postgresql", "numeric(12,2)") == "DECIMAL(12,2)"
    assert duckdb_type("postgresql", "bigint") == "BIGINT"
    assert duckdb_type("postgresql", "integer") == "INTEGER"
    assert duckdb_type("postgresql", "varchar(20)") == "VARCHAR"
    assert duckdb_type("postgresql", "timestamp(0)") == "TIMESTAMP"
    assert duckdb_type("postgresql", "timestamptz") == "TIMESTAMPTZ"
    assert duckdb_type("postgresql", "numeric") == "VARCHAR"  # unconstrained: exact as text
    assert ods_name("crm", "crm_customer") == "tbl_customer"
    assert ods_name("logistics", "crm_customer") == "crm_customer"


def _store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store.duckdb")


def _txn(builder: BatchBuilder, lsn: int, *changes: tuple[str, dict[str, Any]]) -> None:
    builder.begin(Position.postgres(lsn), NOW)
    for op, row in changes:
        if op == "truncate":
            builder.truncate(PARCEL)
        else:
            builder.add(PARCEL, op, row)  # type: ignore[arg-type]
    builder.commit()


def _rows(
    store: Store, sql: str = "SELECT id, name, fee, note, _kuaike_op FROM ods.parcel ORDER BY id"
) -> list[tuple[Any, ...]]:
    return store.con.execute(sql).fetchall()


def test_apply_keeps_the_last_change_per_key_and_records_deletes(tmp_path: Path) -> None:
    store, b = _store(tmp_path), BatchBuilder("logistics")
    _txn(
        b,
        10,
        ("insert", {"id": b"1", "name": "甲".encode(), "fee": b"1.50", "note": b"n"}),
        ("insert", {"id": b"2", "name": b"b", "fee": None, "note": None}),
    )
    _txn(
        b,
        20,
        ("update", {"id": b"1", "name": b"a2", "fee": b"2", "note": b"n"}),
        ("delete", {"id": b"2"}),
        ("insert", {"id": b"3", "name": b"c", "fee": b"-0.01", "note": b""}),
    )
    batch_id = store.apply(b.take())
    assert _rows(store) == [
        (1, "a2", Decimal("2.00"), "n", "update"),
        (3, "c", Decimal("-0.01"), "", "insert"),
    ]
    assert store.position("logistics") == Position.postgres(20)
    assert store.con.execute(
        "SELECT batch, table_name, key FROM _kuaike.deleted_keys"
    ).fetchall() == [(batch_id, "parcel", '{"id":2}')]
    assert store.state("logistics").last_commit_ts == NOW  # type: ignore[union-attr]


def test_a_batch_of_unique_keys_skips_the_dedupe_and_still_merges(tmp_path: Path) -> None:
    store, b = _store(tmp_path), BatchBuilder("logistics")
    _txn(b, 10, ("insert", {"id": b"1", "name": b"a", "fee": b"1", "note": None}))
    store.apply(b.take())
    # Each key once: the fast path. Key 1 already exists in ODS (as after a snapshot), so an
    # "insert" of it must still update it; the delete of key 4 (absent) changes nothing.
    _txn(
        b,
        20,
        ("insert", {"id": b"1", "name": b"a2", "fee": b"2", "note": None}),
        ("insert", {"id": b"2", "name": b"b", "fee": None, "note": b"x"}),
        ("delete", {"id": b"4"}),
    )
    batch = b.take()
    table = batch.tables[next(iter(batch.tables))]
    data = apply_module.arrow_table(batch, table, PARCEL.column_names)
    assert apply_module._unique_keys(data, ["_c0"], ["BIGINT"])
    assert not apply_module._unique_keys(data, ["_c0"], ["DECIMAL(10,2)"])  # text not canonical
    store.apply(batch)
    assert _rows(store) == [
        (1, "a2", Decimal("2.00"), None, "insert"),
        (2, "b", None, "x", "insert"),
    ]
    _txn(b, 30, ("update", {"id": b"2", "name": b"b2", "fee": None, "note": b"x"}))
    _txn(b, 40, ("update", {"id": b"2", "name": b"b3", "fee": None, "note": b"x"}))
    batch = b.take()
    table = batch.tables[next(iter(batch.tables))]
    data = apply_module.arrow_table(batch, table, PARCEL.column_names)
    assert not apply_module._unique_keys(data, ["_c0"], ["BIGINT"])
    store.apply(batch)
    assert _rows(store)[1] == (2, "b3", None, "x", "update")


def test_unchanged_toast_keeps_the_value_within_and_across_batches(tmp_path: Path) -> None:
    store, b = _store(tmp_path), BatchBuilder("logistics")
    big = "大" * 5000
    _txn(
        b,
        10,
        ("insert", {"id": b"1", "name": b"a", "fee": b"1", "note": big.encode()}),
        ("update", {"id": b"1", "name": b"b", "fee": b"1", "note": UNCHANGED}),
    )
    store.apply(b.take())
    _txn(b, 20, ("update", {"id": b"1", "name": b"c", "fee": b"1", "note": UNCHANGED}))
    store.apply(b.take())
    assert _rows(store) == [(1, "c", Decimal("1.00"), big, "update")]


def test_truncate_discards_earlier_changes_and_keeps_later_ones(tmp_path: Path) -> None:
    store, b = _store(tmp_path), BatchBuilder("logistics")
    _txn(b, 10, ("insert", {"id": b"1", "name": b"a", "fee": None, "note": None}))
    store.apply(b.take())
    _txn(
        b,
        20,
        ("insert", {"id": b"2", "name": b"b", "fee": None, "note": None}),
        ("truncate", {}),
        ("insert", {"id": b"1", "name": b"again", "fee": None, "note": None}),
    )
    store.apply(b.take())
    assert _rows(store) == [(1, "again", None, None, "insert")]
    assert store.con.execute("SELECT table_name FROM _kuaike.truncates").fetchall() == [("parcel",)]


def test_table_without_key_keeps_duplicates_and_deletes_one(tmp_path: Path) -> None:
    store, b = _store(tmp_path), BatchBuilder("logistics")
    log = TableSchema("logistics", "log", (Column("a", "integer"), Column("b", "text")), ())
    b.begin(Position.postgres(10), NOW)
    for _ in range(3):
        b.insert(log, {"a": b"1", "b": b"x"})
    b.delete(log, {"a": b"1", "b": b"x"})
    b.update(log, {"a": b"1", "b": b"y"}, old={"a": b"1", "b": b"x"})
    b.commit()
    store.apply(b.take())
    assert sorted(store.con.execute("SELECT a, b FROM ods.log").fetchall()) == [(1, "x"), (1, "y")]


def test_python_values_from_other_readers_apply_too(tmp_path: Path) -> None:
    store, b = _store(tmp_path), BatchBuilder("crm")
    customer = TableSchema(
        "crm",
        "crm_customer",
        (Column("id", "bigint"), Column("reg_dt", "datetime"), Column("fee", "decimal(8,3)")),
        ("id",),
        dialect="mysql",
    )
    b.begin(Position.mysql("binlog.000001", 120), NOW)
    b.insert(customer, {"id": 7, "reg_dt": datetime(2024, 1, 2, 3, 4, 5), "fee": Decimal("1.250")})
    b.commit()
    store.apply(b.take())
    assert store.con.execute(
        "SELECT * EXCLUDE (_kuaike_commit_ts, _kuaike_batch) FROM ods.tbl_customer"
    ).fetchall() == [
        (
            7,
            datetime(2024, 1, 2, 3, 4, 5),
            Decimal("1.250"),
            "insert",
            "binlog.000001:00000000000000000120",
        )
    ]


def test_a_batch_failing_half_way_applies_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, b = _store(tmp_path), BatchBuilder("logistics")
    _txn(b, 10, ("insert", {"id": b"1", "name": b"a", "fee": None, "note": None}))
    store.apply(b.take())
    other = TableSchema("logistics", "other", (Column("id", "bigint"),), ("id",))
    b.begin(Position.postgres(20), NOW)
    b.insert(PARCEL, {"id": b"2", "name": b"b", "fee": None, "note": None})
    b.insert(other, {"id": b"1"})
    b.commit()
    real = apply_module.merge_keyed
    calls = []

    def fail_second(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise duckdb.IOException("disk full (injected)")
        real(*args)

    monkeypatch.setattr("kuaike.store.writer.merge_keyed", fail_second)
    with pytest.raises(StoreError, match="disk full"):
        store.apply(b.take())
    assert _rows(store) == [(1, "a", None, None, "insert")]
    assert store.position("logistics") == Position.postgres(10)


def test_a_store_held_by_another_process_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    Store.open(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
            "print('ok', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(StoreError) as error:
            Store.open(path)
        message = str(error.value)
        assert "\n" not in message and "open in another process" in message
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    Store.open(path).close()


def test_a_new_store_file_uses_the_newest_storage_format_and_opens_like_any_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.duckdb"
    with Store.open(path) as store:
        tags = store.con.execute(
            "SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = 'store'"
        ).fetchone()
        assert tags is not None and tags[0] != "v1.0.0+"
        # a reader in the same process opens it without any configuration of its own
        reader = duckdb.connect(str(path))
        assert reader.execute("SELECT count(*) FROM _kuaike.batches").fetchone() == (0,)
        reader.close()


def test_a_store_file_created_meanwhile_by_a_reader_in_the_process_is_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader creates the file between the store's check and its creation (a test polling
    the store while the capture starts did): the store opens that file."""
    from kuaike.store import writer

    path = tmp_path / "store.duckdb"
    readers: list[duckdb.DuckDBPyConnection] = []
    exists = Path.exists

    def created_meanwhile(self: Path) -> bool:
        if self == path and not readers:
            readers.append(duckdb.connect(str(path)))
            return False
        return exists(self)

    monkeypatch.setattr(writer.Path, "exists", created_meanwhile)
    with Store.open(path) as store:
        assert store.con.execute("SELECT count(*) FROM _kuaike.batches").fetchone() == (0,)
    readers[0].close()
