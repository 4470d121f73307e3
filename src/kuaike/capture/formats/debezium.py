"""Debezium JSON: the envelope with or without `schema` (the JSON converter's
`schemas.enable`), `op` c/u/d/r/t, `before`, `after`, `source`, `ts_ms`; tombstones (a null
value after a delete) carry nothing and decode to no change (serving.md §5).

With a schema, values get their types back from the Connect type and Debezium's semantic type
names (`org.apache.kafka.connect.data.Decimal` as base64 big-endian bytes, `MicroTimestamp`,
`Date` as days, ...); a field's `__debezium.source.column.type` parameter (Debezium's
`column.propagate.source.type`) names the source type. The key comes from the message key
(`{"id": 1}`, with or without its schema), else from the `Naming`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import orjson

from kuaike.capture.events import Change, Column
from kuaike.capture.formats.common import (
    DEFAULT_NAMING,
    MYSQL_RESTORE,
    RESTORE,
    Naming,
    columns_of,
    dumps,
    family,
    loads,
    need,
    restore_row,
    restorer,
    typed,
)
from kuaike.errors import MessageError

OPS: dict[str, Any] = {"c": "insert", "u": "update", "d": "delete", "r": "snapshot"}
OPS |= {"t": "truncate"}
CODES = {op: code for code, op in OPS.items()}

EPOCH = datetime(1970, 1, 1)
EPOCH_DATE = date(1970, 1, 1)
SOURCE_TYPE = "__debezium.source.column.type"


def _decimal(value: Any, field: dict[str, Any]) -> Decimal:
    return _scaled(value, -int(field.get("parameters", {}).get("scale", 0)))


def _scaled(value: Any, exponent: int) -> Decimal:
    if not isinstance(value, str):
        return Decimal(str(value))
    unscaled = int.from_bytes(binascii.a2b_base64(value), "big", signed=True)
    return Decimal(unscaled).scaleb(exponent)


def _variable_decimal(value: Any, field: dict[str, Any]) -> Decimal:
    return _decimal(value["value"], {"parameters": {"scale": value["scale"]}})


def _time_of_day(micros: int) -> time:
    return (datetime.min + timedelta(microseconds=micros)).time()


SEMANTIC: dict[str, tuple[str, Callable[[Any, dict[str, Any]], Any]]] = {
    "org.apache.kafka.connect.data.Decimal": ("numeric", _decimal),
    "io.debezium.data.VariableScaleDecimal": ("numeric", _variable_decimal),
    "io.debezium.time.Timestamp": ("timestamp", lambda v, f: EPOCH + timedelta(milliseconds=v)),
    "org.apache.kafka.connect.data.Timestamp": (
        "timestamp",
        lambda v, f: EPOCH + timedelta(milliseconds=v),
    ),
    "io.debezium.time.MicroTimestamp": (
        "timestamp",
        lambda v, f: EPOCH + timedelta(microseconds=v),
    ),
    "io.debezium.time.NanoTimestamp": (
        "timestamp",
        lambda v, f: EPOCH + timedelta(microseconds=v // 1000),
    ),
    "io.debezium.time.ZonedTimestamp": ("timestamptz", lambda v, f: datetime.fromisoformat(v)),
    "io.debezium.time.Date": ("date", lambda v, f: EPOCH_DATE + timedelta(days=v)),
    "org.apache.kafka.connect.data.Date": ("date", lambda v, f: EPOCH_DATE + timedelta(days=v)),
    # a span first: MySQL's TIME is one (-838:59:59 to 838:59:59); decode() makes it a time of
    # day for other sources
    "io.debezium.time.MicroTime": ("time", lambda v, f: timedelta(microseconds=v)),
    "io.debezium.time.Time": ("time", lambda v, f: timedelta(milliseconds=v)),
}
"""Debezium / Connect semantic type name → (source type, how a value is restored)."""

SPANS = frozenset({"io.debezium.time.MicroTime", "io.debezium.time.Time"})

CONNECT_TYPES: dict[str, str] = {
    "int8": "smallint",
    "int16": "smallint",
    "int32": "integer",
    "int64": "bigint",
    "float32": "real",
    "float64": "double precision",
    "boolean": "boolean",
    "string": "text",
    "bytes": "bytea",
}
"""Connect type → source type, for fields without a semantic name."""


Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class Described:
    """What an envelope schema says, worked out once per schema: each column's source type,
    and how its values are restored (no entry: kept as they came)."""

    types: dict[str, str]
    converts: tuple[tuple[str, Convert, str], ...]
    """(column, how its values are restored, its source type) for the restored columns."""
    columns: tuple[Column, ...]
    spans: tuple[str, ...] = ()
    """The columns of a Debezium time type, restored as spans (see SEMANTIC)."""


NO_SCHEMA = Described({}, (), ())
HEAD, SPLIT = b'{"schema":', b',"payload":'
_described: dict[bytes, Described] = {}
"""Envelope schema bytes → what they describe: a topic repeats one schema in every message,
so after the first only the payload is parsed."""
_last: list[tuple[bytes, Described]] = []
"""The last schema seen, as the bytes a message starts with up to its payload: most messages
repeat the one before's, which one comparison tells (no search for the payload, no hashing
of the schema's bytes)."""


