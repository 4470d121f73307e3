"""Column lists and varchar lengths of the business tables, read from the bundled DDL.

The simulator builds rows as tuples in DDL column order, so the DDL is the one place that says what
a row looks like; strings are cut to their column's length when they are written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from kuaike.business.schema import ddl, statements

_COLUMN = re.compile(r'^\s*"?(\w+)"?\s+(\w+)(?:\((\d+)(?:,\d+)?\))?')


@dataclass(frozen=True)
class Table:
    """One table: its columns in order and, per column, the varchar length (None otherwise)."""

    name: str
    columns: tuple[str, ...]
    lengths: tuple[int | None, ...]
    quoted: tuple[bool, ...]  # text and timestamps are quoted in SQL, numbers are not

    def index(self, column: str) -> int:
        """Position of `column` in a row tuple."""
        return self.columns.index(column)

    def fit(self, row: tuple[object, ...] | list[object]) -> tuple[object, ...]:
        """The row with every string cut to its column's length."""
        return tuple(
            value[:n] if n is not None and isinstance(value, str) else value
            for value, n in zip(row, self.lengths, strict=True)
        )


def _parse(script: str) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for statement in statements(script):
        if not statement.startswith("CREATE TABLE"):
            continue
        name = statement.split()[5]
        body = statement[statement.index("(") + 1 : statement.rindex(")")]
        columns: list[str] = []
        lengths: list[int | None] = []
        quoted: list[bool] = []
        for line in body.split(",\n"):
            match = _COLUMN.match(line)
            if match is None or match.group(1) in ("KEY", "PRIMARY"):
                continue
            columns.append(match.group(1))
            is_text = match.group(2) == "varchar"
            lengths.append(int(match.group(3)) if is_text and match.group(3) else None)
            quoted.append(match.group(2) in ("varchar", "timestamp", "datetime", "text"))
        tables[name] = Table(name, tuple(columns), tuple(lengths), tuple(quoted))
    return tables


@cache
def logistics() -> dict[str, Table]:
    """The 48 logistics tables by name."""
    return _parse(ddl("logistics.postgresql"))


@cache
def crm() -> dict[str, Table]:
    """The 3 CRM tables by name (same columns in both dialects)."""
    return _parse(ddl("crm.postgresql"))


def table(name: str) -> Table:
    """A logistics or CRM table by name."""
    return logistics().get(name) or crm()[name]
