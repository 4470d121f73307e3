"""Oracle GoldenGate JSON (op mode): `table`, `op_type`, `op_ts`, `current_ts`, `pos`, `before`,
`after`, optionally `primary_keys` (seed-system.md §3.1).

Values are typed JSON and the message carries no column types: types come from the `Naming`
(configuration, business schemas). The reference stripped the upper-case schema prefix
(`ITCAST.tbl_company` → `tbl_company`): the schema becomes the change's namespace and the
`Naming` renames the bare table name, as for every format.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kuaike.capture.events import Change
from kuaike.capture.formats.common import (
    DEFAULT_NAMING,
    Naming,
    columns_of,
    dumps,
    loads,
    need,
    restore_row,
    typed,
)
from kuaike.errors import MessageError

OPS: dict[str, Any] = {"I": "insert", "U": "update", "D": "delete", "T": "truncate"}
CODES = {op: code for code, op in OPS.items()} | {"snapshot": "I"}


_OP_TS = "%Y-%m-%d %H:%M:%S.%f"


def decode(value: bytes, key: bytes | None = None, naming: Naming = DEFAULT_NAMING) -> list[Change]:
    """One OGG message as its change; MessageError saying what is wrong with it."""
    message = loads(value)
    name = need(message, "table", str)
    op = OPS.get(need(message, "op_type", str))
    if op is None:
        raise MessageError(f"unknown op_type {message['op_type']!r} (I, U, D or T)")
    namespace, _, bare = name.rpartition(".")
    table = naming.table(bare)
    types = naming.column_types(table)
    before = restore_row(message.get("before") or None, types)
    after = restore_row(message.get("after") or None, types)
    if op in ("insert", "update") and after is None:
        raise MessageError(f"op_type {message['op_type']} without 'after'")
    if op == "delete" and before is None:
        raise MessageError("op_type D without 'before'")
    carried = tuple(message.get("primary_keys") or ())
    return [
        Change(
            table,
            op,
            naming.key(table, carried),
            before,
            after,
            columns_of(types),
            namespace=namespace,
            position=message.get("pos"),
            commit_ts=_op_ts(message.get("op_ts")),
        )
    ]


def _op_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, _OP_TS).replace(tzinfo=UTC)
    except ValueError as exc:
        raise MessageError(f"op_ts {value!r} is not yyyy-MM-dd HH:mm:ss.ffffff") from exc


def encode(change: Change) -> bytes:
    """A change as OGG JSON (`table` is NAMESPACE.table when the change has a namespace)."""
    stamp = change.commit_ts or datetime.now(UTC)
    message: dict[str, Any] = {
        "table": f"{change.namespace.upper()}.{change.table}" if change.namespace else change.table,
        "op_type": CODES[change.op],
        "op_ts": stamp.astimezone(UTC).strftime(_OP_TS),
        "current_ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "pos": (change.position or "0").rjust(20, "0"),
        "primary_keys": list(change.key),
    }
    if change.before is not None and change.op in ("update", "delete"):
        message["before"] = {k: typed(v) for k, v in change.before.items()}
    if change.after is not None and change.op != "delete":
        message["after"] = {k: typed(v) for k, v in change.after.items()}
    return dumps(message)
