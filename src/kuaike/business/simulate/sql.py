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


def copy_value(value: object) -> str:
    """One field of PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        text = text.replace("\r", "\\r")
    return text


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


class Prepared:
    """The statements one PostgreSQL session has prepared: each kind of row operation is
    parsed and planned once, then every event only sends `EXECUTE name(values)`."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, str, tuple[str, ...]], str] = {}

    def sql(self, op: Op) -> str:
        """`EXECUTE` for the operation, preceded by its `PREPARE` the first time."""
        kind, name, row, changed = op
        key = (kind, name, changed)
        statement = self.names.get(key)
        prefix = ""
        if statement is None:
            statement = self.names[key] = f"k{len(self.names)}"
            prefix = f"PREPARE {statement} AS {_template(kind, name, changed)};"
        if kind == "I":
            return f"{prefix}EXECUTE {statement}{_values_formatter(name, False)(row)}"
        if kind == "D":
            return f"{prefix}EXECUTE {statement}({int(row['id'])})"
        spec = table(name)
        values = [sql_literal(_fit(spec.lengths[spec.index(c)], row.get(c))) for c in changed]
        return f"{prefix}EXECUTE {statement}({', '.join(values)}, {int(row['id'])})"


def _template(kind: str, name: str, changed: tuple[str, ...]) -> str:
    if kind == "I":
        marks = ", ".join(f"${n}" for n in range(1, len(table(name).columns) + 1))
        return f"INSERT INTO {name} ({_columns(name)}) VALUES ({marks})"
    if kind == "D":
        return f"DELETE FROM {name} WHERE id = $1"
    sets = ", ".join(f"{quoted(c)} = ${n}" for n, c in enumerate(changed, 1))
    return f"UPDATE {name} SET {sets} WHERE id = ${len(changed) + 1}"
