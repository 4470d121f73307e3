"""MySQL/MariaDB change capture: snapshot, then stream the binlog into the store, exactly once.

First start of a source (no position in the store): check the server's setup, read every
captured table inside one consistent snapshot and load it in one store transaction that also
records the snapshot's binlog coordinates; then stream from there. A crash before that
transaction commits leaves no position, so the next start snapshots again.

Streaming: binlog transactions become batches (bounded by `batch_max_rows` and
`batch_max_latency_ms`); each batch is applied with its position (binlog file + end of the
transaction's XID event) in one DuckDB transaction. Nothing is confirmed to the server: the
stored position is the only resume point, so a crash at any instant loses nothing and applies
nothing twice. A binlog purged past that position is PositionLost, never skipped.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from kuaike.capture.base import CaptureSource, attributed
from kuaike.capture.events import ChangeBatch, ChangeSink, Position
from kuaike.capture.mysql.source import MySQLSource, from_position
from kuaike.capture.progress import CaptureProgress
from kuaike.capture.retry import retry_transient
from kuaike.config import CaptureSettings
from kuaike.databases import connect_mysql, mysql_errors
from kuaike.errors import KuaikeError, SourceError, StoreError, UsageError

log = logging.getLogger("kuaike.capture.mysql")


class MySQLCapture:
    """Captures one MySQL/MariaDB database (`source` names it in the store)."""

    def __init__(
        self,
        source: CaptureSource,
        store: ChangeSink,
        settings: CaptureSettings,
        stop: threading.Event | None = None,
    ) -> None:
        self.source = source.name
        self.reader = MySQLSource(source.name, source.url, settings)
        self.url = source.url
        self.store = store
        self.settings = settings
        self.stop = stop or threading.Event()
        self.progress = CaptureProgress()

    def run(
        self,
        until_caught_up: bool = False,
        resnapshot: bool = False,
        tables: tuple[str, ...] = (),
    ) -> CaptureProgress:
        """Snapshot if needed, then stream until stopped (or caught up). Returns progress."""
        if tables:
            raise UsageError(
                f"re-copying single tables is built for PostgreSQL sources; run `kuaike capture "
                f"--resnapshot --source {self.source}` to copy every table of {self.source} again"
            )
        with attributed(self.source):
            self.reader.check()
            until = self.reader.binlog_end() if until_caught_up else None
            if resnapshot:
                self.store.forget(self.source)
            position = self.store.position(self.source)
            if position is None:
                self._snapshot()
            else:
                self._check_resume(position)
            self._stream_with_retries(until)
        self.store.set_phase(self.source, "stopped")
        return self.progress

    def _check_resume(self, position: Position) -> None:
        """PositionLost, recorded as the source's error, when the server purged the stored
        position's binlog or is not the server the store copied (see `identity`)."""
        try:
            self.reader.ensure_available(position)
            self.reader.check_server(position, self.store.server_identity(self.source))
        except KuaikeError as exc:
            with contextlib.suppress(StoreError):
                self.store.set_phase(self.source, "failed", str(exc).splitlines()[0])
            raise

    def _snapshot(self) -> None:
        """Every captured table inside one consistent snapshot, in one store transaction."""
        with (
            self.reader.snapshot() as snap,
            self.store.snapshot(self.source, snap.position) as sink,
        ):
            self.store.record_server(self.source, self.reader.identity())
            for schema, rows in snap.tables():
                count = sink.load_arrow(schema, rows)
                self.progress.snapshotted(schema.name, count)
                log.info("snapshot of %s: %d rows", schema.name, count)
        self.progress.position = snap.position

    def _stream_with_retries(self, until: Position | None) -> None:
        """Stream; a dropped connection or restarting server is retried with backoff."""
        try:
            retry_transient(
                lambda: self._stream(until),
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

    def _stream(self, until: Position | None) -> None:
        """Apply batches from the stored position until stopped or caught up with `until`.

        The store applies batch n in a worker thread while batch n+1 is read and decoded
        (DuckDB works without the GIL): batches still apply one at a time, in order, each
        with its position, so a crash anywhere loses or repeats nothing.
        """
        start = self.store.position(self.source)
        assert start is not None, "streaming starts after the snapshot recorded a position"
        if until is not None and start >= until:
            return
        with ThreadPoolExecutor(1, thread_name_prefix=f"apply-{self.source}") as worker:
            pending: Future[None] | None = None
            try:
                batches = self.reader.batches(
                    start, until=until, wait=True, ready=lambda: pending is None or pending.done()
                )
                for batch in batches:
                    if batch:
                        if pending is not None:
                            pending.result()  # one batch in flight; its errors surface here
                        pending = worker.submit(self._apply, batch)
                    if self.stop.is_set():
                        break
            finally:
                self.progress.reconnects += self.reader.reconnects
                self.reader.reconnects = 0
                if pending is not None:
                    pending.result()

    def _apply(self, batch: ChangeBatch) -> None:
        self.store.apply(batch)
        self.progress.batches += 1
        self.progress.changes += batch.changes
        self.progress.position = batch.position


def figures(source: CaptureSource, position: Position | None) -> dict[str, Any]:
    """For `kuaike status`: binlog bytes after the stored position (`lag_bytes`), the binlog
    the server keeps (`retained_wal_bytes`), or `source_error` saying why not."""
    try:
        conn = connect_mysql(source.url)
        try:
            with mysql_errors(source.url), conn.cursor() as cur:
                cur.execute("SHOW BINARY LOGS")
                sizes = [(str(row[0]), int(row[1])) for row in cur.fetchall()]
        finally:
            conn.close()
    except SourceError as exc:
        return {"source_error": str(exc)}
    figures: dict[str, Any] = {"retained_wal_bytes": sum(size for _, size in sizes)}
    if position is not None:
        at = from_position(position)
        if at.file not in [name for name, _ in sizes]:
            figures["source_error"] = (
                f"binlog {at.file} was purged; run `kuaike capture --resnapshot --source "
                f"{source.name}`"
            )
            return figures
        after = [size for name, size in sizes if name > at.file]
        current = dict(sizes)[at.file]
        figures["lag_bytes"] = max(current - at.offset, 0) + sum(after)
    return figures
