"""The ART indexes tracking needs on the replica, created once the tables exist.

Parcel numbers look random (`7000012345`), so DuckDB's zone maps cannot skip anything and an
equality filter scans the column: 204 ms over 10 M bills, 1.6 ms with an ART index (measured
for reference/serving.md). Lookups by id need no index: ids grow with time, and so do the
replica's rows, so zone maps skip all but a row group or two (the waybill's state records);
the express bill has its own index all the same (by id: 14 ms at 300 k bills on a busy machine,
against 2-4 ms through an index). The indexes live in the store
and DuckDB maintains them in the transaction that applies a batch: a committed change is in
the index the moment it is in the table.

An index on a table stops DuckDB from changing a column's type (`ALTER COLUMN ... TYPE`); the
store drops and rebuilds a table's indexes around such a change (store/tables.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from kuaike.store.types import quote
from kuaike.types import DuckConnection

log = logging.getLogger("kuaike.track")

INDEXES: tuple[tuple[str, str], ...] = (
    ("tbl_collect_package", "express_bill_number"),  # every order has one, cancelled ones too
    ("tbl_express_bill", "express_number"),
    ("tbl_waybill", "waybill_number"),
    ("tbl_waybill", "express_bill_number"),
    ("tbl_waybill", "delivery_mobile"),  # search by the sender's phone
    ("tbl_waybill", "receive_mobile"),  # ... and the receiver's
    ("tbl_push_warehouse", "pw_waybill_number"),
    ("tbl_transport_record", "pw_waybill_number"),
    ("tbl_out_warehouse", "pw_waybill_number"),
    ("tbl_deliver_package", "waybill_number"),
)
"""(ODS table, column) pairs looked up by equality."""

RECHECK_S = 30.0
"""How often a lookup checks that every index exists (a table captured later, a re-snapshot)."""


def index_name(table: str, column: str) -> str:
    return f"track_{table}_{column}"


def missing(cur: DuckConnection) -> list[tuple[str, str]]:
    """The indexes whose table and column exist but that are not there yet."""
    have = {
        row[0]
        for row in cur.execute(
            "SELECT index_name FROM duckdb_indexes() WHERE schema_name = 'ods'"
        ).fetchall()
    }
    columns = set(
        cur.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'ods'"
        ).fetchall()
    )
    return [pair for pair in INDEXES if pair in columns and index_name(*pair) not in have]


def create(cur: DuckConnection, pairs: list[tuple[str, str]]) -> None:
    """Create the indexes `pairs` (building one over 10 M rows takes tens of seconds)."""
    for table, column in pairs:
        started = time.perf_counter()
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(index_name(table, column))} "
            f"ON ods.{quote(table)} ({quote(column)})"
        )
        log.info(
            "tracking index on ods.%s (%s) in %.1f s", table, column, time.perf_counter() - started
        )


class Indexes:
    """Makes sure the indexes exist, checking at most every RECHECK_S seconds.

    `exclusive` holds off the store's writer while an index is built (DDL next to a running
    MERGE on the same table could conflict), so a build delays a batch, never fails it. The
    service calls `ensure` in a thread at start (pipeline._serve), and again from lookups.
    """

    def __init__(
        self,
        cursor: Callable[[], DuckConnection],
        exclusive: Callable[[], AbstractContextManager[object]],
    ) -> None:
        self.cursor = cursor
        self.exclusive = exclusive
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Create what is missing (once per RECHECK_S; concurrent callers do not wait)."""
        if time.monotonic() - self._checked < RECHECK_S or not self._lock.acquire(blocking=False):
            return
        try:
            cur = self.cursor()
            try:
                for pair in missing(cur):
                    # one index at a time: capture's writer waits for one build, not all ten
                    with self.exclusive():
                        create(cur, [p for p in missing(cur) if p == pair])
            finally:
                cur.close()
            self._checked = time.monotonic()
        finally:
            self._lock.release()


def ensure_indexes(cur: DuckConnection) -> None:
    """Create every missing index now (a process that owns the store alone: the CLI, tests)."""
    create(cur, missing(cur))
