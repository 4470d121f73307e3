"""Consume change topics (Debezium, Canal, OGG or Maxwell JSON) into the store, exactly once.

No source database is needed: table structure comes from the messages' type hints, else the
configured types (`kafka.types`), else each column's first non-NULL value; the key from the
message (`pkNames`, the Debezium key, ...), else `kafka.keys`, else `id`.

Exactly once: the consumer assigns itself every partition of the topics and seeks to the
offsets stored in the store; each chunk of messages is applied in one DuckDB transaction
together with the next offsets (the source's position, see `offsets.py`). Kafka's own
committed offsets are never used, so a crash anywhere loses nothing and applies nothing twice.

A message that cannot be applied (not JSON, unknown table, missing key, a value not of its
column's type) goes to `_kuaike.dead_letters` with its raw bytes, topic, partition, offset and
the error, in the transaction that passes its offset; the stream goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

from kuaike.capture.base import table_filter
from kuaike.capture.events import (
    UNCHANGED,
    BatchBuilder,
    Change,
    ChangeBatch,
    ChangeSink,
    Column,
    DeadLetter,
    Position,
    TableSchema,
)
from kuaike.capture.formats import FORMATS
from kuaike.capture.formats.common import Naming, restore
from kuaike.capture.kafka.changes import UNAVAILABLE
from kuaike.capture.kafka.client import SESSION_TIMEOUT_MS, KafkaURL, error_for, kafka, kafka_errors
from kuaike.capture.kafka.known import known_table
from kuaike.capture.kafka.offsets import Offsets, offsets_text, parse_offsets
from kuaike.capture.kafka.reach import LibrdkafkaLog
from kuaike.capture.kafka.recreated import recreated_end, recreated_line
from kuaike.capture.progress import CaptureProgress
from kuaike.capture.retry import retry_transient
from kuaike.config import CaptureSettings, KafkaSettings
from kuaike.errors import KuaikeError, MessageError, SourceError, SourceUnreachable, StoreError

log = logging.getLogger("kuaike.capture.kafka")

INFERRED: dict[type, str] = {
    bool: "boolean",
    int: "bigint",
    float: "double precision",
    Decimal: "numeric",
    str: "text",
    datetime: "timestamp",
    date: "date",
}
"""A value's Python type → the column type of a table whose messages carry no types."""

ACCEPTS: dict[str, tuple[type, ...]] = {
    "bigint": (int,),
    "double precision": (int, float),
    "numeric": (int, Decimal),
    "boolean": (bool,),
    "timestamp": (datetime, str),
    "date": (date, str),
    "text": (str,),
}
"""An inferred column type → the Python types its later values may have."""


FETCH: dict[str, Any] = {
    "fetch.min.bytes": 1,  # a fetch answers as soon as anything is there
    "fetch.wait.max.ms": 100,  # ... and an idle one within 0.1 s
    "max.partition.fetch.bytes": 16 << 20,  # Kafka's 1 MB: ~500 Debezium messages a round trip
    "fetch.max.bytes": 64 << 20,
    "queued.min.messages": 200_000,
    # 1 GB prefetched at most: the default 64 MB holds fewer Debezium messages (~2 KB with
    # their schema) than one batch (`kafka.batch_max_messages`)
    "queued.max.messages.kbytes": 1 << 20,
}
"""librdkafka's fetching, for throughput: large fetches, a deep prefetch queue."""

CHUNK = 5_000
"""Messages taken from librdkafka at a time (a batch is several): a few fetches' worth
(~3,000 Debezium messages with their schema come per 16 MB fetch), so decoding starts while
the rest is still on its way."""


def naming_of(settings: KafkaSettings) -> Naming:
    return Naming(
        renames=tuple(settings.renames.items()),
        keys={table: tuple(cols) for table, cols in settings.keys.items()},
        types=settings.types,
        known=known_table,
    )


