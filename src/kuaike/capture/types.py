"""Source column types → DuckDB types: the rule every source kind's type map (a dict) follows.

A source type is text as readers report it: a base name, optionally with arguments
(`numeric(12,2)`, `varchar(20)`, `timestamp(0)`). `duckdb_type` looks the base name up in the
source kind's map; `{p}` and `{s}` in the DuckDB type are filled from the arguments. Anything
unknown is kept as VARCHAR (the source's text form), so no type stops the pipeline. An array
`<type>[]` becomes a DuckDB LIST of its element's type.
"""

from __future__ import annotations

import re

DECIMAL_MAX_PRECISION = 38

_TYPE = re.compile(
    r"^\s*([a-z][a-z0-9_]*(?: [a-z][a-z0-9_]*)*)\s*(?:\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\))?\s*(.*)$"
)


def duckdb_type(type_map: dict[str, str], source_type: str) -> str:
    """The DuckDB type for a source column type, by `type_map`.

    >>> duckdb_type({"numeric": "DECIMAL({p},{s})"}, "numeric(12,2)")
    'DECIMAL(12,2)'
    >>> duckdb_type({}, "varchar(20)")
    'VARCHAR'
    >>> duckdb_type({"numeric": "DECIMAL({p},{s})"}, "numeric(10,2)[]")
    'DECIMAL(10,2)[]'
    """
    match = _TYPE.match(source_type.lower())
    if match is None:
        return "VARCHAR"
    base, first, second, rest = match.groups()
    if rest.strip().endswith("[]"):
        element = duckdb_type(type_map, source_type.strip()[:-2])
        return element if element.endswith("[]") else element + "[]"
    if rest.strip() and base in ("timestamp", "time"):
        base = f"{base} {rest.strip()}"  # "timestamp(0) with time zone"
    target = type_map.get(base.strip(), "VARCHAR")
    if "{p}" not in target:
        return target
    precision, scale = (int(first) if first else None), (int(second) if second else 0)
    if precision is None or precision > DECIMAL_MAX_PRECISION or scale < 0 or scale > precision:
        return "VARCHAR"  # unconstrained or too wide for DuckDB: exact as text
    return target.format(p=precision, s=scale)
