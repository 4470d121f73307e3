"""History: past days of operation written with COPY, in several processes, the same rows for
the same seed however many processes run.

The parent draws everything that depends on the growing customer list (order times,
registrations, who sends to whom) with the seeded generator. Orders are cut into chunks; each
chunk's parcels are simulated with a random stream and id blocks of their own, derived from the
chunk number, so a chunk gives the same rows in any process. Ids therefore leave small gaps at
chunk ends, as a database sequence with a cache does.
"""

from __future__ import annotations

import heapq
import itertools
import multiprocessing
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kuaike.business.simulate.lifecycle import Op, Parcel, Ticket, World
from kuaike.business.simulate.model import Carrier, Ids, Row
from kuaike.business.simulate.writers import CopyWriter

CHUNK = 1_000  # orders per chunk
# Rows a parcel can add per table at most (a path has up to four warehouses, three legs).
PER_PARCEL = {
    "tbl_express_bill": 1,
    "tbl_collect_package": 1,
    "tbl_express_package": 1,
    "tbl_consumer_sender_info": 1,
    "tbl_waybill": 1,
    "tbl_deliver_package": 1,
    "tbl_service_evaluation": 1,
    "tbl_push_warehouse": 4,
    "tbl_push_warehouse_detail": 4,
    "tbl_waybill_state_record": 4,
    "tbl_out_warehouse": 4,
    "tbl_out_warehouse_detail": 4,
    "tbl_transport_record": 3,
    "tbl_waybill_line": 3,
}
Pending = list[tuple[datetime, int, int, Callable[[datetime], list[Op]]]]


def chunk_ids(base: dict[str, int], chunk: int) -> Ids:
    """The id blocks of one chunk, above `base` (the next free ids when the history began)."""
    ids = Ids({name: base[name] + chunk * CHUNK * n for name, n in PER_PARCEL.items()})
    return ids


def ids_after(base: dict[str, int], chunks: int) -> dict[str, int]:
    """The next free ids once `chunks` chunks are written."""
    return {name: base[name] + chunks * CHUNK * n for name, n in PER_PARCEL.items()}


@dataclass
class Runner:
    """Simulates chunks of parcels up to `end` and writes their rows as they stand then."""

    carrier: Carrier
    base: dict[str, int]
    end: datetime
    writer: CopyWriter
    pending: Pending | None = None  # events after `end`, kept when live operation follows
    seq: itertools.count[int] = field(default_factory=itertools.count)
    worlds: list[World] = field(default_factory=list)  # of chunks with parcels still pending

    def run(self, chunk: int, seed: int, tickets: list[Ticket]) -> None:
        world = World(random.Random(seed), chunk_ids(self.base, chunk), self.carrier)
        if self.pending is not None:
            self.worlds.append(world)
        for order in tickets:
            self._parcel(Parcel(world, order))

    def _parcel(self, parcel: Parcel) -> None:
        rows: dict[tuple[str, int], Row] = {}
        key = next(self.seq)
        for index, (when, event) in enumerate(parcel.steps):
            if when > self.end:
                if self.pending is not None:
                    for later, step in parcel.steps[index:]:
                        heapq.heappush(self.pending, (later, next(self.seq), key, step))
                break
            for kind, name, row, _ in event(when):
                if kind == "I":
                    rows[(name, row["id"])] = row
                elif kind == "D":
                    rows.pop((name, row["id"]), None)
        parcel.steps = []  # the steps are bound to the parcel: keeping them would make a cycle
        for (name, _), row in rows.items():
            self.writer.add(name, row)


class Pool:
    """Chunks go to `workers` forked processes (or run here when `workers` is 0)."""

    def __init__(self, runner_args: dict[str, Any], url: str, workers: int) -> None:
        self.url, self.rows = url, Counter[str]()
        self.local: Runner | None = None
        self.inboxes: list[Any] = []
        self.children: list[Any] = []
        if workers == 0:
            self.local = Runner(writer=CopyWriter(url), **runner_args)
            return
        context = multiprocessing.get_context("fork")
        self.results = context.Queue()
        for _ in range(workers):
            inbox = context.Queue(4)
            child = context.Process(
                target=_child, args=(runner_args, url, inbox, self.results), daemon=True
            )
            child.start()
            self.inboxes.append(inbox)
            self.children.append(child)

    def submit(self, chunk: int, seed: int, tickets: list[Ticket]) -> None:
        if self.local is not None:
            self.local.run(chunk, seed, tickets)
        else:
            self.inboxes[chunk % len(self.inboxes)].put((chunk, seed, tickets))

    def close(self, live_ids: Ids) -> Counter[str]:
        """Wait for every chunk to be written; rows per table. Parcels still in flight take
        their further ids from `live_ids` (a chunk's id blocks are full)."""
        if self.local is not None:
            self.local.writer.close()
            for world in self.local.worlds:
                world.ids = live_ids
            return self.local.writer.rows
        for inbox in self.inboxes:
            inbox.put(None)
        errors = []
        for _ in self.children:
            status, payload = self.results.get()
            if status == "error":
                errors.append(payload)
            else:
                self.rows.update(payload)
        for child in self.children:
            child.join(30)
        if errors:
            raise errors[0]
        return self.rows


def _child(runner_args: dict[str, Any], url: str, inbox: Any, results: Any) -> None:
    """A forked history worker: its own connection, chunks until told to stop."""
    try:
        runner = Runner(writer=CopyWriter(url), **runner_args)
        while (job := inbox.get()) is not None:
            runner.run(*job)
        runner.writer.close()
        results.put(("ok", runner.writer.rows))
    except BaseException as exc:
        results.put(("error", exc))
        while inbox.get() is not None:  # keep taking jobs so the parent never blocks
            pass
