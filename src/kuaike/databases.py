"""The business databases: URLs, connections, and driver errors translated once, by code.

A psycopg2 or PyMySQL error that a user can act on (server down, wrong password, missing database)
becomes a kuaike error whose message says what to do; anything else is a SourceError naming the
driver's code. Capture adds the codes only it meets (slots, binlog) in its sources' errors.py.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from kuaike.errors import SourceAuthError, SourceError, SourceSetupError, SourceUnreachable
from kuaike.types import MySQLConnection, MySQLCursor, PgConnection, PgCursor

Dialect = Literal["postgresql", "mysql"]


@dataclass(frozen=True)
class SourceURL:
    """A parsed database URL; `str()` hides the password."""

    dialect: Dialect
    host: str
    port: int
    user: str
    password: str
    database: str
    query: str = ""

    @classmethod
    def parse(cls, url: str) -> SourceURL:
        """Parse `postgresql://user:pw@host:port/db` or `mysql://...`.

        >>> SourceURL.parse("mysql://root@127.0.0.1:3307/crm").port
        3307
        """
        parts = urlsplit(url)
        dialect: Dialect = "mysql" if parts.scheme in ("mysql", "mariadb") else "postgresql"
        default_port = 3306 if dialect == "mysql" else 5432
        default_user = "root" if dialect == "mysql" else "postgres"
        try:
            port = parts.port or default_port
        except ValueError as exc:
            raise SourceError(f"bad port in database URL {url!r}; use host:port") from exc
        return cls(
            dialect=dialect,
            host=parts.hostname or ("localhost" if dialect == "mysql" else ""),
            port=port,
            user=unquote(parts.username or default_user),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/") or ("crm" if dialect == "mysql" else "postgres"),
            query=parts.query,
        )

    def __str__(self) -> str:
        host = self.host or "local socket"
        return f"{self.dialect}://{self.user}@{host}:{self.port}/{self.database}"

    def with_database(self, database: str) -> SourceURL:
        return SourceURL(
            self.dialect, self.host, self.port, self.user, self.password, database, self.query
        )

    def psycopg2_dsn(self) -> dict[str, Any]:
        """Keyword arguments for psycopg2.connect."""
        dsn: dict[str, Any] = {"dbname": self.database, "user": self.user, "port": self.port}
        if self.host:
            dsn["host"] = self.host
        if self.password:
            dsn["password"] = self.password
        for item in filter(None, self.query.split("&")):
            key, _, value = item.partition("=")
            dsn[key] = unquote(value)
        dsn.setdefault("connect_timeout", 10)
        return dsn

    def pymysql_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for pymysql.connect (and mysql-replication's connection settings)."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.database,
            "charset": "utf8mb4",
            "connect_timeout": 10,
        }


# --- driver errors → kuaike errors -------------------------------------------------------------
# Keyed on the drivers' codes (SQLSTATE, MySQL errno), never on message text: a server whose
# lc_messages is German says the same things in German, and kuaike must still recognise them.

PG_UNREACHABLE_CLASSES = ("08", "57P", "53300")
"""SQLSTATEs worth a retry: connection exceptions, operator intervention (shutdown, restart,
"starting up"), too many connections."""

PG_AUTH_CODES = frozenset({"28000", "28P01"})
PG_NO_DATABASE = "3D000"

PQPING_OK, PQPING_REJECT, PQPING_NO_RESPONSE, PQPING_NO_ATTEMPT = range(4)
"""libpq's PQping answers: the server accepts logins / refuses all now (starting up, shutting
down, recovery) / did not answer / the parameters are unusable."""

MAINTENANCE_DATABASES = ("postgres", "template1")


def postgres_error(url: SourceURL, exc: Exception) -> SourceError:
    """The kuaike error for a psycopg2 error raised while talking to `url`."""
    code = getattr(exc, "pgcode", None)
    if code is None:
        # psycopg2 gives no SQLSTATE once the connection is gone (or for login failures, which
        # `connect_postgres` diagnoses itself): the server closed it or the network dropped.
        return SourceUnreachable(f"lost the connection to PostgreSQL at {url}; retrying")
    if code in PG_AUTH_CODES:
        return _refused(url)
    if code == PG_NO_DATABASE:
        return _no_database(url)
    if code.startswith(PG_UNREACHABLE_CLASSES):
        return SourceUnreachable(
            f"PostgreSQL at {url} is not accepting connections now (SQLSTATE {code}); retrying"
        )
    return SourceError(f"PostgreSQL at {url} failed (SQLSTATE {code}): {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _refused(url: SourceURL) -> SourceAuthError:
    return SourceAuthError(
        f"PostgreSQL at {url} refused user {url.user!r}; check the user and password (and "
        "pg_hba.conf)"
    )


def _no_database(url: SourceURL) -> SourceError:
    return SourceError(
        f"database {url.database!r} does not exist on {url}; create it "
        "(`kuaike schema create` does) or fix the URL"
    )


def _unreachable(url: SourceURL, dialect_name: str) -> SourceUnreachable:
    return SourceUnreachable(
        f"cannot connect to {dialect_name} at {url}; check the URL and that the server is running"
    )


def _libpq() -> ctypes.CDLL | None:
    """The libpq psycopg2 loaded (found in the process's mappings), or the system's."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/maps").read_text().splitlines():
            path = line.split()[-1]
            if "/libpq" in path and ".so" in path:
                return ctypes.CDLL(path)
    name = ctypes.util.find_library("pq")
    return ctypes.CDLL(name) if name else None


