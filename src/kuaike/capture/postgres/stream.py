"""The streaming loop over one replication connection: read → decode → batch → apply → confirm.

Reading and applying overlap: a batch is handed to an applier thread, which decodes its row
messages (numpy) and applies it (DuckDB releases the GIL while it works), while the reader reads
the next one; at most one batch waits. The reader confirms a position to PostgreSQL only once the
applier has committed it to the store, so a crash at any moment loses nothing: unconfirmed
transactions are sent again and skipped or applied.
"""

from __future__ import annotations

import os
import queue
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol

from kuaike.capture.events import BatchBuilder, ChangeSink
from kuaike.capture.postgres.pgoutput import Decoder, PendingBatch
from kuaike.capture.progress import CaptureProgress
from kuaike.config import CaptureSettings
from kuaike.types import PgReplicationCursor


class StreamOwner(Protocol):
    """What the loop needs of the capture that runs it (`PostgresCapture` is one)."""

    source: str
    store: ChangeSink
    settings: CaptureSettings
    stop: threading.Event
    progress: CaptureProgress
    wanted: Callable[[str], bool]


PAUSE_S = 0.010
"""How long the reader sleeps once it has drained the socket before it reads again (and, if
nothing came, treats the stream as idle). See `limit_receive_buffer` for why it sleeps."""

SWITCH_INTERVAL_S = 0.0005
"""Python's thread switch interval while streaming. The reader is busy most of the time while
catching up; with the default 5 ms the applier, which gives up the GIL between its numpy and
DuckDB steps, waits that long to get it back after each step and decodes 4-6x slower than
alone. Measured +7 % end-to-end (1 M changes, 3 runs each, 93-102 k -> 107 k changes/s)."""


CATCH_UP_POLL_S = 0.1
"""With --until-caught-up: how often an idle reader asks the server how far its WAL goes."""

STOP_CHECK_S = 0.5
"""Longest wait for the server while idle, so a stop request is noticed promptly."""


class HasFileno(Protocol):
    """A connection or socket: what has a file descriptor."""

    def fileno(self) -> int: ...


def limit_receive_buffer(conn: HasFileno, size: int) -> None:
    """Give a TCP replication connection a small fixed receive buffer of `size` bytes.

    The walsender is the bottleneck of catching up: it calls send() once per pgoutput message
    (and recv() once per WAL record). A send into an open TCP window runs the whole loopback
    transmit and receive path and wakes the reader, a send into a full window only queues the
    bytes. With an autotuned receive buffer (MBs) the window never fills; with a fixed one
    (`capture.receive_buffer_kb`, 128 kB, which Linux doubles) it fills while the reader
    sleeps PAUSE_S, and the reader then drains it in large segments.
    Measured on 600k messages (bench/cdc_postgres.py): 56-75k messages/s → 100-150k.
    """
    with socket.socket(fileno=os.dup(conn.fileno())) as sock:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


class Applier(threading.Thread):
    """Decodes and applies batches in order; `applied` is the end LSN of the last committed one."""

    def __init__(self, capture: StreamOwner, applied: int) -> None:
        super().__init__(name=f"apply-{capture.source}", daemon=True)
        self.capture = capture
        self.applied = applied
        self.error: BaseException | None = None
        self._queue: queue.Queue[tuple[PendingBatch, int] | None] = queue.Queue(maxsize=1)

    @property
    def pending(self) -> int:
        """Batches queued or being applied."""
        return self._queue.unfinished_tasks

    def submit(self, batch: PendingBatch, end: int) -> None:
        """Queue a batch (blocks while one already waits: back-pressure on the reader)."""
        self._queue.put((batch, end))

    def run(self) -> None:
        while (item := self._queue.get()) is not None:
            pending, end = item
            try:
                if self.error is None:
                    batch = pending.decode()
                    self.capture.store.apply(batch)
                    progress = self.capture.progress
                    progress.batches += 1
                    progress.changes += batch.changes
                    progress.position = batch.position
                    progress.last_applied = time.monotonic()
                    self.applied = end
            except BaseException as exc:  # handed to the reader thread, which raises it
                self.error = exc
            finally:
                self._queue.task_done()

    def finish(self) -> None:
        """Wait until every queued batch is applied, then end the thread."""
        self._queue.put(None)
        self.join()


