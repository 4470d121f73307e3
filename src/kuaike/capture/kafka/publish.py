"""Publish captured changes to Kafka, confirming source positions only after Kafka acknowledged.

`KafkaPublish` is a `ChangeSink`: the PostgreSQL and MySQL readers drive it exactly as they
drive the store, so snapshot, streaming, retries and slot confirmation are theirs, unchanged.
Instead of writing `ods.*` it sends every change to the topic of its table, then records the
position in a positions-only store (`state`):

    1. encode each change (the chosen format) and send it, key = the primary key
    2. flush: every message acknowledged by Kafka (acks=all, idempotent producer), else raise
    3. record the batch's position in `state` (one DuckDB transaction)
    4. return: only now does the reader confirm the position to the source (PostgreSQL flush
       LSN; MySQL positions live in `state` itself)

A failure in 1-2 raises before 3, so nothing unacknowledged is ever confirmed; the reader
reconnects (a Transient error) and reads again from the recorded position, and the changes
go out again. Kafka may then hold some twice: keyed upserts applied again leave the same row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from kuaike.capture.events import (
    Change,
    ChangeBatch,
    ChangeSink,
    Column,
    Position,
    SlotClaim,
    SnapshotSink,
    TableChanges,
    TableSchema,
)
from kuaike.capture.formats import FORMATS
from kuaike.capture.formats.common import dumps, typed
from kuaike.capture.kafka.changes import batch_changes, namespace_of, typed_rows
from kuaike.capture.kafka.producer import Publisher
from kuaike.config import KafkaSettings
from kuaike.errors import KuaikeError, SourceError

log = logging.getLogger("kuaike.capture.kafka")


def _json_key(change: Change) -> bytes:
    """Debezium's key (and Canal's): the key columns and their values, `{"id": 1}`."""
    row = change.row
    return dumps({name: typed(row.get(name)) for name in change.key})


def _maxwell_key(change: Change) -> bytes:
    """Maxwell's key: `{"database": "crm", "table": "t", "pk.id": 1}`."""
    row = change.row
    key: dict[str, Any] = {"database": change.namespace, "table": change.table}
    return dumps(key | {f"pk.{name}": typed(row.get(name)) for name in change.key})


def _ogg_key(change: Change) -> bytes:
    """GoldenGate's default key template `${primaryKeys}`: the key values joined by `_`."""
    row = change.row
    return "_".join(str(typed(row.get(name))) for name in change.key).encode()


POSTGRES_TO_MYSQL: dict[str, str] = {
    **dict.fromkeys(["double precision", "float8"], "double"),
    **dict.fromkeys(["real", "float4"], "float"),
    **dict.fromkeys(["boolean", "bool"], "tinyint"),
    **dict.fromkeys(["timestamptz", "timestamp with time zone"], "timestamp"),
    **dict.fromkeys(["timestamp", "timestamp without time zone"], "datetime"),
    **dict.fromkeys(["integer", "int4", "serial"], "int"),
    **dict.fromkeys(["int8", "bigserial"], "bigint"),
    "int2": "smallint",
    "numeric": "decimal",
    "character varying": "varchar",
    "character": "char",
    "bytea": "blob",
    "jsonb": "json",
    "uuid": "char",
}
"""PostgreSQL type (without its modifier) → the MySQL type Canal's `mysqlType` names; others
keep their name (`bigint`, `varchar(40)`, `text`, `date`)."""

MYSQL_MODIFIERS = {"tinyint": "(1)", "char": "(36)"}
"""Modifiers a mapped type gets when PostgreSQL's has none (a boolean is MySQL's tinyint(1))."""


def mysql_type(postgres_type: str) -> str:
    """The MySQL name of a PostgreSQL column type, for Canal's `mysqlType`.

    >>> mysql_type("timestamp(0) without time zone"), mysql_type("numeric(18,4)")
    ('datetime(0)', 'decimal(18,4)')
    """
    name = postgres_type.lower()
    head, _, rest = name.partition("(")
    modifier, _, tail = rest.partition(")")
    base = " ".join((head + tail).split())
    mapped = POSTGRES_TO_MYSQL.get(base)
    if mapped is None:
        return postgres_type
    return mapped + (f"({modifier})" if modifier else MYSQL_MODIFIERS.get(mapped, ""))


def _as_mysql(change: Change) -> Change:
    """A PostgreSQL change as Canal, a MySQL format, carries it: MySQL column types."""
    if change.dialect != "postgresql":
        return change
    columns = tuple(Column(c.name, mysql_type(c.type)) for c in change.columns)
    return replace(change, columns=columns, dialect="mysql")


def _unchanged(change: Change) -> Change:
    return change


PREPARE: dict[str, Callable[[Change], Change]] = {"canal": _as_mysql}
"""Format → what it needs done to a change before it is encoded."""

KEYS: dict[str, Callable[[Change], bytes]] = {
    "debezium": _json_key,
    "canal": _json_key,
    "maxwell": _maxwell_key,
    "ogg": _ogg_key,
}
"""Format → its message key, what that format's consumers expect (and what partitions)."""


def topic_for(settings: KafkaSettings, source: str, table: str) -> str:
    """The topic of a table: `<topic_prefix><source>.<table>`.

    >>> topic_for(KafkaSettings(), "logistics", "tbl_express_bill")
    'kuaike.logistics.tbl_express_bill'
    """
    return f"{settings.topic_prefix}{source}.{table}"