def decode(
    value: bytes | None, key: bytes | None = None, naming: Naming = DEFAULT_NAMING
) -> list[Change]:
    """The change of one Debezium message (none for a tombstone); MessageError if malformed."""
    if not value:
        return []
    described, payload = _parse(value)
    code = payload.get("op") if type(payload) is dict else None
    op = OPS.get(code) if type(code) is str else None
    if op is None:
        code = need(payload, "op", str)
        raise MessageError(f"unknown op {code!r} (c, u, d, r or t)")
    source = payload.get("source")
    name = source.get("table") if type(source) is dict else None
    if type(name) is not str:
        name = need(need(payload, "source", dict), "table", str)
    table = naming.table(name)
    mysql = source.get("connector") == "mysql"
    if described.types:
        columns = described.columns
        before = _row(payload.get("before"), described.converts)
        after = _row(payload.get("after"), described.converts)
        if described.spans and not mysql:
            _times_of_day(before, described.spans)
            _times_of_day(after, described.spans)
    else:
        types = naming.column_types(table)
        columns = columns_of(types)
        restores = MYSQL_RESTORE if mysql else RESTORE
        before = _untyped_row(payload.get("before"), types, restores)
        after = _untyped_row(payload.get("after"), types, restores)
    if op != "truncate" and (before if op == "delete" else after) is None:
        raise MessageError(f"op {code!r} without {'before' if op == 'delete' else 'after'}")
    ts = source.get("ts_ms", payload.get("ts_ms"))
    return [
        Change(
            table,
            op,
            naming.key(table, _key_columns(key)),
            before,
            after,
            columns,
            "mysql" if mysql else "postgresql",
            str(source.get("schema") or source.get("db") or ""),
            _position(source),
            datetime.fromtimestamp(ts / 1000, UTC) if isinstance(ts, int | float) else None,
        )
    ]


def _parse(value: bytes) -> tuple[Described, Any]:
    """The message's described schema and its payload. A schema seen before (its exact bytes)
    is not parsed again: only the payload after it is."""
    if _last and value.startswith(_last[0][0]) and value.endswith(b"}"):
        try:
            return _last[0][1], orjson.loads(memoryview(value)[len(_last[0][0]) : -1])
        except orjson.JSONDecodeError:
            pass  # not only schema and payload: parsed whole below, which says what is wrong
    at = value.find(SPLIT) if value.startswith(HEAD) and value.endswith(b"}") else -1
    known = _described.get(value[len(HEAD) : at]) if at > 0 else None
    if known is not None:
        try:
            payload = orjson.loads(value[at + len(SPLIT) : -1])
        except orjson.JSONDecodeError:
            pass  # not only schema and payload: parsed whole below, which says what is wrong
        else:
            _last[:] = [(value[: at + len(SPLIT)], known)]
            return known, payload
    message = loads(value)
    schema = message.get("schema") if isinstance(message, dict) else None
    payload = message["payload"] if schema is not None and "payload" in message else message
    if not schema:
        return NO_SCHEMA, payload
    described = _describe(schema)
    if at > 0 and orjson.loads(value[len(HEAD) : at]) == schema:  # the split is the schema's end
        if len(_described) >= 256:  # bounded: schemas change rarely, but a stream may be long
            _described.clear()
        _described[value[len(HEAD) : at]] = described
    return described, payload


