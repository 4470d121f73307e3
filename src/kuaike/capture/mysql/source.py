"""One MySQL/MariaDB database as a source of ChangeBatches: setup check, snapshot, binlog.

    source = MySQLSource("crm", url, settings.capture)
    source.check()                                      # SourceSetupError: one line, the fix
    with source.snapshot() as snap:                     # consistent rows + binlog coordinates
        for schema, rows in snap.tables():              # Arrow tables, one per source table
            ...
    for batch in source.batches(snap.position):         # whole transactions after it
        ...

No store here (capture never imports the store): `kuaike.capture.mysql.capture` drives the store.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from kuaike.capture.events import (
    BatchBuilder,
    ChangeBatch,
    Column,
    Position,
    TableChanges,
    TableSchema,
)
from kuaike.capture.mysql.binlog import BinlogReader, Transaction
from kuaike.capture.mysql.errors import BinlogReconnected
from kuaike.capture.mysql.identity import check_same_server, server_identity
from kuaike.capture.mysql.positions import (
    RESNAPSHOT_HINT,
    BinlogPosition,
    ensure_available,
)
from kuaike.capture.mysql.setup import ServerInfo, check_setup
from kuaike.capture.mysql.snapshot import (
    ConsistentRead,
    SourceTable,
    describe_tables,
    json_columns,
    list_tables,
    open_snapshot,
)
from kuaike.capture.mysql.types import MySQLColumn, arrow_type, with_json
from kuaike.config import CaptureSettings
from kuaike.databases import SourceURL, connect_mysql, mysql_errors

log = logging.getLogger("kuaike.capture.mysql")


def to_position(position: BinlogPosition) -> Position:
    """The store's Position for a binlog coordinate."""
    return Position.mysql(position.file, position.offset)


def from_position(position: Position) -> BinlogPosition:
    """The binlog coordinate of a stored Position."""
    return BinlogPosition.parse(position.text)


def table_schema(source: str, name: str, columns: tuple[MySQLColumn, ...]) -> TableSchema:
    """The TableSchema the store creates `ods.<table>` from."""
    key = tuple(column.name for column in columns if column.is_primary)
    described = tuple(Column(column.name, column.type_text) for column in columns)
    return TableSchema(source, name, described, key, dialect="mysql")


