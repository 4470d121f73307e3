"""Apply one table's changes of a batch: Arrow in, dedupe to the last change per key, one MERGE.

Values stay columnar: PostgreSQL text arrives as Arrow strings and DuckDB casts whole columns in
the MERGE's SELECT, so no value is converted one by one in Python. Tables without a primary key
(identity "full") are applied set-wise too, as multisets: identical rows may exist, so each
delete removes one stored copy.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kuaike.capture.events import UNCHANGED, ChangeBatch, TableChanges
from kuaike.store import convert
from kuaike.store.quarantine import note_values
from kuaike.store.tables import Tables
from kuaike.store.types import quote
from kuaike.types import DuckConnection

log = logging.getLogger("kuaike.store")

SOURCE_VIEW = "_kuaike_src"
LAST_TABLE = "_kuaike_last"

CANONICAL_KEY_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "VARCHAR"})
"""Key types whose PostgreSQL text is canonical: distinct texts are distinct typed keys."""


def _arrow_values(values: list[Any]) -> pa.Array:
    """A column of values; raw text (bytes) becomes UTF-8 strings, validated by Arrow in C."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bytes | bytearray | memoryview):
        return pa.array(values, pa.binary()).cast(pa.string())
    if isinstance(sample, Decimal):
        # As text, which the MERGE casts to the column's type exactly (rounding as from
        # an Arrow decimal): Arrow infers a decimal column's precision value by value,
        # 0.86 us a value measured against 0.10 us for the text.
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def arrow_table(batch: ChangeBatch, changes: TableChanges, columns: list[str]) -> pa.Table:
    """The changes as an Arrow table: _seq, _op, _pos, _ts, the columns, _u_<i> for UNCHANGED."""
    n = len(changes)
    txn = pa.array(changes.txn, pa.int32())
    positions = pa.array([p.text for p in batch.positions], pa.string())
    stamps = pa.array(batch.commit_ts, pa.timestamp("us", tz="UTC"))
    data: dict[str, pa.Array] = {
        "_seq": pa.array(range(n), pa.int64()),
        "_op": pa.array(changes.ops, pa.string()),
        "_pos": positions.take(txn),
        "_ts": stamps.take(txn),
    }
    for i, name in enumerate(columns):
        if changes.arrays is not None:
            data[f"_c{i}"] = changes.arrays.get(name, pa.nulls(n, pa.string()))
            if name in changes.unchanged_masks:
                data[f"_u{i}"] = changes.unchanged_masks[name]
            continue
        values = changes.values.get(name)
        if values is None:
            data[f"_c{i}"] = pa.nulls(n, pa.string())
            continue
        if name in changes.unchanged:
            data[f"_u{i}"] = pa.array([v is UNCHANGED for v in values], pa.bool_())
            values = [None if v is UNCHANGED else v for v in values]
        data[f"_c{i}"] = _arrow_values(values)
    return pa.table(data)


def column_casts(
    con: DuckConnection,
    batch: ChangeBatch,
    data: pa.Table,
    columns: list[str],
    types: dict[str, str],
    table: str,
    key: list[str],
    batch_id: int,
    dialect: str,
) -> list[str]:
    """Per column the SQL converting its text: a plain CAST unless the column holds a value
    that needs its type's conversion (see `convert`); values made NULL on purpose are noted."""
    casts: list[str] = []
    special: set[str] = set()
    for i, name in enumerate(columns):
        needed = convert.needs_special(data[f"_c{i}"], types[name], dialect)
        casts.append(convert.cast_sql(f"_c{i}", types[name], needed))
        if needed and convert.noted_sql("_", types[name]):
            special.add(name)
    if special:
        note_values(
            con,
            SOURCE_VIEW,
            batch.source,
            table,
            columns,
            types,
            key,
            batch.position.text,
            batch_id,
            special,
        )
    return casts


def _typed_select(columns: list[str], casts: list[str], key: list[str], unchanged: set[str]) -> str:
    """SELECT casting each column to its ODS type; UNCHANGED columns look back within the batch."""
    parts = ["_seq", "_op", "_pos", "_ts"]
    keys = ", ".join(casts[columns.index(k)] for k in key)
    for i, name in enumerate(columns):
        cast = casts[i]
        if name in unchanged:
            # The latest value of this key inside the batch that was really sent; NULL struct
            # when none was: then the stored value is kept.
            parts.append(
                f"last_value(CASE WHEN _u{i} OR _op = 'delete' THEN NULL "
                f"ELSE {{'v': {cast}}} END IGNORE NULLS) "
                f"OVER (PARTITION BY {keys} ORDER BY _seq "
                f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS _k{i}"
            )
        else:
            parts.append(f"{cast} AS _c{i}")
    return f"SELECT {', '.join(parts)} FROM {SOURCE_VIEW}"