def _ping(url: SourceURL) -> int:
    """libpq's PQping for `url` (what pg_isready runs): it reads the server's SQLSTATE itself."""
    import psycopg2.extensions

    libpq = _libpq()
    if libpq is None:
        return PQPING_NO_RESPONSE
    libpq.PQping.argtypes = [ctypes.c_char_p]
    libpq.PQping.restype = ctypes.c_int
    dsn = psycopg2.extensions.make_dsn(**url.psycopg2_dsn())
    return int(libpq.PQping(dsn.encode()))


def _logs_in(url: SourceURL, **kwargs: Any) -> bool:
    import psycopg2

    try:
        psycopg2.connect(**url.psycopg2_dsn(), **kwargs).close()
    except psycopg2.Error:
        return False
    return True


def login_failure(url: SourceURL, exc: Exception, **kwargs: Any) -> SourceError:
    """Why psycopg2 could not open a connection with `kwargs`, found without reading the text.

    libpq keeps the SQLSTATE of a failed login to itself, so the cause is found by asking:
    does the server answer (PQping)? can the same user log into a maintenance database, or open
    a plain connection where a replication one was refused?
    """
    code = getattr(exc, "pgcode", None)
    if code is not None:
        return postgres_error(url, exc)
    answer = _ping(url)
    if answer == PQPING_NO_ATTEMPT:
        return SourceError(f"the connection settings for {url} are not usable; fix the URL")
    if answer == PQPING_NO_RESPONSE:
        return _unreachable(url, "PostgreSQL")
    if answer == PQPING_REJECT:
        return SourceUnreachable(
            f"PostgreSQL at {url} is not accepting connections now (starting up, shutting down "
            "or in recovery); retrying"
        )
    if kwargs.get("connection_factory") is not None and _logs_in(url):
        return SourceSetupError(
            f"PostgreSQL at {url} refused a replication connection to user {url.user!r}; run "
            f'`ALTER ROLE "{url.user}" WITH REPLICATION` as a superuser, and allow it in '
            "pg_hba.conf"
        )
    if url.database not in MAINTENANCE_DATABASES and any(
        _logs_in(url.with_database(name)) for name in MAINTENANCE_DATABASES
    ):
        return _no_database(url)
    return _refused(url)


MYSQL_AUTH_CODES = frozenset({1045, 1698})
MYSQL_NO_DATABASE = 1049
MYSQL_UNREACHABLE_CODES = frozenset({1040, 1053, 1927, 2002, 2003, 2005, 2006, 2013})
"""Too many connections, server shutdown, connection killed, cannot connect, server gone,
connection lost: worth a retry."""


def mysql_error(url: SourceURL, exc: Exception) -> SourceError:
    """The kuaike error for a PyMySQL error raised while talking to `url` (by its errno)."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    if code in MYSQL_AUTH_CODES:
        return SourceAuthError(
            f"MySQL at {url} refused user {url.user!r}; check the user and password"
        )
    if code == MYSQL_NO_DATABASE:
        return _no_database(url)
    if code in MYSQL_UNREACHABLE_CODES:
        return _unreachable(url, "MySQL")
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    return SourceError(f"MySQL at {url} failed (error {code}): {text}")


@contextmanager
def postgres_errors(url: SourceURL) -> Iterator[None]:
    """psycopg2 errors raised inside the block become kuaike SourceErrors."""
    import psycopg2

    try:
        yield
    except psycopg2.Error as exc:
        raise postgres_error(url, exc) from exc
    except OSError as exc:
        raise _unreachable(url, "PostgreSQL") from exc


@contextmanager
def mysql_errors(url: SourceURL) -> Iterator[None]:
    """PyMySQL errors raised inside the block become kuaike SourceErrors."""
    import pymysql

    try:
        yield
    except pymysql.err.MySQLError as exc:
        raise mysql_error(url, exc) from exc
    except OSError as exc:
        raise _unreachable(url, "MySQL") from exc


def connect_postgres(url: SourceURL, **kwargs: Any) -> PgConnection:
    """An open psycopg2 connection (autocommit off), or a SourceError that says what to do."""
    import psycopg2

    try:
        conn: PgConnection = psycopg2.connect(**url.psycopg2_dsn(), **kwargs)
    except psycopg2.Error as exc:
        raise login_failure(url, exc, **kwargs) from exc
    return conn


def connect_mysql(url: SourceURL, **kwargs: Any) -> MySQLConnection:
    """An open PyMySQL connection, or a SourceError that says what to do."""
    import pymysql

    with mysql_errors(url):
        return pymysql.connect(**{**url.pymysql_kwargs(), **kwargs})


def driver_errors(url: SourceURL) -> AbstractContextManager[None]:
    """The error translator for `url`'s driver (`postgres_errors` or `mysql_errors`)."""
    return mysql_errors(url) if url.dialect == "mysql" else postgres_errors(url)


def scalar(cur: PgCursor | MySQLCursor) -> Any:
    """The first column of the row a query just returned (a SourceError when it returned none)."""
    row = cur.fetchone()
    if row is None:
        raise SourceError("the database returned no row where one was expected")
    return row[0]
