"""The parcel events waiting for their time: a calendar of one-second buckets.

Live operation keeps every planned event of every parcel in flight (hundreds of thousands) and
takes the due ones many times a second. A binary heap of that size cost a few microseconds per
event taken, most of it cache misses while sifting; a bucket per second is filed and found with
one dict operation each. Times are whole seconds (the columns are timestamp(0)), so a bucket
holds the events of one instant; they come out in the order they were filed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from kuaike.business.simulate.journey import Op

Step = Callable[[datetime], list[Op]]
Entry = tuple[datetime, int, int, Step]  # (when, filing number, parcel key, event)


_SECOND = timedelta(seconds=1)


class Agenda:
    """Events by due time. Events of one parcel come out in the order they were filed, as long
    as a parcel files its events in time order (its plan is in time order)."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        # Buckets are keyed by the instant itself: a datetime caches its hash, so filing an
        # event costs one dict lookup (an instant with a fraction of a second, which the
        # simulator does not make, is filed under its whole second).
        self._buckets: dict[datetime, list[Entry]] = {}
        self._ready: list[Entry] = []  # due events in order, taken from the front
        self._taken = 0  # how many of `_ready` were taken
        self._cursor: datetime | None = None  # the first second whose bucket is still filed
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Entry]:
        yield from self._ready[self._taken :]
        for bucket in self._buckets.values():
            yield from bucket

    def add(self, when: datetime, number: int, key: int, step: Step) -> None:
        """File an event of parcel `key` due at `when`."""
        self._count += 1
        second = when.replace(microsecond=0) if when.microsecond else when
        bucket = self._buckets.get(second)
        if bucket is not None:
            bucket.append((when, number, key, step))
        elif self._cursor is not None and second < self._cursor:
            self._ready.append((when, number, key, step))  # overdue: after the events due now
        else:
            self._buckets[second] = [(when, number, key, step)]

    def share(self, wanted: Callable[[Entry], bool]) -> Agenda:
        """A new agenda with only the `wanted` events (a live worker's share). This one is left
        as it is: emptying it would free the other workers' parcels in a forked process, and
        touching all that memory copies it."""
        other = Agenda()
        other._ready = [entry for entry in self._ready[self._taken :] if wanted(entry)]
        other._cursor = self._cursor
        for second, bucket in self._buckets.items():
            kept = [entry for entry in bucket if wanted(entry)]
            if kept:
                other._buckets[second] = kept
        other._count = len(other._ready) + sum(map(len, other._buckets.values()))
        return other

    def due(self, now: datetime) -> Entry | None:
        """The next event due by `now` (a whole second; removed from the agenda), or None."""
        if self._taken == len(self._ready) and not self._fill(now):
            return None
        entry = self._ready[self._taken]
        self._taken += 1
        self._count -= 1
        return entry

    def _fill(self, now: datetime) -> bool:
        """Move the buckets due by `now` to `_ready`; whether any event is ready."""
        self._ready, self._taken = [], 0
        buckets = self._buckets
        if not buckets:
            return False
        cursor = min(buckets) if self._cursor is None else self._cursor
        while cursor <= now and buckets:
            bucket = buckets.pop(cursor, None)
            cursor += _SECOND
            if bucket is not None:
                self._ready += bucket
                if len(self._ready) >= 1_000:
                    break  # enough for now; the next buckets wait for the next call
        self._cursor = cursor
        return bool(self._ready)