class KafkaConsume:
    """Applies `topics` in `fmt` from the broker at `url` to the store (a `Capture`)."""

    def __init__(
        self,
        url: KafkaURL,
        fmt: str,
        topics: list[str],
        store: ChangeSink,
        settings: KafkaSettings,
        capture: CaptureSettings,
        stop: threading.Event | None = None,
    ) -> None:
        self.source = settings.source_name
        self.url, self.topics, self.store = url, topics, store
        self.decode = FORMATS[fmt].decode
        self.naming = naming_of(settings)
        self.settings, self.capture = settings, capture
        self.wanted = table_filter(capture.include, capture.exclude)
        self.stop = stop or threading.Event()
        self.progress = CaptureProgress()
        self._schemas: dict[str, TableSchema] = {}
        self._wanted: dict[str, bool] = {}
        self._inferred: dict[str, dict[str, str]] = {}
        self._provisional: dict[str, set[str]] = {}
        self.broker_error: str | None = None
        self.lost = False
        """The broker was unreachable since the partitions were assigned: check them again."""
        self.notice: str | None = None
        self.resets = 0
        self._assigned: list[tuple[str, int]] = []
        self.dead = 0
        """Messages of this run that went to the dead letters."""
        """The last partition reset (`_reset`), kept in the status after its batch."""

    def run(
        self, until_caught_up: bool = False, resnapshot: bool = False, tables: tuple[str, ...] = ()
    ) -> CaptureProgress:
        """Apply messages from the stored offsets until stopped (or caught up with the high
        watermarks at start). `resnapshot` forgets the offsets: every topic from its start."""
        if resnapshot:
            self.store.forget(self.source)
        try:
            retry_transient(
                lambda: self._consume(until_caught_up),
                self.stop,
                give_up_s=self.capture.retry_give_up_s,
                healthy_s=self.capture.retry_healthy_s,
                on_retry=self._on_retry,
            )
        except KuaikeError as exc:
            self._set_phase("failed", str(exc).splitlines()[0])
            raise
        self._set_phase("stopped")
        return self.progress

    def _set_phase(self, phase: str, error: str | None = None) -> None:
        try:
            if self.store.position(self.source) is not None:
                self.store.set_phase(self.source, phase, error)
        except StoreError:
            pass

    def _on_retry(self, exc: KuaikeError, pause: float) -> None:
        self.progress.reconnects += 1
        self._set_phase("streaming", str(exc))
        log.warning("consuming from %s interrupted (%s); retrying in %.1fs", self.url, exc, pause)

    def _consumer(self, module: ModuleType) -> Any:
        return module.Consumer(
            {
                "bootstrap.servers": self.url.servers,
                "group.id": f"kuaike-{self.source}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": SESSION_TIMEOUT_MS,
                "enable.partition.eof": False,
                "error_cb": self._on_error,
                "logger": LibrdkafkaLog(),  # not librdkafka's raw stderr lines
            }
            | FETCH
        )

    def _on_error(self, error: Any) -> None:
        """librdkafka's background errors (broker down): one line in the status, go on."""
        failure = error_for(self.url, error)
        self.lost = self.lost or isinstance(failure, SourceUnreachable)
        self.broker_error = str(failure)
        log.warning("%s", self.broker_error)
        self._set_phase("streaming", self.broker_error)

    def _consume(self, until_caught_up: bool) -> None:
        """Consume and apply until stopped (or caught up).

        The store applies batch n in a worker thread while batch n+1 is consumed and decoded
        (DuckDB merges without the GIL), as the MySQL capture does: batches still apply one
        at a time, in order, each with the offsets after it, so a crash anywhere loses or
        repeats nothing. Leaving on an error, the worker's shutdown lets a transaction under
        way end (committed or rolled back) before a retry reads the stored offsets again.
        """
        module = kafka()
        consumer = self._consumer(module)
        try:
            with (
                kafka_errors(self.url),
                ThreadPoolExecutor(1, thread_name_prefix=f"apply-{self.source}") as worker,
            ):
                offsets = self._assign(module, consumer)
                began = dict(offsets)
                until = (
                    self._high_watermarks(module, consumer, offsets) if until_caught_up else None
                )
                applying: Future[None] | None = None
                pending: _Pending | None = None
                while not self.stop.is_set():
                    if pending is None:
                        pending = self._pending()
                    caught = until is not None and self._reached(offsets, until)
                    # Caught up by messages read now: only what librdkafka has queued already
                    # is taken (the rest of the record batch the watermark points into: a
                    # fetch queues whole batches), without waiting for more. Caught up at
                    # the stored offsets already: one wait tells whether more is there.
                    drained = caught and until is not None and _read_past(offsets, began, until)
                    left = 0.0 if drained else max(0.0, pending.deadline - time.monotonic())
                    want = min(CHUNK, self.settings.batch_max_messages - pending.messages)
                    messages = consumer.consume(want, left)
                    if messages:
                        self._decode(messages, offsets, pending)
                    # Applied once full, or once librdkafka had no more within the batch's
                    # latency (a short chunk); a backlog fills whole batches.
                    if pending.messages and (
                        len(messages) < want or pending.messages >= self.settings.batch_max_messages
                    ):
                        work = self._finish(pending, offsets)
                        if applying is not None:
                            applying.result()  # one batch in flight; its errors surface here
                        applying = worker.submit(self._commit, work)
                        pending = None
                    elif not messages:
                        pending = None  # an idle wait: the next batch's latency starts anew
                        if self.lost:  # the broker was away: back without its data?
                            if applying is not None:
                                applying.result()  # the offsets to read are the committed ones
                            self.lost = False
                            offsets = self._assign(module, consumer)
                            began = dict(offsets)
                        elif caught:
                            break
                if applying is not None:
                    applying.result()
        finally:
            consumer.close()

    def _partitions(self, consumer: Any, stored: Offsets) -> list[tuple[str, int]]:
        found = []
        for topic in self.topics:
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                if any(t == topic for t, _ in stored):
                    # consumed before: the broker restarted without it; wait for it (retried)
                    raise SourceUnreachable(
                        f"topic {topic!r} is gone from {self.url} (a broker restarted without "
                        "its data?); waiting for it to be created again"
                    )
                raise SourceError(
                    f"topic {topic!r} does not exist on {self.url}; check --topics "
                    "(or publish to it first)",
                    source=self.source,
                )
            found += [(topic, p) for p in sorted(meta.partitions)]
        return found

    def _assign(self, module: ModuleType, consumer: Any) -> Offsets:
        """Assign every partition, each at its stored next offset (the beginning if none)."""
        stored = parse_offsets(str(self.store.position(self.source) or ""))
        offsets: Offsets = dict(stored)  # topics not consumed this time keep their offsets
        assignment = []
        for tp in self._partitions(consumer, stored):
            # An offset past the partition's end (a broker that lost its data, topics
            # recreated) is reset to the start by librdkafka (auto.offset.reset=earliest);
            # `_reset` says so when its first message arrives. A broker that does not answer
            # it as out of range (Tansu) is caught here, before the partition is assigned.
            at = stored.get(tp)
            if at is None:
                at = self._beginning(module, consumer, tp)
            end = recreated_end(module, consumer, tp, at)
            if end is not None:
                self._recreated(recreated_line(tp, at, end))
                at = 0
            offsets[tp] = at
            assignment.append(module.TopicPartition(tp[0], tp[1], at))
        consumer.assign(assignment)
        self._assigned = [(a.topic, a.partition) for a in assignment]
        return offsets

    @staticmethod
    def _beginning(module: ModuleType, consumer: Any, tp: tuple[str, int]) -> int:
        """A partition's first offset, asked of the broker now. Assigned as the logical
        OFFSET_BEGINNING, librdkafka resolves it only after its offset query timer (0.5 s
        measured against Tansu, on every start of a new stream) instead of at once."""
        low, _high = consumer.get_watermark_offsets(module.TopicPartition(*tp), timeout=10)
        return max(int(low), 0)

    @staticmethod
    def _reached(offsets: Offsets, until: Offsets) -> bool:
        """Caught up: every partition at its high watermark of the start, and nothing more
        came (a broker may report a watermark short of its last batch: Tansu 0.6 does)."""
        return all(offsets[tp] >= high for tp, high in until.items() if high > 0)

    def _high_watermarks(self, module: ModuleType, consumer: Any, offsets: Offsets) -> Offsets:
        return {
            tp: consumer.get_watermark_offsets(module.TopicPartition(*tp), timeout=10)[1]
            for tp in self._assigned
        }

    def _pending(self) -> _Pending:
        builder = BatchBuilder(self.source)
        builder.begin(Position(""), None)
        return _Pending(builder, time.monotonic() + self.capture.batch_max_latency_ms / 1000)

    def _decode(self, messages: list[Any], offsets: Offsets, pending: _Pending) -> None:
        """One chunk of messages into the pending batch, the offsets moved past them."""
        builder, dead = pending.builder, pending.dead
        for message in messages:
            error = message.error()
            if error is not None:
                raise error_for(self.url, error)
            tp = (message.topic(), message.partition())
            if message.offset() < offsets[tp]:
                self._reset(tp, offsets[tp], message.offset())
            try:
                changes = self.decode(message.value(), message.key(), self.naming)
                self._add(builder, changes)
                if changes:
                    pending.commit_ts = changes[-1].commit_ts or pending.commit_ts
            except MessageError as exc:
                dead.append(
                    DeadLetter(*tp, message.offset(), message.key(), message.value(), str(exc))
                )
            offsets[tp] = message.offset() + 1
        pending.messages += len(messages)

    def _finish(self, pending: _Pending, offsets: Offsets) -> _Work:
        """The pending messages as a batch, with the offsets after them as its position."""
        builder = pending.builder
        builder.commit(Position(offsets_text(offsets)))
        batch = builder.take()
        batch.commit_ts[-1] = pending.commit_ts
        batch.dead_letters = pending.dead
        self.dead += len(pending.dead)
        notice, self.notice = self.notice, None  # said once this batch passed what it is about
        return _Work(batch, notice, self.broker_error)

    def _commit(self, work: _Work) -> None:
        """One batch in one store transaction, then what it passed (in the applier's thread)."""
        self.store.apply(work.batch)
        if self.broker_error is not None and self.broker_error is work.broker_error:
            self.broker_error = None  # the good batch cleared the store's last error too
        if work.notice:
            self._set_phase("streaming", work.notice)
        self.progress.batches += 1
        self.progress.changes += work.batch.changes
        self.progress.position = work.batch.position
        self.progress.last_applied = time.monotonic()

    def _reset(self, tp: tuple[str, int], stored: int, first: int) -> None:
        """A partition that went back: the broker lost it (restarted, topic recreated) and
        librdkafka read it again from its start. Its messages are new ones (the old ones
        were applied), so they are applied; said once, in the log and the status."""
        self._recreated(
            f"topic {tp[0]} partition {tp[1]} restarted at offset {first}, before the stored "
            f"offset {stored} (recreated on the broker?): applying it from there"
        )

    def _recreated(self, line: str) -> None:
        log.warning("%s", line)
        self.resets += 1
        self.notice = line
        self._set_phase("streaming", line)

    def _add(self, builder: BatchBuilder, changes: list[Change]) -> None:
        """Every change of one message, or (MessageError) none of them."""
        checked = [(change, self._schema(change)) for change in changes]
        for change, schema in checked:
            if change.op == "truncate":
                builder.truncate(schema)
            elif change.op == "delete":
                builder.delete(schema, change.before or {})
            elif change.op == "update":
                _update(builder, schema, change)
            else:
                builder.add(schema, change.op, change.after or {})

    def _captured(self, table: str) -> bool:
        """`capture.include` / `capture.exclude`, matched once per table (not per message)."""
        wanted = self._wanted.get(table)
        if wanted is None:
            wanted = self._wanted[table] = self.wanted(table)
        return wanted

    def _schema(self, change: Change) -> TableSchema:
        """The table's schema for this change; MessageError when it cannot be applied."""
        if not self._captured(change.table):
            raise MessageError(
                f"table {change.table} is not captured (capture.include / capture.exclude)"
            )
        if change.op == "truncate":
            known = self._schemas.get(change.table)
            if known is not None:
                return known
            if not change.columns:  # kuaike's own TRUNCATE messages carry the columns
                raise MessageError(f"TRUNCATE of {change.table}, a table no message described yet")
            described = TableSchema(
                self.source, change.table, change.columns, change.key, change.dialect
            )
            self._schemas[change.table] = described
            return described
        row = change.row
        for name in change.key:  # a plain loop: a generator costs more than the check
            if row.get(name) is None:
                missing = [name for name in change.key if row.get(name) is None]
                raise MessageError(f"table {change.table}: key column {', '.join(missing)} missing")
        schema = self._schemas.get(change.table)
        if (
            schema is not None
            and change.columns
            and change.columns is schema.columns  # a format's cached schema: the same tuple
            and len(row) <= len(schema.columns)
            and schema.key == change.key
            and schema.dialect == change.dialect
        ):
            return schema
        columns = change.columns or self._untyped(change.table, row)
        if len(columns) < len(row) and change.columns:
            hinted = {c.name for c in columns}
            extra = {k: v for k, v in row.items() if k not in hinted}
            columns = columns + self._infer(change.table, extra)
        schema = self._schemas.get(change.table)
        if (
            schema is None
            or schema.columns != columns
            or schema.key != change.key
            or schema.dialect != change.dialect
        ):
            schema = TableSchema(self.source, change.table, columns, change.key, change.dialect)
            self._schemas[change.table] = schema
        return schema

    def _untyped(self, table: str, row: dict[str, Any]) -> tuple[Column, ...]:
        """Columns for a message without types: those of the table's last typed message, its
        values checked against them, else inferred from the values."""
        known = self._schemas.get(table)
        if known is None:
            return self._infer(table, row)
        types = {c.name: c.type for c in known.columns}
        for name, value in row.items():
            if name in types:
                restore(value, types[name])  # MessageError when it is not of the column's type
        extra = {k: v for k, v in row.items() if k not in types}
        return known.columns + (self._infer(table, extra) if extra else ())

    def _infer(self, table: str, row: dict[str, Any]) -> tuple[Column, ...]:
        """Column types from values, sticky per table; MessageError for a value of another.

        A column seen only as NULL so far is text until its first value says otherwise (the
        store may then narrow it: NULLs fit every type)."""
        types = self._inferred.setdefault(table, {})
        provisional = self._provisional.setdefault(table, set())
        for name, value in row.items():
            kind = types.get(name)
            if value is None:
                if kind is None:
                    types[name] = "text"
                    provisional.add(name)
            elif kind is None or name in provisional:
                types[name] = INFERRED.get(type(value), "text")
                provisional.discard(name)
            elif not isinstance(value, ACCEPTS.get(kind, (object,))) or (
                kind != "boolean" and isinstance(value, bool)
            ):
                raise MessageError(f"table {table}, column {name}: {value!r} is not a {kind}")
        return tuple(Column(name, kind) for name, kind in types.items())