def merge_keyed(
    con: DuckConnection,
    tables: Tables,
    batch: ChangeBatch,
    changes: TableChanges,
    table: str,
    batch_id: int,
) -> None:
    """Dedupe to the last change per key and MERGE it into ods.<table>; record deletes."""
    schema = changes.schema
    columns = schema.column_names
    types = tables.columns(table)
    key = list(schema.key)
    if changes.moves:
        resolve_moves(con, table, changes, key, types)
    data = arrow_table(batch, changes, columns)
    con.register(SOURCE_VIEW, data)
    try:
        casts = column_casts(con, batch, data, columns, types, table, key, batch_id, schema.dialect)
        typed = _typed_select(columns, casts, key, changes.unchanged)
        if _unique_keys(data, [f"_c{columns.index(k)}" for k in key], [types[k] for k in key]):
            # Every key once (e.g. an insert-only run): nothing to dedupe, so the MERGE reads
            # the cast Arrow columns directly instead of a sorted, materialized copy.
            kind = "VIEW"
            con.execute(f"CREATE OR REPLACE TEMP VIEW {LAST_TABLE} AS {typed}")
        else:
            kind = "TABLE"
            part = ", ".join(f"_c{columns.index(k)}" for k in key)
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {LAST_TABLE} AS SELECT * FROM ({typed}) "
                f"QUALIFY row_number() OVER (PARTITION BY {part} ORDER BY _seq DESC) = 1"
            )
        con.execute(_merge_sql(table, columns, types, key, changes.unchanged, batch_id))
        if "delete" in changes.ops:
            fields = ", ".join(f"{quote(k)}: _c{columns.index(k)}" for k in key)
            con.execute(
                f"INSERT INTO _kuaike.deleted_keys SELECT ?, ?, to_json({{{fields}}}) "
                f"FROM {LAST_TABLE} WHERE _op = 'delete'",
                [batch_id, table],
            )
        con.execute(f"DROP {kind} {LAST_TABLE}")
    finally:
        con.unregister(SOURCE_VIEW)


def _unique_keys(data: pa.Table, key_columns: list[str], key_types: list[str]) -> bool:
    """True when no key occurs twice among the changes, judged on the raw text in Arrow (a hash
    count, far cheaper than DuckDB's sorting window); only for types whose text is canonical."""
    if any(kind not in CANONICAL_KEY_TYPES for kind in key_types):
        return False
    if len(key_columns) == 1:
        distinct = pc.count_distinct(data[key_columns[0]], mode="all").as_py()
    else:
        distinct = data.group_by(key_columns).aggregate([]).num_rows
    return bool(distinct == data.num_rows)


def _value(i: int, name: str, unchanged: set[str], target: bool) -> str:
    """The new value of column i in the MERGE; UNCHANGED keeps the stored value (or NULL)."""
    if name not in unchanged:
        return f"s._c{i}"
    kept = f"t.{quote(name)}" if target else "NULL"
    return f"CASE WHEN s._k{i} IS NULL THEN {kept} ELSE s._k{i}.v END"


def _merge_sql(
    table: str,
    columns: list[str],
    types: dict[str, str],
    key: list[str],
    unchanged: set[str],
    batch_id: int,
) -> str:
    # Key columns are never UNCHANGED: PostgreSQL always sends the replica identity.
    on = " AND ".join(f"t.{quote(k)} = s._c{columns.index(k)}" for k in key)
    dropped = [n for n in types if n not in columns and not n.startswith("_kuaike_")]
    sets = [f"{quote(n)} = {_value(i, n, unchanged, True)}" for i, n in enumerate(columns)]
    sets += [f"{quote(n)} = NULL" for n in dropped]
    meta = ["_kuaike_op", "_kuaike_pos", "_kuaike_commit_ts", "_kuaike_batch"]
    meta_values = ["s._op", "s._pos", "s._ts", str(batch_id)]
    sets += [f"{m} = {v}" for m, v in zip(meta, meta_values, strict=True)]
    names = ", ".join([quote(n) for n in columns] + meta)
    values = ", ".join(
        [_value(i, n, unchanged, False) for i, n in enumerate(columns)] + meta_values
    )
    return (
        f"MERGE INTO ods.{quote(table)} AS t USING {LAST_TABLE} AS s ON {on} "
        f"WHEN MATCHED AND s._op = 'delete' THEN DELETE "
        f"WHEN MATCHED THEN UPDATE SET {', '.join(sets)} "
        f"WHEN NOT MATCHED AND s._op <> 'delete' THEN INSERT ({names}) VALUES ({values})"
    )


