"""A replica (ods.* + the store's _kuaike tables) filled by tests, as the capture would write it."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from kuaike.business.codes import code_rows
from kuaike.store.migrations import STORE_STEPS, migrate

META = (
    ("_kuaike_op", "VARCHAR"),
    ("_kuaike_pos", "VARCHAR"),
    ("_kuaike_commit_ts", "TIMESTAMPTZ"),
    ("_kuaike_batch", "BIGINT"),
)


def _duckdb_type(column: exp.ColumnDef) -> str:
    kind = column.args["kind"]
    text = kind.sql("duckdb").upper()
    if re.match(r"^(TEXT|VARCHAR)", text):
        return "VARCHAR"
    if "SERIAL" in kind.sql("postgres").upper():
        return "BIGINT"
    return text


def source_tables() -> dict[str, list[tuple[str, str]]]:
    """ODS table → [(column, DuckDB type)], from the business DDL (crm_x renamed tbl_x)."""
    sql_dir = resources.files("kuaike.business") / "sql"
    tables: dict[str, list[tuple[str, str]]] = {}
    for name in ("logistics.postgresql.sql", "crm.postgresql.sql"):
        text = (sql_dir / name).read_text(encoding="utf-8")
        for statement in sqlglot.parse(text, read="postgres"):
            if isinstance(statement, exp.Create) and statement.kind == "TABLE":
                schema = statement.this
                table = re.sub(r"^crm_", "tbl_", schema.this.name)
                tables[table] = [
                    (c.name, _duckdb_type(c))
                    for c in schema.expressions
                    if isinstance(c, exp.ColumnDef)
                ]
    return tables


class Ods:
    """Create and change the replica like the capture does (batches, deletes, truncates)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, codes: bool = True) -> None:
        self.con = con
        migrate(con, "store", STORE_STEPS)
        self.columns = source_tables()
        for table, columns in self.columns.items():
            defs = ", ".join(f'"{n}" {t}' for n, t in [*columns, *META])
            con.execute(f"CREATE TABLE IF NOT EXISTS ods.{table} ({defs})")
        if codes:
            batch = self.batch()
            rows = [
                dict(
                    zip(("name", "type", "code", "code_desc", "code_type", "state"), r, strict=True)
                )
                for r in code_rows()
            ]
            for number, row in enumerate(rows, start=1):
                row["id"] = number
            self.insert("tbl_codes", rows, batch)

    def batch(self, source: str = "test") -> int:
        """Open a new batch (a `_kuaike.batches` row) and return its number."""
        (number,) = self.con.execute("SELECT nextval('_kuaike.batch_seq')").fetchall()[0]
        self.con.execute(
            "INSERT INTO _kuaike.batches (batch, source, position, changes) VALUES (?, ?, ?, 0)",
            [number, source, f"{number:020d}"],
        )
        return int(number)

    def insert(self, table: str, rows: list[dict[str, Any]], batch: int) -> None:
        """Insert rows (dicts of source columns) as written by `batch`."""
        for row in rows:
            values = {
                **row,
                "_kuaike_op": "insert",
                "_kuaike_pos": f"{batch:020d}",
                "_kuaike_batch": batch,
            }
            names = ", ".join(f'"{n}"' for n in values)
            marks = ", ".join("?" for _ in values)
            self.con.execute(
                f"INSERT INTO ods.{table} ({names}) VALUES ({marks})", list(values.values())
            )

    def update(self, table: str, row_id: int, values: dict[str, Any], batch: int) -> None:
        """Change columns of one row, stamped with `batch`."""
        values = {**values, "_kuaike_op": "update", "_kuaike_batch": batch}
        sets = ", ".join(f'"{n}" = ?' for n in values)
        self.con.execute(f"UPDATE ods.{table} SET {sets} WHERE id = ?", [*values.values(), row_id])

    def delete(self, table: str, row_id: int, batch: int) -> None:
        """Remove a row and record its key in `_kuaike.deleted_keys`."""
        self.con.execute(f"DELETE FROM ods.{table} WHERE id = ?", [row_id])
        self.con.execute(
            "INSERT INTO _kuaike.deleted_keys VALUES (?, ?, ?)",
            [batch, table, json.dumps({"id": row_id})],
        )

    def truncate(self, table: str, batch: int) -> None:
        """Empty a table and record the truncate."""
        self.con.execute(f"DELETE FROM ods.{table}")
        self.con.execute("INSERT INTO _kuaike.truncates VALUES (?, ?)", [batch, table])
