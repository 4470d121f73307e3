"""PostgreSQL → DuckDB types, as data: type oids to names, names to DuckDB types.

Relation messages and the catalog give a column's type oid and modifier; `pg_type` turns them
into the text the type map is keyed on (`numeric(12,2)`), the same for the snapshot and the
stream, so both create the same ODS columns.
"""

from __future__ import annotations

POSTGRES_TO_DUCKDB: dict[str, str] = {
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "numeric": "DECIMAL({p},{s})",
    "boolean": "BOOLEAN",
    "text": "VARCHAR",
    "varchar": "VARCHAR",
    "character varying": "VARCHAR",
    "bpchar": "VARCHAR",
    "character": "VARCHAR",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "timestamp without time zone": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
    "timestamp with time zone": "TIMESTAMPTZ",
    "interval": "INTERVAL",
    "uuid": "UUID",
    "json": "JSON",
    "jsonb": "JSON",
    "bytea": "VARCHAR",  # PostgreSQL's hex text ('\\x00ff'), kept as text
}

PG_TYPE_NAMES: dict[int, str] = {
    16: "boolean",
    17: "bytea",
    20: "bigint",
    21: "smallint",
    23: "integer",
    25: "text",
    114: "json",
    700: "real",
    701: "double precision",
    1042: "bpchar",
    1043: "varchar",
    1082: "date",
    1083: "time",
    1114: "timestamp",
    1184: "timestamptz",
    1186: "interval",
    1700: "numeric",
    2950: "uuid",
    3802: "jsonb",
}
"""Type oids → names the type map knows; any other type is kept as text."""


def pg_type(oid: int, typmod: int) -> str:
    """A source type as text from a type oid and modifier.

    >>> pg_type(1700, 786438)
    'numeric(12,2)'
    """
    name = PG_TYPE_NAMES.get(oid, "text")
    if name == "numeric" and typmod >= 4:
        return f"numeric({(typmod - 4) >> 16},{(typmod - 4) & 0xFFFF})"
    return name
