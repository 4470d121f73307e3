"""Which server a MySQL/MariaDB source is: recorded with the snapshot, checked on every start.

A store's position is a binlog file and offset of one server. Another server behind the same
URL (a failover, a rebuilt one, a mistyped host) may have files of the same names, so resuming
there would read the wrong log silently. Two checks, both refused in one line naming the fix:

1. the identity recorded at snapshot time: `server_uuid` (MySQL: generated once per data
   directory, so a rebuilt server has a new one) and `server_id`. MariaDB has no
   `server_uuid`; its `server_id` (configured, often left at 1) identifies it only together
   with check 2;
2. the stored position must be where an event starts in that binlog file on the server
   (`SHOW BINLOG EVENTS IN file FROM offset`): the server refuses an offset inside an event,
   which a different log of the same name almost always puts there.
"""

from __future__ import annotations

import pymysql

from kuaike.capture.mysql.positions import BinlogPosition
from kuaike.errors import PositionLost
from kuaike.types import MySQLConnection

ER_WRONG_OFFSET = 1220
"""ER_ERROR_WHEN_EXECUTING_COMMAND: SHOW BINLOG EVENTS at an offset inside an event."""


def server_identity(conn: MySQLConnection) -> dict[str, str]:
    """`server_uuid` (MySQL only) and `server_id` of the server, as text."""
    with conn.cursor() as cur:
        cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('server_uuid', 'server_id')")
        return {str(name): str(value) for name, value in cur.fetchall()}


def check_same_server(
    conn: MySQLConnection,
    recorded: dict[str, str] | None,
    position: BinlogPosition,
    source: str,
    url: str,
) -> None:
    """PositionLost (one line) when the server is not the one the store copied."""
    current = server_identity(conn)
    changed = [
        f"{name} {recorded[name]} then, {current.get(name, 'none')} now"
        for name in ("server_uuid", "server_id")
        if recorded is not None and name in recorded and recorded[name] != current.get(name)
    ]
    if not changed and not _event_starts_at(conn, position):
        changed = [f"its binlog {position.file} has no event at offset {position.offset}"]
    if changed:
        raise PositionLost(
            f"source {source!r} at {url} is not the server this store copied "
            f"({'; '.join(changed)}), so the stored position means nothing there; point the "
            f"source's URL back at that server, or copy this one with `kuaike capture "
            f"--resnapshot --source {source}`",
            source=source,
            position=position.text(),
        )


def _event_starts_at(conn: MySQLConnection, position: BinlogPosition) -> bool:
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"SHOW BINLOG EVENTS IN %s FROM {int(position.offset)} LIMIT 1", (position.file,)
            )
            cur.fetchall()
    except pymysql.err.MySQLError as exc:
        if exc.args and exc.args[0] == ER_WRONG_OFFSET:
            return False
        raise
    return True
