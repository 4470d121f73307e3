"""Source types → DuckDB types, as data: one dict per source dialect, plus ODS naming rules.

A source type is text as readers report it: a base name, optionally with arguments
(`numeric(12,2)`, `varchar(20)`, `timestamp(0)`). `duckdb_type` looks the base name up; `{p}` and
`{s}` in the DuckDB type are filled from the arguments. Anything unknown is kept as VARCHAR (the
source's text form), so no type stops the pipeline.
"""

from __future__ import annotations

import re

from kuaike.capture.mysql.types import MYSQL_TO_DUCKDB

DECIMAL_MAX_PRECISION = 38

POSTGRES_TYPES: dict[str, str] = {
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

# The MySQL map lives beside the MySQL capture, which also fixes values per type.
TYPE_MAPS: dict[str, dict[str, str]] = {
    "postgresql": POSTGRES_TYPES,
    "mysql": MYSQL_TO_DUCKDB,
}

ODS_RENAMES: dict[str, tuple[str, str]] = {"crm": ("crm_", "tbl_")}
"""Per source: a table-name prefix replaced in ODS (as the reference's Canal parser did)."""

_TYPE = re.compile(
    r"^\s*([a-z][a-z0-9_]*(?: [a-z][a-z0-9_]*)*)\s*(?:\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\))?\s*(.*)$"
)


def duckdb_type(dialect: str, source_type: str) -> str:
    """The DuckDB type for a source column type.

    >>> duckdb_type("postgresql", "numeric(12,2)")
    'DECIMAL(12,2)'
    >>> duckdb_type("mysql", "varchar(20)")
    'VARCHAR'
    """
    match = _TYPE.match(source_type.lower())
    if match is None:
        return "VARCHAR"
    base, first, second, rest = match.groups()
    if rest.strip().endswith("[]") or rest.strip().startswith("["):
        return "VARCHAR"  # arrays keep their text form
    if rest.strip() and base in ("timestamp", "time"):
        base = f"{base} {rest.strip()}"  # "timestamp(0) with time zone"
    target = TYPE_MAPS[dialect].get(base.strip(), "VARCHAR")
    if "{p}" not in target:
        return target
    precision, scale = (int(first) if first else None), (int(second) if second else 0)
    if precision is None or precision > DECIMAL_MAX_PRECISION or scale < 0 or scale > precision:
        return "VARCHAR"  # unconstrained or too wide for DuckDB: exact as text
    return target.format(p=precision, s=scale)


def ods_name(source: str, table: str) -> str:
    """The ODS table name for a source table.

    >>> ods_name("crm", "crm_customer")
    'tbl_customer'
    """
    rule = ODS_RENAMES.get(source)
    if rule and table.startswith(rule[0]):
        return rule[1] + table[len(rule[0]) :]
    return table


def quote(name: str) -> str:
    """A quoted DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'
