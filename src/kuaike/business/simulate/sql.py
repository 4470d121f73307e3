"""Rows as text: PostgreSQL COPY lines, SQL literals and statements, prepared statements.

Formatting is the simulator's hot path, so each table gets functions compiled from its DDL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache

from kuaike.business.simulate.journey import Op
from kuaike.business.simulate.model import Row
from kuaike.business.simulate.tables import table

# Text of the timestamps written lately: str(datetime) is the single most expensive step of
# formatting a row, and one business instant is written many times (cdt, udt, event times).
_TIMES: dict[object, str] = {}
_TIMES_KEPT = 500_000


def _time_text_expr(variable: str) -> str:
    return f"(T.get({variable}) or T.setdefault({variable}, str({variable})))"


def forget_times() -> None:
    """Bound the timestamp text cache (called between batches)."""
    if len(_TIMES) > _TIMES_KEPT:
        _TIMES.clear()


def _compile(source: str) -> Callable[[Row], str]:
    formatter: Callable[[Row], str] = eval(source, {"T": _TIMES})
    return formatter


@cache
def _copy_formatter(name: str) -> Callable[[Row], str]:
    """A compiled row → COPY line function for one table (the hot path of history loads).

    Text is not escaped: everything the simulator writes is generated from tab-, newline- and
    backslash-free parts, and text read back from a database is cleaned on load (load.py)."""
    spec, parts = table(name), []
    for column, length, quoted in zip(spec.columns, spec.lengths, spec.quoted, strict=True):
        if length is not None:
            text = f"str(x)[:{length}]"
        else:
            text = _time_text_expr("x") if quoted else "str(x)"
        parts.append(f"('\\\\N' if (x := g({column!r})) is None else {text})")
    return _compile("lambda row: (lambda g: '\\t'.join((" + ", ".join(parts) + ",)))(row.get)")


def copy_line(name: str, row: Row) -> str:
    """A row of table `name` as one line of PostgreSQL's COPY text format."""
    return _copy_formatter(name)(row)


def sql_literal(value: object, mysql: bool = False) -> str:
    """A SQL literal for PostgreSQL (standard strings) or MySQL (backslash escapes)."""
    if value is None:
        return "NULL"
    if isinstance(value, int | float):
        return str(value)
    text = str(value) if isinstance(value, datetime) else str(value).replace("'", "''")
    if mysql:
        text = text.replace("\\", "\\\\")
    return f"'{text}'"


def quoted(name: str) -> str:
    """A column name as SQL (the reference's one camel-case column needs quotes)."""
    return f'"{name}"' if name != name.lower() else name


@cache
def _values_formatter(name: str, mysql: bool) -> Callable[[Row], str]:
    """A compiled row → `(v1, v2, ...)` SQL literals function for one table (live mode)."""
    spec, parts = table(name), []
    for column, length, quoted in zip(spec.columns, spec.lengths, spec.quoted, strict=True):
        if length is not None:
            value = "str(x).replace('\\\\', '\\\\\\\\')" if mysql else "str(x)"
            text = f'"\'" + {value}[:{length}].replace("\'", "\'\'") + "\'"'
        else:
            text = f'"\'" + {_time_text_expr("x")} + "\'"' if quoted else "str(x)"
        parts.append(f"('NULL' if (x := g({column!r})) is None else {text})")
    return _compile(
        "lambda row: (lambda g: '(' + ', '.join((" + ", ".join(parts) + ",)) + ')')(row.get)"
    )


def _columns(name: str) -> str:
    return ", ".join(map(quoted, table(name).columns))


def op_sql(op: Op, mysql: bool = False) -> str:
    """One row operation as a SQL statement."""
    kind, name, row, changed = op
    if kind == "I":
        return f"INSERT INTO {name} ({_columns(name)}) VALUES {_values_formatter(name, mysql)(row)}"
    if kind == "D":
        return f"DELETE FROM {name} WHERE id = {int(row['id'])}"
    spec = table(name)
    sets = ", ".join(
        f"{quoted(c)} = {sql_literal(_fit(spec.lengths[spec.index(c)], row.get(c)), mysql)}"
        for c in changed
    )
    return f"UPDATE {name} SET {sets} WHERE id = {int(row['id'])}"


def _fit(length: int | None, value: object) -> object:
    return value[:length] if length is not None and isinstance(value, str) else value


