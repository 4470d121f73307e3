"""Source text → ODS values: the SQL that converts each column, and the values a plain CAST
gets wrong, as data per DuckDB type.

PostgreSQL sends every value as text, in the formats capture sets for its own sessions
(`DateStyle=ISO`, `IntervalStyle=postgres`, `TimeZone=UTC`, `bytea_output=hex`; COPY for the
snapshot writes the same text). DuckDB's CAST reads nearly all of it, including `infinity`,
`-infinity`, `24:00:00`, `NaN`/`Infinity` for floats and `1 year 2 mons`. The exceptions:

| ODS type    | source text                    | plain CAST          | converted as          |
|-------------|--------------------------------|---------------------|-----------------------|
| DATE        | `0044-03-15 BC`                | 44 AD: wrong        | `0044-03-15 (BC)`     |
| TIMESTAMP*  | `0044-03-15 12:00:00 BC`       | error               | BC date + time        |
| INTERVAL    | `-3 days +02:00:00`            | error               | without the `+`       |
| DECIMAL     | `NaN` (numeric(p,s) allows it) | error               | NULL, noted           |
| BLOB        | `\\x00ff`                       | the text's bytes    | `from_hex`            |
| T[] (LIST)  | `{1,NULL,"a,b"}`               | error               | parsed, elements cast |

The common path stays a plain CAST: a column uses its conversion only when Arrow finds a
suspect value in it (`suspect`, searched in the column's text buffer at once), or always when
plain text never casts (BLOB, lists). A value converted to NULL on purpose (DECIMAL NaN, a
multi-dimensional array) is recorded in `_kuaike.value_notes` with its text, so nothing is
lost silently. A value nothing converts is found by `first_bad` (TRY), so the store can set
its table aside instead of failing the batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from kuaike.types import DuckConnection

ARRAY_FUNCTION = "kuaike_pg_array"
"""The DuckDB function (Arrow UDF) parsing PostgreSQL array text into a VARCHAR list."""


@dataclass(frozen=True)
class Conversion:
    """How text becomes one DuckDB type when a plain CAST would refuse or misread it."""

    sql: str
    """SQL template: `{v}` the text, `{t}` the ODS type."""
    suspect: bytes | None
    """Bytes (each one character) whose presence in a column's text may need `sql` (`B` of
    `BC`), looked for in the column's whole data buffer at once with numpy, ~1 ns per value:
    a false hit only costs the conversion, never a wrong value; None: every value needs it."""
    noted: str | None = None
    """SQL predicate (on `{v}`) of the values `sql` makes NULL on purpose; they are noted."""


_BC_DATE = "CAST(regexp_extract({v}, '^(\\S+)', 1) || ' (BC)' AS DATE)"
_BC_TIME = "CAST(regexp_extract({v}, '^\\S+ ([0-9:.]+)', 1) AS TIME)"

CONVERSIONS: dict[str, Conversion] = {
    "DATE": Conversion(
        f"CASE WHEN suffix({{v}}, ' BC') THEN {_BC_DATE} ELSE CAST({{v}} AS DATE) END", b"B"
    ),
    "TIMESTAMP": Conversion(
        f"CASE WHEN suffix({{v}}, ' BC') THEN {_BC_DATE} + {_BC_TIME} "
        "ELSE CAST({v} AS TIMESTAMP) END",
        b"B",
    ),
    # Sessions run in UTC, so a BC timestamptz ends `+00 BC`; its date and time are UTC.
    "TIMESTAMP WITH TIME ZONE": Conversion(
        f"CASE WHEN suffix({{v}}, '+00 BC') THEN CAST({_BC_DATE} + {_BC_TIME} AS TIMESTAMPTZ) "
        "ELSE CAST({v} AS TIMESTAMPTZ) END",
        b"B",
    ),
    "INTERVAL": Conversion("CAST(replace({v}, ' +', ' ') AS INTERVAL)", b"+"),
    "DECIMAL": Conversion(
        "CASE WHEN {v} IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE CAST({v} AS {t}) END",
        b"NI",  # NaN, Infinity
        "{v} IN ('NaN', 'Infinity', '-Infinity')",
    ),
    "BLOB": Conversion("from_hex(substr({v}, 3))", None),
}

LIST = Conversion(
    "list_transform(" + ARRAY_FUNCTION + "({v}), _e -> {element})",
    None,
    "regexp_matches({v}, '^(\\[[^=]*\\]=)?\\{{\\s*\\{{')",
)
"""T[]: parsed into text elements, each converted as T; a multi-dimensional value is NULL, an
element its type makes NULL on purpose (NaN) is NULL in the list; both are noted."""


def _base(ods_type: str) -> str:
    return ods_type.split("(", 1)[0].strip()


def conversion(ods_type: str) -> Conversion | None:
    """The conversion an ODS type has, None when a plain CAST reads every value right."""
    if ods_type.endswith("[]"):
        return LIST
    return CONVERSIONS.get(_base(ods_type))


def cast_sql(value: str, ods_type: str, special: bool = True) -> str:
    """SQL turning text `value` into `ods_type`; `special=False`: a plain CAST (the column
    holds no value needing more, or typed values rather than text).

    >>> cast_sql("_c0", "INTEGER")
    'CAST(_c0 AS INTEGER)'
    >>> cast_sql("_c0", "INTERVAL")
    "CAST(replace(_c0, ' +', ' ') AS INTERVAL)"
    """
    rule = conversion(ods_type)
    if rule is None or not special:
        return f"CAST({value} AS {ods_type})"
    if rule is LIST:
        element = cast_sql("_e", ods_type[:-2])
        return f"CAST({rule.sql.format(v=value, element=element)} AS {ods_type})"
    return rule.sql.format(v=value, t=ods_type)


TEXT_DIALECTS = frozenset({"postgresql"})
"""Sources whose values arrive as text in the formats above. The MySQL reader hands over
values it has typed itself (bytes for BLOB, say): its own map's carriers, cast plainly."""


