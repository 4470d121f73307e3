"""PostgreSQL change capture: snapshot, then stream the slot into the store, exactly once.

First start of a source (no position in the store): create the slot with an exported snapshot,
COPY every captured table inside that snapshot into ODS (one store transaction that also records
the slot's consistent point), then stream from there. A crash before that transaction commits
leaves no position; the next start drops the unfinished slot and snapshots again.

Streaming: pgoutput messages are decoded into whole-transaction batches (bounded by
`batch_max_rows` and `batch_max_latency_ms`); each batch is applied with its position in one
DuckDB transaction, and only then is the position confirmed to PostgreSQL (flush LSN). On
restart, transactions at or before the stored position are skipped.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras

from kuaike.capture.base import CaptureSource, table_filter
from kuaike.capture.events import ChangeSink, Position, TableSchema
from kuaike.capture.postgres import setup, snapshot
from kuaike.capture.postgres.errors import capture_errors, slot_in_use, slot_owned_elsewhere
from kuaike.capture.postgres.stream import Streamer
from kuaike.capture.postgres.types import TypeNames
from kuaike.capture.progress import CaptureProgress
from kuaike.capture.retry import retry_transient
from kuaike.config import CaptureSettings
from kuaike.errors import KuaikeError, PositionLost, SourceError, StoreError, UsageError
from kuaike.types import PgConnection, PgReplicationConnection

log = logging.getLogger("kuaike.capture.postgres")

PSYCOPG2_STATUS_INTERVAL_S = 86_400
"""psycopg2's own status messages, effectively never (see Streamer._send_feedback)."""

SLOT_BUSY_WAIT_S = 3.0
"""How long a slot another process reads is waited for before capture says it is in use."""


