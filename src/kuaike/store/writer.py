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

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa

from kuaike.capture.events import ChangeBatch, Position, TableChanges
from kuaike.errors import StoreError
from kuaike.store import convert, quarantine, slots
from kuaike.store.apply import (
    SOURCE_VIEW,
    apply_full_identity,
    arrow_table,
    merge_keyed,
)
from kuaike.store.errors import duckdb_errors, missing_directory
from kuaike.store.migrations import STORE_STEPS, migrate
from kuaike.store.snapshot import SnapshotLoader
from kuaike.store.tables import Tables
from kuaike.store.types import ods_name
from kuaike.types import DuckConnection

log = logging.getLogger("kuaike.store")

CONVERSION_ERRORS = (
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.OutOfRangeException,
)
"""What DuckDB raises for a value its conversion does not read."""

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
        self._holds: dict[tuple[str, str], quarantine.Hold] | None = None
        """Tables set aside or re-copied (`_kuaike.quarantine`), read once, kept current."""
        self.versions: Counter[str] = Counter()
        """Committed batches per ODS table since open ("*": snapshots and re-copies, which may
        touch any): what a cache of a table's rows compares to know they are still current."""
        self.listeners: list[Callable[[int, ChangeBatch | None], None]] = []
        """Told of each committed batch (its number and changes; None: a snapshot or re-copy,
        which may have replaced anything), in the writer's thread: they must be quick."""

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
            convert.register(con)
        return cls(con, path)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold off every write of this store (a reader building an index, say) meanwhile."""
        with self._lock:
            yield

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

    def record_server(self, source: str, identity: dict[str, str]) -> None:
        """Record which server `source` was copied from (inside the snapshot's transaction)."""
        with duckdb_errors(self.path), self._lock:
            self.con.execute(
                "INSERT OR REPLACE INTO _kuaike.servers VALUES (?, ?)",
                [source, json.dumps(identity)],
            )

    def server_identity(self, source: str) -> dict[str, str] | None:
        """The identity `record_server` recorded, None when none was (older stores)."""
        with duckdb_errors(self.path), self._lock:
            row = self.con.execute(
                "SELECT identity FROM _kuaike.servers WHERE source = ?", [source]
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def forget(self, source: str) -> None:
        """Drop a source's position: its next start snapshots again."""
        with duckdb_errors(self.path), self._lock:
            self.con.execute("DELETE FROM _kuaike.positions WHERE source = ?", [source])
            self.con.execute("DELETE FROM _kuaike.quarantine WHERE source = ?", [source])
            self.con.execute("DELETE FROM _kuaike.servers WHERE source = ?", [source])
            self._holds = None
            slots.release(self.con, source)

    def apply(self, batch: ChangeBatch) -> int:
        """Apply a batch and its position in one transaction; return its batch number.

        Steps, all or nothing: 1. evolve tables, 2. TRUNCATE then MERGE each table,
        3. record the batch and the position, 4. commit. Only then may the reader confirm.
        """
        if not batch:
            return 0
        try:
            return self._apply(batch, careful=False)
        except StoreError as exc:
            if not isinstance(exc.__cause__, CONVERSION_ERRORS):
                raise
        # Rolled back: again, each table checked before it is written (see store.quarantine).
        return self._apply(batch, careful=True)

    def _apply(self, batch: ChangeBatch, careful: bool) -> int:
        with duckdb_errors(self.path), self._lock:
            with self._transaction():
                batch_id = self._next_batch()
                holds = self.holds()
                for changes in batch.tables.values():
                    with duckdb_errors(self.path, changes.schema.name):
                        self._apply_held(batch, changes, batch_id, holds, careful)
                self._dead_letters(batch, batch_id)
                self._record(
                    batch.source, batch.position, batch.changes, batch_id, batch.commit_ts[-1]
                )
            self.versions.update(
                ods_name(batch.source, c.schema.name) for c in batch.tables.values()
            )
            self._tell(batch_id, batch)  # under the lock: listeners hear batches in order
        return batch_id

    def _tell(self, batch_id: int, batch: ChangeBatch | None) -> None:
        for listener in self.listeners:
            try:
                listener(batch_id, batch)
            except Exception:  # committed already: a listener's failure is its own
                log.exception("a listener of the store failed on batch %d", batch_id)

    def version_of(self, tables: tuple[str, ...]) -> tuple[int, ...]:
        """The change counts of `tables` (and of snapshots): equal counts, the same rows."""
        return (self.versions["*"], *(self.versions[t] for t in tables))

    def holds(self) -> dict[tuple[str, str], quarantine.Hold]:
        """Every table set aside (quarantined) or re-copied, by (source, ODS table)."""
        with duckdb_errors(self.path), self._lock:
            if self._holds is None:
                self._holds = quarantine.holds(self.con)
            return self._holds

    def _apply_held(
        self,
        batch: ChangeBatch,
        changes: TableChanges,
        batch_id: int,
        holds: dict[tuple[str, str], quarantine.Hold],
        careful: bool,
    ) -> None:
        """A quarantined table's changes are left out (its re-copy will hold them); a re-copied
        one gets only the changes after its copy; `careful`: quarantine it on a bad value."""
        table = ods_name(batch.source, changes.schema.name)
        held = holds.get((batch.source, table))
        if held is not None and held.state == "quarantined":
            return
        if held is not None and held.resume_after is not None:
            changes = quarantine.after_recopy(batch, changes, held.resume_after)
            if quarantine.passed(batch, held.resume_after):
                quarantine.release(self.con, batch.source, table)
                self._holds = None
        if careful and self._quarantine_bad(batch, changes, table, batch_id):
            return
        self._apply_table(batch, changes, batch_id)

    def _quarantine_bad(
        self, batch: ChangeBatch, changes: TableChanges, table: str, batch_id: int
    ) -> bool:
        """Set the table aside when one of its changes holds a value nothing converts."""
        if not len(changes):
            return False
        self.tables.ensure(changes.schema, batch.position.text)
        types = self.tables.columns(table)
        columns = changes.schema.column_names
        data = arrow_table(batch, changes, columns)
        self.con.register(SOURCE_VIEW, data)
        try:
            special = [
                convert.needs_special(data[f"_c{i}"], types[n], changes.schema.dialect)
                for i, n in enumerate(columns)
            ]
            found = quarantine.first_bad(self.con, SOURCE_VIEW, columns, types, special)
        finally:
            self.con.unregister(SOURCE_VIEW)
        if found is None:
            return False
        line = quarantine.bad_value_line(
            batch.source, table, list(changes.schema.key), columns, found
        )
        entry = quarantine.Hold(batch.source, table, "quarantined", line, batch.position.text, None)
        quarantine.hold(self.con, entry)
        self._holds = None
        log.error("%s", line)
        return True

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
        with duckdb_errors(self.path), self._lock:
            with self._transaction():
                batch_id = self._next_batch()
                snap = SnapshotLoader(self.con, self.tables, source, position, batch_id)
                yield snap
                self._record(source, position, snap.rows, batch_id, None)
            self.versions["*"] += 1
            self._tell(batch_id, None)

    @contextmanager
    def recopy(self, source: str, position: Position) -> Iterator[SnapshotLoader]:
        """One transaction that replaces some of the source's tables with a copy taken at
        `position`; the stream then applies only their changes after it. The source's own
        position does not move."""
        with duckdb_errors(self.path), self._lock:
            with self._transaction():
                batch_id = self._next_batch()
                yield SnapshotLoader(self.con, self.tables, source, position, batch_id, recopy=True)
                self._holds = None
            self.versions["*"] += 1
            self._tell(batch_id, None)

    def quarantined(self) -> list[quarantine.Hold]:
        """The tables set aside, with the line saying why and how to recover."""
        return [h for h in self.holds().values() if h.state == "quarantined"]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            self.tables.forget()
            self._holds = None
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
