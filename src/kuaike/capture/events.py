"""The change model every reader produces and the store applies (DESIGN §4).

A reader (PostgreSQL pgoutput, MySQL binlog, a Kafka format) turns its source's log into
`ChangeBatch`es with a `BatchBuilder`:

    builder = BatchBuilder("crm")
    builder.begin(Position.mysql("binlog.000003", 4711), commit_ts)   # one source transaction
    builder.insert(schema, {"id": 1, "name": "张三"})
    builder.update(schema, {"id": 1, "name": "李四"}, old={"id": 1})   # old only if the key moved
    builder.delete(schema, {"id": 1})                                  # key columns suffice
    builder.truncate(schema)
    builder.commit()                     # only whole transactions ever reach a batch
    if builder.rows >= 100_000:
        store.apply(builder.take())      # one DuckDB transaction: data + position

A transaction is added as it arrives; if the connection drops before its commit, throw the
builder away and restart from `store.position(source)`: nothing unapplied was confirmed.

- `Position` is sortable text, totally ordered per source; a batch's position is that of its last
  transaction. On restart a reader skips every transaction at or before `store.position(source)`.
- `TableSchema` describes a source table (source column types as text, e.g. `numeric(12,2)`,
  `varchar(20)`, `bigint`, `datetime`); the store maps them to DuckDB types with the dicts in
  `kuaike.store.types` and creates or evolves `ods.<table>` from it.
- A batch is columnar per table: one list per column, one entry per change, in log order. Values
  are either raw text as `bytes` (PostgreSQL; DuckDB casts whole columns) or Python values
  (MySQL: int, Decimal, str, datetime, ...). `UNCHANGED` marks an unchanged TOASTed value: the
  store keeps the value it has.
- TRUNCATE inside a batch discards the table's earlier changes in that batch and sets `truncated`;
  the store empties `ods.<table>` first, then applies the changes that followed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal, Protocol

Op = Literal["snapshot", "insert", "update", "delete"]
"""What a row change did; TRUNCATE is a per-table flag of the batch, not a row change."""

Identity = Literal["key", "full"]
"""How rows are identified: by primary key columns, or by the full row (tables without a key)."""


ChangeOp = Literal["snapshot", "insert", "update", "delete", "truncate"]
"""What one change message says happened (a Kafka format's operation)."""


# Not frozen: a frozen dataclass of these fields costs 1.3 us to make instead of 0.2 us
# (measured), and one is made per consumed message; nothing changes a Change once made.
@dataclass(slots=True)
class Change:
    """One row change as a change format carries it (OGG, Canal, Debezium, Maxwell JSON).

    `table` is the replica's name for the table (after the configured renames), `namespace`
    the source's schema or database; `columns` the type hints the message carried (source
    types as text, `dialect` saying whose), empty when it carried none; `key` the primary key
    columns. `before` is the old row (updates: what the format has of it; deletes: at least
    the key), `after` the new row; both None for a truncate. `position` is the source's own
    position as the format writes it (OGG `pos`, a binlog coordinate, an LSN), `commit_ts`
    the source commit time.
    """

    table: str
    op: ChangeOp
    key: tuple[str, ...] = ()
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    columns: tuple[Column, ...] = ()
    dialect: Literal["postgresql", "mysql"] = "postgresql"
    namespace: str = ""
    position: str | None = None
    commit_ts: datetime | None = None

    @property
    def row(self) -> dict[str, Any]:
        """The row the change leaves (the old row for a delete)."""
        return (self.after if self.op != "delete" else self.before) or {}


class _Unchanged:
    """The type of `UNCHANGED`."""

    _instance: _Unchanged | None = None

    def __new__(cls) -> _Unchanged:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged()
"""A value the source did not send because it did not change (PostgreSQL unchanged TOAST)."""


def blob_text(value: bytes | str) -> str:
    """A binary value as DuckDB's escaped text (`\\x00\\xff`), which CAST AS BLOB reads.

    In a ChangeBatch, `bytes` means raw source text (PostgreSQL), so binary values travel as
    escaped text instead; snapshots hand real binary Arrow columns to the store.
    """
    if isinstance(value, str):
        value = value.encode("utf-8")  # the library decodes some binary values (empty ones)
    digits = value.hex()
    return "".join("\\x" + digits[i : i + 2] for i in range(0, len(digits), 2))


def blob_bytes(text: str) -> bytes:
    """The bytes of DuckDB's escaped BLOB text: `\\xHH` for a byte, any other character as
    itself.

    >>> blob_bytes(blob_text(b"\\x00A\\xff")), blob_bytes("ab\\\\x41")
    (b'\\x00A\\xff', b'abA')
    """
    out, i = bytearray(), 0
    while i < len(text):
        if text.startswith("\\x", i):
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            out += text[i].encode()
            i += 1
    return bytes(out)


@dataclass(frozen=True, order=True)
class Position:
    """A point in one source's log as sortable text: compare positions of one source with `<`.

    >>> Position.postgres(0x1_0000_0010) > Position.postgres(0xFF)
    True
    >>> str(Position.postgres(0x1_0000_0010))
    '00000001/00000010'
    """

    text: str

    def __str__(self) -> str:
        return self.text

    @classmethod
    def postgres(cls, lsn: int) -> Position:
        """A PostgreSQL LSN, written like pg_lsn but zero-padded so text order is LSN order."""
        return cls(f"{lsn >> 32:08X}/{lsn & 0xFFFFFFFF:08X}")

    @property
    def lsn(self) -> int:
        """The PostgreSQL LSN of a position made by `postgres()`."""
        high, _, low = self.text.partition("/")
        return (int(high, 16) << 32) | int(low, 16)

    @classmethod
    def mysql(cls, binlog_file: str, offset: int) -> Position:
        """A MySQL/MariaDB binlog coordinate (file names sort by their numeric suffix)."""
        return cls(f"{binlog_file}:{offset:020d}")


@dataclass(frozen=True)
class Column:
    """A source column: its name and its source type as text (`numeric(12,2)`, `varchar(20)`)."""

    name: str
    type: str


@dataclass(frozen=True)
class TableSchema:
    """A source table as its reader last saw it.

    `dialect` selects the type map ("postgresql" or "mysql"); `key` lists the primary key
    columns (empty when the table has none, then `identity` is "full").
    """

    source: str
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    dialect: Literal["postgresql", "mysql"] = "postgresql"
    source_table: tuple[str, str] | None = None
    """(schema, table) at the source when `name` is not simply the table's name there (a
    PostgreSQL table outside `public`: `name` is then `<schema>__<table>`)."""

    @property
    def identity(self) -> Identity:
        return "key" if self.key else "full"

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def qualified(self) -> str:
        """The table's quoted name at the source: `"public"."orders"`."""
        namespace, table = self.source_table or ("public", self.name)
        return ".".join('"' + part.replace('"', '""') + '"' for part in (namespace, table))


@dataclass
class TableChanges:
    """The changes to one table inside a batch, columnar, in log order."""

    schema: TableSchema
    truncated: bool = False
    truncated_txn: int = -1
    """The transaction (index into `positions`) of the last TRUNCATE, when `truncated`."""
    ops: list[Op] = field(default_factory=list)
    txn: list[int] = field(default_factory=list)
    """Per change: index into the batch's `positions` / `commit_ts` (its transaction)."""
    values: dict[str, list[Any]] = field(default_factory=dict)
    """Per column seen in this batch: one value per change (None = NULL)."""
    unchanged: set[str] = field(default_factory=set)
    """Columns holding at least one UNCHANGED value."""
    arrays: dict[str, Any] | None = None
    """Instead of `values`: one Arrow array per column (the PostgreSQL reader decodes columnar);
    UNCHANGED values are NULL there and flagged in `unchanged_masks` (Arrow booleans)."""
    unchanged_masks: dict[str, Any] = field(default_factory=dict)
    moves: list[int] = field(default_factory=list)
    """Indexes of updates that moved a key and carry UNCHANGED values: those values belong to
    the old key (the delete just before), and the store resolves them from there."""
    generation: int = 0
    """Grows on every clear(): column lists handed out by `lists()` before are stale."""

    def __len__(self) -> int:
        return len(self.ops)

    def append(self, op: Op, txn: int, row: Mapping[str, Any]) -> None:
        """Add one change; columns missing from `row` are NULL for it."""
        n = len(self.ops)
        self.ops.append(op)
        self.txn.append(txn)
        values = self.values
        if row.keys() == values.keys():  # the usual: the same columns as every change so far
            for name, value in row.items():
                values[name].append(value)
                if value is UNCHANGED:
                    self.unchanged.add(name)
            return
        for name, value in row.items():
            column = self.values.get(name)
            if column is None:
                column = self.values[name] = [None] * n
            column.append(value)
            if value is UNCHANGED:
                self.unchanged.add(name)
        for column in self.values.values():
            if len(column) == n:
                column.append(None)

    def lists(self, names: list[str]) -> tuple[list[list[Any]], list[list[Any]]]:
        """Column lists for `names` (created, NULL-filled, if new) and the lists of the others.

        For readers that append values directly (the fast path): per change append the op, the
        txn index, one value to each list of `names` and None to each of the others.
        """
        n = len(self.ops)
        for name in names:
            if name not in self.values:
                self.values[name] = [None] * n
        others = [values for name, values in self.values.items() if name not in set(names)]
        return [self.values[name] for name in names], others

    def clear(self) -> None:
        """Drop every change so far (a TRUNCATE followed them)."""
        self.generation += 1
        self.arrays = None
        self.unchanged_masks = {}
        self.moves.clear()
        self.ops.clear()
        self.txn.clear()
        self.values.clear()
        self.unchanged.clear()


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A change message that could not be applied: the raw message, where it was, and why."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    error: str


@dataclass
class ChangeBatch:
    """A run of whole committed transactions of one source, columnar per table.

    `positions[i]` / `commit_ts[i]` belong to the i-th transaction; `position` is the last one,
    the position the store records with the data.
    """

    source: str
    positions: list[Position] = field(default_factory=list)
    commit_ts: list[datetime | None] = field(default_factory=list)
    tables: dict[str, TableChanges] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    """Messages of this batch's stretch of the log that could not be applied (Kafka)."""

    @property
    def position(self) -> Position:
        return self.positions[-1]

    @property
    def changes(self) -> int:
        """Row changes held, plus one per truncated table."""
        return sum(len(t) + int(t.truncated) for t in self.tables.values())

    def __bool__(self) -> bool:
        return bool(self.positions)


class BatchBuilder:
    """Collects whole transactions into a ChangeBatch; see the module docstring."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.batch = ChangeBatch(source)
        self.rows = 0
        self.in_transaction = False
        self._txn = -1

    def begin(self, position: Position, commit_ts: datetime | None) -> None:
        """Start a transaction that commits at `position` (its changes are kept until commit)."""
        self.batch.positions.append(position)
        self.batch.commit_ts.append(commit_ts)
        self._txn = len(self.batch.positions) - 1
        self.in_transaction = True

    @property
    def txn(self) -> int:
        """Index of the open transaction in the batch (for readers appending directly)."""
        return self._txn

    def table(self, schema: TableSchema) -> TableChanges:
        """The table's changes in the current batch (created on first use)."""
        return self._table(schema)

    def _table(self, schema: TableSchema) -> TableChanges:
        changes = self.batch.tables.get(schema.name)
        if changes is None:
            changes = self.batch.tables[schema.name] = TableChanges(schema)
        else:
            changes.schema = schema
        return changes

    def add(self, schema: TableSchema, op: Op, row: Mapping[str, Any]) -> None:
        """Record one row change of the open transaction (or a snapshot row)."""
        self._table(schema).append(op, self._txn, row)
        self.rows += 1

    def insert(self, schema: TableSchema, row: Mapping[str, Any]) -> None:
        self.add(schema, "insert", row)

    def update(
        self, schema: TableSchema, row: Mapping[str, Any], old: Mapping[str, Any] | None = None
    ) -> None:
        """An update; `old` (key or full old row) makes it delete-then-write when identity moved."""
        if old is not None and _identity_moved(schema, old, row):
            self.add(schema, "delete", old)
        self.add(schema, "update", row)

    def delete(self, schema: TableSchema, old: Mapping[str, Any]) -> None:
        self.add(schema, "delete", old)

    def truncate(self, schema: TableSchema) -> None:
        """TRUNCATE: earlier changes of the table in this batch no longer matter."""
        changes = self._table(schema)
        self.rows -= len(changes)
        changes.clear()
        changes.truncated = True
        changes.truncated_txn = self._txn
        self.rows += 1

    def commit(self, position: Position | None = None) -> None:
        """End the open transaction; `position` replaces the one given to begin() (PostgreSQL
        knows the end of a transaction's commit record only now)."""
        if position is not None:
            self.batch.positions[self._txn] = position
        self.in_transaction = False

    def take(self) -> ChangeBatch:
        """The batch collected so far (whole transactions only), and start a new one."""
        if self.in_transaction:
            raise RuntimeError("take() inside a transaction; call commit() first")
        batch, self.batch, self.rows = self.batch, ChangeBatch(self.source), 0
        return batch


def _identity_moved(schema: TableSchema, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Without a key the old row is the identity, so an update always replaces it."""
    if not schema.key:
        return True
    return any(old.get(name) != new.get(name) for name in schema.key)


class SnapshotSink(Protocol):
    """Where a reader loads a source's initial copy (the store's snapshot transaction)."""

    def load_csv(self, schema: TableSchema, path: Path) -> int:
        """Replace the table's rows with a PostgreSQL CSV COPY file; the row count."""
        ...

    def load_arrow(self, schema: TableSchema, data: Any) -> int:
        """Replace the table's rows with an Arrow table (columns in schema order)."""
        ...


class SlotClaim(Protocol):
    """A replication slot a store created (what `ChangeSink.slot_claim` returns)."""

    @property
    def slot(self) -> str: ...

    @property
    def consistent_lsn(self) -> int: ...

    @property
    def confirmable_lsn(self) -> int: ...


class ChangeSink(Protocol):
    """What readers write to; `kuaike.store.Store` is one (capture never imports the store).

    - `position(source)`: the last applied position, None before the first snapshot.
    - `snapshot(source, position)`: a context manager, one transaction over every load; on
      exit the position is recorded; an exception rolls everything back.
    - `apply(batch)`: data + position in one transaction; returns the batch number.
    - `set_phase(source, phase, error)`, `forget(source)`: bookkeeping (forgetting a source also
      forgets the slot it claimed).
    - PostgreSQL only: `claim_slot(source, slot, lsn)`, committed before the snapshot copy
      starts; `slot_claim(source)`, None when the store claims none; `slot_notes(source)`, a
      function raising the furthest LSN the server may be told, called before each
      confirmation (safe beside `apply`, from the reader's thread).
    """

    def position(self, source: str) -> Position | None: ...

    def snapshot(self, source: str, position: Position) -> AbstractContextManager[SnapshotSink]: ...

    def recopy(self, source: str, position: Position) -> AbstractContextManager[SnapshotSink]: ...

    def record_server(self, source: str, identity: dict[str, str]) -> None: ...

    def server_identity(self, source: str) -> dict[str, str] | None: ...

    def apply(self, batch: ChangeBatch) -> int: ...

    def set_phase(self, source: str, phase: Any, error: str | None = None) -> None: ...

    def forget(self, source: str) -> None: ...

    def claim_slot(self, source: str, slot: str, consistent_lsn: int) -> None: ...

    def slot_claim(self, source: str) -> SlotClaim | None: ...

    def slot_notes(self, source: str) -> Callable[[int], None]: ...
