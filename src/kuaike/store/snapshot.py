"""Loading a source's initial copy into ODS, inside the store's snapshot transaction.

Rows go straight from a file or an Arrow table into DuckDB; columns are cast in SQL. Every row is
written with `_kuaike_op = 'snapshot'` and the snapshot's position.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from kuaike.capture.events import Position, TableSchema
from kuaike.store.tables import Tables
from kuaike.store.types import quote
from kuaike.types import DuckConnection

MAX_LINE_BYTES = 1 << 30  # TOASTed text can be up to 1 GB in PostgreSQL


class SnapshotLoader:
    """Handed out by `Store.snapshot()`; each load replaces the table's ODS rows."""

    def __init__(
        self, con: DuckConnection, tables: Tables, source: str, position: Position, batch_id: int
    ) -> None:
        self.con = con
        self.tables = tables
        self.source = source
        self.position = position
        self.batch_id = batch_id
        self.rows = 0
        self.loaded: list[str] = []

    def _load(self, schema: TableSchema, relation: str, params: list[Any]) -> int:
        """Replace the table's ODS rows with `relation` (columns _c0.._cN), cast in SQL."""
        table = self.tables.ensure(schema, self.position.text)
        types = self.tables.columns(table)
        names = schema.column_names
        casts = ", ".join(f"CAST(_c{i} AS {types[n]})" for i, n in enumerate(names))
        targets = ", ".join(quote(n) for n in names)
        position = self.position.text.replace("'", "''")
        self.con.execute(f"DELETE FROM ods.{quote(table)}")
        self.con.execute(
            f"INSERT INTO ods.{quote(table)} ({targets}, _kuaike_op, _kuaike_pos, "
            f"_kuaike_commit_ts, _kuaike_batch) SELECT {casts}, 'snapshot', '{position}', "
            f"now(), {int(self.batch_id)} FROM {relation}",
            params,
        )
        row = self.con.execute(f"SELECT count(*) FROM ods.{quote(table)}").fetchone()
        count = int(row[0]) if row else 0
        self.rows += count
        self.loaded.append(table)
        return count

    def load_csv(self, schema: TableSchema, path: Path) -> int:
        """Load PostgreSQL `COPY ... TO STDOUT (FORMAT csv)` output; return the row count.

        Unquoted empty fields are NULL, quoted empty strings ("") are empty strings.
        """
        columns = "{" + ", ".join(f"'_c{i}': 'VARCHAR'" for i in range(len(schema.columns))) + "}"
        relation = (
            f"read_csv(?, columns = {columns}, header = false, delim = ',', quote = '\"', "
            f"escape = '\"', nullstr = '', allow_quoted_nulls = false, auto_detect = false, "
            f"max_line_size = {MAX_LINE_BYTES}, parallel = false)"
        )
        return self._load(schema, relation, [str(path)])

    def load_arrow(self, schema: TableSchema, data: pa.Table) -> int:
        """Load rows given as Arrow (columns named like the source's); return the row count."""
        renamed = data.rename_columns([f"_c{i}" for i in range(data.num_columns)])
        self.con.register("_kuaike_snapshot", renamed)
        try:
            return self._load(schema, "_kuaike_snapshot", [])
        finally:
            self.con.unregister("_kuaike_snapshot")
