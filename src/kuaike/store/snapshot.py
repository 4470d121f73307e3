"""Loading a source's initial copy into ODS, inside the store's snapshot transaction.

Rows go straight from a file or an Arrow table into DuckDB; columns are converted in SQL
(`convert`). Every row is written with `_kuaike_op = 'snapshot'` and the snapshot's position.
Each table is checked first: one holding a value no conversion reads is quarantined (left
empty, with the line saying why) and the other tables load as usual.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa

from kuaike.capture.events import Position, TableSchema
from kuaike.store import convert
from kuaike.store.quarantine import Hold, bad_value_line, first_bad, hold, note_values
from kuaike.store.tables import Tables
from kuaike.store.types import quote
from kuaike.types import DuckConnection

MAX_LINE_BYTES = 1 << 30  # TOASTed text can be up to 1 GB in PostgreSQL

log = logging.getLogger("kuaike.store")


class SnapshotLoader:
    """Handed out by `Store.snapshot()`; each load replaces the table's ODS rows."""

    def __init__(
        self,
        con: DuckConnection,
        tables: Tables,
        source: str,
        position: Position,
        batch_id: int,
        recopy: bool = False,
    ) -> None:
        self.recopy = recopy
        """A re-copy of single tables: the stream resumes their changes after `position`."""
        self.quarantined: list[str] = []
        self.con = con
        self.tables = tables
        self.source = source
        self.position = position
        self.batch_id = batch_id
        self.rows = 0
        self.loaded: list[str] = []

    def _load(self, schema: TableSchema, relation: str, special: list[bool]) -> int:
        """Replace the table's ODS rows with `relation` (text columns _c0.._cN), converted in
        SQL (`special[i]`: column i needs its type's conversion, not a plain CAST)."""
        table = self.tables.ensure(schema, self.position.text)
        types = self.tables.columns(table)
        names = schema.column_names
        self.con.execute(f"DELETE FROM ods.{quote(table)}")
        casts = [convert.cast_sql(f"_c{i}", types[n], special[i]) for i, n in enumerate(names)]
        found = first_bad(self.con, relation, names, types, special)
        if found is not None:
            line = bad_value_line(self.source, table, list(schema.key), names, found)
            hold(self.con, Hold(self.source, table, "quarantined", line, self.position.text, None))
            log.error("%s", line)
            self.quarantined.append(line)
            self.loaded.append(table)
            return 0
        note_values(
            self.con,
            relation,
            self.source,
            table,
            names,
            types,
            list(schema.key),
            self.position.text,
            self.batch_id,
            {n for n, sp in zip(names, special, strict=True) if sp},
        )
        targets = ", ".join(quote(n) for n in names)
        position = self.position.text.replace("'", "''")
        values = ", ".join(casts)
        self.con.execute(
            f"INSERT INTO ods.{quote(table)} ({targets}, _kuaike_op, _kuaike_pos, "
            f"_kuaike_commit_ts, _kuaike_batch) SELECT {values}, 'snapshot', '{position}', "
            f"now(), {int(self.batch_id)} FROM {relation}"
        )
        if self.recopy:
            resumed = Hold(
                self.source, table, "recopied", "", self.position.text, self.position.text
            )
            hold(self.con, resumed)
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
        quoted = str(path).replace("'", "''")
        relation = (
            f"read_csv('{quoted}', columns = {columns}, header = false, delim = ',', quote = '\"', "
            f"escape = '\"', nullstr = '', allow_quoted_nulls = false, auto_detect = false, "
            f"max_line_size = {MAX_LINE_BYTES}, parallel = false)"
        )
        return self._load(schema, relation, [True] * len(schema.columns))

    def load_arrow(self, schema: TableSchema, data: pa.Table) -> int:
        """Load rows given as Arrow (columns named like the source's); return the row count."""
        renamed = data.rename_columns([f"_c{i}" for i in range(data.num_columns)])
        self.con.register("_kuaike_snapshot", renamed)
        try:
            types = self.tables.columns(self.tables.ensure(schema, self.position.text))
            special = [
                convert.needs_special(renamed[f"_c{i}"], types[n])
                for i, n in enumerate(schema.column_names)
            ]
            return self._load(schema, "_kuaike_snapshot", special)
        finally:
            self.con.unregister("_kuaike_snapshot")