def resolve_moves(
    con: DuckConnection, table: str, changes: TableChanges, key: list[str], types: dict[str, str]
) -> None:
    """Give key-moving updates the UNCHANGED values of their old key, in log order (rare: a
    key change on a row with TOASTed values); from earlier changes in the batch, else from ODS."""
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    moves = set(changes.moves)
    unchanged = sorted(changes.unchanged)
    for row in range(len(changes)):
        row_key = tuple(changes.values[k][row] for k in key)
        if row in moves:
            old_key = tuple(changes.values[k][row - 1] for k in key)
            for name in unchanged:
                if changes.values[name][row] is UNCHANGED:
                    known = latest.get(old_key, {})
                    value = (
                        known[name]
                        if name in known
                        else _stored(con, table, name, key, old_key, types)
                    )
                    changes.values[name][row] = value
        if changes.ops[row] == "delete":
            continue  # a delete carries only the key: it is no source of old values
        seen = latest.setdefault(row_key, {})
        for name in unchanged:
            if changes.values[name][row] is not UNCHANGED:
                seen[name] = changes.values[name][row]
    changes.moves.clear()


def _stored(
    con: DuckConnection,
    table: str,
    name: str,
    key: list[str],
    values: tuple[Any, ...],
    types: dict[str, str],
) -> Any:
    """A column's value in ODS as raw text (what pgoutput would have sent)."""
    match = " AND ".join(f"{quote(k)} = {convert.cast_sql('?', types[k])}" for k in key)
    row = con.execute(
        f"SELECT CAST({quote(name)} AS VARCHAR) FROM ods.{quote(table)} WHERE {match}",
        [_plain(v) for v in values],
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0]).encode()


def apply_full_identity(
    con: DuckConnection,
    tables: Tables,
    batch: ChangeBatch,
    changes: TableChanges,
    table: str,
    batch_id: int,
) -> None:
    """Tables without a key, set-wise, as multisets: identical rows are counted, not merged.

    An update arrives as delete(old row) + write(new row); the new row's unchanged TOASTed
    values are the old row's (the change just before it). Per distinct row the batch's
    writes and deletes cancel out; the remaining deletes each remove one stored copy, the
    remaining writes are inserted: the same multiset as applying every change in log order.
    A row is compared whole, as one struct value (NULL equal to NULL, as in GROUP BY).
    """
    columns = changes.schema.column_names
    types = tables.columns(table)
    data = arrow_table(batch, changes, columns)
    con.register(SOURCE_VIEW, data)
    try:
        casts = column_casts(
            con, batch, data, columns, types, table, [], batch_id, changes.schema.dialect
        )
        rows = _full_rows_sql(columns, casts, changes.unchanged)
        if "delete" not in changes.ops:  # writes only (a log being appended): insert them all
            _insert(con, table, columns, batch_id, f"({rows})", "TRUE")
            return
        con.execute(f"CREATE OR REPLACE TEMP TABLE {LAST_TABLE} AS {_numbered(rows, columns)}")
        _delete_copies(con, table, columns, batch_id)
        counted = (
            f"(SELECT l.*, c._deletes FROM {LAST_TABLE} l "
            f"JOIN ({_counts_sql()}) c ON c._row = l._row)"
        )
        _insert(con, table, columns, batch_id, counted, "l._op <> 'delete' AND l._n > l._deletes")
        con.execute(f"DROP TABLE {LAST_TABLE}")
    finally:
        con.unregister(SOURCE_VIEW)


def _full_rows_sql(columns: list[str], casts: list[str], unchanged: set[str]) -> str:
    """The changes typed, UNCHANGED values taken from the old row just before them."""
    values = []
    for i, name in enumerate(columns):
        cast = casts[i]
        if name in unchanged:
            cast = f"CASE WHEN _u{i} THEN lag({cast}) OVER (ORDER BY _seq) ELSE {cast} END"
        values.append(f"{cast} AS _c{i}")
    return f"SELECT _seq, _op, _pos, _ts, {', '.join(values)} FROM {SOURCE_VIEW}"


