"""MySQL/MariaDB → DuckDB types, as data: one dict for the types, one for the value fixes.

A column type is named as `information_schema.columns.data_type` names it, plus ` unsigned` for
unsigned integers (`bigint unsigned`). The binlog's table-map metadata is named the same way by
`binlog_type_name`, so the snapshot and the stream create the same ODS columns.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

# DuckDB type per MySQL type; `{p}` / `{s}` are a DECIMAL's precision and scale.
MYSQL_TO_DUCKDB: dict[str, str] = {
    "tinyint": "TINYINT",
    "tinyint unsigned": "UTINYINT",
    "smallint": "SMALLINT",
    "smallint unsigned": "USMALLINT",
    "mediumint": "INTEGER",
    "mediumint unsigned": "UINTEGER",
    "int": "INTEGER",
    "int unsigned": "UINTEGER",
    "integer": "INTEGER",
    "integer unsigned": "UINTEGER",
    "bigint": "BIGINT",
    "bigint unsigned": "UBIGINT",
    "decimal": "DECIMAL({p},{s})",
    "numeric": "DECIMAL({p},{s})",
    "float": "FLOAT",
    "double": "DOUBLE",
    "bit": "UBIGINT",
    "year": "SMALLINT",
    "date": "DATE",
    "time": "INTERVAL",  # MySQL TIME spans -838:59:59..838:59:59, more than a time of day
    "datetime": "TIMESTAMP",
    "timestamp": "TIMESTAMPTZ",  # stored as UTC by the server; read as UTC
    "char": "VARCHAR",
    "varchar": "VARCHAR",
    "tinytext": "VARCHAR",
    "text": "VARCHAR",
    "mediumtext": "VARCHAR",
    "longtext": "VARCHAR",
    "enum": "VARCHAR",
    "set": "VARCHAR",  # members joined by commas in definition order, as MySQL prints them
    "json": "JSON",
    "binary": "BLOB",
    "varbinary": "BLOB",
    "tinyblob": "BLOB",
    "blob": "BLOB",
    "mediumblob": "BLOB",
    "longblob": "BLOB",
    "geometry": "BLOB",
}

DUCKDB_DECIMAL_MAX_PRECISION = 38


def duckdb_type(mysql_type: str, precision: int | None = None, scale: int | None = None) -> str:
    """The DuckDB type for a MySQL type name; DECIMAL wider than DuckDB's 38 digits → VARCHAR.

    >>> duckdb_type("decimal", 10, 2)
    'DECIMAL(10,2)'
    """
    template = MYSQL_TO_DUCKDB.get(mysql_type, "VARCHAR")
    if "{p}" in template:
        p = precision or 10
        if p > DUCKDB_DECIMAL_MAX_PRECISION:
            return "VARCHAR"  # exact digits kept as text rather than rounded
        return template.format(p=p, s=scale or 0)
    return template


def _utc(value: Any) -> Any:
    """TIMESTAMP values arrive naive in UTC (binlog, and a snapshot session at +00:00)."""
    if value == _BINLOG_ZERO_TIMESTAMP:
        return None  # the zero timestamp: TIMESTAMP's range starts one second later
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return _zero_date(value)


_BINLOG_ZERO_TIMESTAMP = dt.datetime(1970, 1, 1)
"""How mysql-replication reads the zero TIMESTAMP `0000-00-00 00:00:00` (0 seconds)."""


def _year(value: Any) -> Any:
    """mysql-replication reads YEAR as 1900 + its byte, so year 0000 arrives as 1900 (a year
    YEAR cannot hold: its range is 1901-2155 and 0000)."""
    return 0 if value == 1900 else value


def _zero_date(value: Any) -> Any:
    """A zero date (`0000-00-00`, or a zero month or day, which MySQL accepts outside strict
    mode) has no DATE value: PyMySQL hands its text, the binlog library None; both are NULL."""
    return None if isinstance(value, str) else value


def _bit(value: Any) -> Any:
    """BIT arrives as bytes (snapshot) or as a string of 0/1 (binlog); both become an int."""
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    if isinstance(value, str):
        return int(value, 2) if value else 0
    return value


def _json_text(value: Any) -> Any:
    """MariaDB's JSON is text already; MySQL's binary JSON arrives decoded, with bytes keys."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(_decode_bytes(value), ensure_ascii=False)


def _decode_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {_decode_bytes(k): _decode_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_bytes(v) for v in value]
    return value


def _decimal_text(value: Any) -> Any:
    """Exact digits, never an exponent (`-1E-30` is `-0.000...001` at scale 30)."""
    return None if value is None else format(value, "f")


# Value fixes per MySQL type, applied to snapshot and binlog values alike (None stays None).
VALUE_FIXES: dict[str, Callable[[Any], Any]] = {
    "timestamp": _utc,
    "date": _zero_date,
    "year": _year,
    "datetime": _zero_date,
    "bit": _bit,
    "json": _json_text,
}


def value_fix(mysql_type: str, duck_type: str) -> Callable[[Any], Any] | None:
    """The function that turns a driver value into what the DuckDB column takes, if any."""
    if mysql_type in ("decimal", "numeric") and duck_type == "VARCHAR":
        return _decimal_text
    return VALUE_FIXES.get(mysql_type)


