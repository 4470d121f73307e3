"""`ods.<table>` from a source table description: create it, evolve it, never stop for a change.

New column → ADD COLUMN; a column the source dropped → kept (NULL from then on); a changed type
→ ALTER COLUMN TYPE (widening always works; a narrowing that existing values do not fit fails
the batch with a clear error). Every change is recorded
in `_kuaike.schema_changes`, inside the caller's transaction.
"""

from __future__ import annotations

from kuaike.capture.events import TableSchema
from kuaike.capture.registry import duckdb_type
from kuaike.store.types import ods_name, quote
from kuaike.types import DuckConnection

META_COLUMNS: dict[str, str] = {
    "_kuaike_op": "VARCHAR",
    "_kuaike_pos": "VARCHAR",
    "_kuaike_commit_ts": "TIMESTAMPTZ",
    "_kuaike_batch": "BIGINT",
}


class Tables:
    """Knows the columns of every ODS table; evolves them to match source descriptions."""

    def __init__(self, con: DuckConnection) -> None:
        self.con = con
        self._columns: dict[str, dict[str, str]] = {}
        self._seen: dict[str, TableSchema] = {}
        self._spelling: dict[str, str] = {}

    def columns(self, table: str) -> dict[str, str]:
        """The ODS table's columns → DuckDB type (empty when the table does not exist)."""
        if table not in self._columns:
            rows = self.con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'ods' AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            self._columns[table] = {name: kind for name, kind in rows}
        return self._columns[table]

    def _canonical(self, kind: str) -> str:
        """DuckDB's own spelling of a type (as information_schema shows it)."""
        if kind not in self._spelling:
            row = self.con.execute(f"SELECT typeof(CAST(NULL AS {kind}))").fetchone()
            self._spelling[kind] = str(row[0]) if row else kind
        return self._spelling[kind]

    def forget(self) -> None:
        """Drop the cache (after a rolled-back transaction the catalog may differ)."""
        self._columns.clear()
        self._seen.clear()

    def ensure(self, schema: TableSchema, position: str | None) -> str:
        """Create or evolve `ods.<table>` for `schema`; return the ODS table name."""
        table = ods_name(schema.source, schema.name)
        if self._seen.get(table) == schema:
            return table
        wanted = {
            c.name: self._canonical(duckdb_type(schema.dialect, c.type)) for c in schema.columns
        }
        have = self.columns(table)
        if not have:
            self._create(schema, table, wanted, position)
        else:
            self._evolve(schema, table, wanted, have, position)
        self._seen[table] = schema
        return table

    def _create(
        self, schema: TableSchema, table: str, wanted: dict[str, str], position: str | None
    ) -> None:
        # No PRIMARY KEY: DuckDB checks unique constraints eagerly, so a TRUNCATE followed by
        # the same keys in one transaction would fail; the apply step keeps keys unique itself.
        columns = [f"{quote(n)} {t}" for n, t in {**wanted, **META_COLUMNS}.items()]
        self.con.execute("CREATE SCHEMA IF NOT EXISTS ods")
        self.con.execute(f"CREATE TABLE ods.{quote(table)} ({', '.join(columns)})")
        self._columns[table] = {
            **wanted,
            **{n: self._canonical(t) for n, t in META_COLUMNS.items()},
        }
        detail = ", ".join(f"{n} {t}" for n, t in wanted.items())
        self._record(schema.source, table, "create_table", detail, position)

    def _evolve(
        self,
        schema: TableSchema,
        table: str,
        wanted: dict[str, str],
        have: dict[str, str],
        position: str | None,
    ) -> None:
        for name, kind in wanted.items():
            if name not in have:
                self.con.execute(f"ALTER TABLE ods.{quote(table)} ADD COLUMN {quote(name)} {kind}")
                have[name] = kind
                self._record(schema.source, table, "add_column", f"{name} {kind}", position)
            elif have[name] != kind:
                self._alter_type(schema.source, table, name, have, kind, position)
        previous = self._seen.get(table)
        for name in have:
            if name in wanted or name in META_COLUMNS:
                continue
            # Recorded once: when this process saw the column go, or on first sight after a restart.
            if previous is not None:
                newly = name in previous.column_names
            else:
                newly = not self._dropped_before(table, name)
            if newly:
                self._record(schema.source, table, "drop_column", name, position)

    def _alter_type(
        self,
        source: str,
        table: str,
        name: str,
        have: dict[str, str],
        kind: str,
        position: str | None,
    ) -> None:
        old = have[name]
        # DuckDB refuses to change a column's type while the table has an index (tracking
        # keeps some, track/indexes.py): they are dropped and built again around the change,
        # in the same transaction, so no reader sees the table without them. (An indexed
        # column itself cannot change type inside a transaction at all: the batch then fails
        # with DuckDB's message; those are number and phone columns, text in every source.)
        indexes = self.con.execute(
            "SELECT index_name, sql FROM duckdb_indexes() WHERE schema_name = 'ods' "
            "AND table_name = ?",
            [table],
        ).fetchall()
        for index, _sql in indexes:
            self.con.execute(f"DROP INDEX ods.{quote(index)}")
        # DuckDB has no savepoints: a conversion that fails (a narrowed type holding values
        # that no longer fit) fails the batch, which is retried and reported, never skipped.
        self.con.execute(f"ALTER TABLE ods.{quote(table)} ALTER COLUMN {quote(name)} TYPE {kind}")
        for _index, sql in indexes:
            self.con.execute(sql)
        have[name] = kind
        self._record(source, table, "alter_type", f"{name} {old} -> {kind}", position)

    def _dropped_before(self, table: str, name: str) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM _kuaike.schema_changes WHERE table_name = ? "
            "AND change = 'drop_column' AND detail = ?",
            [table, name],
        ).fetchone()
        return bool(row and row[0])

    def _record(
        self, source: str, table: str, change: str, detail: str, position: str | None
    ) -> None:
        self.con.execute(
            "INSERT INTO _kuaike.schema_changes (source, table_name, change, detail, position) "
            "VALUES (?, ?, ?, ?, ?)",
            [source, table, change, detail, position],
        )