def _numbered(rows: str, columns: list[str]) -> str:
    """The changes with the whole row as one value (`_row`) and each change numbered among
    the identical changes of its kind (`_n`)."""
    return (
        "SELECT *, row_number() OVER (PARTITION BY _op = 'delete', _row ORDER BY _seq) AS _n "
        f"FROM (SELECT *, {_row_struct(columns)} AS _row FROM ({rows}))"
    )


def _row_struct(columns: list[str], prefix: str | None = None) -> str:
    """The row's values as one struct: of the changes' `_c<i>`, or of `prefix`'s columns."""
    if prefix is None:
        fields = ", ".join(f"_c{i}" for i in range(len(columns)))
    else:
        fields = ", ".join(f"_c{i} := {prefix}{quote(n)}" for i, n in enumerate(columns))
    return f"struct_pack({fields})"


def _counts_sql() -> str:
    return (
        "SELECT _row, count(*) FILTER (WHERE _op <> 'delete') AS _writes, "
        f"count(*) FILTER (WHERE _op = 'delete') AS _deletes FROM {LAST_TABLE} GROUP BY _row"
    )


def _delete_copies(con: DuckConnection, table: str, columns: list[str], batch_id: int) -> None:
    """Record every deleted row; remove one stored copy per delete the batch's writes of the
    same row do not cancel."""
    fields = ", ".join(f"{quote(n)}: _c{i}" for i, n in enumerate(columns))
    con.execute(
        f"INSERT INTO _kuaike.deleted_keys SELECT ?, ?, to_json({{{fields}}}) "
        f"FROM {LAST_TABLE} WHERE _op = 'delete' ORDER BY _seq",
        [batch_id, table],
    )
    stored = _row_struct(columns, "o.")
    first = quote(columns[0])
    # Only stored rows whose first column is among the deleted rows' are made into structs
    # and compared whole: one cheap semi-join instead of a struct per stored row.
    candidates = (
        f"(SELECT rowid AS id, * FROM ods.{quote(table)} WHERE {first} IN "
        f"(SELECT _row._c0 FROM net) OR ({first} IS NULL AND "
        f"EXISTS (SELECT 1 FROM net WHERE _row._c0 IS NULL)))"
    )
    row = con.execute(
        f"WITH net AS (SELECT _row, _deletes - _writes AS wanted FROM ({_counts_sql()}) "
        f"WHERE _deletes > _writes), copies AS (SELECT o.id, net.wanted, "
        f"row_number() OVER (PARTITION BY net._row ORDER BY o.id) AS copy "
        f"FROM {candidates} o JOIN net ON {stored} = net._row) "
        f"DELETE FROM ods.{quote(table)} WHERE rowid IN "
        f"(SELECT id FROM copies WHERE copy <= wanted)"
    ).fetchone()
    wanted = con.execute(
        f"SELECT coalesce(sum(_deletes - _writes), 0) FROM ({_counts_sql()}) "
        "WHERE _deletes > _writes"
    ).fetchone()
    if row and wanted and row[0] != wanted[0]:
        log.warning(
            "ods.%s: %s deletes of rows without a key found %s stored copies; the replica "
            "differs from the source for this table (run `kuaike capture --resnapshot`)",
            table,
            wanted[0],
            row[0],
        )


def _insert(
    con: DuckConnection, table: str, columns: list[str], batch_id: int, rows: str, where: str
) -> None:
    """Insert the changes of `rows` (aliased `l`) that `where` keeps, in log order."""
    names = ", ".join(
        [quote(n) for n in columns]
        + ["_kuaike_op", "_kuaike_pos", "_kuaike_commit_ts", "_kuaike_batch"]
    )
    values = ", ".join([f"l._c{i}" for i in range(len(columns))] + ["l._op", "l._pos", "l._ts"])
    con.execute(
        f"INSERT INTO ods.{quote(table)} ({names}) SELECT {values}, {int(batch_id)} "
        f"FROM {rows} l WHERE {where} ORDER BY l._seq"
    )


def _plain(value: Any) -> Any:
    """A value as a DuckDB parameter: raw text decoded."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8")
    return None if value is UNCHANGED else value
