"""The parcel events waiting for their time: a calendar of one-second buckets.

Live operation keeps every planned event of every parcel in flight (hundreds of thousands) and
takes the due ones many times a second. A binary heap of that size cost a few microseconds per
event taken, most of it cache misses while sifting; a bucket per second is filed and found with
one dict operation each. Times are whole seconds (the columns are timestamp(0)), so a bucket
holds the events of one instant, ordered by when they were filed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from kuaike.business.simulate.journey import Op

Step = Callable[[datetime], list[Op]]
Entry = tuple[datetime, int, int, Step]  # (when, filing number, parcel key, event)


def _second(when: datetime) -> int:
    return (when.toordinal() * 86_400) + when.hour * 3_600 + when.minute * 60 + when.second


class Agenda:
    """Events by due time. Events of one parcel come out in the order they were filed, as long
    as a parcel files its events in time order (its plan is in time order)."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._buckets: dict[int, list[Entry]] = {}
        self._ready: list[Entry] = []  # due events in order, taken from the front
        self._taken = 0  # how many of `_ready` were taken
        self._cursor: int | None = None  # the first second whose bucket is not in `_ready`
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
        second = _second(when)
        if self._cursor is not None and second < self._cursor:
            self._ready.append((when, number, key, step))  # overdue: after the events due now
            return
        bucket = self._buckets.get(second)
        if bucket is None:
            self._buckets[second] = [(when, number, key, step)]
        else:
            bucket.append((when, number, key, step))

    def keep(self, wanted: Callable[[Entry], bool]) -> None:
        """Drop every event but the `wanted` ones (a live worker keeps its share)."""
        entries = [entry for entry in self if wanted(entry)]
        self._clear()
        for entry in sorted(entries, key=lambda entry: entry[:2]):
            self.add(*entry)

    def due(self, now: datetime) -> Entry | None:
        """The next event due by `now` (removed from the agenda), or None."""
        if self._taken == len(self._ready) and not self._fill(_second(now)):
            return None
        entry = self._ready[self._taken]
        self._taken += 1
        self._count -= 1
        return entry

    def _fill(self, now: int) -> bool:
        """Move the buckets due by second `now` to `_ready`; whether any event is ready."""
        self._ready, self._taken = [], 0
        if not self._buckets:
            return False
        cursor = min(self._buckets) if self._cursor is None else self._cursor
        buckets = self._buckets
        while cursor <= now and buckets:
            bucket = buckets.pop(cursor, None)
            cursor += 1
            if bucket is not None:
                self._ready += sorted(bucket, key=_order) if len(bucket) > 1 else bucket
                if len(self._ready) >= 1_000:
                    break  # enough for now; the next buckets wait for the next call
        self._cursor = cursor
        return bool(self._ready)


def _order(entry: Entry) -> tuple[datetime, int]:
    return entry[0], entry[1]
