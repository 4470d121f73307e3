"""Tracking's indexes on the replica, and the store's type changes on indexed tables."""

from __future__ import annotations

from pathlib import Path

from kuaike.capture.events import Column, TableSchema
from kuaike.store.writer import Store
from kuaike.track.indexes import INDEXES, ensure_indexes, index_name, missing


def waybill_schema(number_type: str, pkg_type: str = "integer") -> TableSchema:
    columns: tuple[Column, ...] = (Column("id", "bigint"), Column("waybill_number", number_type))
    columns += (Column("express_bill_number", "varchar(100)"), Column("receive_mobile", "text"))
    columns += (Column("pkg_id", pkg_type),)
    return TableSchema("logistics", "tbl_waybill", columns, ("id",))


def test_indexes_are_made_for_the_tables_there_and_survive_a_widened_column(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        store.tables.ensure(waybill_schema("varchar(20)"), None)
        cur = store.con.cursor()
        wanted = [
            pair for pair in INDEXES if pair[0] == "tbl_waybill" and pair[1] != "delivery_mobile"
        ]
        assert missing(cur) == wanted  # only what exists: no other table, no missing column
        ensure_indexes(cur)
        assert missing(cur) == []
        store.con.execute("BEGIN")
        store.tables.ensure(waybill_schema("varchar(100)"), "0/1")  # widened: ALTER TYPE
        store.tables.ensure(waybill_schema("varchar(100)", "bigint"), "0/2")  # not indexed
        store.con.execute("COMMIT")
        names = {r[0] for r in cur.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
        assert {index_name(*pair) for pair in wanted} <= names
        kinds = dict(
            cur.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'tbl_waybill'"
            ).fetchall()
        )
        assert kinds["pkg_id"] == "BIGINT"
