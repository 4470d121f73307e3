"""The single writer of the DuckDB replica: readers hand it ChangeBatches, applied exactly once.

    store = Store.open(path)                  # StoreError (one line) when another process has it
    state = store.position("logistics")       # None: never captured -> snapshot first
    with store.snapshot("logistics", pos) as snap:   # one transaction: every table + position
        snap.load_csv(schema, csv_path)       # or snap.load_arrow(schema, arrow_table)
    batch_id = store.apply(batch)             # one transaction: data + position; then confirm
                                              # the position to the source, never before

Not thread-safe by design (one DuckDB connection); `apply` takes a lock so several readers in one
process (logistics + crm) may share a Store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa

from kuaike.capture.events import ChangeBatch, Position, TableChanges
from kuaike.store import slots
from kuaike.store.apply import apply_full_identity, merge_keyed
from kuaike.store.errors import duckdb_errors, missing_directory
from kuaike.store.migrations import STORE_STEPS, migrate
from kuaike.store.snapshot import SnapshotLoader
from kuaike.store.tables import Tables
from kuaike.types import DuckConnection

CHECKPOINT_THRESHOLD = "512MB"
"""WAL size at which DuckDB folds the WAL into the database file."""

# New store files use DuckDB's newest storage format instead of the v1.0 default kept for
# older readers: its string compression writes a warehouse detail table's text columns about
# a fifth faster (10 M waybills: 18 s instead of 22 s). The format belongs to the file, so
# files created before keep theirs, and the store opens with DuckDB's default configuration
# (DuckDB refuses a second connection in the process to an open file with another one).
STORAGE_VERSION = "latest"


def open_duckdb(path: Path | str) -> DuckConnection:
    """Open a store file with DuckDB, creating it in the newest storage format."""
    if str(path) != ":memory:" and not Path(path).exists():
        quoted = str(path).replace("'", "''")
        try:
            with duckdb.connect() as creator:
                creator.execute(f"ATTACH '{quoted}' AS new (STORAGE_VERSION '{STORAGE_VERSION}')")
        except duckdb.Error:
            if not Path(path).exists():
                raise
            # created meanwhile by another connection (in the default format): open that one
    return duckdb.connect(str(path))


Phase = Literal["streaming", "stopped", "failed"]
"""A source's phase in the store (a snapshot is one transaction, so it has no phase of its own)."""


@dataclass(frozen=True)
class SourceState:
    """What the store knows about one source."""

    source: str
    position: Position
    phase: Phase
    updated_at: datetime
    last_error: str | None
    last_commit_ts: datetime | None


