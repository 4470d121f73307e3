"""Connections to the business databases, with driver errors translated once, here.

A psycopg2 or PyMySQL error that a user can act on (server down, wrong password, missing database)
becomes a kuaike error whose message says what to do; anything else is re-raised as SourceError.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from kuaike.errors import SourceAuthError, SourceError, SourceUnreachable

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


def _postgres_error(url: SourceURL, exc: Exception) -> SourceError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    where = str(url)
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return SourceAuthError(
            f"PostgreSQL at {where} refused user {url.user!r} ({text}); check the user and password"
        )
    if f'database "{url.database}" does not exist' in lowered:
        return SourceError(
            f"database {url.database!r} does not exist on {where}; create it "
            f"(`kuaike schema create` does) or fix the URL"
        )
    unreachable = ("could not connect", "connection refused", "could not translate host", "timeout")
    if any(word in lowered for word in unreachable):
        return SourceUnreachable(
            f"cannot connect to PostgreSQL at {where} ({text}); check the URL and that the server "
            "is running"
        )
    return SourceError(f"PostgreSQL at {where}: {text}")


def _mysql_error(url: SourceURL, exc: Exception) -> SourceError:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    where = str(url)
    if code == 1045:
        return SourceAuthError(
            f"MySQL at {where} refused user {url.user!r} ({text}); check the user and password"
        )
    if code == 1049:
        return SourceError(
            f"database {url.database!r} does not exist on {where}; create it "
            f"(`kuaike schema create` does) or fix the URL"
        )
    if code in (2002, 2003, 2005, 2006, 2013):
        return SourceUnreachable(
            f"cannot connect to MySQL at {where} ({text}); check the URL and that the server is "
            "running"
        )
    return SourceError(f"MySQL at {where}: {text}")


@contextmanager
def translate_errors(url: SourceURL) -> Iterator[None]:
    """Turn driver errors raised inside the block into kuaike SourceErrors."""
    import psycopg2
    import pymysql

    try:
        yield
    except psycopg2.Error as exc:
        raise _postgres_error(url, exc) from exc
    except pymysql.err.MySQLError as exc:
        raise _mysql_error(url, exc) from exc
    except OSError as exc:
        raise SourceUnreachable(f"cannot reach {url} ({exc}); check the URL") from exc


def connect_postgres(url: SourceURL, **kwargs: Any) -> Any:
    """An open psycopg2 connection (autocommit off), or a SourceError that says what to do."""
    import psycopg2

    with translate_errors(url):
        return psycopg2.connect(**url.psycopg2_dsn(), **kwargs)


def connect_mysql(url: SourceURL, **kwargs: Any) -> Any:
    """An open PyMySQL connection, or a SourceError that says what to do."""
    import pymysql

    with translate_errors(url):
        return pymysql.connect(**{**url.pymysql_kwargs(), **kwargs})
