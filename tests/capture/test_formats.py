"""Golden samples of every change format decode to the expected changes; encode → decode
round-trips every operation, NULLs, Chinese text, decimals and timestamps."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from kuaike.capture.events import Change, Column, blob_bytes
from kuaike.capture.formats import FORMATS, canal, debezium, maxwell, ogg
from kuaike.capture.formats.common import Naming
from kuaike.capture.registry import duckdb_type
from kuaike.errors import MessageError

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def test_ogg_reference_sample_strips_the_schema_and_keeps_typed_values() -> None:
    [change] = ogg.decode(golden("ogg_reference_update.json"))
    assert (change.table, change.op, change.key, change.namespace) == (
        "tbl_company",
        "update",
        ("id",),
        "ITCAST",
    )
    assert change.before is not None and change.after is not None
    assert change.before["company_name"] == "广州传智速递邮箱公司"
    assert change.after["company_name"] == "深圳传智速递邮箱公司"
    assert change.after["company_tel"] is None and change.after["city_id"] == 440100
    assert change.position == "00000000150000001981"
    assert change.commit_ts == datetime(2021, 2, 3, 4, 8, 20, 766, tzinfo=UTC)


def test_ogg_types_from_the_naming_restore_decimals_and_timestamps() -> None:
    naming = Naming(
        types={"tbl_company": {"cdt": "timestamp", "city_id": "bigint"}},
    )
    [change] = ogg.decode(golden("ogg_reference_update.json"), naming=naming)
    assert change.after is not None
    assert change.after["cdt"] == datetime(2020, 6, 13, 15, 24, 51)
    assert change.columns == (Column("cdt", "timestamp"), Column("city_id", "bigint"))


def test_canal_reference_sample_restores_types_and_builds_the_old_row() -> None:
    renames = Naming(renames=(("^crm_", "tbl_"),))
    [change] = canal.decode(golden("canal_reference_update.json"), naming=renames)
    assert (change.table, change.op, change.key, change.dialect) == (
        "tbl_address",
        "update",
        ("id",),
        "mysql",
    )
    assert change.after is not None and change.before is not None
    assert change.after["id"] == 1 and change.after["area_id"] == 310109
    assert change.after["cdt"] == datetime(2020, 2, 2, 18, 51)
    assert change.after["name"] == "杨玲玉" and change.before["name"] == "杨玉玲"
    assert change.before["detail_addr"] == "虹口区曲阳路500号202室"
    assert change.after["tel"] is None
    assert Column("area_id", "bigint(20)") in change.columns
    assert change.commit_ts == datetime(2021, 2, 3, 7, 32, 40, tzinfo=UTC)


def test_canal_delete_of_two_rows_gives_two_deletes_with_decimals_and_nulls() -> None:
    changes = canal.decode(golden("canal_delete_blank_database.json"))
    assert [c.op for c in changes] == ["delete", "delete"]
    assert changes[0].before == {
        "id": 7,
        "name": "王五",
        "amount": Decimal("-12.50"),
        "cdt": datetime(2020, 2, 2, 18, 51, 0, 250000),
    }
    assert changes[1].before == {"id": 8, "name": "赵六", "amount": None, "cdt": None}
    assert changes[0].namespace == ""


def test_debezium_with_schema_restores_decimal_bytes_and_debezium_times() -> None:
    [change] = debezium.decode(golden("debezium_pg_update_schema.json"), key=b'{"id":42}')
    assert (change.table, change.op, change.key, change.namespace) == (
        "orders",
        "update",
        ("id",),
        "public",
    )
    assert change.before is not None and change.after is not None
    assert change.before["amount"] == Decimal("12.34")
    assert change.after["amount"] == Decimal("-2.00")
    assert change.after["created"] == datetime(2021, 2, 3, 4, 5, 20, 511)
    assert change.after["signed_at"] == datetime(2021, 2, 3, 4, 5, 20, 500000, tzinfo=UTC)
    assert change.after["day"] == date(2021, 2, 3)
    assert change.after["paid"] is True and change.before["signed_at"] is None
    assert change.after["receiver"] == "李四"
    assert change.position == "24023928"
    types = dict((c.name, c.type) for c in change.columns)
    assert types["amount"] == "numeric" and types["created"] == "timestamp"


def test_debezium_source_types_in_postgresql_spelling_map_to_their_duckdb_types() -> None:
    """With `column.propagate.source.type`, Debezium's PostgreSQL connector names columns'
    types as pg_type does (INT8, FLOAT8, BOOL), not as the catalog prints them."""
    fields = [
        ("id", "int64", "INT8", 42),
        ("n", "int32", "INT4", 7),
        ("ratio", "float64", "FLOAT8", 0.5),
        ("paid", "boolean", "BOOL", True),
    ]
    row = [
        {"type": kind, "field": name, "parameters": {debezium.SOURCE_TYPE: source}}
        for name, kind, source, _ in fields
    ]
    schema = {"type": "struct", "fields": [{"type": "struct", "field": "after", "fields": row}]}
    source = {"connector": "postgresql", "schema": "public", "table": "t", "lsn": 1}
    payload = {"op": "c", "after": {n: v for n, _, _, v in fields}, "source": source}
    [change] = debezium.decode(json.dumps({"schema": schema, "payload": payload}).encode())
    types = {c.name: duckdb_type(change.dialect, c.type) for c in change.columns}
    assert types == {"id": "BIGINT", "n": "INTEGER", "ratio": "DOUBLE", "paid": "BOOLEAN"}
    assert change.after == {"id": 42, "n": 7, "ratio": 0.5, "paid": True}


def test_debezium_without_schema_and_its_tombstone() -> None:
    [change] = debezium.decode(golden("debezium_mysql_delete_no_schema.json"))
    assert (change.op, change.dialect, change.position) == ("delete", "mysql", "binlog.000003:4711")
    assert change.before == {"id": 9, "name": "王五", "amount": "3.10"}
    assert debezium.decode(None, key=b'{"id":9}') == []


def test_debezium_key_with_its_schema_names_the_key_columns() -> None:
    key = b'{"schema":{"type":"struct","fields":[]},"payload":{"order_id":1,"line":2}}'
    [change] = debezium.decode(golden("debezium_mysql_delete_no_schema.json"), key=key)
    assert change.key == ("order_id", "line")


def test_maxwell_update_rebuilds_the_old_row_from_old() -> None:
    [change] = maxwell.decode(golden("maxwell_update.json"))
    assert (change.table, change.op, change.key, change.position) == (
        "crm_customer",
        "update",
        ("id",),
        "binlog.000006:800911",
    )
    assert change.after == {
        "id": 5,
        "name": "陈七",
        "amount": 8.5,
        "cdt": "2020-02-02 18:51:00",
        "remark": None,
    }
    assert change.before is not None
    assert change.before["name"] == "陈八" and change.before["amount"] == 7.25


@pytest.mark.parametrize(
    ("fmt", "message", "error"),
    [
        (ogg, b"{not json", "not JSON"),
        (ogg, b'{"table":"A.t","op_type":"X"}', "unknown op_type"),
        (ogg, b'{"op_type":"I","after":{}}', "field 'table' is missing"),
        (canal, b'{"type":"INSERT","table":"t","data":{"id":"1"}}', "field 'data' is a dict"),
        (
            canal,
            b'{"type":"INSERT","table":"t","data":[{"id":"x"}],"mysqlType":{"id":"int"}}',
            "value 'x' is not a int",
        ),
        (debezium, b"[1,2]", "not list"),
        (debezium, b'{"op":"c","source":{"table":"t"},"after":null}', "without after"),
        (maxwell, b'{"type":"insert","table":"t","data":7}', "field 'data' is a int"),
    ],
)
def test_malformed_messages_say_what_is_wrong(fmt, message: bytes, error: str) -> None:
    with pytest.raises(MessageError, match=error):
        fmt.decode(message)


COLUMNS = (
    Column("id", "bigint"),
    Column("name", "varchar(50)"),
    Column("amount", "numeric(12,2)"),
    Column("created", "timestamp"),
    Column("day", "date"),
    Column("remark", "text"),
)
ROW = {
    "id": 7,
    "name": "广州传智速递",
    "amount": Decimal("-1234.50"),
    "created": datetime(2021, 2, 3, 4, 5, 40, 511),
    "day": date(2021, 2, 3),
    "remark": None,
}
NEW = {**ROW, "name": "深圳传智速递", "amount": Decimal("0.07")}
STAMP = datetime(2021, 2, 3, 4, 5, 40, tzinfo=UTC)


def changes(with_truncate: bool) -> list[Change]:
    common = {"key": ("id",), "columns": COLUMNS, "namespace": "crm", "commit_ts": STAMP}
    made = [
        Change("tbl_x", "insert", after=ROW, position="11", **common),  # type: ignore[arg-type]
        Change("tbl_x", "update", before=ROW, after=NEW, position="12", **common),  # type: ignore[arg-type]
        Change("tbl_x", "delete", before=NEW, position="13", **common),  # type: ignore[arg-type]
        Change("tbl_x", "snapshot", after=ROW, position="14", **common),  # type: ignore[arg-type]
    ]
    if with_truncate:
        made.append(Change("tbl_x", "truncate", position="15", **common))  # type: ignore[arg-type]
    return made


def _typed_naming() -> Naming:
    return Naming(types={"tbl_x": {c.name: c.type for c in COLUMNS}})


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_encode_then_decode_round_trips_every_operation(name: str) -> None:
    fmt = FORMATS[name]
    for change in changes(with_truncate=name not in ("maxwell",)):
        key = debezium.encode_key(change)
        [back] = fmt.decode(fmt.encode(change), key=key, naming=_typed_naming())
        op = change.op if change.op in fmt.OPS.values() else "insert"  # no snapshot op there
        assert (back.table, back.op, back.key) == (change.table, op, change.key)
        assert back.row == change.row, name
        if change.op == "update":
            assert back.before == change.before
        assert back.commit_ts == change.commit_ts
        if name in ("debezium", "canal"):  # the formats that carry column types
            assert dict((c.name, c.type) for c in back.columns) == {c.name: c.type for c in COLUMNS}


def test_debezium_without_schema_round_trips_with_types_from_the_naming() -> None:
    for change in changes(with_truncate=True):
        encoded = debezium.encode(change, schemas=False)
        assert not encoded.startswith(b'{"schema"')
        [back] = debezium.decode(encoded, debezium.encode_key(change), naming=_typed_naming())
        assert back.row == change.row and back.op == change.op


MYSQL_TYPED = (Column("id", "bigint"), Column("raw", "blob"), Column("span", "time"))
BINARY = b"\x00\xff\x80'\"\\A"


def _mysql_change() -> Change:
    after = {"id": 1, "raw": BINARY, "span": -timedelta(hours=838, minutes=59, seconds=59)}
    return Change("t", "insert", ("id",), None, after, MYSQL_TYPED, "mysql", "crm", "f:4")


@pytest.mark.parametrize("name", ["debezium", "canal"])
def test_mysql_blobs_and_time_spans_travel_as_the_format_writes_them(name: str) -> None:
    """A BLOB as base64 (Debezium) or a character per byte (Canal), a TIME as a span of up to
    838 hours either way; decoded, the BLOB is DuckDB's escaped text (what a ChangeBatch
    carries) and the TIME a span again."""
    message = FORMATS[name].encode(_mysql_change())
    payload = json.loads(message)
    if name == "debezium":
        after = payload["payload"]["after"]
        assert base64.b64decode(after["raw"]) == BINARY
        assert after["span"] == -(838 * 3600 + 59 * 60 + 59) * 1_000_000
    else:
        assert payload["data"][0]["raw"].encode("latin-1") == BINARY
        assert payload["data"][0]["span"] == "-838:59:59"
    [change] = FORMATS[name].decode(message)
    assert change.after is not None
    assert blob_bytes(change.after["raw"]) == BINARY
    assert change.after["span"] == -timedelta(hours=838, minutes=59, seconds=59)
    types = {c.name: duckdb_type("mysql", c.type) for c in change.columns}
    assert (types["raw"], types["span"]) == ("BLOB", "INTERVAL")


def test_a_debezium_time_from_postgresql_is_a_time_of_day() -> None:
    row = [{"type": "int64", "field": "at", "name": "io.debezium.time.MicroTime"}]
    schema = {"type": "struct", "fields": [{"type": "struct", "field": "after", "fields": row}]}
    source = {"connector": "postgresql", "table": "t", "lsn": 1}
    payload = {"op": "c", "after": {"at": 45_296_000_001}, "source": source}
    [change] = debezium.decode(json.dumps({"schema": schema, "payload": payload}).encode())
    assert change.after == {"at": time(12, 34, 56, 1)}


def test_a_blob_that_is_not_base64_is_a_malformed_message() -> None:
    row = [{"type": "bytes", "field": "raw", "parameters": {debezium.SOURCE_TYPE: "blob"}}]
    schema = {"type": "struct", "fields": [{"type": "struct", "field": "after", "fields": row}]}
    source = {"connector": "mysql", "table": "t", "pos": 4, "file": "b.1"}
    payload = {"op": "c", "after": {"raw": "not base64!"}, "source": source}
    with pytest.raises(MessageError, match="raw"):
        debezium.decode(json.dumps({"schema": schema, "payload": payload}).encode())
