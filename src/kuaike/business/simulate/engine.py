"""The simulator's facade: master data once, then history (COPY, past timestamps), then live
operation (one transaction per business event, real timestamps).
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kuaike.business import schema
from kuaike.business.simulate import customers, history, live, load, resume, timing
from kuaike.business.simulate.lifecycle import NEW_CUSTOMER_SHARE, Op, Ticket, World, ticket
from kuaike.business.simulate.master import generate
from kuaike.business.simulate.model import Carrier, Ids
from kuaike.business.simulate.options import OnProgress, Options
from kuaike.business.simulate.tables import crm, logistics
from kuaike.business.simulate.writers import CopyWriter, bulk_writer, cursor


@dataclass
class Summary:
    """What a run wrote: rows per table and the speeds reached."""

    master_rows: Counter[str] = field(default_factory=Counter)
    history_rows: Counter[str] = field(default_factory=Counter)
    history_seconds: float = 0.0
    history_orders: int = 0
    resumed: int = 0
    live_events: int = 0
    live_orders: int = 0
    live_seconds: float = 0.0
    live_rows: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain data (what `--json` prints)."""
        history_total = sum(self.history_rows.values())
        return {
            "master_rows": dict(sorted(self.master_rows.items())),
            "history": {
                "orders": self.history_orders,
                "rows": dict(sorted(self.history_rows.items())),
                "rows_total": history_total,
                "seconds": round(self.history_seconds, 3),
                "rows_per_second": round(history_total / self.history_seconds, 1)
                if self.history_seconds
                else 0.0,
            },
            "live": {
                "resumed_parcels": self.resumed,
                "orders": self.live_orders,
                "operations": self.live_events,
                "row_changes": dict(sorted(self.live_rows.items())),
                "seconds": round(self.live_seconds, 3),
                "operations_per_second": round(self.live_events / self.live_seconds, 1)
                if self.live_seconds
                else 0.0,
            },
        }


def _quiet(_phase: str, _done: float, _total: float | None) -> None:
    return None