@cache
def _record_formatter(name: str) -> Callable[[Row], str]:
    """A compiled row → `'(v1,v2,...)'` function: the whole row as one SQL literal of the
    table's composite type (live mode's INSERT parameter on PostgreSQL). An empty field is
    NULL; text and timestamps are double-quoted, with `\\` and `"` escaped for the composite
    and `'` doubled for the SQL literal around it."""
    spec, parts = table(name), []
    for column, length, quoted in zip(spec.columns, spec.lengths, spec.quoted, strict=True):
        if length is not None:
            text = (
                f"'\"' + str(x)[:{length}].replace('\\\\', '\\\\\\\\')"
                ".replace('\"', '\\\\\"').replace(\"'\", \"''\") + '\"'"
            )
        else:
            text = f"'\"' + {_time_text_expr('x')} + '\"'" if quoted else "str(x)"
        parts.append(f"('' if (x := g({column!r})) is None else {text})")
    return _compile(
        "lambda row: (lambda g: \"'(\" + ','.join((" + ", ".join(parts) + ',)) + ")\'")(row.get)'
    )


@cache
def _update_formatter(name: str, changed: tuple[str, ...]) -> Callable[[Row], str]:
    """A compiled row → `v1, v2, ..., id` function: the parameters of an UPDATE of the
    `changed` columns (live mode on PostgreSQL)."""
    spec, parts = table(name), []
    for column in (*changed, "id"):
        position = spec.index(column)
        length, quoted = spec.lengths[position], spec.quoted[position]
        if length is not None:
            text = f'"\'" + str(x)[:{length}].replace("\'", "\'\'") + "\'"'
        elif column == "id":
            text = "str(int(x))"
        else:
            text = f'"\'" + {_time_text_expr("x")} + "\'"' if quoted else "str(x)"
        parts.append(f"('NULL' if (x := g({column!r})) is None else {text})")
    return _compile("lambda row: (lambda g: ', '.join((" + ", ".join(parts) + ",)))(row.get)")


class Prepared:
    """The statements one PostgreSQL session has prepared: each kind of business event is
    parsed and planned once, then every event sends only `EXECUTE name(values)`.

    An event's row operations (an INSERT per new row, an UPDATE per changed one) become one
    statement, the first ones as data-modifying WITH clauses: one parse, one plan and one
    executor run per event instead of one per row, a third of what PostgreSQL spent on an
    event. They change different rows, so the order they run in within the statement does
    not matter; an event that touched a row twice would be sent as separate statements.

    A new row of a table in `whole_rows` (its columns are the DDL's, in order) travels as one
    parameter of the table's composite type, `INSERT INTO t SELECT ($1::t).*`: PostgreSQL then
    reads the row with one input function call instead of coercing, planning and evaluating a
    parameter per column (and a NULL costs an empty field). Other tables (a database edited
    by hand) get one parameter per column, named.
    """

    def __init__(self, whole_rows: frozenset[str] = frozenset()) -> None:
        self.names: dict[tuple[tuple[str, str, tuple[str, ...]], ...], str] = {}
        self.whole_rows = whole_rows

    def sql(self, event: list[Op]) -> str:
        """`EXECUTE` for the event, preceded by its `PREPARE` the first time."""
        if len(event) > 1 and len({(op[1], op[2]["id"]) for op in event}) < len(event):
            return ";".join(self.sql([op]) for op in event)
        key = tuple((kind, name, changed) for kind, name, _row, changed in event)
        statement = self.names.get(key)
        prefix = ""
        if statement is None:
            statement = self.names[key] = f"k{len(self.names)}"
            prefix = f"PREPARE {statement} AS {self._event_template(key)};"
        return f"{prefix}EXECUTE {statement}({', '.join(map(self._values, event))})"

    def _values(self, op: Op) -> str:
        """The parameters of one row operation, as SQL literals."""
        kind, name, row, changed = op
        if kind == "I":
            if name in self.whole_rows:
                return _record_formatter(name)(row)
            return _values_formatter(name, False)(row)[1:-1]
        if kind == "D":
            return str(int(row["id"]))
        return _update_formatter(name, changed)(row)

    def _event_template(self, key: tuple[tuple[str, str, tuple[str, ...]], ...]) -> str:
        """One statement for an event's row operations, parameters numbered across all."""
        parts, first = [], 1
        for kind, name, changed in key:
            if kind == "I" and name in self.whole_rows:
                parts.append(f"INSERT INTO {name} SELECT (${first}::{name}).*")
                first += 1
                continue
            parts.append(_template(kind, name, changed, first))
            first += len(table(name).columns) if kind == "I" else len(changed) + 1
        *clauses, main = parts
        if not clauses:
            return main
        return "WITH " + ", ".join(f"w{n} AS ({c})" for n, c in enumerate(clauses)) + " " + main


def _template(kind: str, name: str, changed: tuple[str, ...], first: int = 1) -> str:
    if kind == "I":
        count = len(table(name).columns)
        marks = ", ".join(f"${n}" for n in range(first, first + count))
        return f"INSERT INTO {name} ({_columns(name)}) VALUES ({marks})"
    if kind == "D":
        return f"DELETE FROM {name} WHERE id = ${first}"
    sets = ", ".join(f"{quoted(c)} = ${n}" for n, c in enumerate(changed, first))
    return f"UPDATE {name} SET {sets} WHERE id = ${first + len(changed)}"
