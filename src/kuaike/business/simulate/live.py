"""Live operation: new orders at a steady rate with real timestamps, and every parcel in flight
moving on when its next event is due; one database transaction per business event.

Python spends most of an event building its SQL, so live mode runs in several processes
(forked after the history, each with its share of the rate, of the parcels in flight and of the
ids) to use more than one core.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import itertools
import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kuaike.business.simulate import customers
from kuaike.business.simulate.lifecycle import NEW_CUSTOMER_SHARE, Op, Parcel, World, ticket
from kuaike.business.simulate.options import OnProgress, Options
from kuaike.business.simulate.transactions import LiveWriter
from kuaike.errors import SourceError

Pending = list[tuple[datetime, int, int, Callable[[datetime], list[Op]]]]
BURST = 500  # most new orders made in one pass, so due events of older parcels keep moving


@dataclass
class Setup:
    """Everything a live loop needs, handed over from the history."""

    logistics_url: str
    crm_url: str
    options: Options
    world: World
    pending: Pending
    seq: itertools.count[int]


@dataclass
class Result:
    """What one live loop did."""

    seconds: float = 0.0
    orders: int = 0
    events: int = 0
    rows: Counter[str] = field(default_factory=Counter)


def run(setup: Setup, progress: OnProgress) -> Result:
    """Run live operation in `options.workers` processes; the summed result."""
    workers = max(1, setup.options.workers)
    if workers == 1:
        return _loop(setup, float(setup.options.rate or 0), setup.options.connections, progress)
    return _fork(setup, workers, progress)


def _fork(setup: Setup, workers: int, progress: OnProgress) -> Result:
    context = multiprocessing.get_context("fork")
    pipes, children = [], []
    for index in range(workers):
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(setup, index, workers, sender), daemon=True)
        child.start()
        pipes.append(receiver)
        children.append(child)
    began, duration = time.monotonic(), setup.options.duration
    try:
        while any(child.is_alive() for child in children) and not all(p.poll() for p in pipes):
            progress("live", time.monotonic() - began, duration)
            time.sleep(0.2)
    except KeyboardInterrupt:
        for child in children:  # a Ctrl-C reaches them too; a `kill -INT` of ours does not
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid or 0, signal.SIGINT)
    return _collect(pipes, children)


def _collect(pipes: list[Any], children: list[Any]) -> Result:
    total = Result()
    errors: list[BaseException] = []
    for pipe, child in zip(pipes, children, strict=True):
        status, payload = pipe.recv() if pipe.poll(120) else ("error", None)
        child.join(10)
        if status == "error" or not isinstance(payload, Result):
            errors.append(payload or SourceError("a live worker process died without a word"))
            continue
        total.seconds = max(total.seconds, payload.seconds)
        total.orders += payload.orders
        total.events += payload.events
        total.rows.update(payload.rows)
    if errors:
        raise errors[0]
    return total


def _child(setup: Setup, index: int, workers: int, sender: Any) -> None:
    """One forked worker: its share of ids, parcels in flight, rate and connections."""
    setup.world.ids.share(index, workers)
    setup.world.rng = random.Random(f"{setup.options.seed}-live-{index}")
    setup.pending = [entry for entry in setup.pending if entry[2] % workers == index]
    heapq.heapify(setup.pending)
    rate = float(setup.options.rate or 0) / workers
    connections = max(1, setup.options.connections // workers)
    # Ctrl-C reaches every process of the group and the parent forwards one more: the first
    # stops the loop, later ones must not interrupt the final commits.
    signal.signal(signal.SIGINT, _stop_once)
    # The worker exits after its loop: with the collector on again, pickling the result would
    # start a full collection over every parcel it planned (seconds of CPU, for nothing).
    gc.disable()
    try:
        sender.send(("ok", _loop(setup, rate, connections, None)))
    except BaseException as exc:
        sender.send(("error", exc))


def _stop_once(_signum: int, _frame: object) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _loop(setup: Setup, rate: float, connections: int, progress: OnProgress | None) -> Result:
    """Make orders at `rate`/s and run every due event until the duration is over or Ctrl-C."""
    duration, world = setup.options.duration, setup.world
    writer = LiveWriter(setup.logistics_url, connections)
    crm_writer = LiveWriter(setup.crm_url, 1)
    result, began = Result(), time.monotonic()
    registered, placed, parent = 0, 0, os.getppid()
    # Every parcel allocates dozens of objects that live for days; the cyclic collector would
    # scan them again and again (a third of the CPU of an order), and even one young
    # collection a second cost 7-13 % of a worker's CPU while finding nothing (0 objects in
    # 10 s runs, new orders and parcels in flight alike). Parcels hold no reference cycles
    # once their steps are queued (here, in the history and when resumed), so refcounting
    # frees each parcel after its last event, and the collector stays off until the end.
    collecting = gc.isenabled()
    gc.disable()
    try:
        while duration is None or time.monotonic() - began < duration:
            if progress is None and os.getppid() != parent:
                break  # a worker whose parent died (SIGKILL, SIGTERM) stops too
            elapsed = time.monotonic() - began
            now = datetime.now().replace(microsecond=0)
            due = max(0, min(int(rate * elapsed) - placed, BURST))
            for _ in range(due):
                _place_order(setup, now, result)
            placed += due
            while registered < int(rate * elapsed * NEW_CUSTOMER_SHARE):
                rows = customers.register(world.rng, world.ids, world.carrier, now)
                crm_writer.submit(registered, [("I", name, row, ()) for name, row in rows])
                registered += 1
            _run_due(setup, now, writer, began + duration if duration else None)
            writer.flush()
            crm_writer.flush()
            if progress is not None:
                progress("live", elapsed, duration)
            if not due:
                time.sleep(0.002)
    except KeyboardInterrupt:
        pass
    finally:
        try:
            writer.close()
            crm_writer.close()
        finally:
            result.seconds = time.monotonic() - began
            result.events = writer.events + crm_writer.events
            result.rows = writer.rows + crm_writer.rows
            if collecting:  # after the clock stopped: a full collection may follow soon
                gc.enable()
    return result


def _place_order(setup: Setup, now: datetime, result: Result) -> None:
    """Queue a new order as a due event: its parcel is drawn and planned when the order runs,
    so a simulator that falls behind does not plan parcels it cannot move yet."""
    key = next(setup.seq)

    def order(when: datetime) -> list[Op]:
        world = setup.world
        parcel = Parcel(world, ticket(world.rng, world.carrier, when))
        (first, step), *later = parcel.steps
        for then, later_step in later:
            heapq.heappush(setup.pending, (then, next(setup.seq), key, later_step))
        parcel.steps = []  # the steps are bound to the parcel: keeping them would make a cycle
        result.orders += 1
        return step(first)

    heapq.heappush(setup.pending, (now, next(setup.seq), key, order))


def _run_due(setup: Setup, now: datetime, writer: LiveWriter, deadline: float | None) -> None:
    """Run the events due by `now`, at most BURST of them, stopping at the deadline."""
    pending, budget = setup.pending, BURST
    while pending and pending[0][0] <= now and budget:
        if deadline is not None and time.monotonic() > deadline:
            return
        budget -= 1
        when, _, key, step = heapq.heappop(pending)
        writer.submit(key, step(when))
