"""A decoder for PostgreSQL's pgoutput protocol (version 1) that writes into a BatchBuilder.

Messages: Begin, Commit, Relation, Insert, Update, Delete, Truncate; Type, Origin and logical
Message are read and ignored. Values stay raw text (`bytes`): DuckDB casts them a column at a
time. Relation messages are cached per table oid and compared by content: they repeat every
session and may arrive mid-transaction (after autovacuum, say) without any schema change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from struct import Struct
from typing import Any

from kuaike.capture.base import replica_name
from kuaike.capture.events import (
    UNCHANGED,
    BatchBuilder,
    ChangeBatch,
    Column,
    Op,
    Position,
    TableChanges,
    TableSchema,
)
from kuaike.capture.postgres.columns import Segment, concat, decode
from kuaike.capture.postgres.types import pg_type
from kuaike.errors import MessageError

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


_ROW_OPS: dict[int, Op] = {73: "insert", 85: "update", 68: "delete"}

_BEGIN = Struct(">qqi")
_COMMIT = Struct(">bqqq")
_I32 = Struct(">i")
_I16 = Struct(">h")
_COLUMN = Struct(">ii")


def pg_datetime(micros: int) -> datetime:
    """A PostgreSQL timestamp (microseconds since 2000-01-01 UTC) as a datetime."""
    return PG_EPOCH + timedelta(microseconds=micros)


@dataclass
class _Relation:
    """A cached Relation message and the segment its rows go to in the current batch."""

    schema: TableSchema | None
    names: list[str]
    sink_key: tuple[int, int] = (-1, -1)
    """(batch number, TableChanges generation) the segment belongs to."""
    segment: Segment | None = None


class Decoder:
    """Turns pgoutput messages into builder transactions.

    A transaction's position is the end LSN of its commit record. Transactions whose commit
    record starts before `skip_before` (the stored position) were applied already: skipped.
    """

    def __init__(
        self,
        builder: BatchBuilder,
        wanted: Callable[[str], bool],
        skip_before: int = 0,
        schemas: Collection[str] = ("public",),
        type_name: Callable[[int, int], str] = pg_type,
    ) -> None:
        self.builder = builder
        self.type_name = type_name
        """Names a column type by oid and modifier (`TypeNames`: domains, enums, arrays)."""
        self.wanted = wanted
        self.schemas = frozenset(schemas)
        self.skip_before = skip_before
        self.relations: dict[int, _Relation] = {}
        self.segments: dict[str, list[Segment]] = {}
        self._fast: dict[bytes, tuple[TableChanges, Segment] | tuple[()]] = {}
        """Per raw relation oid: where its rows go in this batch; () = not captured."""
        self._batch_number = 0
        """Counts take_pending() calls: which batch the builder is filling."""
        self.skipping = False
        self.commit_end = 0
        """End LSN of the last transaction decoded completely (skipped ones included)."""

    def feed(self, data: bytes) -> bool:
        """Decode one message; True when it was a Commit (a transaction is complete)."""
        kind = data[0]
        op = _ROW_OPS.get(kind)
        if op is not None and (kind != 85 or data[5] == 78) and not self.skipping:
            # The hot path: a row of a table already seen in this batch is kept as it came.
            hit = self._fast.get(data[1:5])
            if hit is not None:
                if hit:
                    changes, segment = hit
                    segment.raws.append(data)
                    segment.offsets.append(6)
                    changes.ops.append(op)
                    changes.txn.append(self.builder.txn)
                    self.builder.rows += 1
                return False
        if kind == 73:  # I
            if not self.skipping:
                self._row(data, "insert")
        elif kind == 85:  # U
            if not self.skipping:
                self._update(data)
        elif kind == 66:  # B
            final_lsn, micros, _xid = _BEGIN.unpack_from(data, 1)
            self.skipping = final_lsn < self.skip_before
            if not self.skipping:
                self.builder.begin(Position.postgres(final_lsn), pg_datetime(micros))
        elif kind == 67:  # C
            _flags, _commit_lsn, end_lsn, _ts = _COMMIT.unpack_from(data, 1)
            if not self.skipping:
                self.builder.commit(Position.postgres(end_lsn))
            self.skipping = False
            self.commit_end = end_lsn
            return True
        elif kind == 68:  # D
            if not self.skipping:
                self._delete(data)
        elif kind == 82:  # R
            self._relation(data)
        elif kind == 84:  # T
            if not self.skipping:
                self._truncate(data)
        elif kind not in (89, 79, 77):  # Y(type) O(origin) M(message) carry nothing for us
            raise MessageError(f"unknown pgoutput message {chr(kind)!r}; is proto_version 1 used?")
        return False

    def _relation(self, data: bytes) -> None:
        oid = _I32.unpack_from(data, 1)[0]
        pos = 5
        namespace, pos = _cstring(data, pos)
        name, pos = _cstring(data, pos)
        identity = chr(data[pos])
        count = _I16.unpack_from(data, pos + 1)[0]
        pos += 3
        columns: list[Column] = []
        key: list[str] = []
        for _ in range(count):
            flags = data[pos]
            column, pos = _cstring(data, pos + 1)
            type_oid, typmod = _COLUMN.unpack_from(data, pos)
            pos += 8
            columns.append(Column(column, self.type_name(type_oid, typmod)))
            if flags & 1:
                key.append(column)
        replica = replica_name(namespace, name)
        captured = namespace in self.schemas and self.wanted(replica)
        schema = None
        if captured:
            keys = tuple(key) if identity in ("d", "i") else ()
            where = None if replica == name else (namespace, name)
            schema = TableSchema(
                self.builder.source, replica, tuple(columns), keys, "postgresql", where
            )
        previous = self.relations.get(oid)
        if previous is not None and previous.schema == schema:
            return  # the same relation again: not a schema change
        self.relations[oid] = _Relation(schema, [c.name for c in columns])
        self._fast.pop(_I32.pack(oid), None)

    def _sink(self, oid: int) -> tuple[TableChanges, Segment] | None:
        """Where a row of relation `oid` goes in the current batch; None if not captured."""
        relation = self.relations.get(oid)
        if relation is None:
            raise MessageError(f"pgoutput row for unknown relation {oid} (no Relation message)")
        if relation.schema is None:
            self._fast[_I32.pack(oid)] = ()
            return None
        changes = self.builder.table(relation.schema)
        # Not id() of the batch: a new batch may be allocated where a freed one was, and rows
        # would then go to that old batch's segment, which is no longer decoded (lost).
        key = (self._batch_number, changes.generation)
        if relation.sink_key != key or relation.segment is None:
            relation.segment = Segment(relation.names)
            self.segments.setdefault(relation.schema.name, []).append(relation.segment)
            relation.sink_key = key
        self._fast[_I32.pack(oid)] = (changes, relation.segment)
        return changes, relation.segment

    def _add(self, changes: TableChanges, segment: Segment, op: Op, data: bytes, at: int) -> None:
        """Keep one row message as it came; it is decoded with its batch in take()."""
        segment.raws.append(data)
        segment.offsets.append(at)
        changes.ops.append(op)
        changes.txn.append(self.builder.txn)
        self.builder.rows += 1

    def _row(self, data: bytes, op: Op) -> None:
        sink = self._sink(_I32.unpack_from(data, 1)[0])
        if sink is not None:
            self._add(sink[0], sink[1], op, data, 6)

    def _update(self, data: bytes) -> None:
        sink = self._sink(_I32.unpack_from(data, 1)[0])
        if sink is None:
            return
        changes, segment = sink
        if data[5] == 78:  # N: no old values, the key did not move
            self._add(changes, segment, "update", data, 6)
            return
        relation = self.relations[_I32.unpack_from(data, 1)[0]]
        assert relation.schema is not None
        if not relation.schema.key:
            # Without a key the old row is the identity: delete it, write the new one. Both
            # are decoded with the batch (columnar); only the old row's length is read here.
            self._add(changes, segment, "delete", data, 6)
            self._add(changes, segment, "update", data, _tuple_end(data, 6) + 1)
            return
        # K: old key (it moved?): rare, decoded here.
        old, pos = _tuple(data, 6)
        new = _tuple(data, pos + 1)[0]
        if self._moved(relation, old, new):
            self._add(changes, segment, "delete", data, 6)
            if UNCHANGED in new:
                changes.moves.append(len(changes))
        self._add(changes, segment, "update", data, pos + 1)

    def _moved(self, relation: _Relation, old: list[Any], new: list[Any]) -> bool:
        """The row's identity changed (or the table has none): delete the old row first."""
        assert relation.schema is not None
        if not relation.schema.key:
            return True
        index = [relation.names.index(k) for k in relation.schema.key]
        return any(old[i] != new[i] for i in index)

    def _delete(self, data: bytes) -> None:
        self._row(data, "delete")

    def _truncate(self, data: bytes) -> None:
        count = _I32.unpack_from(data, 1)[0]
        for i in range(count):
            relation = self.relations.get(_I32.unpack_from(data, 6 + 4 * i)[0])
            if relation is not None and relation.schema is not None:
                self.builder.truncate(relation.schema)
                self.segments.pop(relation.schema.name, None)
                self._fast.clear()

    def take(self) -> ChangeBatch:
        """The builder's batch with every table's rows decoded (columnar); starts a new one."""
        return self.take_pending().decode()

    def take_pending(self) -> PendingBatch:
        """The builder's batch with its row messages not decoded yet; starts a new one."""
        pending = PendingBatch(self.builder.take(), self.segments)
        self.segments = {}
        self._fast.clear()
        self._batch_number += 1
        return pending


