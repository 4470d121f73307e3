"""The calendar of waiting parcel events: due ones come out in time order, a parcel's in the
order it filed them, overdue ones at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from kuaike.business.simulate.agenda import Agenda
from kuaike.business.simulate.journey import Op

T0 = datetime(2026, 11, 11, 10, 0, 0)


def _step(_when: datetime) -> list[Op]:
    return []


def _take(agenda: Agenda, now: datetime) -> list[tuple[datetime, int]]:
    taken = []
    while (entry := agenda.due(now)) is not None:
        taken.append((entry[0], entry[2]))
    return taken


def test_events_come_out_when_due_in_time_order_then_filing_order() -> None:
    agenda = Agenda()
    at = [T0 + timedelta(seconds=s) for s in (5, 1, 3, 1, 90_000)]
    for number, when in enumerate(at):
        agenda.add(when, number, number, _step)
    assert len(agenda) == 5
    assert _take(agenda, T0) == []
    assert _take(agenda, T0 + timedelta(seconds=4)) == [(at[1], 1), (at[3], 3), (at[2], 2)]
    assert _take(agenda, T0 + timedelta(seconds=4)) == []
    assert _take(agenda, T0 + timedelta(days=2)) == [(at[0], 0), (at[4], 4)]
    assert len(agenda) == 0


def test_an_event_filed_for_a_time_already_past_comes_out_at_once_after_those_due() -> None:
    agenda = Agenda()
    agenda.add(T0, 0, 7, _step)
    assert _take(agenda, T0 + timedelta(seconds=10)) == [(T0, 7)]
    agenda.add(T0 + timedelta(seconds=20), 1, 8, _step)
    agenda.add(T0 + timedelta(seconds=2), 2, 7, _step)  # planned while the parcel ran late
    agenda.add(T0 + timedelta(seconds=3), 3, 7, _step)
    assert _take(agenda, T0 + timedelta(seconds=10)) == [
        (T0 + timedelta(seconds=2), 7),
        (T0 + timedelta(seconds=3), 7),
    ]
    assert _take(agenda, T0 + timedelta(seconds=20)) == [(T0 + timedelta(seconds=20), 8)]


def test_keep_leaves_a_share_of_the_parcels_in_order() -> None:
    agenda = Agenda()
    for number in range(10):
        agenda.add(T0 + timedelta(seconds=10 - number), number, number, _step)
    agenda.keep(lambda entry: entry[2] % 2 == 0)
    assert [key for _when, key in _take(agenda, T0 + timedelta(days=1))] == [8, 6, 4, 2, 0]
