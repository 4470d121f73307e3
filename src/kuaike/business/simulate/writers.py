"""Writing rows into the business databases in bulk: COPY for history on PostgreSQL (logistics,
and CRM in the demo), multi-row INSERTs on MySQL/MariaDB (CRM). Live operation's transactions
are in transactions.py.
"""

from __future__ import annotations

import io
import queue
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2.extensions

from kuaike.business.simulate.model import Row, as_tuple
from kuaike.business.simulate.sql import copy_line, forget_times, quoted
from kuaike.business.simulate.tables import table
from kuaike.databases import SourceURL, connect_mysql, connect_postgres, driver_errors

COPY_BATCH_ROWS = 20_000


class CopyWriter:
    """Buffers whole rows per table and sends them with COPY from a background thread, so
    rows are generated here while PostgreSQL ingests the previous batch; `close` commits."""

    def __init__(self, url: str) -> None:
        self.url = SourceURL.parse(url)
        self.conn = connect_postgres(self.url)
        self._codec = psycopg2.extensions.encodings[self.conn.encoding]
        self.buffers: dict[str, list[str]] = {}
        self.pending = 0
        self.rows: Counter[str] = Counter()
        self._outbox: queue.Queue[dict[str, list[str]] | None] = queue.Queue(2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._send_loop, daemon=True)
        self._thread.start()

    def add(self, name: str, row: Row) -> None:
        """Queue one row; hands a batch to the sender when enough rows wait."""
        self.buffers.setdefault(name, []).append(copy_line(name, row))
        self.pending += 1
        if self.pending >= COPY_BATCH_ROWS:
            self.flush()

    def add_all(self, rows: Iterable[tuple[str, Row]]) -> None:
        for name, row in rows:
            self.add(name, row)

    def flush(self) -> None:
        """Hand the buffered rows to the sender (blocks while two batches are in flight)."""
        forget_times()
        if self._error is not None:
            raise self._error
        if self.pending:
            self._outbox.put(self.buffers)
            self.buffers, self.pending = {}, 0

    def _send_loop(self) -> None:
        try:
            with driver_errors(self.url), self.conn.cursor() as cur:
                while (batch := self._outbox.get()) is not None:
                    self._send(cur, batch)
                    self.conn.commit()
        except BaseException as exc:  # re-raised in the producer by flush/close
            self._error = exc
            while self._outbox.get() is not None:
                pass

    def _send(self, cur: Any, batch: dict[str, list[str]]) -> None:
        for name, lines in batch.items():
            columns = ", ".join(map(quoted, table(name).columns))
            # Encoded here, once: from a text buffer psycopg2 would copy and encode every chunk.
            data = io.BytesIO(("\n".join(lines) + "\n").encode(self._codec))
            cur.copy_expert(f"COPY {name} ({columns}) FROM STDIN", data, size=1 << 20)
            self.rows[name] += len(lines)

    def close(self) -> None:
        """Send what is left, wait for the sender, close the connection."""
        self.flush()
        self._outbox.put(None)
        self._thread.join()
        self.conn.close()
        if self._error is not None:
            raise self._error


class MySQLBulkWriter:
    """The MySQL side of history: multi-row INSERTs per table, committed on `flush`."""

    def __init__(self, url: str) -> None:
        self.url = SourceURL.parse(url)
        self.conn = connect_mysql(self.url)
        self.buffers: dict[str, list[tuple[object, ...]]] = {}
        self.pending = 0
        self.rows: Counter[str] = Counter()

    def add(self, name: str, row: Row) -> None:
        self.buffers.setdefault(name, []).append(as_tuple(name, row))
        self.pending += 1
        if self.pending >= COPY_BATCH_ROWS:
            self.flush()

    def add_all(self, rows: Iterable[tuple[str, Row]]) -> None:
        for name, row in rows:
            self.add(name, row)

    def flush(self) -> None:
        with driver_errors(self.url), self.conn.cursor() as cur:
            for name, rows in self.buffers.items():
                if rows:
                    columns = table(name).columns
                    marks = ", ".join(["%s"] * len(columns))
                    sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})"
                    cur.executemany(sql, rows)
                    self.rows[name] += len(rows)
                    rows.clear()
        self.conn.commit()
        self.pending = 0

    def close(self) -> None:
        self.flush()
        self.conn.close()


def bulk_writer(url: str) -> CopyWriter | MySQLBulkWriter:
    """COPY on PostgreSQL, multi-row INSERT on MySQL."""
    return MySQLBulkWriter(url) if SourceURL.parse(url).dialect == "mysql" else CopyWriter(url)


@contextmanager
def cursor(url: str) -> Iterator[Any]:
    """A cursor on a short-lived connection, committed at the end, errors translated."""
    parsed = SourceURL.parse(url)
    conn = connect_mysql(parsed) if parsed.dialect == "mysql" else connect_postgres(parsed)
    try:
        with driver_errors(parsed), conn.cursor() as cur:
            yield cur
        conn.commit()
    finally:
        conn.close()
