"""Every entry of the MySQL → DuckDB type map, through the snapshot and through the binlog."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from mysql_helpers import capture_until_caught_up, connect, normal, store_query

from kuaike.capture.mysql.types import MYSQL_TO_DUCKDB, arrow_type, duckdb_type

UTC = dt.UTC
# type map key → (column definition, SQL literal, value expected in ODS; None: same as source)
SAMPLES: dict[str, tuple[str, str, Any]] = {
    "tinyint": ("tinyint", "-128", -128),
    "tinyint unsigned": ("tinyint unsigned", "255", 255),
    "smallint": ("smallint", "-32768", -32768),
    "smallint unsigned": ("smallint unsigned", "65535", 65535),
    "mediumint": ("mediumint", "-8388608", -8388608),
    "mediumint unsigned": ("mediumint unsigned", "16777215", 16777215),
    "int": ("int", "-2147483648", -2147483648),
    "int unsigned": ("int unsigned", "4294967295", 4294967295),
    "integer": ("integer", "7", 7),
    "integer unsigned": ("integer unsigned", "4000000000", 4000000000),
    "bigint": ("bigint", "-9223372036854775808", -9223372036854775808),
    "bigint unsigned": ("bigint unsigned", "18446744073709551615", 18446744073709551615),
    "decimal": ("decimal(20,4)", "1234567890123456.7891", Decimal("1234567890123456.7891")),
    "numeric": ("numeric(10,2)", "-12345678.90", Decimal("-12345678.90")),
    "float": ("float", "1.5", 1.5),
    "double": ("double", "-2.25e100", -2.25e100),
    "bit": ("bit(10)", "b'1000000001'", 513),
    "year": ("year", "2155", 2155),
    "date": ("date", "'2024-02-29'", dt.date(2024, 2, 29)),
    "time": ("time", "'-12:34:56'", -dt.timedelta(hours=12, minutes=34, seconds=56)),
    "datetime": (
        "datetime(6)",
        "'2024-01-02 03:04:05.123456'",
        dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
    ),
    "timestamp": (
        "timestamp(3) NULL",
        "'2024-01-02 03:04:05.250'",
        dt.datetime(2024, 1, 2, 3, 4, 5, 250000),
    ),
    "char": ("char(4)", "'中文'", "中文"),
    "varchar": ("varchar(50)", "'快递 🚚 到了'", "快递 🚚 到了"),
    "tinytext": ("tinytext", "'短'", "短"),
    "text": ("text", "'北京市朝阳区'", "北京市朝阳区"),
    "mediumtext": ("mediumtext", "'中等'", "中等"),
    "longtext": ("longtext", "'很长的文本'", "很长的文本"),
    "enum": ("enum('寄件','派件')", "'派件'", "派件"),
    "set": ("set('a','b','c')", "'c,a'", "a,c"),
    "json": ("json", """'{"城市": [1, 2.5, null]}'""", '{"城市": [1, 2.5, null]}'),
    "binary": ("binary(3)", "x'00ff10'", b"\x00\xff\x10"),
    "varbinary": ("varbinary(8)", "x'deadbeef'", b"\xde\xad\xbe\xef"),
    "tinyblob": ("tinyblob", "x'00'", b"\x00"),
    "blob": ("blob", "x'5c7800ff'", b"\\x\x00\xff"),
    "mediumblob": ("mediumblob", "x'0102'", b"\x01\x02"),
    "longblob": ("longblob", "x'ffee'", b"\xff\xee"),
    "geometry": ("geometry", "ST_GeomFromText('POINT(1 2)')", None),
}


def _columns() -> list[tuple[str, str]]:
    return [(f"c{i}", key) for i, key in enumerate(SAMPLES)]


def test_every_type_in_the_map_has_a_sample() -> None:
    assert set(SAMPLES) == set(MYSQL_TO_DUCKDB)


@pytest.mark.parametrize("key", sorted(MYSQL_TO_DUCKDB))
def test_every_duckdb_type_has_an_arrow_carrier(key: str) -> None:
    duck = duckdb_type(key, 12, 3)
    carrier = arrow_type(duck)
    assert carrier != pa.string() or duck in ("VARCHAR", "JSON")


def test_each_type_arrives_equal_by_snapshot_and_by_binlog(mysql_url: str, tmp_path: Path) -> None:
    conn = connect(mysql_url)
    columns = _columns()
    definitions = ", ".join(f"{name} {SAMPLES[key][0]}" for name, key in columns)
    literals = ", ".join(SAMPLES[key][1] for _, key in columns)
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE crm_kinds (id int PRIMARY KEY, {definitions})")
        cur.execute(f"INSERT INTO crm_kinds VALUES (1, {literals})")
        cur.execute("INSERT INTO crm_kinds (id) VALUES (3)")
    store = tmp_path / "kinds.duckdb"
    capture_until_caught_up(mysql_url, store)  # row 1 and 3 by snapshot
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO crm_kinds VALUES (2, {literals})")
        cur.execute("INSERT INTO crm_kinds (id) VALUES (4)")
        cur.execute("UPDATE crm_kinds SET c0 = c0 WHERE id = 1")
    capture_until_caught_up(mysql_url, store)  # rows 2 and 4 by binlog

    types = dict(
        store_query(
            store,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'ods' AND table_name = 'tbl_kinds'",
        )
    )
    names = [name for name, _ in columns]
    rows = {
        row[0]: row[1:]
        for row in store_query(store, f"SELECT id, {', '.join(names)} FROM ods.tbl_kinds")
    }
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(names)} FROM crm_kinds WHERE id = 1")
        source = cur.fetchone()
    for i, (name, key) in enumerate(columns):
        _, _, expected = SAMPLES[key]
        wanted_type = duckdb_type(key, 20, 4) if key == "decimal" else None
        if key == "numeric":
            wanted_type = "DECIMAL(10,2)"
        canonical = store_query(
            store, f"SELECT typeof(CAST(NULL AS {wanted_type or MYSQL_TO_DUCKDB[key]}))"
        )
        assert types[name] == canonical[0][0], key
        want = normal(expected if expected is not None else source[i])
        assert normal(rows[1][i]) == want, f"{key} by snapshot"
        assert normal(rows[2][i]) == want, f"{key} by binlog"
        assert rows[3][i] is None and rows[4][i] is None, f"{key} NULL"
    changes = store_query(
        store, "SELECT change FROM _kuaike.schema_changes WHERE table_name = 'tbl_kinds'"
    )
    assert [c for (c,) in changes] == ["create_table"]  # snapshot and binlog agree on types
