"""One retry policy for every source and the scheduler: only `Transient` errors are retried.

An outage is a run of failures with no healthy stretch between them. Its pauses double from
`FIRST_PAUSE_S` up to `MAX_PAUSE_S`; once they add up to `give_up_s` the error is raised. A call
that ran for `healthy_s` before it failed starts a new outage with a fresh budget, so short
outages spread over days never add up to a give-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from kuaike.errors import KuaikeError, Transient

T = TypeVar("T")

FIRST_PAUSE_S = 0.2
MAX_PAUSE_S = 5.0


class Stopper(Protocol):
    """What the policy waits on: `threading.Event` is one (`wait` is True once stopped)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def retry_transient(
    fn: Callable[[], T],
    stop: Stopper,
    *,
    give_up_s: float,
    healthy_s: float,
    on_retry: Callable[[KuaikeError, float], None] = lambda _exc, _pause: None,
    first_pause_s: float = FIRST_PAUSE_S,
    max_pause_s: float = MAX_PAUSE_S,
) -> T | None:
    """`fn()`'s result, retrying it after each Transient error; None when stopped meanwhile.

    Raises the error once an outage's pauses reach `give_up_s`, and any other error at once.
    `on_retry(error, pause)` is told before each pause.
    """
    pause, spent = first_pause_s, 0.0
    while not stop.is_set():
        started = time.monotonic()
        try:
            return fn()
        except KuaikeError as exc:
            if not isinstance(exc, Transient):
                raise
            if time.monotonic() - started >= healthy_s:
                pause, spent = first_pause_s, 0.0  # it was healthy for a while: a new outage
            if spent + pause > give_up_s:
                raise
            on_retry(exc, pause)
        if stop.wait(pause):
            return None
        spent += pause
        pause = min(pause * 2, max_pause_s)
    return None
