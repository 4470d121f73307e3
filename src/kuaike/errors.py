"""Kuaike's exceptions: one tree, so callers catch what they can act on.

    KuaikeError                    anything kuaike reports to a user (one clear line, exit 1)
    ├── ConfigError                a bad config file, key or value
    ├── UsageError                 a bad command-line value (date, rate, option combination)
    ├── SourceError                a business database (PostgreSQL, MySQL) refused or failed
    │   ├── SourceUnreachable      cannot connect: host down, wrong port  (Transient)
    │   ├── SourceAuthError        wrong user or password
    │   ├── SourceSetupError       server not set up for CDC (wal_level, binlog_format, grants)
    │   └── PositionLost           the source no longer has the log at the stored position
    ├── StoreError                 the DuckDB replica failed or is locked by another process
    ├── MessageError               a malformed change message (OGG, Canal, Debezium, ...)
    ├── WarehouseError             a model failed to build
    │   └── AuditError             a model's audit failed: previous tables are kept
    └── ServeError                 the data service refused a request or cannot be reached
        ├── NotFound               no such table, route or resource
        ├── AuthError              a missing or wrong access token
        ├── QueryRefused           the SQL console refused a statement (not read-only, not allowed)
        ├── QueryLimit             a console query ran too long or returned too much
        └── ServerUnreachable      the running `kuaike run` does not answer  (Transient)

`Transient` is a mixin: an error that is worth retrying with backoff (a dropped connection, a
server restarting). Everything else is terminal until someone fixes something. Every message says
what is wrong and what to do next.
"""

from __future__ import annotations


class KuaikeError(Exception):
    """Base of every error kuaike reports to its user."""

    exit_code = 1
    http_status = 500


class Transient:
    """Mixin: retrying after a pause may succeed (the cause is outside and may go away)."""


class ConfigError(KuaikeError):
    """A config file, key or value is wrong."""

    exit_code = 2
    http_status = 400


class UsageError(KuaikeError):
    """A command-line value (or a request's parameter) is wrong."""

    exit_code = 2
    http_status = 400


class SourceError(KuaikeError):
    """A business database refused or failed; `source`, `table` and `position` say where."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        table: str | None = None,
        position: str | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.table = table
        self.position = position


class SourceUnreachable(Transient, SourceError):
    """The database server cannot be reached."""


class SourceAuthError(SourceError):
    """The database refused the user or password."""


class SourceSetupError(SourceError):
    """The database is not set up for change data capture."""


class PositionLost(SourceError):
    """The source's log no longer holds the stored position; a new snapshot is needed."""


class StoreError(KuaikeError):
    """The DuckDB replica failed; `path` names the store file, `table` the table if one."""

    http_status = 503

    def __init__(self, message: str, *, path: str | None = None, table: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.table = table


class MessageError(KuaikeError):
    """A change message could not be parsed."""


class WarehouseError(KuaikeError):
    """A warehouse model failed to build."""

    def __init__(self, message: str, *, model: str | None = None) -> None:
        super().__init__(message)
        self.model = model


class AuditError(WarehouseError):
    """A model's audit failed; the previous tables stay in place."""

    http_status = 409


class ServeError(KuaikeError):
    """The data service refused a request, or the CLI cannot reach it."""

    http_status = 400


class NotFound(ServeError):
    """No such table, route or resource."""

    http_status = 404


class AuthError(ServeError):
    """The request carries no access token, or the wrong one (the token is never echoed)."""

    http_status = 401


class QueryRefused(ServeError):
    """The SQL console refused a statement: not one read-only query, or outside its allow-list."""

    http_status = 403


class QueryLimit(ServeError):
    """A console query ran past its time limit or returned more than its size limit."""

    http_status = 422


class ServerUnreachable(Transient, ServeError):
    """The `kuaike run` process named by the server file does not answer."""

    http_status = 502
