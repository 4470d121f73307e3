"""Canal 1.1 flat JSON: `data` (rows, values as text), `old` (changed old values on UPDATE),
`type`, `database`, `table`, `pkNames`, `mysqlType`, `sqlType`, `es`, `ts`, `isDdl`
(seed-system.md §3.2).

One message may carry several rows: each becomes a change. `mysqlType` restores the values'
types; `pkNames` gives the key when present. DDL messages (`isDdl`) carry no rows: none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kuaike.capture.events import Change, Column, blob_text
from kuaike.capture.formats.common import (
    DEFAULT_NAMING,
    MYSQL_RESTORE,
    RESTORE,
    Naming,
    dumps,
    family,
    loads,
    need,
    restore_row,
    text,
)
from kuaike.errors import MessageError

OPS: dict[str, Any] = {"INSERT": "insert", "UPDATE": "update", "DELETE": "delete"}
OPS |= {"TRUNCATE": "truncate"}
CODES = {op: code for code, op in OPS.items()} | {"snapshot": "INSERT"}

SQL_TYPES: dict[str, int] = {
    "integer": -5,
    "decimal": 3,
    "float": 8,
    "boolean": -7,
    "timestamp": 93,
    "timestamptz": 93,
    "date": 91,
    "time": 92,
    "binary": 2004,
    "text": 12,
}
"""Restore family → java.sql.Types (what Canal writes in `sqlType`)."""


def _latin1(value: Any) -> str:
    return blob_text(str(value).encode("latin-1"))


RESTORES = {
    "mysql": {**MYSQL_RESTORE, "binary": _latin1},
    "postgresql": {**RESTORE, "binary": _latin1},
}
"""How Canal's text is restored: a BLOB is ISO-8859-1 text (a character per byte), and a
MySQL TIME a span."""


def decode(value: bytes, key: bytes | None = None, naming: Naming = DEFAULT_NAMING) -> list[Change]:
    """The changes of one Canal flat message; MessageError saying what is wrong with it."""
    message = loads(value)
    if message.get("isDdl") if isinstance(message, dict) else False:
        return []
    kind = need(message, "type", str)
    op = OPS.get(kind)
    if op is None:
        raise MessageError(f"unknown type {kind!r} (INSERT, UPDATE, DELETE or TRUNCATE)")
    table = naming.table(need(message, "table", str))
    mysql_types = message.get("mysqlType") or {}
    types = {**naming.column_types(table), **mysql_types}
    columns = tuple(Column(name, kind) for name, kind in types.items())
    pk = naming.key(table, tuple(message.get("pkNames") or ()))
    common: dict[str, Any] = {
        "columns": columns,
        "dialect": "mysql" if mysql_types else "postgresql",
        "namespace": str(message.get("database") or "").strip(),
        "position": None if message.get("id") is None else str(message["id"]),
        "commit_ts": _ms(message.get("es")),
    }
    if op == "truncate":
        return [Change(table, op, pk, **common)]
    rows = need(message, "data", list)
    olds = message.get("old") or [None] * len(rows)
    changes = []
    restores = RESTORES[common["dialect"]]
    for row, old in zip(rows, olds, strict=False):
        restored = restore_row(row, types, restores)
        if op == "delete":
            changes.append(Change(table, op, pk, restored, None, **common))
        else:
            before = restore_row({**row, **old}, types, restores) if old else None
            changes.append(Change(table, op, pk, before, restored, **common))
    return changes


def _ms(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if isinstance(value, int | float) else None


def encode(change: Change) -> bytes:
    """A change as a one-row Canal flat message (`old`: the changed columns' old values)."""
    row = change.before if change.op == "delete" else change.after
    old = None
    if change.op == "update" and change.before is not None and change.after is not None:
        old = [{k: text(v) for k, v in change.before.items() if change.after.get(k, v) != v}]
    ms = int((change.commit_ts or datetime.now(UTC)).timestamp() * 1000)
    types = {c.name: c.type for c in change.columns}
    message = {
        "data": None if row is None else [{k: text(v) for k, v in row.items()}],
        "database": change.namespace,
        "es": ms,
        "id": int(change.position) if change.position and change.position.isdigit() else 0,
        "isDdl": False,
        "mysqlType": types or None,
        "old": old,
        "pkNames": list(change.key),
        "sql": "",
        "sqlType": {k: SQL_TYPES[family(t)] for k, t in types.items()} or None,
        "table": change.table,
        "ts": int(datetime.now(UTC).timestamp() * 1000),
        "type": CODES[change.op],
    }
    return dumps(message)