class Simulator:
    """One run against a logistics database and a CRM database."""

    def __init__(self, logistics_url: str, crm_url: str, options: Options) -> None:
        self.logistics_url, self.crm_url, self.options = logistics_url, crm_url, options
        self.rng = random.Random(options.seed)
        self.summary = Summary()
        self.pending: list[tuple[datetime, int, int, Callable[[datetime], list[Op]]]] = []
        self._seq = itertools.count()

    def run(self, progress: OnProgress = _quiet) -> Summary:
        """Prepare the schemas and master data, load history, then run live if asked."""
        schema.create_logistics(self.logistics_url)
        schema.create_crm(self.crm_url)
        end = self.options.end or datetime.now().replace(microsecond=0)
        start = end - timedelta(days=self.options.history_days)
        ids = Ids(load.next_ids(self.logistics_url, self.crm_url))
        carrier = self._carrier(ids, start, progress)
        carrier.warm()
        self.world = World(self.rng, ids, carrier)
        if self.options.history_days:
            self._history(start, end, progress)
        elif self.options.rate:
            self._resume(progress)
        if self.options.rate:
            self._live(progress)
        self._sync_sequences()
        return self.summary

    # -- master data ----------------------------------------------------------------------------

    def _carrier(self, ids: Ids, start: datetime, progress: OnProgress) -> Carrier:
        if load.has_master_data(self.logistics_url):
            carrier = load.load_carrier(self.logistics_url, self.crm_url)
        else:
            progress("master data", 0, None)
            when = (start - timedelta(days=30)).replace(hour=9, minute=0, second=0)
            data = generate(self.options.sizes, self.rng, ids, when)
            writer = CopyWriter(self.logistics_url)
            for name, table_rows in data.rows.items():
                writer.add_all((name, row) for row in table_rows)
            writer.close()
            self.summary.master_rows.update(writer.rows)
            carrier = data.carrier
        if not carrier.customers:  # a new CRM (or one emptied) gets its first customers
            self._first_customers(carrier, ids, start, progress)
        return carrier

    def _first_customers(
        self, carrier: Carrier, ids: Ids, start: datetime, progress: OnProgress
    ) -> None:
        """Customers registered over the two years before `start`."""
        crm_writer = bulk_writer(self.crm_url)
        total = max(1, self.options.sizes.customers)
        for n in range(total):
            registered = start - timedelta(days=1, seconds=self.rng.randrange(730 * 86_400))
            crm_writer.add_all(customers.register(self.rng, ids, carrier, registered))
            if n % 1000 == 0:
                progress("customers", n, total)
        crm_writer.close()
        self.summary.master_rows.update(crm_writer.rows)

    # -- history --------------------------------------------------------------------------------

    def _history(self, start: datetime, end: datetime, progress: OnProgress) -> None:
        began = time.perf_counter()
        dropped = _drop_secondary_indexes(self.logistics_url)
        world, base = self.world, dict(self.world.ids.next)
        # Live operation after the history continues the parcels in flight: those are closures
        # that cannot leave their process, so the history then runs here.
        workers = 0 if self.options.rate else self.options.workers
        runner_args = {"carrier": world.carrier, "base": base, "end": end}
        if self.options.rate:
            runner_args |= {"pending": self.pending, "seq": self._seq}
        pool = history.Pool(runner_args, self.logistics_url, workers)
        crm_writer = bulk_writer(self.crm_url)
        tickets: list[Ticket] = []
        chunks, total = 0, (end - start).total_seconds()
        for slot, slot_end in timing.hours(start, end):
            expected = timing.expected_in_hour(self.options.orders_per_day, slot)
            for when in timing.times_in(self.rng, slot, slot_end, expected * NEW_CUSTOMER_SHARE):
                crm_writer.add_all(customers.register(self.rng, world.ids, world.carrier, when))
            for when in timing.times_in(self.rng, slot, slot_end, expected):
                tickets.append(ticket(self.rng, world.carrier, when))
                self.summary.history_orders += 1
                if len(tickets) == history.CHUNK:
                    pool.submit(chunks, self.rng.getrandbits(64), tickets)
                    chunks, tickets = chunks + 1, []
            progress("history", (slot_end - start).total_seconds(), total)
        if tickets:
            pool.submit(chunks, self.rng.getrandbits(64), tickets)
            chunks += 1
        crm_writer.close()
        world.ids.next.update(history.ids_after(base, chunks))
        self.summary.history_rows.update(pool.close(world.ids))
        if dropped:
            progress("indexes", 0, None)
            schema.create_logistics(self.logistics_url)  # rebuilds them: CREATE INDEX IF NOT EXISTS
        self.summary.history_rows.update(crm_writer.rows)
        self.summary.history_seconds = time.perf_counter() - began

    def _resume(self, progress: OnProgress) -> None:
        """Pick up the parcels an earlier run left in flight (live without a history here)."""
        progress("parcels in flight", 0, None)
        now = datetime.now().replace(microsecond=0)
        for parcel in resume.load_in_flight(self.logistics_url, self.world, now):
            key = next(self._seq)
            for when, step in parcel.steps:
                heapq.heappush(self.pending, (when, next(self._seq), key, step))
            parcel.steps = []  # the steps are bound to the parcel: keeping them would make a cycle
            self.summary.resumed += 1

    # -- live -----------------------------------------------------------------------------------

    def _live(self, progress: OnProgress) -> None:
        setup = live.Setup(
            self.logistics_url, self.crm_url, self.options, self.world, self.pending, self._seq
        )
        result = live.run(setup, progress)
        self.summary.live_seconds = result.seconds
        self.summary.live_orders = result.orders
        self.summary.live_events = result.events
        self.summary.live_rows = result.rows

    def _sync_sequences(self) -> None:
        """Move every id sequence past the ids written here, so plain INSERTs keep working."""
        targets = [(self.logistics_url, list(logistics()))]
        if not self.crm_url.startswith(("mysql://", "mariadb://")):
            targets.append((self.crm_url, list(crm())))
        for url, names in targets:
            with cursor(url) as cur:
                for name in names:
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"GREATEST((SELECT MAX(id) FROM {name}), 1)) "
                        f"WHERE pg_get_serial_sequence('{name}', 'id') IS NOT NULL"
                    )


def _drop_secondary_indexes(url: str) -> int:
    """Drop the logistics tables' secondary indexes before a bulk load: PostgreSQL builds an
    index once, sorted, much faster than it maintains it row by row. The schema's own DDL
    recreates them afterwards. Returns how many were dropped."""
    with cursor(url) as cur:
        cur.execute(
            "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = current_schema() AND t.relname = ANY(%s) "
            "AND NOT x.indisprimary AND NOT x.indisunique",
            ([name for name in logistics() if name != "tbl_codes"],),
        )
        names = [row[0] for row in cur.fetchall()]
        for name in names:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
    return len(names)
