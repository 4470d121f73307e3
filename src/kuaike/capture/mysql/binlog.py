"""Read a MySQL/MariaDB binlog as whole committed transactions (mysql-replication underneath).

Position of a transaction = binlog file + end offset of its XID event (or of its DDL query
event): exactly where a reader resumes to get the next transaction; as text it sorts
(`binlog.000002:00000000000000000328`). DDL arrives as query events: TRUNCATE and ALTER of a
captured table are yielded as their own transaction, so they apply in order with the rows.

mysql-replication quirk (see DESIGN.md): against MariaDB only file/position mode with
`is_mariadb=False` and `resume_stream=True` resumes where asked; other combinations silently
start again from the first binlog.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from kuaike.capture.events import blob_text
from kuaike.capture.mysql.errors import BinlogReconnected, binlog_errors
from kuaike.capture.mysql.positions import BinlogPosition
from kuaike.capture.mysql.types import MySQLColumn, binlog_column
from kuaike.databases import SourceURL

RowOp = Literal["insert", "update", "delete"]


@dataclass
class TableChanges:
    """The row changes of one table inside one transaction, in binlog order."""

    columns: tuple[MySQLColumn, ...]
    ops: list[RowOp] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Ddl:
    """A TRUNCATE or ALTER TABLE on a captured table."""

    table: str
    kind: Literal["truncate", "alter"]
    statement: str


@dataclass
class Transaction:
    """One committed transaction: its row changes per table, or one DDL statement."""

    position: BinlogPosition
    commit_ts: dt.datetime
    tables: dict[str, TableChanges] = field(default_factory=dict)
    ddl: Ddl | None = None


_DDL = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*(?P<kind>TRUNCATE|ALTER)\s+(?:ONLINE\s+)?(?:IGNORE\s+)?"
    r"(?:TABLE\s+)?(?:IF\s+EXISTS\s+)?(?P<name>(?:`[^`]+`|[\w$]+)(?:\s*\.\s*(?:`[^`]+`|[\w$]+))?)",
    re.IGNORECASE | re.DOTALL,
)


def parse_ddl(statement: str, default_schema: str) -> tuple[str, str, str] | None:
    """(kind, schema, table) of a TRUNCATE / ALTER TABLE statement, else None.

    >>> parse_ddl("ALTER TABLE `crm`.`crm_address` ADD COLUMN x int", "other")
    ('alter', 'crm', 'crm_address')
    """
    match = _DDL.match(statement)
    if match is None:
        return None
    parts = [part.strip().strip("`") for part in match["name"].split(".")]
    schema, table = (default_schema, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    return match["kind"].lower(), schema, table


def _set_text(value: Any, column: MySQLColumn) -> str:
    """A SET value as MySQL prints it: members in definition order, joined by commas."""
    members = value or set()
    order = column.set_values or tuple(sorted(members))
    return ",".join(member for member in order if member in members)


class BinlogReader:
    """Yields the committed transactions of one database after `start`, in binlog order.

    With `blocking=False` the iteration ends once the reader has caught up with the server;
    with `blocking=True` it yields None on each heartbeat while the server is idle, so the
    caller can flush a partial batch.
    """

    def __init__(
        self,
        url: SourceURL,
        server_id: int,
        start: BinlogPosition,
        *,
        blocking: bool = False,
        heartbeat_s: float = 0.2,
        captured: Callable[[str], bool] = lambda table: True,
        source: str = "",
    ) -> None:
        self.url = url
        self.source = source or url.database
        self.server_id = server_id
        self.start = start
        self.blocking = blocking
        self.heartbeat_s = heartbeat_s
        self.captured = captured
        self._stream_connects = 0
        self._layouts: dict[int, _Layout] = {}

    def _connect(self, **kwargs: Any) -> Any:
        """Count the library's stream connections: it silently reconnects mid-transaction."""
        import pymysql

        if kwargs.get("db") != "information_schema":
            self._stream_connects += 1
        return pymysql.connect(**kwargs)

    def _stream(self) -> Any:
        from pymysqlreplication import BinLogStreamReader
        from pymysqlreplication.event import (
            HeartbeatLogEvent,
            MariadbGtidEvent,
            QueryEvent,
            RotateEvent,
            XidEvent,
        )
        from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

        settings = self.url.pymysql_kwargs()
        settings.pop("database")
        return BinLogStreamReader(
            connection_settings=settings,
            server_id=self.server_id,
            log_file=self.start.file,
            log_pos=self.start.offset,
            resume_stream=True,
            is_mariadb=False,
            blocking=self.blocking,
            slave_heartbeat=self.heartbeat_s if self.blocking else None,
            only_schemas=[self.url.database],
            only_events=[
                QueryEvent,
                XidEvent,
                RotateEvent,
                MariadbGtidEvent,
                HeartbeatLogEvent,
                WriteRowsEvent,
                UpdateRowsEvent,
                DeleteRowsEvent,
            ],
            pymysql_wrapper=self._connect,
            enable_logging=False,
        )

    def __iter__(self) -> Iterator[Transaction | None]:
        stream = self._stream()
        try:
            with binlog_errors(self.url, self.start, self.source):
                yield from self._transactions(stream)
        finally:
            stream.close()

    def _transactions(self, stream: Any) -> Iterator[Transaction | None]:
        from pymysqlreplication.event import HeartbeatLogEvent, QueryEvent, XidEvent
        from pymysqlreplication.row_event import RowsEvent

        current: dict[str, TableChanges] = {}
        for event in stream:
            if self._stream_connects > 1:
                raise BinlogReconnected(
                    f"the binlog connection to {self.url} dropped and was re-opened mid-stream; "
                    "kuaike restarts from the last applied transaction"
                )
            if isinstance(event, RowsEvent):
                if self.captured(event.table):
                    self._add_rows(current, event)
            elif isinstance(event, XidEvent):
                yield self._finish(current, stream, event)
                current = {}
            elif isinstance(event, QueryEvent):
                done = self._query(current, stream, event)
                if done is not None:
                    yield done
                    current = {}
            elif isinstance(event, HeartbeatLogEvent):
                yield None

    def _position(self, stream: Any, event: Any) -> BinlogPosition:
        return BinlogPosition(str(stream.log_file), int(event.packet.log_pos))

    def _finish(self, current: dict[str, TableChanges], stream: Any, event: Any) -> Transaction:
        commit_ts = dt.datetime.fromtimestamp(int(event.timestamp), dt.UTC)
        return Transaction(self._position(stream, event), commit_ts, current)

    def _query(
        self, current: dict[str, TableChanges], stream: Any, event: Any
    ) -> Transaction | None:
        """COMMIT ends a non-transactional group; TRUNCATE/ALTER are transactions of their own."""
        statement = _text(event.query)
        keyword = statement.strip().upper()
        if keyword == "BEGIN":
            return None
        if keyword == "COMMIT":
            return self._finish(current, stream, event)
        parsed = parse_ddl(statement, _text(event.schema) or self.url.database)
        done = self._finish({}, stream, event)
        if parsed is not None and parsed[1] == self.url.database:
            kind, _, table = parsed
            done.ddl = Ddl(table, "truncate" if kind == "truncate" else "alter", statement)
        # Any other statement (CREATE, DROP, ...) still moves the position forward.
        return done

    def _add_rows(self, current: dict[str, TableChanges], event: Any) -> None:
        layout = self._layout(event)
        changes = current.get(event.table)
        if changes is None:
            changes = current[event.table] = TableChanges(layout.columns)
        changes.columns = layout.columns  # the latest table map wins (an ALTER in between)
        op: RowOp = _OPS[type(event).__name__]
        image = "after_values" if op == "update" else "values"
        for row in event.rows:
            if op == "update" and (not layout.key or layout.key_moved(row)):
                # The row left its old key (or, without a key, its old self: the old row is
                # its identity): delete that one, then write the new one.
                changes.ops.append("delete")
                changes.rows.append(self._fixed(layout, row, "before_values"))
            changes.ops.append(op)
            changes.rows.append(self._fixed(layout, row, image))

    @staticmethod
    def _fixed(layout: _Layout, row: dict[str, Any], image: str) -> dict[str, Any]:
        """A row image (`values`, `after_values`, ...) with values as the store takes them."""
        values: dict[str, Any] = row[image]
        for name, fix in layout.fixes:
            if values[name] is not None:
                values[name] = fix(values[name])
        for column in layout.sets:
            if values[column.name] is not None or _empty_set(row, column.name, image):
                values[column.name] = _set_text(values[column.name], column)
        return values

    def _layout(self, event: Any) -> _Layout:
        """Column descriptions and value fixes per table map, cached by table id."""
        table = event.table_map[event.table_id]
        cached = self._layouts.get(event.table_id)
        if cached is None or cached.table is not table:
            # A table map repeats per transaction; rebuild only when its columns differ.
            if cached is None or cached.signature != _signature(table):
                cached = _Layout.of(table)
            cached.table = table
            self._layouts[event.table_id] = cached
        return cached


