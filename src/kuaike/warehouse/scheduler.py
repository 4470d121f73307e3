"""The in-process build scheduler: cron expressions, retries with backoff, one thread.

Retries follow capture's policy (`kuaike.capture.retry`): only Transient errors are retried.

The pipeline owns the store connection and runs `Scheduler(job=lambda: build(cursor), ...)`
in a thread; `kuaike build` is the same job run once by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from croniter import croniter

from kuaike.capture.retry import retry_transient
from kuaike.config import Settings
from kuaike.errors import AuditError, ConfigError, KuaikeError

log = logging.getLogger("kuaike.warehouse.scheduler")

DEMO_SCHEDULE = "*/5 * * * *"
DAILY_SCHEDULE = "0 1 * * *"


def schedule_for(settings: Settings) -> str:
    """The cron expression to build with: `warehouse.schedule`, or the default for the setup."""
    cron = settings.warehouse.schedule
    if cron is None:
        cron = DEMO_SCHEDULE if settings.logistics_url is None else DAILY_SCHEDULE
    if not croniter.is_valid(cron):
        raise ConfigError(
            f"warehouse.schedule {cron!r} is not a cron expression; write e.g. '0 1 * * *'"
        )
    return cron


def _now() -> dt.datetime:
    return dt.datetime.now()


@dataclass
class Scheduler:
    """Run `job` at every time of `cron`; a Transient failure is retried after `backoff`,
    doubling each time, at most `retries` times.

    Other failures (an AuditError: the data must change first) wait for the next tick.
    `now` and `wait` can be replaced to test with a fake clock: `wait(seconds)` returns True
    when the scheduler is asked to stop.
    """

    job: Callable[[], object]
    cron: str
    retries: int = 3
    backoff: float = 30.0
    max_backoff: float = 600.0
    now: Callable[[], dt.datetime] = _now
    wait: Callable[[float], bool] | None = None
    history: list[tuple[dt.datetime, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.cron):
            raise ConfigError(f"{self.cron!r} is not a cron expression; write e.g. '0 1 * * *'")
        if self.wait is None:
            self.wait = self._stop.wait

    def next_time(self, after: dt.datetime) -> dt.datetime:
        """The first scheduled time strictly after `after`."""
        return croniter(self.cron, after).get_next(dt.datetime)

    def run_once(self) -> bool:
        """Run the job, retrying Transient failures with backoff; True when it succeeded.

        Any other failure (an AuditError: the data must change first; a model error: the SQL
        must) is noted and left for the next tick; the thread survives either way.
        """
        attempts = [0]

        def attempt() -> bool:
            attempts[0] += 1
            self.job()
            return True

        def note_retry(exc: KuaikeError, _pause: float) -> None:
            self._note(f"failed (attempt {attempts[0]}): {exc}")

        try:
            done = retry_transient(
                attempt,
                _Waiter(self),
                give_up_s=self._retry_budget(),
                healthy_s=math.inf,  # every scheduled run is an outage of its own
                on_retry=note_retry,
                first_pause_s=self.backoff,
                max_pause_s=self.max_backoff,
            )
        except AuditError as exc:
            self._note(f"audit failed: {exc}")
            return False
        except Exception as exc:  # noted; the next tick tries again
            self._note(f"failed (attempt {attempts[0]}): {exc}")
            return False
        if done:
            self._note("ok")
        return bool(done)

    def _retry_budget(self) -> float:
        """The pauses `retries` retries take, as retry_transient's give-up budget."""
        pauses = [min(self.backoff * 2**n, self.max_backoff) for n in range(self.retries)]
        return float(sum(pauses))

    def run_forever(self) -> None:
        """Wait for each scheduled time and run the job, until stop()."""
        while not self._stop.is_set():
            due = self.next_time(self.now())
            if self._wait(max((due - self.now()).total_seconds(), 0.0)):
                return
            self.run_once()

    def start(self) -> threading.Thread:
        """Run the schedule in a daemon thread."""
        self._thread = threading.Thread(target=self.run_forever, name="kuaike-build", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop and wait for it (a running build finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _wait(self, seconds: float) -> bool:
        assert self.wait is not None
        return self._stop.is_set() or bool(self.wait(seconds))

    def _note(self, outcome: str) -> None:
        self.history.append((self.now(), outcome))
        log.info("warehouse build %s", outcome)


@dataclass
class _Waiter:
    """The scheduler's stop flag and (replaceable) wait, as retry_transient waits on them."""

    scheduler: Scheduler

    def is_set(self) -> bool:
        return self.scheduler._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.scheduler._wait(timeout or 0.0)
