"""What to simulate (the `kuaike simulate` options), and how a run reports its progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from kuaike.business.simulate.model import Sizes

OnProgress = Callable[[str, float, float | None], None]
"""Told (phase, done, total or None) as a run goes."""


@dataclass(frozen=True)
class Options:
    """What to simulate (the `kuaike simulate` options)."""

    seed: int | None = None
    history_days: int = 0
    end: datetime | None = None
    orders_per_day: int = 20_000
    rate: float | None = None
    duration: float | None = None
    connections: int = 4
    workers: int = 4
    sizes: Sizes = field(default_factory=Sizes)