@dataclass
class _Layout:
    """What decoding one table map's rows needs: columns, value fixes, SET columns."""

    table: Any
    columns: tuple[MySQLColumn, ...]
    fixes: list[tuple[str, Callable[[Any], Any]]]
    sets: list[MySQLColumn]
    key: list[str]
    signature: tuple[Any, ...]

    def key_moved(self, row: dict[str, Any]) -> bool:
        """Whether an update row changed its primary key."""
        before, after = row["before_values"], row["after_values"]
        return any(before[name] != after[name] for name in self.key)

    @classmethod
    def of(cls, table: Any) -> _Layout:
        columns = tuple(binlog_column(column) for column in table.columns)
        fixes = [(c.name, fix) for c in columns if (fix := c.fix) is not None]
        fixes += [(c.name, blob_text) for c in columns if c.duck_type == "BLOB"]
        sets = [c for c in columns if c.mysql_type == "set"]
        key = [c.name for c in columns if c.is_primary]
        return cls(table, columns, fixes, sets, key, _signature(table))


def _signature(table: Any) -> tuple[Any, ...]:
    """What identifies a table map's layout: table name and each column's description."""
    return (table.table, *(tuple(sorted(c.data.items(), key=str)) for c in table.columns))


_OPS: dict[str, RowOp] = {
    "WriteRowsEvent": "insert",
    "UpdateRowsEvent": "update",
    "DeleteRowsEvent": "delete",
}


def _empty_set(row: dict[str, Any], name: str, image: str) -> bool:
    """The library reports an empty SET as None; its none_sources tell '' from NULL."""
    sources = row.get(image.replace("values", "none_sources")) or {}
    return bool(sources.get(name) == "empty set")


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")
