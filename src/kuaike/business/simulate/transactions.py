"""Live operation's writer: every business event is its own transaction, and on PostgreSQL
several of those transactions travel in one round trip.

A batch is one simple-query string `BEGIN; SET kuaike.event = n; EXECUTE ...; COMMIT; BEGIN; ...`:
each event still commits (or fails) alone, but the client and the server pay the round trip,
the wake-ups and the system calls once per batch instead of once per event, which is most of
what a small transaction costs on a busy machine.

When a statement fails, PostgreSQL skips the rest of the string. The `SET` is how the writer
learns how far the batch got: a setting changed inside a transaction is undone with it, so after
the error `kuaike.event` holds the number of the last event that committed. The events before
the failed one count as written; the error names the failed one and how many after it were not
sent, and stops live operation as a failed single event always did.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from typing import Any

from kuaike.business.simulate.journey import Op
from kuaike.business.simulate.sql import Prepared, op_sql
from kuaike.business.simulate.tables import crm, logistics
from kuaike.databases import SourceURL, connect_mysql, connect_postgres, driver_errors
from kuaike.errors import SourceError

Event = list[Op]
BATCH = 50  # events per round trip at most; past ~50 the saving per event is small
# An event as queued: its number on its connection, its SQL (PostgreSQL: the whole transaction
# in one string; MySQL: one statement per row operation) and its row operations.
Entry = tuple[int, tuple[str, ...], Event]


class LiveWriter:
    """Commits business events, one transaction each, over several connections.

    Events of one parcel always go to the same connection (by `key`), so they commit in order.
    `submit` formats an event at once (later events of the parcel change the same row dicts)
    and queues it; a connection's queue is sent when it holds `batch` events or on `flush`.
    With one connection there is no thread: the batch is sent by the caller (threads cost more
    in GIL hand-offs than they win; live mode uses processes for parallelism).
    """

    def __init__(self, url: str, connections: int, batch: int = BATCH) -> None:
        self.url = SourceURL.parse(url)
        self.mysql = self.url.dialect == "mysql"
        self.batch = batch
        count = max(1, connections)
        self.errors: list[BaseException] = []
        self._conns = [self._connect() for _ in range(count)]
        whole_rows = frozenset() if self.mysql else self._whole_row_tables(self._conns[0])
        self._prepared = [Prepared(whole_rows) for _ in range(count)]
        self._numbers = [0] * count
        self._outboxes: list[list[Entry]] = [[] for _ in range(count)]
        self._events = [0] * count
        self._tallies: list[Counter[tuple[str, str]]] = [Counter() for _ in range(count)]
        self._inline = count == 1
        # Two batches waiting per connection are enough to keep its thread busy.
        self._queues: list[queue.Queue[list[Entry] | None]] = [queue.Queue(2) for _ in range(count)]
        self.threads = [
            threading.Thread(target=self._work, args=(i,), daemon=True)
            for i in range(0 if self._inline else count)
        ]
        for thread in self.threads:
            thread.start()

    def _connect(self) -> Any:
        if self.mysql:
            return connect_mysql(self.url)
        conn = connect_postgres(self.url)
        conn.autocommit = True
        # A simulated event may be lost in an OS crash without harm, and not waiting for the
        # WAL flush at every commit is what lets one session commit thousands of events a
        # second on an ordinary disk. Only these sessions are affected.
        with driver_errors(self.url), conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
        return conn

    def _whole_row_tables(self, conn: Any) -> frozenset[str]:
        """The tables whose columns are exactly the DDL's, in its order: their new rows can
        travel as one value of the table's composite type (see `Prepared`)."""
        with driver_errors(self.url), conn.cursor() as cur:
            cur.execute(
                "SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum) "
                "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
                "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
                "AND a.attnum > 0 AND NOT a.attisdropped GROUP BY c.relname"
            )
            found = dict(cur.fetchall())
        return frozenset(
            name
            for name, spec in {**logistics(), **crm()}.items()
            if tuple(found.get(name, ())) == spec.columns
        )

    @property
    def events(self) -> int:
        """Events committed so far."""
        return sum(self._events)

    @property
    def rows(self) -> Counter[str]:
        """Row changes committed so far, by `table:kind`."""
        total: Counter[str] = Counter()
        for tally in self._tallies:
            for (name, kind), n in tally.items():
                total[f"{name}:{kind}"] += n
        return total

    def submit(self, key: int, event: Event) -> None:
        """Queue one event; sends its connection's batch when full (blocks when behind)."""
        if self.errors:
            raise self.errors[0]
        if not event:
            return
        index = key % len(self._conns)
        number = self._numbers[index] = self._numbers[index] + 1
        if self.mysql:
            statements = tuple(op_sql(op, mysql=True) for op in event)
        else:
            body = self._prepared[index].sql(event)
            statements = (f"BEGIN;SET kuaike.event={number};{body};COMMIT",)
        outbox = self._outboxes[index]
        outbox.append((number, statements, event))
        if len(outbox) >= self.batch:
            self._hand(index)

    def flush(self) -> None:
        """Send every queued event (the thread of each connection commits them soon after)."""
        self._hand_all()
        if self.errors:
            raise self.errors[0]

    def _hand_all(self) -> None:
        for index, outbox in enumerate(self._outboxes):
            if outbox:
                self._hand(index)

    def _hand(self, index: int) -> None:
        batch, self._outboxes[index] = self._outboxes[index], []
        if self._inline:
            try:
                self._send(index, batch)
            except BaseException as exc:
                self.errors.append(exc)
                raise
        else:
            self._queues[index].put(batch)

    def _work(self, index: int) -> None:
        inbox = self._queues[index]
        try:
            while (batch := inbox.get()) is not None:
                self._send(index, batch)
        except BaseException as exc:  # reported to the producer on its next submit or flush
            self.errors.append(exc)
            while inbox.get() is not None:  # keep draining so the producer never blocks
                pass

    def _send(self, index: int, batch: list[Entry]) -> None:
        if self.mysql:
            self._send_mysql(index, batch)
            return
        conn = self._conns[index]
        try:
            with driver_errors(self.url), conn.cursor() as cur:
                cur.execute(";".join(entry[1][0] for entry in batch))
        except SourceError as exc:
            done = self._committed_after_error(conn, batch)
            self._count(index, batch[:done])
            failed = batch[done][2] if done < len(batch) else []
            tables = ", ".join(sorted({op[1] for op in failed})) or "?"
            raise SourceError(
                f"{exc} (a live event writing {tables} failed; the {done} events before it in "
                f"its batch were committed, the {max(0, len(batch) - done - 1)} after it were "
                "not sent and live operation stopped)",
                source=exc.source,
            ) from exc
        self._count(index, batch)

    def _committed_after_error(self, conn: Any, batch: list[Entry]) -> int:
        """How many events of a failed batch committed (0 when the connection is gone)."""
        try:
            with conn.cursor() as cur:
                cur.execute("ROLLBACK")
                cur.execute("SELECT current_setting('kuaike.event', true)")
                last = int((cur.fetchone() or ("",))[0] or 0)
        except Exception:  # a lost connection: nothing can be known, assume nothing committed
            return 0
        return sum(1 for number, _statements, _event in batch if number <= last)

    def _send_mysql(self, index: int, batch: list[Entry]) -> None:
        conn = self._conns[index]
        for done, (_number, statements, _event) in enumerate(batch):
            try:
                with driver_errors(self.url), conn.cursor() as cur:
                    for statement in statements:
                        cur.execute(statement)
                    conn.commit()
            except SourceError:
                self._count(index, batch[:done])
                raise
        self._count(index, batch)

    def _count(self, index: int, batch: list[Entry]) -> None:
        tally = self._tallies[index]
        for _number, _statements, event in batch:
            for kind, name, _row, _changed in event:
                tally[name, kind] += 1
        self._events[index] += len(batch)

    def close(self) -> None:
        """Commit every queued event, then close the connections."""
        try:
            if not self.errors:
                self._hand_all()
        finally:
            for inbox in self._queues[: len(self.threads)]:
                inbox.put(None)
            for thread in self.threads:
                thread.join()
            for conn in self._conns:
                conn.close()
        if self.errors:
            raise self.errors[0]
