"""What the four change formats share: table naming, keys, and values restored from type hints.

A format message names its table its own way (OGG `ITCAST.tbl_company`, Canal `crm_address`);
`Naming` turns that into the replica's name with configured regex rewrites, and knows the key
and column types configured for tables whose messages carry none. Values travel as text (Canal)
or typed JSON (OGG, Maxwell, Debezium); `restore` gives them back their source type from the
type's family, a dict lookup, so every format restores values the same way.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from kuaike.capture.events import Column, blob_text
from kuaike.errors import MessageError

FAMILIES: dict[str, str] = {
    **dict.fromkeys(["tinyint", "smallint", "mediumint", "int", "integer", "bigint"], "integer"),
    **dict.fromkeys(["int2", "int4", "int8", "serial", "bigserial", "year"], "integer"),
    **dict.fromkeys(["decimal", "numeric", "money"], "decimal"),
    **dict.fromkeys(["float", "double", "real", "double precision", "float4", "float8"], "float"),
    # not MySQL's BIT(n): a number the replica keeps as UBIGINT (its values travel as they are)
    **dict.fromkeys(["bool", "boolean"], "boolean"),
    **dict.fromkeys(["datetime", "timestamp", "timestamp without time zone"], "timestamp"),
    **dict.fromkeys(["timestamptz", "timestamp with time zone"], "timestamptz"),
    "date": "date",
    **dict.fromkeys(["time", "time without time zone"], "time"),
    **dict.fromkeys(["bytea", "blob", "tinyblob", "mediumblob", "longblob"], "binary"),
    **dict.fromkeys(["binary", "varbinary"], "binary"),
}
"""Source type (lower case, without its size) → how its values are restored; others: text."""


def family(source_type: str) -> str:
    """The restore family of a source type.

    >>> family("decimal(10,2)"), family("bigint(20) unsigned"), family("varchar(50)")
    ('decimal', 'integer', 'text')
    """
    base = source_type.lower().split("(")[0].replace(" unsigned", "").strip()
    return FAMILIES.get(base, "text")


def _boolean(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "t", "true", "y", "yes")
    return bool(value)


def _timestamp(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _time_of_day(value: Any) -> time | timedelta:
    return value if isinstance(value, time | timedelta) else time.fromisoformat(str(value))


def _base64(value: Any) -> str:
    """Binary values travel in typed JSON as base64 (Debezium's, Maxwell's and OGG's way); in
    a ChangeBatch as DuckDB's escaped text (see `blob_text`)."""
    try:
        return blob_text(base64.b64decode(str(value), validate=True))
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from exc


_DURATION = re.compile(r"(-)?(\d+):([0-5]\d):([0-5]\d)(?:\.(\d{1,6}))?")


def duration(value: Any) -> timedelta:
    """A MySQL TIME, which is a span (`-838:59:59` to `838:59:59`), not a time of day.

    >>> duration("26:03:04.5") == timedelta(hours=26, seconds=184.5), duration("-00:00:01")
    (True, datetime.timedelta(days=-1, seconds=86399))
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, time):
        return datetime.combine(date.min, value) - datetime.min
    match = _DURATION.fullmatch(str(value).strip())
    if match is None:
        raise ValueError(f"not a TIME: {value!r}")
    sign, hours, minutes, seconds, fraction = match.groups()
    span = timedelta(
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int((fraction or "0").ljust(6, "0")),
    )
    return -span if sign else span


def duration_text(span: timedelta) -> str:
    """A span as MySQL writes a TIME: `26:03:04`, `-00:00:01.500000`.

    >>> duration_text(timedelta(days=1, hours=2, seconds=4)), duration_text(-timedelta(seconds=1.5))
    ('26:00:04', '-00:00:01.500000')
    """
    micros = abs(span) // timedelta(microseconds=1)
    seconds, fraction = divmod(micros, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{'-' if span < timedelta(0) else ''}{hours:02d}:{minutes:02d}:{seconds:02d}"
    return text + (f".{fraction:06d}" if fraction else "")


RESTORE: dict[str, Callable[[Any], Any]] = {
    "integer": lambda v: v if type(v) is int else int(v),
    "decimal": lambda v: Decimal(str(v)),
    "float": float,
    "boolean": _boolean,
    "timestamp": _timestamp,
    "timestamptz": _timestamp,
    "date": lambda v: date.fromisoformat(str(v)[:10]),
    "time": _time_of_day,
    "binary": _base64,
}
"""Family → how a value (text or typed JSON) gets its source type back."""

MYSQL_RESTORE = {**RESTORE, "time": duration}
"""For values from MySQL, whose TIME is a span (the replica's INTERVAL), not a time of day."""


def restore(
    value: Any, source_type: str, restores: Mapping[str, Callable[[Any], Any]] = RESTORE
) -> Any:
    """A value given back its source type; None stays None; MessageError when it is not one.

    >>> restore("12.50", "decimal(10,2)"), restore("2021-02-03 04:05:40", "datetime")
    (Decimal('12.50'), datetime.datetime(2021, 2, 3, 4, 5, 40))
    """
    if value is None:
        return None
    convert = restores.get(family(source_type))
    if convert is None:
        return value if isinstance(value, str) else orjson.dumps(value).decode()
    try:
        return convert(value)
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise MessageError(f"value {value!r} is not a {source_type}") from exc


def restorer(
    source_type: str, restores: Mapping[str, Callable[[Any], Any]] = RESTORE
) -> Callable[[Any], Any] | None:
    """`restore` for one column type, its family looked up once (None: text, kept as it came).

    Decoders build these once per schema, not once per value."""
    convert = restores.get(family(source_type))
    if convert is None:
        return None

    def restore_one(value: Any) -> Any:
        try:
            return convert(value)
        except (ValueError, TypeError, InvalidOperation) as exc:
            raise MessageError(f"value {value!r} is not a {source_type}") from exc

    return restore_one


def restore_row(
    row: Mapping[str, Any] | None,
    types: Mapping[str, str],
    restores: Mapping[str, Callable[[Any], Any]] = RESTORE,
) -> dict[str, Any] | None:
    """Every value of `row` whose column has a type, restored (others as they came)."""
    if row is None:
        return None
    if not types:
        return dict(row)
    return {
        name: restore(v, types[name], restores) if name in types else v for name, v in row.items()
    }


def text(value: Any) -> str | None:
    """A value as the text Canal carries: timestamps `yyyy-MM-dd HH:mm:ss[.ffffff]`, booleans 1/0,
    a MySQL TIME as MySQL writes it, bytes as ISO-8859-1 text (one character per byte, as
    Canal writes BLOBs).

    >>> text(datetime(2020, 2, 2, 18, 51)), text(Decimal("1.50")), text(True), text(b"\\x00\\xff")
    ('2020-02-02 18:51:00', '1.50', '1', '\\x00ÿ')
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, timedelta):
        return duration_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    return value.isoformat() if isinstance(value, date | time) else str(value)


def typed(value: Any) -> Any:
    """A value as typed JSON carries it: numbers stay numbers, decimals and times become text,
    bytes base64."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    return text(value)


def dumps(message: Any) -> bytes:
    return orjson.dumps(message, default=text)


def loads(data: bytes | str) -> Any:
    """A message's JSON; MessageError (with the parser's reason) when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MessageError(f"not JSON: {exc}") from exc


def need(message: Any, field_name: str, kind: type | tuple[type, ...]) -> Any:
    """`message[field_name]`, which must be of `kind`; MessageError naming the field otherwise."""
    if not isinstance(message, dict):
        raise MessageError(f"a change message is a JSON object, not {type(message).__name__}")
    value = message.get(field_name)
    if not isinstance(value, kind):
        got = "missing" if value is None else f"a {type(value).__name__}"
        raise MessageError(f"field {field_name!r} is {got}")
    return value


@dataclass(frozen=True)
class Naming:
    """How tables in messages become replica tables, and what messages do not say about them.

    `renames`: (regex, replacement) applied in order to the table name as the message gives
    it; `keys` / `types`: per replica table, its key columns and column types when the
    messages carry none; `default_key`: the key otherwise (`id`, as in the reference system).
    `known` may add types (and keys) of tables kuaike knows (the business schemas).
    """

    renames: tuple[tuple[str, str], ...] = ()
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    types: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    default_key: tuple[str, ...] = ("id",)
    known: Callable[[str], tuple[tuple[str, ...], dict[str, str]] | None] | None = None
    _compiled: list[tuple[re.Pattern[str], str]] = field(default_factory=list, compare=False)
    _tables: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._compiled.extend((re.compile(p), r) for p, r in self.renames)

    def table(self, name: str) -> str:
        """The replica's name for a table as a message names it.

        >>> Naming(renames=(("^[A-Z]+\\\\.", ""), ("^crm_", "tbl_"))).table("ITCAST.crm_address")
        'tbl_address'
        """
        renamed = self._tables.get(name)
        if renamed is None:
            renamed = name
            for pattern, replacement in self._compiled:
                renamed = pattern.sub(replacement, renamed)
            if len(self._tables) < 10_000:  # a stream names few tables; bounded all the same
                self._tables[name] = renamed
        return renamed

    def key(self, table: str, carried: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The key columns: configured, else what the message carried, else known, else id."""
        if table in self.keys:
            return tuple(self.keys[table])
        if carried:
            return carried
        known = self.known(table) if self.known else None
        return known[0] if known and known[0] else self.default_key

    def column_types(self, table: str) -> dict[str, str]:
        """Configured column types of a table, over those kuaike knows."""
        known = self.known(table) if self.known else None
        return {**(known[1] if known else {}), **self.types.get(table, {})}


DEFAULT_NAMING = Naming()


def columns_of(types: Mapping[str, str]) -> tuple[Column, ...]:
    return tuple(Column(name, kind) for name, kind in types.items())