def _describe(schema: dict[str, Any]) -> Described:
    fields = _fields(schema)
    converts = []
    for name, (kind, field) in fields.items():
        convert = _convert(kind, field)
        if convert is not None:
            converts.append((name, convert, kind))
    types = {name: kind for name, (kind, _) in fields.items()}
    spans = tuple(
        name
        for name, (_, field) in fields.items()
        if field is not None and field.get("name") in SPANS
    )
    return Described(types, tuple(converts), columns_of(types), spans)


def _times_of_day(row: dict[str, Any] | None, names: tuple[str, ...]) -> None:
    """A span since midnight as the time of day it is (PostgreSQL's TIME)."""
    if row is None:
        return
    for name in names:
        v = row.get(name)
        if isinstance(v, timedelta):
            row[name] = _time_of_day(v // timedelta(microseconds=1))


def _convert(kind: str, field: dict[str, Any] | None) -> Convert | None:
    """How one column's values are restored: by its semantic type, else its source type
    (a restorer raising MessageError itself)."""
    if field is None:
        return restorer(kind)
    semantic = field["_restore"]
    if semantic is _decimal:  # the scale read once, not per value
        exponent = -int(field.get("parameters", {}).get("scale", 0))
        return lambda v: _scaled(v, exponent)
    return lambda v: semantic(v, field)


def _fields(schema: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """Column → (source type, its field with `_restore` when a semantic type restores it)
    from the envelope schema's `after` (or `before`)."""
    rows = {f.get("field"): f for f in schema.get("fields", ())}
    row = rows.get("after") or rows.get("before") or {}
    result: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for field in row.get("fields", ()):
        kind, semantic = SEMANTIC.get(field.get("name", ""), ("", None))
        params = field.get("parameters") or {}
        kind = kind or CONNECT_TYPES.get(field.get("type", ""), "text")
        if SOURCE_TYPE in params:
            kind = _source_type(params)
        if semantic is not None:
            field = {**field, "_restore": semantic}
        result[field["field"]] = (kind, field if semantic is not None else None)
    return result


def _source_type(params: dict[str, Any]) -> str:
    """`NUMERIC` with length 12 and scale 2 → `numeric(12,2)`."""
    kind = str(params[SOURCE_TYPE]).lower()
    length, scale = (
        params.get("__debezium.source.column.length"),
        params.get("__debezium.source.column.scale"),
    )
    if length is not None and family(kind) in ("decimal", "text") and kind != "text":
        return f"{kind}({length},{scale})" if scale is not None else f"{kind}({length})"
    return kind


def _row(row: Any, converts: tuple[tuple[str, Convert, str], ...]) -> dict[str, Any] | None:
    if row is None:
        return None
    if not isinstance(row, dict):
        raise MessageError(f"a row image is a JSON object, not {type(row).__name__}")
    v: Any = None
    column: tuple[str, Convert, str] = ("", str, "")
    try:  # errors said here, not in a wrapper called per value
        for column in converts:
            v = row.get(column[0])
            if v is not None:
                row[column[0]] = column[1](v)
    except (ValueError, TypeError, KeyError, OverflowError, MessageError) as exc:
        raise MessageError(f"column {column[0]}: value {v!r} is not a {column[2]}") from exc
    return row


def _untyped_row(
    row: Any, types: dict[str, str], restores: Mapping[str, Callable[[Any], Any]]
) -> dict[str, Any] | None:
    if row is not None and not isinstance(row, dict):
        raise MessageError(f"a row image is a JSON object, not {type(row).__name__}")
    return restore_row(row, types, restores)


def _key_columns(key: bytes | None) -> tuple[str, ...]:
    if not key:
        return ()
    message = loads(key)
    if isinstance(message, dict) and "payload" in message and "schema" in message:
        message = message["payload"]
    return tuple(message) if isinstance(message, dict) else ()


def _position(source: dict[str, Any]) -> str | None:
    for name in ("lsn", "pos", "sequence"):
        if source.get(name) is not None:
            if name == "pos" and source.get("file"):
                return f"{source['file']}:{source['pos']}"
            return str(source[name])
    return None


# Encoding: per restore family, (Connect type, semantic name, value encoder).
ENCODERS: dict[str, tuple[str, str | None, Callable[[Any], Any]]] = {
    "integer": ("int64", None, int),
    "float": ("float64", None, float),
    "boolean": ("boolean", None, bool),
    "timestamp": (
        "int64",
        "io.debezium.time.MicroTimestamp",
        lambda v: (v.replace(tzinfo=None) - EPOCH) // timedelta(microseconds=1),
    ),
    "timestamptz": ("string", "io.debezium.time.ZonedTimestamp", lambda v: v.isoformat()),
    "date": ("int32", "io.debezium.time.Date", lambda v: (v - EPOCH_DATE).days),
    "time": (
        "int64",
        "io.debezium.time.MicroTime",
        lambda v: (
            (
                v if isinstance(v, timedelta) else datetime.combine(EPOCH_DATE, v) - EPOCH
            )  # MySQL TIME is a duration (timedelta)
            // timedelta(microseconds=1)
        ),
    ),
    "binary": ("bytes", None, typed),  # base64, as Debezium's JSON converter writes bytes
    "text": ("string", None, typed),
}


def _decimal_field(kind: str) -> tuple[str, str | None, Callable[[Any], Any], dict[str, str]]:
    """A decimal column: precise bytes with a fixed scale, else its text (as `string`)."""
    inside = kind.partition("(")[2].rstrip(")").split(",")
    if len(inside) == 2 and inside[1].strip().isdigit():
        scale = int(inside[1])

        def encode_decimal(v: Any) -> str:
            unscaled = int(Decimal(v).scaleb(scale))
            size = max(1, (unscaled.bit_length() + 8) // 8)
            return base64.b64encode(unscaled.to_bytes(size, "big", signed=True)).decode()

        return (
            "bytes",
            "org.apache.kafka.connect.data.Decimal",
            encode_decimal,
            {
                "scale": str(scale),
                "connect.decimal.precision": inside[0].strip(),
            },
        )
    return "string", None, str, {}


def encode(change: Change, schemas: bool = True) -> bytes:
    """A change as a Debezium message; with `schemas` (the default) the envelope schema too,
    each field carrying its source type (`__debezium.source.column.type`). Without a schema
    nothing could tell a reader how to read decimal bytes or epoch numbers, so decimals and
    times are written as text then (Debezium's `decimal.handling.mode=string`)."""
    fields, encoders = [], {}
    for column in change.columns:
        fam = family(column.type)
        if fam == "decimal":
            connect, name, enc, params = _decimal_field(column.type)
        else:
            connect, name, enc = ENCODERS.get(fam, ENCODERS["text"])
            params = {}
        params = {**params, SOURCE_TYPE: column.type}
        field: dict[str, Any] = {"field": column.name, "type": connect, "optional": True}
        if name:
            field["name"] = name
        field["parameters"] = params
        fields.append(field)
        encoders[column.name] = enc if schemas else typed
    payload = {
        "before": _encode_row(change.before, encoders) if change.op != "insert" else None,
        "after": _encode_row(change.after, encoders) if change.op != "delete" else None,
        "source": _source(change),
        "op": CODES[change.op],
        "ts_ms": int(datetime.now(UTC).timestamp() * 1000),
        "transaction": None,
    }
    if not schemas:
        return dumps(payload)
    return dumps({"schema": _envelope(change, fields), "payload": payload})


def _encode_row(row: dict[str, Any] | None, encoders: dict[str, Callable[[Any], Any]]) -> Any:
    if row is None:
        return None
    return {k: None if v is None else encoders.get(k, typed)(v) for k, v in row.items()}


def _source(change: Change) -> dict[str, Any]:
    ts = change.commit_ts or datetime.now(UTC)
    return {
        "version": "kuaike",
        "connector": change.dialect,
        "name": "kuaike",
        "ts_ms": int(ts.timestamp() * 1000),
        "snapshot": "true" if change.op == "snapshot" else "false",
        "db": change.namespace,
        "schema": change.namespace,
        "table": change.table,
        "sequence": change.position,
    }


def _envelope(change: Change, fields: list[dict[str, Any]]) -> dict[str, Any]:
    row = {"type": "struct", "fields": fields, "optional": True, "name": f"{change.table}.Value"}
    return {
        "type": "struct",
        "name": f"{change.table}.Envelope",
        "optional": False,
        "fields": [
            {**row, "field": "before"},
            {**row, "field": "after"},
            {"type": "struct", "field": "source", "optional": False, "fields": []},
            {"type": "string", "field": "op", "optional": False},
            {"type": "int64", "field": "ts_ms", "optional": True},
        ],
    }


def encode_key(change: Change) -> bytes:
    """The message key: the key columns' values, `{"id": 1}` (also what partitions by key)."""
    row = change.row
    return dumps({name: typed(row.get(name)) for name in change.key})