class MySQLSource:
    """One MySQL/MariaDB database captured as source `source`."""

    def __init__(self, source: str, url: str | SourceURL, settings: CaptureSettings) -> None:
        self.source = source
        self.url = url if isinstance(url, SourceURL) else SourceURL.parse(url)
        self.settings = settings
        self.server: ServerInfo | None = None
        self._schemas: dict[tuple[str, tuple[MySQLColumn, ...]], TableSchema] = {}
        self._json: dict[str, set[str]] | None = None
        self.reconnects = 0
        """Times the binlog connection dropped and reading resumed at the last batch."""

    def captured(self, table: str) -> bool:
        """Whether `table` matches the include patterns and none of the exclude patterns."""
        included = any(fnmatch.fnmatchcase(table, p) for p in self.settings.include)
        return included and not any(fnmatch.fnmatchcase(table, p) for p in self.settings.exclude)

    def _connect(self) -> Any:
        return connect_mysql(self.url, autocommit=True)

    def tables(self) -> list[str]:
        """The database's base tables that are captured."""
        conn = self._connect()
        try:
            with mysql_errors(self.url), conn.cursor() as cur:
                return [name for name in list_tables(cur, self.url.database) if self.captured(name)]
        finally:
            conn.close()

    def check(self) -> ServerInfo:
        """Refuse a server or user not set up for capture (SourceSetupError, one line)."""
        # No default database: a user without SELECT on it must hear which GRANT is missing.
        conn = connect_mysql(self.url, autocommit=True, database=None)
        try:
            with mysql_errors(self.url), conn.cursor() as cur:
                names = [n for n in list_tables(cur, self.url.database) if self.captured(n)]
            with mysql_errors(self.url):
                self.server = check_setup(conn, self.url, names)
        finally:
            conn.close()
        return self.server

    def ensure_available(self, position: Position) -> None:
        """PositionLost when the server no longer has the binlog holding `position`."""
        conn = self._connect()
        try:
            with mysql_errors(self.url):
                hint = f"{RESNAPSHOT_HINT} --source {self.source}"
                ensure_available(conn, from_position(position), self.source, hint)
        finally:
            conn.close()

    def identity(self) -> dict[str, str]:
        """The server's identity (`identity.server_identity`)."""
        conn = self._connect()
        try:
            with mysql_errors(self.url):
                return server_identity(conn)
        finally:
            conn.close()

    def check_server(self, position: Position, recorded: dict[str, str] | None) -> None:
        """PositionLost when the server is not the one `recorded` at snapshot time, or has
        no event at `position` (see `identity`)."""
        conn = self._connect()
        try:
            with mysql_errors(self.url):
                at = from_position(position)
                check_same_server(conn, recorded, at, self.source, str(self.url))
        finally:
            conn.close()

    @contextmanager
    def snapshot(self) -> Iterator[MySQLSnapshot]:
        """A consistent snapshot of the captured tables, with its binlog position."""
        server = self.server or self.check()
        snap = open_snapshot(self.url, self.tables(), server.mariadb)
        try:
            yield MySQLSnapshot(self, snap)
        finally:
            snap.close()

    def schema(self, table: str, columns: tuple[MySQLColumn, ...]) -> TableSchema:
        """TableSchema for a table's current columns (cached: the store compares them)."""
        key = (table, columns)
        schema = self._schemas.get(key)
        if schema is None:
            typed = with_json(columns, self._json_columns().get(table, set()))
            schema = self._schemas[key] = table_schema(self.source, table, typed)
        return schema

    def _json_columns(self, refresh: bool = False) -> dict[str, set[str]]:
        """MariaDB JSON columns per table (the binlog cannot tell them from LONGTEXT)."""
        if self._json is None or refresh:
            server = self.server or self.check()
            conn = self._connect()
            try:
                with mysql_errors(self.url), conn.cursor() as cur:
                    self._json = json_columns(cur, self.url.database, server.mariadb)
            finally:
                conn.close()
            self._schemas.clear()
        return self._json

    def binlog_end(self) -> Position:
        """The end of the server's binlog now (SHOW MASTER STATUS)."""
        conn = self._connect()
        try:
            with mysql_errors(self.url), conn.cursor() as cur:
                cur.execute("SHOW MASTER STATUS")
                row = cur.fetchone()
        finally:
            conn.close()
        return to_position(BinlogPosition(str(row[0]), int(row[1])))

    def batches(
        self,
        start: Position,
        *,
        until: Position | None = None,
        wait: bool = True,
        ready: Callable[[], bool] = lambda: True,
    ) -> Iterator[ChangeBatch]:
        """Batches of whole transactions after `start`, cut by size and latency.

        Ends once a transaction at or after `until` is handed out, or (`wait=False`) at the
        end of the server's binlog. While the server is idle an empty batch comes out every
        heartbeat, so the caller can check for a stop request. Each batch is taken only after
        the previous one was consumed, so a dropped connection restarts from the last batch
        handed out. While `ready()` is false (the store still applies the previous batch) a
        batch grows past the latency bound, up to `batch_max_rows`: fewer, larger MERGEs.
        """
        self.ensure_available(start)
        target = from_position(until) if until is not None else None
        resume = start
        while True:
            try:
                for batch in self._read(from_position(resume), target, wait, ready):
                    if batch:
                        resume = batch.position
                    yield batch
                return
            except BinlogReconnected:
                self.reconnects += 1  # the partial batch is dropped: none of it was handed out
                log.warning(
                    "binlog connection of %s re-opened; resuming at %s", self.source, resume
                )

    def _read(
        self,
        start: BinlogPosition,
        target: BinlogPosition | None,
        wait: bool,
        ready: Callable[[], bool],
    ) -> Iterator[ChangeBatch]:
        reader = BinlogReader(
            self.url,
            self.settings.mysql_server_id,
            start,
            blocking=wait,
            heartbeat_s=self.settings.batch_max_latency_ms / 1000,
            captured=self.captured,
            source=self.source,
        )
        builder = BatchBuilder(self.source)
        max_rows = self.settings.batch_max_rows
        max_wait = self.settings.batch_max_latency_ms / 1000
        oldest: float | None = None
        for transaction in reader:
            if transaction is None:  # a heartbeat: the server has sent everything it has
                yield builder.take()
                oldest = None
                if target is not None:
                    return  # caught up: `until` was the end of the binlog when we started
                continue
            if transaction.ddl is not None:
                if builder.batch:
                    yield builder.take()  # a DDL applies alone, after what came before it
                self._add_ddl(builder, transaction)
            else:
                self._add(builder, transaction)
            oldest = oldest if oldest is not None else time.monotonic()
            reached = target is not None and transaction.position >= target
            late = time.monotonic() - oldest >= max_wait and ready()
            if transaction.ddl is not None or builder.rows >= max_rows or late or reached:
                yield builder.take()
                oldest = None
            if reached:
                return
        if builder.batch:
            yield builder.take()

    def _add(self, builder: BatchBuilder, transaction: Transaction) -> None:
        builder.begin(to_position(transaction.position), transaction.commit_ts)
        for table, changes in transaction.tables.items():
            _append_columnar(builder, self.schema(table, changes.columns), changes)
        builder.commit()

    def _add_ddl(self, builder: BatchBuilder, transaction: Transaction) -> None:
        """TRUNCATE empties the table; ALTER evolves ods.<table> from the table's columns now."""
        assert transaction.ddl is not None
        builder.begin(to_position(transaction.position), transaction.commit_ts)
        ddl = transaction.ddl
        if self.captured(ddl.table):
            schema = self._current_schema(ddl.table)
            if schema is not None and ddl.kind == "truncate":
                builder.truncate(schema)
            elif schema is not None:
                builder.batch.tables.setdefault(schema.name, TableChanges(schema))
        builder.commit()

    def _current_schema(self, table: str) -> TableSchema | None:
        """The table as the server describes it now (None once it is dropped)."""
        conn = self._connect()
        try:
            with mysql_errors(self.url), conn.cursor() as cur:
                if table not in list_tables(cur, self.url.database):
                    return None
                (described,) = describe_tables(cur, self.url.database, [table])
        finally:
            conn.close()
        self._json_columns(refresh=True)  # an ALTER may have added or dropped a JSON column
        return self.schema(table, described.columns)


