"""What the routes need from the pipeline process: the open store, settings, status, builds."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kuaike.config import Settings
from kuaike.errors import ServeError
from kuaike.serve.console import Console, Limits
from kuaike.store.writer import Store
from kuaike.track.history import TransitTimes
from kuaike.track.indexes import Indexes
from kuaike.track.places import TABLES, Dimensions
from kuaike.track.textindex import SearchIndex, directory_for
from kuaike.types import DuckConnection
from kuaike.warehouse.export import export
from kuaike.warehouse.load import load_warehouse
from kuaike.warehouse.runner import Builder


@dataclass(frozen=True)
class BuildRequest:
    """What `kuaike build` asks for (the same options, already validated)."""

    full: bool = False
    days: frozenset[dt.date] = frozenset()
    reference_date: dt.date | None = None


@dataclass
class Service:
    """The pipeline's store and what it knows, shared by every request."""

    store: Store
    settings: Settings
    status: Callable[[], list[dict[str, Any]]]
    build_lock: threading.Lock = field(default_factory=threading.Lock)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    pid: int = field(default_factory=os.getpid)
    console: Console = field(init=False)
    indexes: Indexes = field(init=False)
    """Tracking's indexes on the replica, created once its tables exist."""
    dims: Dimensions = field(init=False)
    """The outlets, warehouses and people timelines name, kept until one of their tables
    changes."""
    transit: TransitTimes = field(init=False)
    """Transit-time history behind ETAs and stuck parcels, kept `track.history_refresh_s`."""
    search_index: SearchIndex | None = field(init=False)
    """The waybills' search index beside the store (None with `track.search_index` off); kept
    current by `start_search_index`'s thread."""
    generation: int = 0
    """Warehouse builds finished since start: DWS tables change only then, so KPI answers are
    cached per generation."""

    def __post_init__(self) -> None:
        serve = self.settings.serve
        limits = Limits(serve.sql_timeout_s, serve.sql_max_rows, serve.sql_max_bytes)
        self.console = Console(self.cursor, limits)
        self.indexes = Indexes(self.cursor, self.store.exclusive)
        self.dims = Dimensions(lambda: self.store.version_of(TABLES))
        track = self.settings.track
        self.transit = TransitTimes(track.history_weeks, track.history_refresh_s)
        self.search_index = (
            SearchIndex(directory_for(self.store.path), track.search_refresh_s)
            if track.search_index
            else None
        )
        self._search_stop = threading.Event()
        self._search_thread: threading.Thread | None = None

    def start_search_index(self) -> None:
        """Build or open the search index and keep it current, in a thread, until
        `stop_search_index`; the store tells it of every batch from now on."""
        index = self.search_index
        if index is None:
            return
        self.store.listeners.append(index.note)
        self._search_thread = threading.Thread(
            target=index.run,
            args=(self.store, self._search_stop),
            name="kuaike-search-index",
            daemon=True,
        )
        self._search_thread.start()

    def stop_search_index(self) -> None:
        """Stop the index's thread (a rebuild in progress stops at its next chunk)."""
        self._search_stop.set()
        if self._search_thread is not None:
            self._search_thread.join(timeout=30)

    def cursor(self) -> DuckConnection:
        """A cursor of its own on the store (capture threads use `store.con` under its lock)."""
        return self.store.con.cursor()

    def build(self, request: BuildRequest) -> dict[str, Any]:
        """Run one build now, on a cursor of its own; refused while another build runs."""
        if not self.build_lock.acquire(blocking=False):
            raise ServeError("a warehouse build is running already; try again when it finished")
        cursor = self.cursor()
        try:
            builder = Builder(
                cursor,
                full=request.full,
                days=set(request.days),
                reference_date=request.reference_date,
                settings=self.settings.warehouse,  # the plausibility thresholds
            )
            return builder.run().as_dict()
        finally:
            self.generation += 1
            cursor.close()
            self.build_lock.release()

    def export(self, to: Path) -> dict[str, Any]:
        """Export the replica to the lake `to` (what `kuaike export` does), on a cursor of its
        own: capture goes on, the export reads one snapshot."""
        cursor = self.cursor()
        try:
            return export(cursor, to).as_dict()
        finally:
            cursor.close()

    def load_warehouse(self, root: Path) -> dict[str, Any]:
        """Replace the DWS tables by the lake's Spark build (what `kuaike load-warehouse` does);
        refused while a build runs."""
        if not self.build_lock.acquire(blocking=False):
            raise ServeError("a warehouse build is running; load the lake when it finished")
        cursor = self.cursor()
        try:
            return load_warehouse(cursor, root)
        finally:
            self.generation += 1
            cursor.close()
            self.build_lock.release()