def needs_special(
    values: pa.Array | pa.ChunkedArray, ods_type: str, dialect: str = "postgresql"
) -> bool:
    """Whether a column of source text holds a value its plain CAST would get wrong."""
    rule = conversion(ods_type)
    if rule is None or dialect not in TEXT_DIALECTS:
        return False
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        return False  # typed values (a reader that decodes them) need no text conversion
    if rule.suspect is None:
        return True
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is None:
            continue
        text = np.frombuffer(data, np.uint8)
        if any(bool((text == byte).any()) for byte in rule.suspect):
            return True
    return False


def noted_sql(value: str, ods_type: str) -> str | None:
    """SQL predicate of the values converted to NULL on purpose, None when the type has none."""
    rule = conversion(ods_type)
    if rule is None or rule.noted is None:
        return None
    if rule is LIST:
        multi = rule.noted.format(v=value)
        element = noted_sql("_e", ods_type[:-2])
        if element is None:
            return multi
        each = f"list_transform({ARRAY_FUNCTION}({value}), _e -> coalesce({element}, false))"
        return f"({multi} OR coalesce(list_bool_or({each}), false))"
    return rule.noted.format(v=value)


def bad_sql(value: str, ods_type: str, special: bool = True) -> str:
    """SQL predicate: the value is not NULL, yet converts to nothing (and not on purpose);
    `special` as for `cast_sql`."""
    bad = f"({value} IS NOT NULL AND try({cast_sql(value, ods_type, special)}) IS NULL)"
    noted = noted_sql(value, ods_type) if special else None
    return f"({bad} AND NOT coalesce({noted}, false))" if noted else bad


def register(con: DuckConnection) -> None:
    """Make the array parser available to SQL on `con`."""
    create: Any = con.create_function  # its stubs do not know the string forms of the enums
    create(
        ARRAY_FUNCTION,
        _parse_arrays,
        ["VARCHAR"],
        "VARCHAR[]",
        type="arrow",
        null_handling="special",
        side_effects=False,
    )


def _parse_arrays(values: Any) -> pa.Array:
    """Arrow UDF: PostgreSQL array texts → lists of element texts (NULL for multi-dimensional)."""
    return pa.array(
        [None if v is None else parse_array(v) for v in values.to_pylist()], pa.list_(pa.string())
    )


_BOUNDS = re.compile(r"^\[[^=]*\]=")


def parse_array(text: str) -> list[str | None] | None:
    """A one-dimensional PostgreSQL array literal as element texts; None when multi-dimensional.

    >>> parse_array('{1,NULL,"NULL","a,b","q\\\\"x",  sp ace }')
    ['1', None, 'NULL', 'a,b', 'q"x', 'sp ace']
    >>> parse_array('{}'), parse_array('{{1,2},{3,4}}')
    ([], None)
    """
    body = _BOUNDS.sub("", text.strip()).strip()
    if not body.startswith("{") or not body.endswith("}"):
        raise ValueError(f"not an array literal: {text!r}")
    inner = body[1:-1]
    if inner.lstrip().startswith("{"):
        return None
    elements: list[str | None] = []
    i, n = 0, len(inner)
    while i < n:
        while i < n and inner[i].isspace():
            i += 1
        if i >= n:
            break
        item, i, quoted = _element(inner, i)
        elements.append(None if not quoted and item.upper() == "NULL" else item)
        while i < n and inner[i] != ",":
            i += 1
        i += 1
    return elements


def _element(inner: str, i: int) -> tuple[str, int, bool]:
    """One element from position i: its text, where it ends, whether it was quoted."""
    out: list[str] = []
    if inner[i] == '"':
        i += 1
        while inner[i] != '"':
            if inner[i] == "\\":
                i += 1
            out.append(inner[i])
            i += 1
        return "".join(out), i + 1, True
    while i < len(inner) and inner[i] != ",":
        if inner[i] == "\\":
            i += 1
        out.append(inner[i])
        i += 1
    return "".join(out).rstrip(), i, False
