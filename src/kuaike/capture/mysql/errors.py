"""MySQL/MariaDB errors that only capture meets, by errno: the binlog and the setup's grants.

Everything else a PyMySQL error can mean is translated by `kuaike.databases.mysql_error`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kuaike.capture.mysql.positions import RESNAPSHOT_HINT, BinlogPosition
from kuaike.databases import SourceURL, mysql_error
from kuaike.errors import PositionLost, SourceError, Transient

ER_MASTER_FATAL_READING_BINLOG = 1236
ER_SPECIFIC_ACCESS_DENIED = 1227
ER_TABLEACCESS_DENIED = 1142
ER_DBACCESS_DENIED = 1044


class BinlogReconnected(Transient, SourceError):
    """The library re-opened the binlog connection; restart from the last applied position."""


@contextmanager
def binlog_errors(url: SourceURL, start: BinlogPosition, source: str) -> Iterator[None]:
    """PyMySQL errors while reading the binlog from `start`; a binlog the server cannot send
    is PositionLost, never skipped."""
    import pymysql

    try:
        yield
    except pymysql.err.MySQLError as exc:
        if exc.args and exc.args[0] == ER_MASTER_FATAL_READING_BINLOG:
            raise PositionLost(
                f"MySQL at {url} cannot send the binlog from {start.text()}; take a new "
                f"snapshot with `{RESNAPSHOT_HINT} --source {source}`",
                source=source,
                position=start.text(),
            ) from exc
        error = mysql_error(url, exc)
        error.source = source
        raise error from exc
    except OSError as exc:
        raise mysql_error(url, pymysql.err.OperationalError(2013, str(exc))) from exc
