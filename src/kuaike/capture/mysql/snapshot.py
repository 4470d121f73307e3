"""A consistent snapshot of a MySQL/MariaDB database together with its binlog coordinates.

MariaDB: `START TRANSACTION WITH CONSISTENT SNAPSHOT` publishes `binlog_snapshot_file` /
`binlog_snapshot_position` for that very snapshot, so no lock is needed. MySQL has no such status:
the standard short `FLUSH TABLES WITH READ LOCK` is held only while the snapshot starts and the
coordinates are read. Rows stream through a server-side cursor in chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kuaike.capture.mysql.positions import BinlogPosition
from kuaike.capture.mysql.types import MySQLColumn, schema_type_name, with_json
from kuaike.databases import SourceURL, connect_mysql, mysql_errors
from kuaike.errors import SourceError
from kuaike.types import MySQLCursor

CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class SourceTable:
    """A table of the captured database: its columns (in order) and primary key."""

    name: str
    columns: tuple[MySQLColumn, ...]
    key: tuple[str, ...]


def describe_tables(
    cur: MySQLCursor, database: str, names: list[str], json: dict[str, set[str]] | None = None
) -> list[SourceTable]:
    """Columns and primary keys of `names` (base tables of `database`), in the given order."""
    if not names:
        return []
    marks = ",".join(["%s"] * len(names))
    cur.execute(
        "SELECT table_name, column_name, data_type, column_type, numeric_precision, "
        "numeric_scale, column_key FROM information_schema.columns WHERE table_schema = %s "
        f"AND table_name IN ({marks}) ORDER BY table_name, ordinal_position",
        (database, *names),
    )
    columns: dict[str, list[MySQLColumn]] = {name: [] for name in names}
    for table, column, data_type, column_type, precision, scale, key in cur.fetchall():
        mysql_type = schema_type_name(str(data_type), str(column_type))
        columns[str(table)].append(
            MySQLColumn.of(str(column), mysql_type, precision, scale, is_primary=key == "PRI")
        )
    json = json or {}
    return [
        SourceTable(
            name,
            with_json(tuple(cols), json.get(name, set())),
            tuple(c.name for c in cols if c.is_primary),
        )
        for name, cols in columns.items()
    ]


_JSON_CHECK = re.compile(r"json_valid\(`([^`]+)`\)", re.IGNORECASE)


def json_columns(cur: MySQLCursor, database: str, mariadb: bool) -> dict[str, set[str]]:
    """MariaDB: per table, the LONGTEXT columns checked by json_valid() (its JSON columns)."""
    if not mariadb:
        return {}  # MySQL has a real JSON type
    cur.execute(
        "SELECT table_name, check_clause FROM information_schema.check_constraints "
        "WHERE constraint_schema = %s",
        (database,),
    )
    found: dict[str, set[str]] = {}
    for table, clause in cur.fetchall():
        match = _JSON_CHECK.fullmatch(str(clause).strip())
        if match:
            found.setdefault(str(table), set()).add(match[1])
    return found


def list_tables(cur: MySQLCursor, database: str) -> list[str]:
    """Base tables of `database`, by name."""
    cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "AND table_type = 'BASE TABLE' ORDER BY table_name",
        (database,),
    )
    return [str(row[0]) for row in cur.fetchall()]


def _start_snapshot(cur: MySQLCursor, mariadb: bool) -> BinlogPosition:
    """Open the snapshot transaction and return the binlog coordinates it corresponds to."""
    cur.execute("SET SESSION time_zone = '+00:00'")  # TIMESTAMP values in UTC, as the binlog
    cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    if mariadb:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        cur.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
        status = {str(name).lower(): str(value) for name, value in cur.fetchall()}
        return BinlogPosition(
            status["binlog_snapshot_file"], int(status["binlog_snapshot_position"])
        )
    cur.execute("FLUSH TABLES WITH READ LOCK")
    try:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        cur.execute("SHOW MASTER STATUS")
        row = cur.fetchone()
    finally:
        cur.execute("UNLOCK TABLES")
    if row is None:
        raise SourceError("SHOW MASTER STATUS returned nothing: the binlog is off")
    return BinlogPosition(str(row[0]), int(row[1]))


@dataclass
class ConsistentRead:
    """An open snapshot: its binlog position and the tables it reads."""

    position: BinlogPosition
    tables: list[SourceTable]
    _conn: Any

    def rows(self, table: SourceTable) -> Iterator[list[dict[str, Any]]]:
        """The table's rows inside the snapshot, in chunks of CHUNK_ROWS dicts."""
        import pymysql.cursors

        names = [column.name for column in table.columns]
        fixes = [(c.name, fix) for c in table.columns if (fix := c.fix) is not None]
        select = ", ".join(f"`{name}`" for name in names)
        with self._conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(f"SELECT {select} FROM `{table.name}`")
            while chunk := cur.fetchmany(CHUNK_ROWS):
                rows = [dict(zip(names, row, strict=True)) for row in chunk]
                for row in rows:
                    for name, fix in fixes:
                        if row[name] is not None:
                            row[name] = fix(row[name])
                yield rows

    def close(self) -> None:
        """End the snapshot transaction."""
        try:
            self._conn.rollback()
        finally:
            self._conn.close()


def open_snapshot(url: SourceURL, table_names: list[str], mariadb: bool) -> ConsistentRead:
    """Start a consistent snapshot of `table_names` and learn its binlog coordinates."""
    conn = connect_mysql(url)
    try:
        with mysql_errors(url), conn.cursor() as cur:
            position = _start_snapshot(cur, mariadb)
            json = json_columns(cur, url.database, mariadb)
            tables = describe_tables(cur, url.database, table_names, json)
    except BaseException:
        conn.close()
        raise
    return ConsistentRead(position, tables, conn)