@dataclass
class _Pending:
    """A batch being decoded, chunk by chunk as librdkafka hands them over: decoding goes on
    while the next chunk is fetched, instead of after the whole batch came."""

    builder: BatchBuilder
    deadline: float
    """When it is applied at the latest (`capture.batch_max_latency_ms` after it began)."""
    messages: int = 0
    dead: list[DeadLetter] = field(default_factory=list)
    commit_ts: datetime | None = None


def _read_past(offsets: Offsets, began: Offsets, until: Offsets) -> bool:
    """Whether every partition with messages delivered one at or past its watermark since
    `began` (then the record batch holding the watermark's message was queued whole)."""
    return all(offsets[tp] > began[tp] for tp, high in until.items() if high > 0)


@dataclass(frozen=True)
class _Work:
    """A batch for the worker, with the notice to record after it and the broker error known
    when it was made (a later one is not cleared by it)."""

    batch: ChangeBatch
    notice: str | None
    broker_error: str | None


def _update(builder: BatchBuilder, schema: TableSchema, change: Change) -> None:
    """An update; Debezium's placeholder for an unchanged TOASTed value keeps the stored one
    (also across a key move: the store carries it over from the old key)."""
    after = change.after or {}
    if UNAVAILABLE not in after.values():
        builder.update(schema, after, old=change.before)
        return
    after = {k: UNCHANGED if v == UNAVAILABLE else v for k, v in after.items()}
    table = builder.table(schema)
    before = len(table)
    builder.update(schema, after, old=change.before)
    if len(table) - before == 2:
        table.moves.append(len(table) - 1)