class Streamer:
    """Reads one replication cursor until stopped or caught up with `target`."""

    def __init__(
        self,
        capture: StreamOwner,
        cur: PgReplicationCursor,
        start: int,
        target: int | None,
        type_name: Callable[[int, int], str] | None = None,
    ) -> None:
        self.capture = capture
        self.cur = cur
        self.target = target
        self.builder = BatchBuilder(capture.source)
        self.decoder = Decoder(
            self.builder,
            capture.wanted,
            skip_before=start,
            schemas=capture.settings.schemas,
            **({"type_name": type_name} if type_name else {}),
        )
        self.applier = Applier(capture, start)
        self.confirmed = start
        self.note = capture.store.slot_notes(capture.source)
        self.noted = 0
        self.batch_started = 0.0
        self.last_feedback = time.monotonic()
        settings = capture.settings
        self.max_rows = settings.batch_max_rows
        self.max_latency = settings.batch_max_latency_ms / 1000
        self.interval = settings.feedback_interval_s
        self.receive_buffer = settings.receive_buffer_kb * 1024

    def run(self) -> None:
        if self.receive_buffer:
            limit_receive_buffer(self.cur.connection, self.receive_buffer)
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL_S))
        self.applier.start()
        try:
            self._loop()
        finally:
            self.applier.finish()
            sys.setswitchinterval(switch_interval)
        self._raise_apply_error()
        self._confirm(final=True)

    def _loop(self) -> None:
        cur, feed, stop = self.cur, self.decoder.feed, self.capture.stop
        reading = bool(self.capture.progress.first_read)
        while True:
            message = cur.read_message()
            if message is None:
                # A pause lets the walsender fill the socket instead of waking this reader
                # for every message (see limit_receive_buffer).
                time.sleep(PAUSE_S)
                message = cur.read_message()
            if message is not None:
                if not reading:
                    reading = True
                    self.capture.progress.first_read = time.monotonic()
                if feed(message.payload) and self._after_commit():
                    return
                continue
            if self.builder.batch and not self.builder.in_transaction:
                self._flush()
            self._confirm()
            if stop.is_set() or self._caught_up():
                return
            self._idle()

    def _after_commit(self) -> bool:
        """Flush when the batch is full or old enough; True when capture should stop now."""
        self._raise_apply_error()
        if self.builder.batch:
            now = time.monotonic()
            if not self.batch_started:
                self.batch_started = now
            if self.builder.rows >= self.max_rows or now - self.batch_started >= self.max_latency:
                self._flush()
        elif self.applier.pending == 0 and self.decoder.commit_end > self.applier.applied:
            self.applier.applied = self.decoder.commit_end  # skipped or empty: nothing to apply
        self._confirm()
        if self.capture.stop.is_set():
            self._flush()
            return True
        return False

    def _flush(self) -> None:
        """Hand the whole transactions read so far to the applier."""
        if self.builder.batch:
            self.applier.submit(self.decoder.take_pending(), self.decoder.commit_end)
        self.batch_started = 0.0

    def _confirm(self, final: bool = False) -> None:
        """Confirm to PostgreSQL what the store has committed (flush LSN), never more; the
        `final` confirmation, before the connection closes, is sent even when unchanged, so a
        stopped or caught-up capture leaves the slot at the stored position."""
        applied = self.applier.applied
        if applied > self.confirmed or (final and applied):
            self.confirmed = applied
            self._send_feedback(applied)

    def _send_feedback(self, flush: int, reply: bool = False) -> None:
        """A status message, sent now, after noting in the store how far it may confirm.

        psycopg2 moves the flush position it reports to the WAL end of a keepalive once every
        message was confirmed (so an idle slot retains no WAL); that WAL end is noted first,
        so a slot confirmed further than the store noted was read by someone else.
        """
        bound = max(flush, self.cur.wal_end or 0)
        if bound > self.noted:
            self.note(bound)
            self.noted = bound
        self.cur.send_feedback(  # type: ignore[no-untyped-call]
            write_lsn=flush, flush_lsn=flush, reply=reply, force=True
        )
        self.last_feedback = time.monotonic()

    def _raise_apply_error(self) -> None:
        if self.applier.error is not None:
            raise self.applier.error

    def _caught_up(self) -> bool:
        if self.target is None or self.builder.in_transaction or self.builder.batch:
            return False
        if self.applier.pending:
            return False
        reached = max(self.applier.applied, self.decoder.commit_end, self.cur.wal_end or 0)
        return reached >= self.target

    def _idle(self) -> None:
        """Nothing to read: confirm while idle (psycopg2 moves flush to the keepalive's WAL end
        once every message was confirmed), so the slot retains no WAL; then wait."""
        self._raise_apply_error()
        now = time.monotonic()
        wait = self.interval
        # A reply request costs the walsender (our bottleneck) a round of work: at most every
        # CATCH_UP_POLL_S while catching up to a target, else every feedback interval.
        every = CATCH_UP_POLL_S if self.target is not None else self.interval
        if now - self.last_feedback >= every:
            self._send_feedback(self.confirmed, reply=True)
        if self.target is not None:
            wait = min(wait, CATCH_UP_POLL_S)
        if self.builder.batch or self.applier.pending:
            wait = min(wait, self.max_latency)
        select.select([self.cur.connection], [], [], max(min(wait, STOP_CHECK_S), 0.01))
