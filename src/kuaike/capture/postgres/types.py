"""PostgreSQL → DuckDB types, as data: type oids to names, names to DuckDB types.

Relation messages and the catalog give a column's type oid and modifier; `TypeNames` turns them
into the text the type map is keyed on (`numeric(12,2)`, `integer[]`), the same for the
snapshot and the stream, so both create the same ODS columns. Built-in types are known by oid;
any other (a domain, an enum, an array of either, a composite or range type) is looked up once
in `pg_type`: a domain is its base type with the domain's modifier (`DECIMAL(10,3)`), an array
`<element>[]` (a DuckDB LIST of the element's type), an enum, composite or range type text.
"""

from __future__ import annotations

from collections.abc import Callable

from kuaike.types import PgConnection

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
    "time with time zone": "TIMETZ",
    "timetz": "TIMETZ",
    "interval": "INTERVAL",
    "uuid": "UUID",
    "json": "JSON",
    "jsonb": "JSON",
    "bytea": "BLOB",
    "oid": "BIGINT",
    "name": "VARCHAR",
    "char": "VARCHAR",
    "inet": "VARCHAR",
    "cidr": "VARCHAR",
    "macaddr": "VARCHAR",
    "macaddr8": "VARCHAR",
    "money": "VARCHAR",
    "bit": "VARCHAR",
    "varbit": "VARCHAR",
    "xml": "VARCHAR",
    "tsvector": "VARCHAR",
    "enum": "VARCHAR",
    "composite": "VARCHAR",
    "range": "VARCHAR",
    # pg_type's own names for the types above, as Debezium's `__debezium.source.column.type`
    # reports them (INT8, FLOAT8, BOOL) and as DDL may spell them
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "float4": "FLOAT",
    "float8": "DOUBLE",
    "bool": "BOOLEAN",
    "decimal": "DECIMAL({p},{s})",
}
"""Every type name `TypeNames` gives, and PostgreSQL's other names for them, → DuckDB.
`numeric` without a modifier, and any name not here (geometric types, say), become VARCHAR:
PostgreSQL's own text, exact."""

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
    1266: "timetz",
    1700: "numeric",
    2950: "uuid",
    3802: "jsonb",
    18: "char",
    19: "name",
    26: "oid",
    142: "xml",
    650: "cidr",
    869: "inet",
    829: "macaddr",
    774: "macaddr8",
    790: "money",
    1560: "bit",
    1562: "varbit",
    3614: "tsvector",
}
"""Type oids → names the type map knows; any other type is kept as text."""


def pg_type(oid: int, typmod: int) -> str:
    """A source type as text from a type oid and modifier.

    >>> pg_type(1700, 786438)
    'numeric(12,2)'
    """
    name = PG_TYPE_NAMES.get(oid, "text")
    return _with_modifier(name, typmod)


def _with_modifier(name: str, typmod: int) -> str:
    if name == "numeric" and typmod >= 4:
        return f"numeric({(typmod - 4) >> 16},{(typmod - 4) & 0xFFFF})"
    return name


_KINDS = {"e": "enum", "c": "composite", "r": "range", "m": "range"}


class TypeNames:
    """Type names by oid and modifier, asking the catalog (once per oid) for types that are not
    built in. `connect` opens the catalog connection when first needed."""

    def __init__(self, connect: Callable[[], PgConnection]) -> None:
        self._connect = connect
        self._conn: PgConnection | None = None
        self._rows: dict[int, tuple[str, str, int, int, int, str]] = {}

    def __call__(self, oid: int, typmod: int) -> str:
        """`numeric(12,2)`, `integer[]`, `enum`, ...: the name the type map is keyed on."""
        if oid in PG_TYPE_NAMES:
            return pg_type(oid, typmod)
        row = self._row(oid)
        if row is None:
            return "text"
        kind, category, element, base, base_typmod, name = row
        if kind == "d":
            return self(base, base_typmod if base_typmod >= 0 else typmod)
        if category == "A" and element:
            return self(element, typmod) + "[]"
        return _KINDS.get(kind, name)

    def _row(self, oid: int) -> tuple[str, str, int, int, int, str] | None:
        if oid not in self._rows:
            if self._conn is None:
                self._conn = self._connect()
            with self._conn.cursor() as cur:
                cur.execute(
                    "SELECT typtype, typcategory, typelem::int, typbasetype::int, typtypmod, "
                    "typname FROM pg_type WHERE oid = %s",
                    (oid,),
                )
                found = cur.fetchone()
            if found is None:
                return None
            kind, category, element, base, base_typmod, name = found
            self._rows[oid] = (
                str(kind),
                str(category),
                int(element),
                int(base),
                int(base_typmod),
                str(name),
            )
        return self._rows[oid]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
