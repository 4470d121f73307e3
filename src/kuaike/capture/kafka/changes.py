"""A captured `ChangeBatch` as the `Change`s a format encodes: one per row change, in log order.

Readers hand the store columnar batches whose values are raw PostgreSQL text (DuckDB casts
whole columns) or Python values (MySQL); a format message needs typed values, so PostgreSQL
text is restored from the column's source type (`formats.common.restore`), the same dict
lookup the formats decode with.

Unchanged TOASTed values (PostgreSQL does not send a large value an UPDATE left alone) are
not known to a publisher that keeps no replica. A table without a key sends its whole old row
with every update (REPLICA IDENTITY FULL), and they are taken from there; otherwise they go out
as Debezium's placeholder `__debezium_unavailable_value`, which kuaike's consumer reads as
"keep the stored value". A key-moving update is one message whose `before` is the old key, so
a consumer can carry such values over to the new key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kuaike.capture.events import (
    UNCHANGED,
    Change,
    ChangeBatch,
    TableChanges,
    TableSchema,
    blob_bytes,
)
from kuaike.capture.formats.common import family, restore

UNAVAILABLE = "__debezium_unavailable_value"
"""What an unchanged TOASTed value is published as (Debezium's `unavailable.value.placeholder`
default, so Debezium consumers know it too)."""


def batch_changes(batch: ChangeBatch) -> Iterator[Change]:
    """Every change of `batch`, table by table, each table's in log order."""
    for changes in batch.tables.values():
        yield from table_changes(batch, changes)


def table_changes(batch: ChangeBatch, changes: TableChanges) -> Iterator[Change]:
    """One table's changes: its TRUNCATE first (earlier changes were dropped), then its rows."""
    schema = changes.schema
    if changes.truncated:
        yield _change(schema, batch, changes.truncated_txn, "truncate", None, None)
    rows = typed_rows(changes)
    moves = set(changes.moves)
    for i, row in enumerate(rows):
        op = changes.ops[i]
        if op == "delete":
            if i + 1 not in moves:  # a move's delete goes out with its update
                yield _change(schema, batch, changes.txn[i], op, row, None)
            continue
        before = rows[i - 1] if i in moves else None
        if not schema.key and i > 0 and changes.ops[i - 1] == "delete":
            row = _carry_unchanged(row, rows[i - 1])  # the old row is the full identity
        yield _change(schema, batch, changes.txn[i], op, before, _placeholders(row))


def _change(
    schema: TableSchema,
    batch: ChangeBatch,
    txn: int,
    op: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> Change:
    return Change(
        schema.name,
        op,
        schema.key,
        before,
        after,
        schema.columns,
        schema.dialect,
        namespace_of(schema),
        batch.positions[txn].text if txn >= 0 else None,
        batch.commit_ts[txn] if txn >= 0 else None,
    )


def namespace_of(schema: TableSchema) -> str:
    """The table's schema (PostgreSQL) or database (MySQL) at the source, when known."""
    if schema.source_table:
        return schema.source_table[0]
    return "public" if schema.dialect == "postgresql" else ""


def typed_rows(changes: TableChanges) -> list[dict[str, Any]]:
    """The table's rows as dicts of typed values (UNCHANGED kept as is)."""
    columns = _columns(changes)
    types = {c.name: c.type for c in changes.schema.columns}
    text = changes.schema.dialect == "postgresql"
    typed: dict[str, list[Any]] = {}
    for name, values in columns.items():
        kind = types.get(name, "text")
        if family(kind) == "binary":  # formats encode bytes; batches carry them as text
            typed[name] = [_binary(v, text) for v in values]
        else:
            typed[name] = [_value(v, kind) if text else v for v in values]
    names = list(typed)
    return [dict(zip(names, row, strict=True)) for row in zip(*typed.values(), strict=True)]


def _columns(changes: TableChanges) -> dict[str, list[Any]]:
    """Column lists, from the Arrow arrays the PostgreSQL reader decodes when it has them."""
    if changes.arrays is None:
        return changes.values
    columns = {}
    for name, array in changes.arrays.items():
        values = array.to_pylist()
        mask = changes.unchanged_masks.get(name)
        if mask is not None:
            values = [UNCHANGED if u else v for v, u in zip(values, mask.to_pylist(), strict=True)]
        columns[name] = values
    return columns


def _value(value: Any, kind: str) -> Any:
    """A PostgreSQL text value with its type back (None and UNCHANGED as they are)."""
    if value is None or value is UNCHANGED:
        return value
    if isinstance(value, bytes | memoryview):
        value = bytes(value).decode()
    return restore(value, kind)


def _binary(value: Any, postgresql: bool) -> Any:
    """A binary value's bytes: from PostgreSQL's bytea text (hex, `\\x00ff`: capture's
    connections set `bytea_output=hex`), from a MySQL change (DuckDB's escaped text, see
    `blob_text`) or from a MySQL snapshot (bytes already)."""
    if value is None or value is UNCHANGED:
        return value
    if postgresql:
        text = bytes(value).decode() if isinstance(value, bytes | memoryview) else str(value)
        return bytes.fromhex(text[2:])
    return bytes(value) if isinstance(value, bytes | memoryview) else blob_bytes(value)


def _carry_unchanged(row: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    return {k: old.get(k, v) if v is UNCHANGED else v for k, v in row.items()}


def _placeholders(row: dict[str, Any]) -> dict[str, Any]:
    if not any(v is UNCHANGED for v in row.values()):
        return row
    return {k: UNAVAILABLE if v is UNCHANGED else v for k, v in row.items()}