@dataclass
class PendingBatch:
    """Whole transactions whose row messages are kept as they came. `decode()` is the costly
    step (numpy per column): the streamer runs it in the applier's thread, so the reader goes
    on reading while a batch is decoded (and numpy releases the GIL for its large loops)."""

    batch: ChangeBatch
    segments: dict[str, list[Segment]]

    def decode(self) -> ChangeBatch:
        """The batch with every table's rows decoded (columnar); MessageError if malformed."""
        for name, segments in self.segments.items():
            changes = self.batch.tables.get(name)
            if changes is None:
                continue
            names = list(dict.fromkeys(n for seg in segments for n in seg.names))
            if changes.moves and changes.schema.identity == "key":
                _python_values(changes, segments, names)
            else:
                columns = concat([decode(seg) for seg in segments if seg.raws], names)
                changes.arrays = columns.arrays
                changes.unchanged_masks = columns.unchanged
                changes.unchanged = set(columns.unchanged)
        self.segments = {}
        return self.batch


def _python_values(changes: TableChanges, segments: list[Segment], names: list[str]) -> None:
    """Rows as Python value lists (key moves with UNCHANGED values: rare, resolved row by
    row). Tables without a key resolve theirs in SQL, so they decode columnar."""
    values: dict[str, list[Any]] = {name: [] for name in names}
    for segment in segments:
        for raw, at in zip(segment.raws, segment.offsets, strict=True):
            row = dict(zip(segment.names, _tuple(raw, at)[0], strict=True))
            for name, column in values.items():
                column.append(row.get(name))
    changes.values = values
    changes.unchanged = {n for n, col in values.items() if any(v is UNCHANGED for v in col)}


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(0, pos)
    return data[pos:end].decode("utf-8"), end + 1