# pymysqlreplication FIELD_TYPE codes → MySQL type names (strings/blobs resolved by charset).
FIELD_TYPE_NAMES: dict[int, str] = {
    1: "tinyint",
    2: "smallint",
    3: "int",
    4: "float",
    5: "double",
    7: "timestamp",
    8: "bigint",
    9: "mediumint",
    10: "date",
    11: "time",
    12: "datetime",
    13: "year",
    15: "varchar",
    16: "bit",
    17: "timestamp",
    18: "datetime",
    19: "time",
    245: "json",
    246: "decimal",
    247: "enum",
    248: "set",
    252: "blob",
    253: "varchar",
    254: "char",
    255: "geometry",
}
_INTEGERS = {"tinyint", "smallint", "mediumint", "int", "bigint"}
_BINARY_OF = {"varchar": "varbinary", "char": "binary", "blob": "blob"}
_TEXT_OF = {"varchar": "varchar", "char": "char", "blob": "text"}


_BLOB_SIZES = {1: "tiny", 2: "", 3: "medium", 4: "long"}  # by the length prefix's bytes


def binlog_type_name(column: Any) -> str:
    """Name a binlog table-map column (pymysqlreplication `Column`) as information_schema does."""
    name = FIELD_TYPE_NAMES.get(int(column.type), "varchar")
    if name in _INTEGERS and getattr(column, "unsigned", False):
        return f"{name} unsigned"
    if name in _BINARY_OF:
        binary = getattr(column, "character_set_name", None) == "binary"
        name = _BINARY_OF[name] if binary else _TEXT_OF[name]
        if name in ("blob", "text"):
            name = _BLOB_SIZES.get(getattr(column, "length_size", 2), "") + name
    return name


@dataclass(frozen=True)
class MySQLColumn:
    """A source column: MySQL type name, its text for TableSchema, its DuckDB type."""

    name: str
    mysql_type: str
    type_text: str  # `decimal(12,3)`, `bigint unsigned`, `datetime`
    duck_type: str
    is_primary: bool = False
    set_values: tuple[str, ...] | None = None

    @classmethod
    def of(
        cls,
        name: str,
        mysql_type: str,
        precision: int | None = None,
        scale: int | None = None,
        **extra: Any,
    ) -> MySQLColumn:
        """Describe a column from its MySQL type name (and a DECIMAL's precision and scale)."""
        text = mysql_type
        if mysql_type in ("decimal", "numeric"):
            text = f"{mysql_type}({int(precision or 10)},{int(scale or 0)})"
        return cls(name, mysql_type, text, duckdb_type(mysql_type, precision, scale), **extra)

    @property
    def fix(self) -> Callable[[Any], Any] | None:
        return value_fix(self.mysql_type, self.duck_type)


def with_json(columns: tuple[MySQLColumn, ...], json_names: set[str]) -> tuple[MySQLColumn, ...]:
    """MariaDB's JSON is LONGTEXT with a json_valid() check: name those columns `json`."""
    if not json_names:
        return columns
    return tuple(
        MySQLColumn.of(c.name, "json", is_primary=c.is_primary) if c.name in json_names else c
        for c in columns
    )


def binlog_column(column: Any) -> MySQLColumn:
    """Describe a binlog table-map column (needs binlog_row_metadata=FULL for name and key)."""
    set_values = getattr(column, "set_values", None)
    return MySQLColumn.of(
        str(column.name),
        binlog_type_name(column),
        getattr(column, "precision", None),
        getattr(column, "decimals", None),
        is_primary=bool(getattr(column, "is_primary", False)),
        set_values=tuple(set_values) if set_values else None,
    )


def schema_type_name(data_type: str, column_type: str) -> str:
    """Name an information_schema column: `data_type`, plus ` unsigned` for unsigned integers."""
    name = data_type.lower()
    if name in _INTEGERS and "unsigned" in column_type.lower():
        return f"{name} unsigned"
    return name


# Arrow type per DuckDB type, for snapshot chunks (DECIMAL handled by `arrow_type`).
DUCKDB_TO_ARROW: dict[str, pa.DataType] = {
    "TINYINT": pa.int8(),
    "UTINYINT": pa.uint8(),
    "SMALLINT": pa.int16(),
    "USMALLINT": pa.uint16(),
    "INTEGER": pa.int32(),
    "UINTEGER": pa.uint32(),
    "BIGINT": pa.int64(),
    "UBIGINT": pa.uint64(),
    "FLOAT": pa.float32(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
    "INTERVAL": pa.duration("us"),
    "TIMESTAMP": pa.timestamp("us"),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "VARCHAR": pa.string(),
    "JSON": pa.string(),
    "BLOB": pa.binary(),
}


def arrow_type(duck_type: str) -> pa.DataType:
    """The Arrow type that carries values of a DuckDB column type.

    >>> arrow_type("DECIMAL(12,3)")
    Decimal128Type(decimal128(12, 3))
    """
    if duck_type.startswith("DECIMAL("):
        precision, scale = duck_type[len("DECIMAL(") : -1].split(",")
        return pa.decimal128(int(precision), int(scale))
    return DUCKDB_TO_ARROW.get(duck_type, pa.string())