def _append_columnar(builder: BatchBuilder, schema: TableSchema, changes: Any) -> None:
    """Append a transaction's rows of one table column by column (the fast path).

    Every row image of a table map holds all its columns in table order, so the rows transpose
    in C (`zip(*rows)`) instead of being appended value by value.
    """
    names = schema.column_names
    count = len(changes.rows)
    if not count:
        return
    target = builder.table(schema)
    lists, others = target.lists(names)
    columns = zip(*(row.values() for row in changes.rows), strict=True)
    for values, column in zip(lists, columns, strict=True):
        values.extend(column)
    for values in others:
        values.extend([None] * count)
    target.ops.extend(changes.ops)
    target.txn.extend([builder.txn] * count)
    builder.rows += count


class MySQLSnapshot:
    """An open consistent snapshot: its position, and each captured table's rows as Arrow."""

    def __init__(self, source: MySQLSource, snap: ConsistentRead) -> None:
        self._source = source
        self._snap = snap
        self.position = to_position(snap.position)

    def tables(self) -> Iterator[tuple[TableSchema, pa.Table]]:
        """(schema, rows) per captured table, read inside the snapshot."""
        for table in self._snap.tables:
            yield self._source.schema(table.name, table.columns), self._arrow(table)

    def _arrow(self, table: SourceTable) -> pa.Table:
        types = [arrow_type(column.duck_type) for column in table.columns]
        names = [column.name for column in table.columns]
        batches = [
            pa.record_batch(
                [pa.array([row[n] for row in chunk], t) for n, t in zip(names, types, strict=True)],
                names=names,
            )
            for chunk in self._snap.rows(table)
        ]
        schema = pa.schema(list(zip(names, types, strict=True)))
        return pa.Table.from_batches(batches, schema)
