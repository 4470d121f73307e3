"""The read-only SQL console: one checked SELECT on a cursor of its own, under limits.

    console = Console(store.con.cursor, Limits(timeout_s=5, max_rows=10_000, max_bytes=8e6))
    result = console.run("SELECT count(*) FROM ods.tbl_express_bill")   # bytes of JSON

Read-only by three fences, each enough for what the others miss:
1. `guard.check`: DuckDB's parser says one SELECT whose every function and table is allowed.
2. `confine`: the instance reads and writes no file but its own (and capture's snapshot
   directory), loads no extension, resolves no Python variable as a table.
3. limits: a watchdog interrupts a query past its time, and a result past its rows or bytes is
   refused, so one query cannot hold the machine that capture runs on.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from kuaike.errors import QueryLimit, QueryRefused, StoreError
from kuaike.serve import guard
from kuaike.store.errors import duckdb_errors
from kuaike.types import DuckConnection

INTERRUPT_EVERY_S = 0.05
"""An interrupt that arrives before DuckDB's executor starts is dropped (duckdb-rs#860), so the
watchdog repeats it until the query ends; 0.05 s stopped a cross join in ~0.5 s here."""

FETCH_ROWS = 2_048  # rows converted to Python per fetch


@dataclass(frozen=True)
class Limits:
    """How long a console query may run and how much it may return."""

    timeout_s: float = 5.0
    max_rows: int = 10_000
    max_bytes: int = 8_000_000
    concurrent: int = 4


def confine(con: DuckConnection, also_allowed: list[Path] | None = None) -> None:
    """Turn off external access for the whole instance (one way: it cannot be turned back on).

    The store file, its WAL and DuckDB's temp directory stay usable; capture's snapshot CSVs
    live in the system temp directory, which is allowed too (the guard keeps the console from
    naming any file there).
    """
    allowed = [Path(tempfile.gettempdir()), *(also_allowed or [])]
    listed = ", ".join("'" + str(p).replace("'", "''").rstrip("/") + "/'" for p in allowed)
    for statement in (
        f"SET allowed_directories = [{listed}]",
        "SET enable_external_access = false",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET allow_community_extensions = false",
        "SET python_enable_replacements = false",
    ):
        con.execute(statement)


def open_read_only(path: Path) -> DuckConnection:
    """The store opened read-only and confined, for `kuaike sql` while nothing serves it."""
    if not path.exists():
        raise StoreError(f"no store at {path} yet; run `kuaike capture` first", path=str(path))
    with duckdb_errors(path):
        con = duckdb.connect(str(path), read_only=True)
        confine(con)
    return con


class Console:
    """Runs console queries on fresh cursors from `cursor()`; see the module docstring."""

    def __init__(self, cursor: Callable[[], DuckConnection], limits: Limits) -> None:
        self.cursor = cursor
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.concurrent)

    def run(self, sql: str) -> bytes:
        """The result as JSON bytes: columns (name, type), rows, row count, milliseconds.

        Raises QueryRefused for a statement the console does not run, QueryLimit for one that
        ran too long or returned too much, QueryRefused for DuckDB's own errors (bad column...).
        """
        if not self._slots.acquire(timeout=self.limits.timeout_s):
            raise QueryLimit("the console is busy with other queries; try again in a moment")
        try:
            cur = self.cursor()
            try:
                return self._run(cur, guard.check(sql))
            finally:
                cur.close()
        finally:
            self._slots.release()

    def _run(self, cur: DuckConnection, sql: str) -> bytes:
        started = time.perf_counter()
        with _WATCHDOG.watch(cur, self.limits.timeout_s) as watchdog:
            try:
                cur.execute(sql)
                columns = [{"name": d[0], "type": str(d[1])} for d in cur.description or []]
                rows = self._fetch(cur)
            except duckdb.InterruptException as exc:
                raise self._timed_out() from exc
            except duckdb.Error as exc:
                if watchdog.fired:
                    raise self._timed_out() from exc
                raise QueryRefused(f"DuckDB: {guard.first_line(exc)}") from exc
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        head = json.dumps({"columns": columns, "row_count": len(rows), "elapsed_ms": elapsed})
        return head[:-1].encode() + b', "rows": [' + b", ".join(rows) + b"]}"

    def _fetch(self, cur: DuckConnection) -> list[bytes]:
        """The rows as JSON arrays, refused past the row or byte limit."""
        rows: list[bytes] = []
        size = 0
        while chunk := cur.fetchmany(FETCH_ROWS):
            for row in chunk:
                encoded = json.dumps(row, default=plain, ensure_ascii=False).encode()
                rows.append(encoded)
                size += len(encoded) + 2
            if len(rows) > self.limits.max_rows:
                raise QueryLimit(
                    f"the result has more than {self.limits.max_rows} rows; add a LIMIT"
                )
            if size > self.limits.max_bytes:
                raise QueryLimit(
                    f"the result is larger than {self.limits.max_bytes} bytes; "
                    "select fewer columns or rows"
                )
        return rows

    def _timed_out(self) -> QueryLimit:
        return QueryLimit(
            f"the query ran longer than {self.limits.timeout_s:g} s and was stopped; "
            "narrow it down (WHERE, LIMIT) or aggregate"
        )


class _Watch:
    """One query under watch: its cursor, its deadline, whether it was interrupted."""

    def __init__(self, cur: DuckConnection, deadline: float) -> None:
        self.cur = cur
        self.deadline = deadline
        self.fired = False


class _Watchdog:
    """One thread for every console query: interrupts each query past its deadline, again
    every INTERRUPT_EVERY_S until the query leaves (a thread per query cost 0.5 ms of a 3 ms
    point query)."""

    def __init__(self) -> None:
        self._watches: set[_Watch] = set()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, cur: DuckConnection, seconds: float) -> Iterator[_Watch]:
        watch = _Watch(cur, time.monotonic() + seconds)
        with self._changed:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kuaike-sql-watchdog")
                self._thread.daemon = True
                self._thread.start()
            self._changed.notify()
        try:
            yield watch
        finally:
            with self._changed:
                self._watches.discard(watch)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                late = [w for w in self._watches if w.deadline <= now]
                waits = [w.deadline - now for w in self._watches if w.deadline > now]
                if not late:
                    self._changed.wait(min(waits, default=None))
                    continue
                # under the lock: a query that left is not interrupted, its cursor maybe closed
                for watch in late:
                    watch.fired = True
                    with suppress(duckdb.Error):
                        watch.cur.interrupt()
            time.sleep(INTERRUPT_EVERY_S)


_WATCHDOG = _Watchdog()


def plain(value: Any) -> Any:
    """A DuckDB value JSON cannot hold, as the nearest JSON value."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)