class KafkaPublish:
    """A `ChangeSink` sending to Kafka, positions kept in `state`; see the module docstring."""

    def __init__(
        self, publisher: Publisher, fmt: str, settings: KafkaSettings, state: ChangeSink
    ) -> None:
        self.publisher = publisher
        self.format = fmt
        module = FORMATS[fmt]
        if fmt == "debezium":
            self._encode: Callable[[Change], bytes] = lambda c: module.encode(c, settings.schemas)
        else:
            self._encode = module.encode
        self._key = KEYS[fmt]
        self._prepare: Callable[[Change], Change] = PREPARE.get(fmt, _unchanged)
        self.settings = settings
        self.state = state
        self.published = 0

    def send(self, source: str, change: Change) -> None:
        """Encode and send one change (a keyless table's: key null, all columns in the value)."""
        try:
            value = self._encode(self._prepare(change))
        except KeyError as exc:
            raise SourceError(
                f"the {self.format} format has no {change.op.upper()}, which table "
                f"{change.table} had at position {change.position}; publish with "
                "--format debezium or canal",
                source=source,
                table=change.table,
            ) from exc
        key = self._key(change) if change.key and change.op != "truncate" else None
        self.publisher.send(topic_for(self.settings, source, change.table), key, value)
        self.published += 1

    def apply(self, batch: ChangeBatch) -> int:
        """Steps 1-4 of the module docstring; the batch number in `state`."""
        if not batch:
            return 0
        self._attempt(batch.source, lambda: self._send_batch(batch))
        positions = ChangeBatch(batch.source, batch.positions, batch.commit_ts)
        return self.state.apply(positions)

    def _send_batch(self, batch: ChangeBatch) -> None:
        for change in batch_changes(batch):
            self.send(batch.source, change)
        self.publisher.flush()

    def _attempt(self, source: str, fn: Callable[[], None]) -> None:
        """Run `fn`; a failure is the source's last error in the status, then raised."""
        try:
            fn()
        except KuaikeError as exc:
            self.publisher.reset()
            self.state.set_phase(source, "streaming", str(exc).splitlines()[0])
            raise

    @contextmanager
    def snapshot(self, source: str, position: Position) -> Iterator[SnapshotSink]:
        """Publish every copied row (op `snapshot`: Debezium `r`), then record `position`."""
        with self.state.snapshot(source, position):
            yield _SnapshotPublish(self, source, position)
            self._attempt(source, self.publisher.flush)

    @contextmanager
    def recopy(self, source: str, position: Position) -> Iterator[SnapshotSink]:
        """Publish a copy of some tables again (`kuaike capture --resnapshot --table`)."""
        with self.state.recopy(source, position):
            yield _SnapshotPublish(self, source, position)
            self._attempt(source, self.publisher.flush)

    # Bookkeeping is the state store's.
    def position(self, source: str) -> Position | None:
        return self.state.position(source)

    def record_server(self, source: str, identity: dict[str, str]) -> None:
        self.state.record_server(source, identity)

    def server_identity(self, source: str) -> dict[str, str] | None:
        return self.state.server_identity(source)

    def set_phase(self, source: str, phase: Any, error: str | None = None) -> None:
        self.state.set_phase(source, phase, error)

    def forget(self, source: str) -> None:
        self.state.forget(source)

    def claim_slot(self, source: str, slot: str, consistent_lsn: int) -> None:
        self.state.claim_slot(source, slot, consistent_lsn)

    def slot_claim(self, source: str) -> SlotClaim | None:
        return self.state.slot_claim(source)

    def slot_notes(self, source: str) -> Callable[[int], None]:
        return self.state.slot_notes(source)


class _SnapshotPublish:
    """A snapshot's loads, sent as `snapshot` changes instead of written to ODS."""

    def __init__(self, publish: KafkaPublish, source: str, position: Position) -> None:
        self.publish, self.source, self.position = publish, source, position

    def load_csv(self, schema: TableSchema, path: Path) -> int:
        """PostgreSQL `COPY ... (FORMAT csv)`: an unquoted empty field is NULL, `""` is ''."""
        names = schema.column_names
        if path.stat().st_size == 0:
            return 0  # an empty table (pyarrow reads no columns from an empty file)
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.large_string() for name in names},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[""],
            ),
        )
        return self._send(schema, table, text=True)

    def load_arrow(self, schema: TableSchema, data: Any) -> int:
        return self._send(schema, data, text=False)

    def _send(self, schema: TableSchema, table: Any, text: bool) -> int:
        changes = TableChanges(schema)
        changes.ops = ["snapshot"] * table.num_rows
        changes.txn = [-1] * table.num_rows
        if text:
            changes.arrays = {n: table.column(n).combine_chunks() for n in table.schema.names}
        else:
            changes.values = {name: table.column(name).to_pylist() for name in table.schema.names}
        for row in typed_rows(changes):
            change = Change(
                schema.name,
                "snapshot",
                schema.key,
                None,
                row,
                schema.columns,
                schema.dialect,
                namespace_of(schema),
                self.position.text,
            )
            self.publish.send(self.source, change)
        return int(table.num_rows)
