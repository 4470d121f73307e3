"""Queries with their values inlined as SQL literals, escaped here.

DuckDB's Python client tries to import pandas on every execute that binds parameters (a failed
import is not cached, so it searches sys.path each time): 0.69 ms for a one-row query with a
parameter against 0.31 ms with the same value as a literal, measured here. A timeline takes a
dozen queries, so tracking binds its values itself: every string is quoted with its quotes
doubled (DuckDB string literals know no backslash escapes), numbers and times are formatted.

>>> bind("SELECT * FROM t WHERE a = ? AND b = ?", ["it's", 42])
"SELECT * FROM t WHERE a = 'it''s' AND b = 42"
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kuaike.types import DuckConnection


def literal(value: Any) -> str:
    """One value as a DuckDB literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a NUL character cannot be a SQL string")
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def bind(sql: str, params: list[Any]) -> str:
    """`sql` with each `?` replaced by the next value (the statements here hold no other `?`)."""
    parts = sql.split("?")
    if len(parts) != len(params) + 1:
        raise ValueError(f"{len(parts) - 1} placeholders for {len(params)} values")
    out = [parts[0]]
    for value, part in zip(params, parts[1:], strict=True):
        out += [literal(value), part]
    return "".join(out)


def run(cur: DuckConnection, sql: str, params: list[Any]) -> DuckConnection:
    """Execute `sql` with `params` inlined; the cursor, to fetch from."""
    return cur.execute(bind(sql, params))