class PostgresCapture:
    """Captures one PostgreSQL database (`source.name` names it in the store)."""

    def __init__(
        self,
        source: CaptureSource,
        store: ChangeSink,
        settings: CaptureSettings,
        stop: threading.Event | None = None,
    ) -> None:
        self.source = source.name
        self.url = source.url
        self.slot = source.slot or settings.slot_name
        self.store = store
        self.settings = settings
        self.stop = stop or threading.Event()
        self.wanted = table_filter(settings.include, settings.exclude)
        self.progress = CaptureProgress()

    def run(
        self,
        until_caught_up: bool = False,
        resnapshot: bool = False,
        tables: tuple[str, ...] = (),
    ) -> CaptureProgress:
        """Snapshot if needed, then stream until stopped (or caught up). Returns progress.
        With `resnapshot` and `tables`: copy those tables again (see `_recopy`)."""
        with capture_errors(self.url, self.slot, self.source):
            repl, target = self._prepare(until_caught_up, resnapshot, tables)
            self._stream_with_retries(repl, target)
        self.store.set_phase(self.source, "stopped")
        return self.progress

    def _prepare(
        self, until_caught_up: bool, resnapshot: bool, tables: tuple[str, ...] = ()
    ) -> tuple[Any, int | None]:
        """Check the setup; snapshot when the store has no position. Returns the replication
        connection the snapshot left open (or None) and the WAL end to catch up with."""
        conn = setup.connect(self.url, self.slot)
        try:
            setup.check_setup(conn, self.url, self.slot)
            setup.ensure_publication(conn, self.url, self.slot, self.settings.publication)
            setup.full_identity_for_keyless(conn, self.url, self.slot, self.settings.schemas)
            target = self._current_lsn(conn) if until_caught_up else None
            if resnapshot and not tables:
                self._forget(conn)
            if self.store.position(self.source) is None:
                return self._snapshot(conn), target
            self._check_slot(conn)
            if tables:
                self._recopy(conn, tables)
            return None, target
        finally:
            conn.close()

    def _current_lsn(self, conn: PgConnection) -> int:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_current_wal_lsn()::text")
            row = cur.fetchone()
        return setup.lsn_int(row[0] if row else None)

    def _forget(self, conn: PgConnection) -> None:
        """--resnapshot: drop this store's slot (never another store's) and the position."""
        info = self._idle_slot(conn)
        if info is not None:
            self._require_own(info)
            setup.drop_slot(conn, self.url, self.slot)
        self.store.forget(self.source)

    def _require_own(self, info: setup.SlotInfo) -> None:
        """SourceSetupError unless the store claims the slot (or, from before claims were
        recorded, holds a position for it)."""
        claim = self.store.slot_claim(self.source)
        if claim is not None and claim.slot == self.slot:
            return
        if claim is None and self.store.position(self.source) is not None:
            return
        raise slot_owned_elsewhere(self.url, self.slot)

    def _idle_slot(self, conn: PgConnection) -> setup.SlotInfo | None:
        """The slot's state once no process reads it; a reader that just died (killed) lets go
        within moments, a live one does not: then the slot is in use."""
        deadline = time.monotonic() + SLOT_BUSY_WAIT_S
        while True:
            info = setup.slot_info(conn, self.url, self.slot)
            if info is None or not info.active_pid:
                return info
            if time.monotonic() > deadline:
                raise slot_in_use(self.url, self.slot, info.active_pid)
            time.sleep(0.1)

    def _check_slot(self, conn: PgConnection) -> None:
        """PositionLost when the slot is gone, or was confirmed past what this store applied
        and let the server confirm (another reader took changes this store never saw)."""
        info = self._idle_slot(conn)
        stored = self.store.position(self.source)
        if info is None:
            raise PositionLost(
                f"replication slot {self.slot!r} is gone from {self.url}, so changes since the "
                "stored position are lost; run `kuaike capture --resnapshot` to copy again",
                source=self.source,
                position=str(stored),
            )
        self._require_own(info)
        claim = self.store.slot_claim(self.source)
        bound = max(stored.lsn if stored else 0, claim.confirmable_lsn if claim else 0)
        if info.confirmed_flush > bound:
            raise PositionLost(
                f"replication slot {self.slot!r} on {self.url} was read past this store's "
                f"position {stored} (to {Position.postgres(info.confirmed_flush)}) by another "
                "reader, so changes in between are not in this store; run `kuaike capture "
                "--resnapshot` to copy again (and give each store its own capture.slot_name)",
                source=self.source,
                position=str(stored),
            )

    def _published(self, conn: PgConnection) -> list[TableSchema]:
        return setup.published_tables(
            conn,
            self.url,
            self.slot,
            self.settings.publication,
            self.wanted,
            self.source,
            self.settings.schemas,
        )

    def _recopy(self, conn: PgConnection, names: tuple[str, ...]) -> None:
        """Copy `names` again, inside the snapshot of a temporary slot created now: its
        consistent point is past everything the stream applied, the copy holds exactly the
        transactions committed before it, and the store applies the stream's changes of these
        tables only after it (`Store.recopy`). A quarantine of the tables ends with it."""
        schemas = [t for t in self._published(conn) if t.name in names]
        missing = sorted(set(names) - {t.name for t in schemas})
        if missing:
            raise UsageError(
                f"{self.source} captures no table {', '.join(missing)}; see `kuaike status` "
                "for the captured tables, or the `capture.include` setting"
            )
        repl = setup.connect_replication(self.url, self.slot)
        try:
            lsn, name = setup.create_slot(repl, self.url, f"{self.slot}_copy", temporary=True)
            with self.store.recopy(self.source, Position.postgres(lsn)) as snap:

                def load(schema: TableSchema, path: Path) -> int:
                    rows = snap.load_csv(schema, path)
                    self.progress.snapshotted(schema.name, rows)
                    return rows

                snapshot.copy_tables(self.url, self.slot, name, schemas, load)
        finally:
            _close_quietly(repl)  # a temporary slot goes with its connection

    def _snapshot(self, conn: PgConnection) -> PgReplicationConnection:
        """Create the slot and copy every captured table in its snapshot; the live replication
        connection is returned (the exported snapshot lives as long as it stays idle)."""
        info = self._idle_slot(conn)
        if info is not None:
            self._require_unfinished_snapshot(info)
            log.info("dropping slot %s left by an unfinished snapshot", self.slot)
            setup.drop_slot(conn, self.url, self.slot)

        repl, position = snapshot.take(
            self.url,
            self.slot,
            lambda: self._published(conn),
            self.store,
            self.source,
            self.progress.snapshotted,
        )
        self.progress.position = position
        return repl

    def _require_unfinished_snapshot(self, info: setup.SlotInfo) -> None:
        """The slot may be dropped only when the store claims it and it never moved past its
        consistent point (0: the crash came before the point was known): the leftover of this
        store's own snapshot that did not finish."""
        claim = self.store.slot_claim(self.source)
        if claim is None or claim.slot != self.slot:
            raise slot_owned_elsewhere(self.url, self.slot)
        if claim.consistent_lsn and info.confirmed_flush != claim.consistent_lsn:
            raise slot_owned_elsewhere(self.url, self.slot)  # it streamed since: not a leftover

    def _stream_with_retries(
        self, repl: PgReplicationConnection | None, target: int | None
    ) -> None:
        """Stream; a dropped connection or restarting server is retried with backoff."""
        pending = [repl]

        def attempt() -> None:
            conn = pending.pop() if pending else None
            try:
                with capture_errors(self.url, self.slot, self.source):
                    conn = conn or setup.connect_replication(self.url, self.slot)
                    self._stream(conn, target)
            finally:
                if conn is not None:
                    _close_quietly(conn)

        try:
            retry_transient(
                attempt,
                self.stop,
                give_up_s=self.settings.retry_give_up_s,
                healthy_s=self.settings.retry_healthy_s,
                on_retry=self._on_retry,
            )
        except KuaikeError as exc:
            with contextlib.suppress(StoreError):
                self.store.set_phase(self.source, "failed", str(exc).splitlines()[0])
            raise

    def _on_retry(self, exc: KuaikeError, pause: float) -> None:
        self.progress.reconnects += 1
        log.warning("capture of %s interrupted (%s); retrying in %.1fs", self.source, exc, pause)

    def _stream(self, repl: PgReplicationConnection, target: int | None) -> None:
        """Read the slot from the stored position until stopped or caught up with `target`."""
        stored = self.store.position(self.source)
        start = stored.lsn if stored else 0
        cur = repl.cursor()
        assert isinstance(cur, psycopg2.extras.ReplicationCursor)
        cur.start_replication(
            slot_name=self.slot,
            decode=False,
            start_lsn=start,
            options={"proto_version": "1", "publication_names": self.settings.publication},
            # Streamer sends every status message itself, each after noting in the store how
            # far the server may confirm; psycopg2's own periodic ones would not be noted.
            status_interval=PSYCOPG2_STATUS_INTERVAL_S,
        )
        names = TypeNames(lambda: setup.connect(self.url, self.slot))
        try:
            Streamer(self, cur, start, target, names).run()
        finally:
            names.close()


def figures(source: CaptureSource, _position: Position | None) -> dict[str, Any]:
    """Lag and retained WAL bytes from the source, or `source_error` saying why not."""
    try:
        conn = setup.connect(source.url, source.slot)
        try:
            with capture_errors(source.url, source.slot, source.name), conn.cursor() as cur:
                cur.execute(
                    "SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint, "
                    "(pg_current_wal_lsn() - restart_lsn)::bigint, active_pid "
                    "FROM pg_replication_slots WHERE slot_name = %s",
                    (source.slot,),
                )
                row = cur.fetchone()
        finally:
            conn.close()
    except SourceError as exc:
        return {"source_error": str(exc)}
    if row is None:
        return {"source_error": f"replication slot {source.slot!r} does not exist"}
    return {"lag_bytes": int(row[0]), "retained_wal_bytes": int(row[1]), "reader_pid": row[2]}


def _close_quietly(conn: PgConnection) -> None:
    try:
        conn.close()
    except psycopg2.Error:
        log.debug("closing a broken replication connection failed", exc_info=True)
