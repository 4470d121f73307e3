"""Maxwell JSON: `database`, `table`, `type` (insert/update/delete, bootstrap-insert), `ts`
(seconds), `xid`, `commit`, `position` (`binlog.000006:800911`), `primary_key_columns`, `data`
(the whole row), `old` (the changed columns' old values).

Values are typed JSON without column types (types from the `Naming`). DDL and bootstrap
start/complete messages carry no rows: no changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kuaike.capture.events import Change
from kuaike.capture.formats.common import (
    DEFAULT_NAMING,
    MYSQL_RESTORE,
    Naming,
    columns_of,
    dumps,
    loads,
    need,
    restore_row,
    typed,
)
from kuaike.errors import MessageError

OPS: dict[str, Any] = {
    "insert": "insert",
    "update": "update",
    "delete": "delete",
    "bootstrap-insert": "snapshot",
}
CODES = {op: code for code, op in OPS.items()}
ROWLESS = frozenset({"bootstrap-start", "bootstrap-complete"})


def decode(value: bytes, key: bytes | None = None, naming: Naming = DEFAULT_NAMING) -> list[Change]:
    """The change of one Maxwell message (none for DDL); MessageError when it is malformed."""
    message = loads(value)
    kind = need(message, "type", str)
    if kind in ROWLESS or kind.startswith(("table-", "database-")):
        return []
    op = OPS.get(kind)
    if op is None:
        raise MessageError(f"unknown type {kind!r} (insert, update, delete, bootstrap-insert)")
    table = naming.table(need(message, "table", str))
    types = naming.column_types(table)
    data = restore_row(need(message, "data", dict), types, MYSQL_RESTORE)
    assert data is not None
    before, after = (data, None) if op == "delete" else (None, data)
    if op == "update":
        old = restore_row(message.get("old") or {}, types, MYSQL_RESTORE)
        before = {**data, **(old or {})}
    ts = message.get("ts")
    return [
        Change(
            table,
            op,
            naming.key(table, tuple(message.get("primary_key_columns") or ())),
            before,
            after,
            columns_of(types),
            "mysql",
            str(message.get("database") or ""),
            message.get("position"),
            datetime.fromtimestamp(ts, UTC) if isinstance(ts, int | float) else None,
        )
    ]


def encode(change: Change) -> bytes:
    """A change as a Maxwell message (`old`: the changed columns' old values)."""
    if change.op == "truncate":
        raise MessageError("Maxwell has no row message for TRUNCATE")
    row = change.before if change.op == "delete" else change.after
    message: dict[str, Any] = {
        "database": change.namespace,
        "table": change.table,
        "type": CODES[change.op],
        "ts": int((change.commit_ts or datetime.now(UTC)).timestamp()),
        "commit": True,
        "position": change.position,
        "primary_key_columns": list(change.key),
        "data": {k: typed(v) for k, v in (row or {}).items()},
    }
    if change.op == "update" and change.before is not None and change.after is not None:
        message["old"] = {
            k: typed(v) for k, v in change.before.items() if change.after.get(k, v) != v
        }
    return dumps(message)
