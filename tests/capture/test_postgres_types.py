"""Every entry of the PostgreSQL type map, with real values, through the snapshot and the stream.

Each sample is (PostgreSQL literal, what `CAST(column AS VARCHAR)` shows in the replica), the
second written by hand from PostgreSQL's and DuckDB's documented formats. Lists are compared
as Python values. NULL is a sample of every column.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from pg_replica import capture_until_caught_up, pg

from kuaike.capture.postgres.types import POSTGRES_TO_DUCKDB

UUID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
NOTED = object()
"""Expected: NULL in the replica, the source text in `_kuaike.value_notes`."""

SAMPLES: dict[str, tuple[str, list[tuple[str, Any]]]] = {
    # map entry: (column type in the DDL, [(literal, replica text)])
    "smallint": ("smallint", [("-32768", "-32768"), ("32767", "32767")]),
    "integer": ("integer", [("-2147483648", "-2147483648")]),
    "bigint": ("bigint", [("9223372036854775807", "9223372036854775807")]),
    "real": ("real", [("'NaN'", "nan"), ("'-Infinity'", "-inf"), ("1.5", "1.5")]),
    "double precision": (
        "double precision",
        [("3.141592653589793", "3.141592653589793"), ("'Infinity'", "inf")],
    ),
    "numeric": (
        "numeric(12,2)",
        [("1234567890.12", "1234567890.12"), ("'NaN'", NOTED), ("-0.01", "-0.01")],
    ),
    "boolean": ("boolean", [("true", "true"), ("false", "false")]),
    "int2": ("int2", [("-32768", "-32768")]),
    "int4": ("int4", [("2147483647", "2147483647")]),
    "int8": ("int8", [("-9223372036854775808", "-9223372036854775808")]),
    "float4": ("float4", [("-2.5", "-2.5")]),
    "float8": ("float8", [("1e300", "1e+300")]),
    "bool": ("bool", [("false", "false")]),
    "decimal": ("decimal(5,3)", [("-12.345", "-12.345")]),
    "text": (
        "text",
        [("E'a,b \"q\" {x} \\\\ ''s'' 中文'", "a,b \"q\" {x} \\ 's' 中文"), ("''", "")],
    ),
    "varchar": ("varchar(20)", [("'x,\"y\"'", 'x,"y"')]),
    "character varying": ("character varying", [("'中文,\n二行'", "中文,\n二行")]),
    "bpchar": ("bpchar", [("'ab '", "ab ")]),
    "character": ("character(3)", [("'ab'", "ab ")]),
    "date": (
        "date",
        [
            ("'2024-02-29'", "2024-02-29"),
            ("'infinity'", "infinity"),
            ("'-infinity'", "-infinity"),
            ("'0044-03-15 BC'", "0044-03-15 (BC)"),
        ],
    ),
    "time": ("time", [("'24:00:00'", "24:00:00"), ("'23:59:59.999999'", "23:59:59.999999")]),
    "timestamp": (
        "timestamp",
        [("'infinity'", "infinity"), ("'2024-01-01 12:34:56.789'", "2024-01-01 12:34:56.789")],
    ),
    "timestamp without time zone": (
        "timestamp without time zone",
        [("'-infinity'", "-infinity"), ("'0044-03-15 12:00:00 BC'", "0044-03-15 (BC) 12:00:00")],
    ),
    "timestamptz": (
        "timestamptz",
        [("'2024-01-01 12:00:00+08'", "2024-01-01 04:00:00+00"), ("'infinity'", "infinity")],
    ),
    "timestamp with time zone": (
        "timestamp with time zone",
        [("'0044-03-15 12:00:00+00 BC'", "0044-03-15 (BC) 12:00:00+00")],
    ),
    "time with time zone": ("time with time zone", [("'12:00:00+05:30'", "12:00:00+05:30")]),
    "timetz": ("timetz", [("'24:00:00+00'", "24:00:00+00")]),
    "interval": (
        "interval",
        [
            ("'-3 days +2 hours'", "-3 days 02:00:00"),
            ("'1 year 2 months'", "1 year 2 months"),
            ("'-1 second'", "-00:00:01"),
            ("'1 mon -1 day -00:00:00.5'", "1 month -1 day -00:00:00.5"),
        ],
    ),
    "uuid": ("uuid", [(f"'{UUID.upper()}'", UUID)]),
    "json": ("json", [('\'{"a": [1, "x,y"]}\'', '{"a": [1, "x,y"]}')]),
    "jsonb": ("jsonb", [('\'{"b":1,  "a": "中"}\'', '{"a": "中", "b": 1}')]),
    "bytea": ("bytea", [("'\\x00ff41'::bytea", "\\x00\\xFFA"), ("''::bytea", "")]),
    "oid": ("oid", [("4294967295", "4294967295")]),
    "name": ("name", [("'pg_class'", "pg_class")]),
    "char": ('"char"', [("'x'", "x")]),
    "inet": ("inet", [("'192.168.0.1/24'", "192.168.0.1/24"), ("'::1'", "::1")]),
    "cidr": ("cidr", [("'10.0.0.0/8'", "10.0.0.0/8")]),
    "macaddr": ("macaddr", [("'08-00-2B-01-02-03'", "08:00:2b:01:02:03")]),
    "macaddr8": ("macaddr8", [("'08:00:2b:01:02:03:04:05'", "08:00:2b:01:02:03:04:05")]),
    "money": ("money", [("12.34", "$12.34")]),
    "bit": ("bit(3)", [("B'101'", "101")]),
    "varbit": ("varbit", [("B'1101'", "1101")]),
    "xml": ("xml", [("'<a x=\"1\">中</a>'", '<a x="1">中</a>')]),
    "tsvector": ("tsvector", [("'fat cat'", "'cat' 'fat'")]),
    "enum": ("mood", [("'happy'", "happy"), ("'很好'", "很好")]),
    "composite": ("pair", [("ROW(1, 'a,b')::pair", '(1,"a,b")')]),
    "range": ("int4range", [("'[1,5)'", "[1,5)"), ("'empty'", "empty")]),
}

EXTRA: dict[str, tuple[str, str, list[tuple[str, Any]]]] = {
    # column: (DDL type, ODS type, [(literal, replica value)]): what the map's rules make of
    # types it has no entry of its own for
    "plain_numeric": (
        "numeric",
        "VARCHAR",
        [
            (
                "'123456789012345678901234567890.123456789'",
                "123456789012345678901234567890.123456789",
            ),
            ("'NaN'", "NaN"),
            ("'-Infinity'", "-Infinity"),
        ],
    ),
    "amount": ("amount", "DECIMAL(10,3)", [("1.5", "1.500")]),
    "ints": (
        "integer[]",
        "INTEGER[]",
        [("'{1,NULL,3}'", [1, None, 3]), ("'{}'", []), ("'{{1,2},{3,4}}'", NOTED)],
    ),
    "texts": (
        "text[]",
        "VARCHAR[]",
        [
            (
                "ARRAY['a,b', 'q\"x', NULL, 'NULL', '{b}', E'\\\\', '中文', ' sp ']",
                ["a,b", 'q"x', None, "NULL", "{b}", "\\", "中文", " sp "],
            )
        ],
    ),
    "amounts": ("numeric(10,2)[]", "DECIMAL(10,2)[]", [("'{1.5,NaN}'", [Decimal("1.50"), None])]),
    "days": ("date[]", "DATE[]", [("ARRAY['2024-01-02'::date, 'infinity']", None)]),
    "spans": ("interval[]", "INTERVAL[]", [("ARRAY['-3 days +2 hours'::interval]", None)]),
    "moods": ("mood[]", "VARCHAR[]", [("'{happy,很好}'", ["happy", "很好"])]),
    "blobs": ("bytea[]", "BLOB[]", [("ARRAY['\\x00ff'::bytea]", [b"\x00\xff"])]),
}


def _columns() -> dict[str, tuple[str, list[tuple[str, Any]]]]:
    columns = {f"c_{i}": sample for i, sample in enumerate(SAMPLES.values())}
    columns.update({name: (ddl, values) for name, (ddl, _, values) in EXTRA.items()})
    return columns


def _create(url: str) -> None:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute("CREATE TYPE mood AS ENUM ('happy', '很好')")
        cur.execute("CREATE TYPE pair AS (n integer, s text)")
        cur.execute("CREATE DOMAIN amount AS numeric(10,3)")
        ddl = ", ".join(f"{name} {kind}" for name, (kind, _) in _columns().items())
        cur.execute(f"CREATE TABLE every_type (id integer PRIMARY KEY, {ddl})")
    conn.close()


def _rows() -> int:
    return max(len(values) for _, values in _columns().values()) + 1  # the last: all NULL


def _insert(url: str, first: int) -> None:
    columns = _columns()
    conn = pg(url)
    with conn.cursor() as cur:
        for row in range(_rows()):
            values = [vals[row][0] if row < len(vals) else "NULL" for _, vals in columns.values()]
            cur.execute(
                f"INSERT INTO every_type (id, {', '.join(columns)}) "
                f"VALUES ({first + row}, {', '.join(values)})"
            )
    conn.close()


def _check(store: Path, first: int) -> None:
    columns = _columns()
    con = duckdb.connect(str(store), read_only=True)
    try:
        for name, (_, values) in columns.items():
            for row in range(_rows()):
                expected = values[row][1] if row < len(values) else None
                if expected is None and row < len(values):
                    continue  # checked below (a list of special values)
                got = con.execute(
                    f"SELECT {name}, CAST({name} AS VARCHAR) FROM ods.every_type WHERE id = ?",
                    [first + row],
                ).fetchone()
                assert got is not None
                value = got[0] if isinstance(got[0], list) else got[1]
                wanted = None if expected is NOTED else expected
                assert value == wanted, (name, values[row][0] if row < len(values) else "NULL")
    finally:
        con.close()


def test_every_mapped_type_converts_in_snapshot_and_stream(pg_url: str, tmp_path: Path) -> None:
    assert set(SAMPLES) == set(POSTGRES_TO_DUCKDB), "every entry of the type map has samples"
    store = tmp_path / "store.duckdb"
    _create(pg_url)
    _insert(pg_url, 0)
    capture_until_caught_up(pg_url, store)  # the snapshot
    _insert(pg_url, 100)
    capture_until_caught_up(pg_url, store)  # the stream
    _check(store, 0)
    _check(store, 100)
    con = duckdb.connect(str(store), read_only=True)
    try:
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'ods' AND table_name = 'every_type'"
            ).fetchall()
        )
        for name, (_, ods_type, _) in EXTRA.items():
            assert types[name] == ods_type, name
        specials = con.execute(
            "SELECT list_transform(days, d -> CAST(d AS VARCHAR)), "
            "list_transform(spans, s -> CAST(s AS VARCHAR)) "
            "FROM ods.every_type WHERE id IN (0, 100) ORDER BY id"
        ).fetchall()
        for days, spans in specials:
            assert days == ["2024-01-02", "infinity"]
            assert spans == ["-3 days 02:00:00"]
        notes = con.execute(
            "SELECT column_name, value, count(*) FROM _kuaike.value_notes GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    numeric = f"c_{list(SAMPLES).index('numeric')}"
    assert notes == sorted(
        [("amounts", "{1.50,NaN}", 2), ("ints", "{{1,2},{3,4}}", 2), (numeric, "NaN", 2)]
    )
