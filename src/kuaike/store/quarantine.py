"""Tables set aside: a value nothing converts stops its table only, never the stream.

When a batch fails on a conversion, the store rolls it back and applies it again carefully:
each table's changes are checked (TRY) before they are written; a table holding a value that
cannot be converted is recorded in `_kuaike.quarantine` with one line naming the source, table,
column, key and value, its changes are left out, and every other table's changes and the
position commit as usual. Later changes of a quarantined table are not applied: they are in
the re-copy `kuaike capture --resnapshot --table T` takes (at a position of its own, later
than anything applied), after which only the stream's changes past that position are applied.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from kuaike.capture.events import ChangeBatch, Position, TableChanges
from kuaike.store import convert
from kuaike.types import DuckConnection

State = Literal["quarantined", "recopied"]


@dataclass(frozen=True)
class Hold:
    """One table's entry in `_kuaike.quarantine`."""

    source: str
    table: str
    state: State
    line: str
    position: str | None
    resume_after: str | None


def holds(con: DuckConnection) -> dict[tuple[str, str], Hold]:
    """Every table set aside or re-copied, by (source, ODS table)."""
    rows = con.execute(
        "SELECT source, table_name, state, line, position, resume_after FROM _kuaike.quarantine"
    ).fetchall()
    return {(r[0], r[1]): Hold(*r) for r in rows}


def hold(con: DuckConnection, entry: Hold) -> None:
    """Record (or replace) a table's entry, inside the caller's transaction."""
    con.execute(
        "INSERT OR REPLACE INTO _kuaike.quarantine VALUES (?, ?, ?, ?, ?, ?, now())",
        [entry.source, entry.table, entry.state, entry.line, entry.position, entry.resume_after],
    )


def release(con: DuckConnection, source: str, table: str) -> None:
    con.execute(
        "DELETE FROM _kuaike.quarantine WHERE source = ? AND table_name = ?", [source, table]
    )


def after_recopy(batch: ChangeBatch, changes: TableChanges, resume_after: str) -> TableChanges:
    """The table's changes the re-copy does not hold: those of transactions after its position."""
    after = [p.text > resume_after for p in batch.positions]
    keep = [after[t] for t in changes.txn]
    kept = TableChanges(changes.schema)
    kept.truncated = changes.truncated and after[changes.truncated_txn]
    kept.ops = [op for op, k in zip(changes.ops, keep, strict=True) if k]
    kept.txn = [t for t, k in zip(changes.txn, keep, strict=True) if k]
    kept.unchanged = set(changes.unchanged)
    if changes.arrays is not None:
        mask = pa.array(keep, pa.bool_())
        kept.arrays = {n: a.filter(mask) for n, a in changes.arrays.items()}
        kept.unchanged_masks = {n: a.filter(mask) for n, a in changes.unchanged_masks.items()}
    kept.values = {
        n: [v for v, k in zip(col, keep, strict=True) if k] for n, col in changes.values.items()
    }
    index = list(itertools.accumulate(keep, initial=0))  # old row → its row among the kept
    kept.moves = [index[m] for m in changes.moves if keep[m]]
    return kept


def first_bad(
    con: DuckConnection,
    relation: str,
    columns: list[str],
    types: dict[str, str],
    special: list[bool] | None = None,
) -> tuple[str, list[str | None], str] | None:
    """The first value of `relation` (columns `_c<i>`) its conversion (`special[i]` as for
    `convert.cast_sql`, by default True) does not read: (column, that row's values as text,
    the column's type); None when every value converts."""
    checks = [
        (i, name) for i, name in enumerate(columns) if types.get(name, "VARCHAR") != "VARCHAR"
    ]
    if not checks:
        return None
    bads = [
        convert.bad_sql(f"_c{i}", types[name], special[i] if special else True)
        for i, name in checks
    ]
    texts = ", ".join(f"CAST(_c{i} AS VARCHAR)" for i in range(len(columns)))
    row = con.execute(
        f"SELECT [{', '.join(bads)}], {texts} FROM {relation} WHERE {' OR '.join(bads)} LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    index = list(row[0]).index(True)
    name = checks[index][1]
    return name, list(row[1:]), types[name]


def bad_value_line(
    source: str,
    table: str,
    key: list[str],
    columns: list[str],
    found: tuple[str, list[str | None], str],
) -> str:
    """The one line a quarantined table carries."""
    name, texts, kind = found
    row = dict(zip(columns, texts, strict=True))
    ident = {k: row[k] for k in key} if key else row
    value = row[name]
    shown = json.dumps(ident, ensure_ascii=False)
    return (
        f"source {source}, table {table}, column {name}, key {shown}: "
        f"value {value!r} cannot be converted to {kind}; the table is quarantined (every other "
        f"table goes on); once the value (or the column's type) is fixed at the source, run "
        f"`kuaike capture --resnapshot --table {table}`"
    )


def note_values(
    con: DuckConnection,
    relation: str,
    source: str,
    table: str,
    columns: list[str],
    types: dict[str, str],
    key: list[str],
    position: str,
    batch_id: int,
    only: set[str] | None = None,
) -> None:
    """Record the values of `relation` its conversions make NULL on purpose (of the columns
    `only` names, or all)."""
    ident = key or columns
    fields = ", ".join(f"{convert_quote(k)}: _c{columns.index(k)}" for k in ident)
    for i, name in enumerate(columns):
        noted = convert.noted_sql(f"_c{i}", types[name])
        if noted is None or (only is not None and name not in only):
            continue
        con.execute(
            f"INSERT INTO _kuaike.value_notes SELECT ?, ?, ?, to_json({{{fields}}}), "
            f"CAST(_c{i} AS VARCHAR), ?, ?, ? FROM {relation} WHERE _c{i} IS NOT NULL AND {noted}",
            [source, table, name, f"kept as NULL in {types[name]}", position, batch_id],
        )


def convert_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def passed(batch: ChangeBatch, resume_after: str) -> bool:
    """Whether the batch's last transaction lies after a re-copy's position."""
    return batch.position > Position(resume_after)