class Store:
    """The DuckDB replica: `ods.*` plus `_kuaike.*` positions, batches, deletes, schema changes."""

    def __init__(self, con: DuckConnection, path: Path | str) -> None:
        self.con = con
        self.path = path
        self.tables = Tables(con)
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path | str) -> Store:
        """Open (creating the file if needed) and migrate the store; StoreError when it is
        locked or its directory does not exist (a mistyped path must not create directories)."""
        if str(path) != ":memory:" and not Path(path).parent.is_dir():
            raise missing_directory(path)
        with duckdb_errors(path):
            con = open_duckdb(path)
            con.execute("SET TimeZone = 'UTC'")
            # With the 16 MB default, DuckDB checkpointed on nearly every commit after a bulk
            # load (seconds each at 10^5 rows): measured 1-4 s per 1,000-row batch vs 70 ms.
            con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
            migrate(con, "store", STORE_STEPS)
        return cls(con, path)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def position(self, source: str) -> Position | None:
        """The position of the last batch applied from `source`, None before its snapshot."""
        state = self.state(source)
        return state.position if state else None

    def state(self, source: str) -> SourceState | None:
        """Position, phase and last error of one source."""
        states = [s for s in self.states() if s.source == source]
        return states[0] if states else None

    def states(self) -> list[SourceState]:
        """Every source the store has captured from."""
        with duckdb_errors(self.path), self._lock:
            rows = self.con.execute(
                "SELECT p.source, p.position, p.phase, p.updated_at, s.last_error, "
                "s.last_commit_ts FROM _kuaike.positions p "
                "LEFT JOIN _kuaike.source_status s USING (source) ORDER BY p.source"
            ).fetchall()
        return [SourceState(r[0], Position(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def set_phase(self, source: str, phase: Phase, error: str | None = None) -> None:
        """Record a source's phase (and last error) without moving its position."""
        with duckdb_errors(self.path), self._lock:
            self.con.execute(
                "UPDATE _kuaike.positions SET phase = ?, updated_at = now() WHERE source = ?",
                [phase, source],
            )
            if error is not None:
                self._status(source, None, error)

    def claim_slot(self, source: str, slot: str, consistent_lsn: int) -> None:
        """Record, committed, that `slot` (created at `consistent_lsn`) is `source`'s."""
        with duckdb_errors(self.path), self._lock:
            slots.claim(self.con, source, slot, consistent_lsn)

    def slot_claim(self, source: str) -> slots.SlotClaim | None:
        """The slot `source` claims, None when it claims none."""
        with duckdb_errors(self.path), self._lock:
            return slots.claimed(self.con, source)

    def claims_slots(self) -> bool:
        """Whether any source of the store claims a replication slot."""
        with duckdb_errors(self.path), self._lock:
            return bool(self.con.execute("SELECT count(*) FROM _kuaike.slots").fetchall()[0][0])

    def slot_notes(self, source: str) -> Callable[[int], None]:
        """A function raising `source`'s confirmable LSN, on a cursor of its own: the reader
        calls it while the applier holds the store's connection."""
        cursor = self.con.cursor()

        def note(lsn: int) -> None:
            with duckdb_errors(self.path):
                slots.note_confirmable(cursor, source, lsn)

        return note

    def forget(self, source: str) -> None:
        """Drop a source's position: its next start snapshots again."""
        with duckdb_errors(self.path), self._lock:
            self.con.execute("DELETE FROM _kuaike.positions WHERE source = ?", [source])
            slots.release(self.con, source)

    def apply(self, batch: ChangeBatch) -> int:
        """Apply a batch and its position in one transaction; return its batch number.

        Steps, all or nothing: 1. evolve tables, 2. TRUNCATE then MERGE each table,
        3. record the batch and the position, 4. commit. Only then may the reader confirm.
        """
        if not batch:
            return 0
        with duckdb_errors(self.path), self._lock, self._transaction():
            batch_id = self._next_batch()
            for changes in batch.tables.values():
                with duckdb_errors(self.path, changes.schema.name):
                    self._apply_table(batch, changes, batch_id)
            self._dead_letters(batch, batch_id)
            self._record(batch.source, batch.position, batch.changes, batch_id, batch.commit_ts[-1])
        return batch_id

    def _dead_letters(self, batch: ChangeBatch, batch_id: int) -> None:
        """Step 3 of `apply`, first half: the batch's unapplicable messages, kept whole."""
        if batch.dead_letters:
            self.con.executemany(
                "INSERT INTO _kuaike.dead_letters VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        batch.source,
                        batch_id,
                        d.topic,
                        d.partition,
                        d.offset,
                        d.key,
                        d.value,
                        d.error,
                    ]
                    for d in batch.dead_letters
                ],
            )

    def dead_letters(self, source: str) -> int:
        """How many messages of `source` went to `_kuaike.dead_letters`."""
        with duckdb_errors(self.path), self._lock:
            row = self.con.execute(
                "SELECT count(*) FROM _kuaike.dead_letters WHERE source = ?", [source]
            ).fetchone()
        return int(row[0]) if row else 0

    def _apply_table(self, batch: ChangeBatch, changes: TableChanges, batch_id: int) -> None:
        """Steps 1 and 2 of `apply` for one table."""
        table = self.tables.ensure(changes.schema, batch.position.text)
        if changes.truncated:
            self.con.execute(f'DELETE FROM ods."{table}"')
            self.con.execute("INSERT INTO _kuaike.truncates VALUES (?, ?)", [batch_id, table])
        if not len(changes):
            return
        if changes.schema.identity == "key":
            merge_keyed(self.con, self.tables, batch, changes, table, batch_id)
        else:
            apply_full_identity(self.con, self.tables, batch, changes, table, batch_id)

    @contextmanager
    def snapshot(self, source: str, position: Position) -> Iterator[SnapshotLoader]:
        """One transaction that replaces the source's tables and records `position`."""
        with duckdb_errors(self.path), self._lock, self._transaction():
            batch_id = self._next_batch()
            snap = SnapshotLoader(self.con, self.tables, source, position, batch_id)
            yield snap
            self._record(source, position, snap.rows, batch_id, None)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            self.tables.forget()
            raise
        self.con.execute("COMMIT")

    def _next_batch(self) -> int:
        row = self.con.execute("SELECT nextval('_kuaike.batch_seq')").fetchone()
        return int(row[0]) if row else 0

    def _record(
        self,
        source: str,
        position: Position,
        changes: int,
        batch_id: int,
        commit_ts: datetime | None,
    ) -> None:
        self.con.execute(
            "INSERT INTO _kuaike.batches (batch, source, position, changes) VALUES (?, ?, ?, ?)",
            [batch_id, source, position.text, changes],
        )
        updated = self.con.execute(
            "UPDATE _kuaike.positions SET position = ?, phase = 'streaming', updated_at = now() "
            "WHERE source = ? RETURNING source",
            [position.text, source],
        ).fetchall()
        if not updated:
            self.con.execute(
                "INSERT INTO _kuaike.positions (source, position, phase) "
                "VALUES (?, ?, 'streaming')",
                [source, position.text],
            )
        self._status(source, commit_ts, None)

    def _status(self, source: str, commit_ts: datetime | None, error: str | None) -> None:
        """Last commit time (kept when None) and last error (cleared by a good batch)."""
        self.con.execute(
            "INSERT INTO _kuaike.source_status VALUES (?, ?, ?) ON CONFLICT (source) DO UPDATE "
            "SET last_commit_ts = coalesce(excluded.last_commit_ts, last_commit_ts), "
            "last_error = excluded.last_error",
            [source, commit_ts, error],
        )

    def changes_per_s(self, source: str, window_s: int = 60) -> float:
        """Row changes applied per second from `source` over the last `window_s` seconds."""
        with duckdb_errors(self.path), self._lock:
            row = self.con.execute(
                "SELECT coalesce(sum(changes), 0) FROM _kuaike.batches WHERE source = ? "
                "AND applied_at > now() - to_seconds(?)",
                [source, window_s],
            ).fetchone()
        return round(float(row[0]) / window_s, 1) if row else 0.0

    def table(self, name: str) -> pa.Table:
        """An ODS table as Arrow (for tests and small tools)."""
        with duckdb_errors(self.path):
            return self.con.execute(f'SELECT * FROM ods."{name}"').arrow()