def _tuple_end(data: bytes, pos: int) -> int:
    """Where the TupleData at `pos` ends, reading only its lengths."""
    count = (data[pos] << 8) | data[pos + 1]
    pos += 2
    for _ in range(count):
        if data[pos] == 116:  # t: a length, then the value
            pos += 5 + int.from_bytes(data[pos + 1 : pos + 5], "big")
        elif data[pos] in (110, 117):  # n, u
            pos += 1
        else:
            raise MessageError(f"unknown pgoutput tuple value kind {chr(data[pos])!r}")
    return pos


def _tuple(data: bytes, pos: int) -> tuple[list[Any], int]:
    """TupleData at `pos`: raw text per column, None for NULL, UNCHANGED for unchanged TOAST."""
    count = (data[pos] << 8) | data[pos + 1]
    pos += 2
    values: list[Any] = []
    append = values.append
    for _ in range(count):
        kind = data[pos]
        if kind == 116:  # t
            size = int.from_bytes(data[pos + 1 : pos + 5], "big")
            pos += 5
            append(data[pos : pos + size])
            pos += size
        elif kind == 110:  # n
            append(None)
            pos += 1
        elif kind == 117:  # u
            append(UNCHANGED)
            pos += 1
        else:
            raise MessageError(f"unknown pgoutput tuple value kind {chr(kind)!r}")
    return values, pos
