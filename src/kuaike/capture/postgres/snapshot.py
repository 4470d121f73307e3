"""The first copy of a PostgreSQL source: every captured table inside the slot's snapshot.

The slot is created with an exported snapshot; a second connection reads every table inside
it (`SET TRANSACTION SNAPSHOT`) with COPY into a CSV file the store loads, all in one store
transaction that also records the slot's consistent point. The replication connection that
created the slot stays open and idle meanwhile: the exported snapshot lives as long as it does.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from kuaike.capture.events import ChangeSink, Position, TableSchema
from kuaike.capture.postgres import setup
from kuaike.capture.postgres.errors import capture_errors
from kuaike.databases import SourceURL
from kuaike.types import PgCursor, PgReplicationConnection

log = logging.getLogger("kuaike.capture.postgres")


def copy_tables(
    url: SourceURL,
    slot: str,
    snapshot_name: str,
    tables: list[TableSchema],
    load: Callable[[TableSchema, Path], int],
) -> None:
    """COPY each of `tables` as of `snapshot_name`, handing each CSV file to `load`."""
    copier = setup.connect(url, slot)
    copier.autocommit = False
    copier.set_session(isolation_level="REPEATABLE READ", readonly=True)
    try:
        with (
            capture_errors(url, slot),
            copier.cursor() as cur,
            tempfile.TemporaryDirectory(prefix="kuaike-snapshot-") as tmp,
        ):
            cur.execute("SET TRANSACTION SNAPSHOT %s", (snapshot_name,))
            for schema in tables:
                path = Path(tmp) / "table.csv"
                _copy(cur, schema, path)
                rows = load(schema, path)
                log.info("snapshot of %s: %d rows", schema.name, rows)
    finally:
        copier.close()


def _copy(cur: PgCursor, schema: TableSchema, path: Path) -> None:
    columns = ", ".join(f'"{c.name}"' for c in schema.columns)
    with open(path, "wb") as out:
        cur.copy_expert(
            f"COPY (SELECT {columns} FROM {schema.qualified}) TO STDOUT WITH (FORMAT csv)", out
        )


def take(
    url: SourceURL,
    slot: str,
    tables: Callable[[], list[TableSchema]],
    store: ChangeSink,
    source: str,
    on_table: Callable[[str, int], None],
) -> tuple[PgReplicationConnection, Position]:
    """Create the slot and copy every table of `tables()` into `store` in one transaction.

    Returns the replication connection (idle, to stream from next) and the consistent point.
    """
    repl = setup.connect_replication(url, slot)
    lsn, name = setup.create_slot(repl, url, slot)
    store.claim_slot(source, slot, lsn)  # committed before the copy: see _kuaike.slots
    position = Position.postgres(lsn)
    with store.snapshot(source, position) as snap:

        def load(schema: TableSchema, path: Path) -> int:
            rows = snap.load_csv(schema, path)
            on_table(schema.name, rows)
            return rows

        copy_tables(url, slot, name, tables(), load)
    return repl, position
