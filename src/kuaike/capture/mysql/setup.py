"""Is a MySQL/MariaDB server set up for binlog capture? Refuse with one line naming the fix.

Checked in order: the binlog is on, `binlog_format=ROW`, `binlog_row_image=FULL`,
`binlog_row_metadata=FULL` (column names and types in the binlog: without it rows cannot be
matched to columns after an ALTER), then the user's REPLICATION SLAVE / REPLICATION CLIENT grants
and SELECT on the captured tables (for the snapshot).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kuaike.capture.mysql.errors import (
    ER_DBACCESS_DENIED,
    ER_SPECIFIC_ACCESS_DENIED,
    ER_TABLEACCESS_DENIED,
)
from kuaike.databases import SourceURL, scalar
from kuaike.errors import SourceSetupError
from kuaike.types import MySQLConnection, MySQLCursor

# (variable, required value), checked in this order.
REQUIRED_SETTINGS: tuple[tuple[str, str], ...] = (
    ("log_bin", "ON"),
    ("binlog_format", "ROW"),
    ("binlog_row_image", "FULL"),
    ("binlog_row_metadata", "FULL"),
)


@dataclass(frozen=True)
class ServerInfo:
    """What the setup check learned about the server."""

    version: str
    mariadb: bool


def _variables(cur: MySQLCursor) -> dict[str, str]:
    names = ",".join(f"'{name}'" for name, _ in REQUIRED_SETTINGS)
    cur.execute(f"SHOW GLOBAL VARIABLES WHERE Variable_name IN ({names})")
    return {str(name).lower(): str(value).upper() for name, value in cur.fetchall()}


def _setting_problem(url: SourceURL, variables: dict[str, str]) -> str | None:
    where = f"{url.host}:{url.port}"
    for name, wanted in REQUIRED_SETTINGS:
        value = variables.get(name)
        if value == wanted:
            continue
        if name == "log_bin":
            return (
                f"the binlog is off on {where}; start the server with log-bin (and "
                "binlog_format=ROW, binlog_row_image=FULL, binlog_row_metadata=FULL)"
            )
        if value is None:
            return (
                f"{name} does not exist on {where}: the server is too old for binlog capture; "
                "use MariaDB >= 10.5 or MySQL >= 8.0.14"
            )
        return f"{name} is {value} on {where}; set {name}={wanted} and restart the server"
    return None


def _grantee(cur: MySQLCursor) -> str:
    cur.execute("SELECT CURRENT_USER()")
    user, _, host = str(scalar(cur)).rpartition("@")
    return f"'{user}'@'{host}'"


def _grants(cur: MySQLCursor) -> str:
    cur.execute("SHOW GRANTS FOR CURRENT_USER()")
    return " ".join(str(row[0]) for row in cur.fetchall()).upper()


def _has_global(grants: str, *privileges: str) -> bool:
    """Whether SHOW GRANTS text gives one of `privileges` (or ALL) ON *.*."""
    for line in re.findall(r"GRANT (.+?) ON \*\.\*", grants):
        if "ALL PRIVILEGES" in line or any(privilege in line for privilege in privileges):
            return True
    return False


def _grant_problem(cur: MySQLCursor, url: SourceURL) -> str | None:
    import pymysql

    grantee = _grantee(cur)
    if not _has_global(_grants(cur), "REPLICATION SLAVE", "REPLICATION REPLICA"):
        return (
            f"user {grantee} may not read the binlog; run "
            f"GRANT REPLICATION SLAVE ON *.* TO {grantee}"
        )
    try:
        cur.execute("SHOW BINARY LOGS")
        cur.fetchall()
    except pymysql.err.OperationalError as exc:
        if exc.args[0] != ER_SPECIFIC_ACCESS_DENIED:
            raise
        return (
            f"user {grantee} may not list binlogs; run "
            f"GRANT REPLICATION CLIENT ON *.* TO {grantee} (MariaDB: BINLOG MONITOR)"
        )
    return None


def _select_problem(cur: MySQLCursor, url: SourceURL, tables: list[str]) -> str | None:
    import pymysql

    grantee = _grantee(cur)
    fix = f"GRANT SELECT ON `{url.database}`.* TO {grantee}"
    try:
        cur.execute(f"USE `{url.database}`")  # SHOW TABLES would just list nothing
    except pymysql.err.OperationalError as exc:
        if exc.args[0] != ER_DBACCESS_DENIED:
            raise
        return f"user {grantee} may not read database {url.database} for the snapshot; run {fix}"
    for table in tables:
        try:
            cur.execute(f"SELECT * FROM `{url.database}`.`{table}` LIMIT 0")
        except pymysql.err.OperationalError as exc:
            if exc.args[0] not in (ER_TABLEACCESS_DENIED, ER_DBACCESS_DENIED):
                raise
            return f"user {grantee} may not read {url.database}.{table} for the snapshot; run {fix}"
    return None


def check_setup(conn: MySQLConnection, url: SourceURL, tables: list[str]) -> ServerInfo:
    """Raise SourceSetupError (one line: what to set or GRANT) unless capture can work."""
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        version = str(scalar(cur))
        problem = (
            _setting_problem(url, _variables(cur))
            or _grant_problem(cur, url)
            or _select_problem(cur, url, tables)
        )
    if problem is not None:
        raise SourceSetupError(problem)
    return ServerInfo(version, "mariadb" in version.lower())
