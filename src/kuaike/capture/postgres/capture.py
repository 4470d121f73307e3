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
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

from kuaike.capture.postgres import setup as pgsetup
from kuaike.capture.events import ChangeSink, Position
from kuaike.capture.postgres.pgoutput import table_filter
from kuaike.capture.postgres.stream import Streamer
from kuaike.config import CaptureSettings
from kuaike.errors import PositionLost, SourceError, StoreError, Transient
from kuaike.databases import SourceURL

log = logging.getLogger("kuaike.capture.postgres.capture")

SLOT_BUSY_WAIT_S = 3.0
"""How long a slot another process reads is waited for before capture says it is in use."""

RECONNECT_GIVE_UP_S = 120.0
HEALTHY_S = 30.0
"""How long an outage (server restart, network) is retried before capture gives up."""


@dataclass
class Progress:
    """What a capture run did, for the CLI and tests."""

    snapshot_rows: int = 0
    batches: int = 0
    changes: int = 0
    position: Position | None = None
    reconnects: int = 0
    first_read: float = 0.0
    """time.monotonic() when the first change message of the run was read (0: none yet)."""
    last_applied: float = 0.0
    """time.monotonic() when the last batch was committed to the store (0: none yet)."""
    on_table: Callable[[str, int], None] | None = field(default=None, repr=False)


