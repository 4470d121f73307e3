"""When things happen: a daily curve (busy days, quiet nights), weekends, sale-day peaks.

Local business time throughout, as naive datetimes at whole seconds (the columns are timestamp(0)).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta

# Share of a day's orders placed in each hour: quiet nights, a morning and an afternoon peak,
# and an evening bump from people ordering after work.
HOURLY = (
    0.6, 0.3, 0.2, 0.2, 0.2, 0.4, 1.0, 2.5, 4.5, 6.5, 7.5, 7.0,
    5.5, 6.0, 7.0, 7.0, 6.5, 5.5, 4.5, 4.5, 5.0, 4.5, 2.5, 1.2,
)  # fmt: skip
_HOURLY_TOTAL = sum(HOURLY)
WEEKEND = 0.8
# Sale days and the days around them, as (month, day): factor on a normal day's volume.
PEAKS = {(11, 10): 1.6, (11, 11): 3.0, (11, 12): 2.2, (11, 13): 1.5, (6, 18): 2.0, (12, 12): 1.5}


def day_factor(day: date) -> float:
    """How busy a day is compared with an ordinary weekday."""
    factor = PEAKS.get((day.month, day.day), 1.0)
    return factor * (WEEKEND if day.weekday() >= 5 else 1.0)


def hour_share(hour: int) -> float:
    """Fraction of a day's orders placed in this hour."""
    return HOURLY[hour] / _HOURLY_TOTAL


def expected_in_hour(per_day: float, start: datetime) -> float:
    """Expected orders in the hour that starts at `start`, for a normal volume of `per_day`."""
    return per_day * day_factor(start.date()) * hour_share(start.hour)


def hours(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive hour slots covering [start, end)."""
    slot = start.replace(minute=0, second=0, microsecond=0)
    while slot < end:
        following = slot + timedelta(hours=1)
        yield max(slot, start), min(following, end)
        slot = following


def times_in(rng: random.Random, begin: datetime, end: datetime, expected: float) -> list[datetime]:
    """About `expected` random instants in [begin, end), sorted (stochastic rounding)."""
    count = int(expected + rng.random())
    span = int((end - begin).total_seconds())
    if span <= 0:
        return []
    return [begin + timedelta(seconds=s) for s in sorted(rng.randrange(span) for _ in range(count))]


def minutes(value: float) -> timedelta:
    """A whole-second timedelta of `value` minutes."""
    return timedelta(seconds=int(value * 60))


def next_daytime(when: datetime, rng: random.Random) -> datetime:
    """`when`, or the next morning when it falls at night (couriers do not knock at 3 a.m.)."""
    if 8 <= when.hour < 21:
        return when
    morning = when.replace(hour=8, minute=0, second=0)
    if when.hour >= 21:
        morning += timedelta(days=1)
    return morning + minutes(rng.uniform(0, 120))


def parse_when(text: str) -> datetime | None:
    """`YYYY-MM-DD` or `YYYY-MM-DD HH:MM[:SS]` as a datetime, None when it is not one."""
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None