class PostgresCapture:
    """Captures one PostgreSQL database (`source` names it in the store)."""

    def __init__(
        self,
        source: str,
        url: str,
        store: ChangeSink,
        settings: CaptureSettings,
        stop: threading.Event | None = None,
    ) -> None:
        self.source = source
        self.url = SourceURL.parse(url)
        self.store = store
        self.settings = settings
        self.stop = stop or threading.Event()
        self.wanted = table_filter(settings.include, settings.exclude)
        self.progress = Progress()
        self.slot = settings.slot_name

    def run(self, until_caught_up: bool = False, resnapshot: bool = False) -> Progress:
        """Snapshot if needed, then stream until stopped (or caught up). Returns progress."""
        conn = pgsetup.connect(self.url, self.slot)
        try:
            pgsetup.check_setup(conn, self.url, self.slot)
            pgsetup.ensure_publication(conn, self.url, self.slot, self.settings.publication)
            pgsetup.full_identity_for_keyless(conn, self.url, self.slot)
            target = self._current_lsn(conn) if until_caught_up else None
            if resnapshot:
                self._forget(conn)
            repl = None
            if self.store.position(self.source) is None:
                repl = self._snapshot(conn)
            else:
                self._check_slot(conn)
        finally:
            conn.close()
        self._stream_with_retries(repl, target)
        self.store.set_phase(self.source, "stopped")
        return self.progress

    def _current_lsn(self, conn: Any) -> int:
        with pgsetup.pg_errors(self.url, self.slot), conn.cursor() as cur:
            cur.execute("SELECT pg_current_wal_lsn()::text")
            return pgsetup.lsn_int(cur.fetchone()[0])

    def _forget(self, conn: Any) -> None:
        self._idle_slot(conn)
        pgsetup.drop_slot(conn, self.url, self.slot)
        self.store.forget(self.source)

    def _idle_slot(self, conn: Any) -> pgsetup.SlotInfo | None:
        """The slot's state once no process reads it; a reader that just died (killed) lets go
        within moments, a live one does not: then the slot is in use."""
        deadline = time.monotonic() + SLOT_BUSY_WAIT_S
        while True:
            info = pgsetup.slot_info(conn, self.url, self.slot)
            if info is None or not info.active_pid:
                return info
            if time.monotonic() > deadline:
                raise pgsetup.slot_in_use(self.url, self.slot, info.active_pid)
            time.sleep(0.1)

    def _check_slot(self, conn: Any) -> None:
        info = self._idle_slot(conn)
        if info is None:
            raise PositionLost(
                f"replication slot {self.slot!r} is gone from {self.url}, so changes since the "
                "stored position are lost; run `kuaike capture --resnapshot` to copy again",
                source=self.source,
            )

    def _snapshot(self, conn: Any) -> Any:
        """Create the slot and copy every captured table in its snapshot; the live replication
        connection is returned (the exported snapshot lives as long as it stays idle)."""
        info = self._idle_slot(conn)
        if info is not None:
            log.info("dropping slot %s left by an unfinished snapshot", self.slot)
            pgsetup.drop_slot(conn, self.url, self.slot)
        repl = pgsetup.connect_replication(self.url, self.slot)
        lsn, name = pgsetup.create_slot(repl, self.url, self.slot)
        position = Position.postgres(lsn)
        tables = pgsetup.published_tables(
            conn, self.url, self.slot, self.settings.publication, self.wanted, self.source
        )
        copier = pgsetup.connect(self.url, self.slot)
        copier.autocommit = False
        copier.set_session(isolation_level="REPEATABLE READ", readonly=True)
        try:
            with (
                pgsetup.pg_errors(self.url, self.slot),
                copier.cursor() as cur,
                self.store.snapshot(self.source, position) as snap,
                tempfile.TemporaryDirectory(prefix="kuaike-snapshot-") as tmp,
            ):
                cur.execute("SET TRANSACTION SNAPSHOT %s", (name,))
                for schema in tables:
                    path = Path(tmp) / "table.csv"
                    columns = ", ".join(f'"{c.name}"' for c in schema.columns)
                    with open(path, "wb") as out:
                        cur.copy_expert(
                            f'COPY (SELECT {columns} FROM public."{schema.name}") '
                            "TO STDOUT WITH (FORMAT csv)",
                            out,
                        )
                    rows = snap.load_csv(schema, path)
                    self.progress.snapshot_rows += rows
                    if self.progress.on_table:
                        self.progress.on_table(schema.name, rows)
                    log.info("snapshot of %s: %d rows", schema.name, rows)
        finally:
            copier.close()
        self.progress.position = position
        return repl

    def _stream_with_retries(self, repl: Any, target: int | None) -> None:
        """Stream; a dropped connection or restarting server is retried with backoff."""
        delay, outage = 0.2, 0.0
        while not self.stop.is_set():
            attempt = time.monotonic()
            try:
                if repl is None:
                    repl = pgsetup.connect_replication(self.url, self.slot)
                self._stream(repl, target)
                return
            except StoreError as exc:
                with contextlib.suppress(StoreError):
                    self.store.set_phase(self.source, "failed", str(exc).splitlines()[0])
                raise
            except (psycopg2.Error, SourceError) as exc:
                if not _transient(exc) or outage >= RECONNECT_GIVE_UP_S:
                    self.store.set_phase(self.source, "failed", str(exc).splitlines()[0])
                    raise _as_source_error(self.url, self.slot, exc) from exc
                log.warning(
                    "capture of %s interrupted (%s); retrying in %.1fs",
                    self.source,
                    str(exc).strip().splitlines()[0],
                    delay,
                )
            finally:
                if repl is not None:
                    _close_quietly(repl)
                    repl = None
            if time.monotonic() - attempt > HEALTHY_S:
                delay, outage = 0.2, 0.0  # it streamed for a while: a new outage
            self.progress.reconnects += 1
            self.stop.wait(delay)
            outage += delay
            delay = min(delay * 2, 5.0)

    def _stream(self, repl: Any, target: int | None) -> None:
        """Read the slot from the stored position until stopped or caught up with `target`."""
        stored = self.store.position(self.source)
        start = stored.lsn if stored else 0
        cur = repl.cursor()
        with pgsetup.pg_errors(self.url, self.slot):
            cur.start_replication(
                slot_name=self.slot,
                decode=False,
                start_lsn=start,
                options={"proto_version": "1", "publication_names": self.settings.publication},
                # psycopg2 wants >= 1 s; shorter intervals are kept by Streamer._idle itself.
                status_interval=max(1.0, self.settings.feedback_interval_s),
            )
        Streamer(self, cur, start, target).run()


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, Transient):
        return True
    if isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
        return True
    text = str(exc).lower()
    # "no COPY in progress": psycopg2's word for a replication stream whose server went away.
    lost = ("starting up", "shutting down", "terminating connection", "no copy in progress")
    return any(w in text for w in lost)


def _as_source_error(url: SourceURL, slot: str, exc: BaseException) -> SourceError:
    if isinstance(exc, SourceError):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return pgsetup.setup_error(url, slot, text) or SourceError(f"PostgreSQL at {url}: {text}")


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except psycopg2.Error:
        log.debug("closing a broken replication connection failed", exc_info=True)
