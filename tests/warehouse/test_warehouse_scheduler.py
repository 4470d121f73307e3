"""The build scheduler: cron times, retries with backoff, default schedules, stopping."""

from __future__ import annotations

import datetime as dt
import threading
import time

import duckdb
import pytest
from warehouse_data import Carrier
from warehouse_ods import Ods

from kuaike.config import Settings
from kuaike.errors import AuditError, ConfigError, StoreError, Transient, WarehouseError
from kuaike.warehouse.runner import build
from kuaike.warehouse.scheduler import Scheduler, schedule_for


class Busy(Transient, StoreError):
    """A failure worth retrying (as a dropped connection would be)."""


class FakeClock:
    """A clock that jumps forward by whatever the scheduler waits."""

    def __init__(self, start: dt.datetime) -> None:
        self.time = start
        self.waits: list[float] = []
        self.stop_after: int | None = None

    def now(self) -> dt.datetime:
        return self.time

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.time += dt.timedelta(seconds=seconds)
        return self.stop_after is not None and len(self.waits) >= self.stop_after


def test_failures_are_retried_with_doubling_backoff_then_succeed() -> None:
    clock = FakeClock(dt.datetime(2024, 3, 1, 0, 59, 30))
    attempts: list[dt.datetime] = []

    def flaky() -> None:
        attempts.append(clock.now())
        if len(attempts) < 3:
            raise Busy("store busy")

    scheduler = Scheduler(flaky, "0 1 * * *", backoff=10, now=clock.now, wait=clock.wait)
    clock.stop_after = 4  # the wait until 01:00, two backoffs, then the wait for tomorrow
    scheduler.run_forever()
    assert attempts == [
        dt.datetime(2024, 3, 1, 1, 0, 0),
        dt.datetime(2024, 3, 1, 1, 0, 10),
        dt.datetime(2024, 3, 1, 1, 0, 30),
    ]
    assert clock.waits[:3] == [30.0, 10.0, 20.0]
    assert [outcome for _, outcome in scheduler.history][-1] == "ok"
    assert clock.time == dt.datetime(2024, 3, 2, 1, 0, 0)  # next run: 01:00 the day after


def test_audit_failure_is_not_retried_and_gives_up_after_retries() -> None:
    clock = FakeClock(dt.datetime(2024, 3, 1))
    calls = []

    def bad_audit() -> None:
        calls.append(1)
        raise AuditError("audit failed for dws.x")

    scheduler = Scheduler(bad_audit, "*/5 * * * *", now=clock.now, wait=clock.wait)
    assert scheduler.run_once() is False and len(calls) == 1

    def always_down() -> None:
        calls.append(2)
        raise Busy("down")

    scheduler = Scheduler(
        always_down, "*/5 * * * *", retries=2, backoff=1, now=clock.now, wait=clock.wait
    )
    assert scheduler.run_once() is False and calls.count(2) == 3


def test_a_failure_that_is_not_transient_is_not_retried() -> None:
    clock = FakeClock(dt.datetime(2024, 3, 1))
    calls = []

    def bad_model() -> None:
        calls.append(1)
        raise WarehouseError("model dws.x failed in DuckDB: syntax error")

    scheduler = Scheduler(bad_model, "*/5 * * * *", now=clock.now, wait=clock.wait)
    assert scheduler.run_once() is False and len(calls) == 1 and clock.waits == []
    assert "syntax error" in scheduler.history[-1][1]


def test_default_schedule_is_every_five_minutes_for_the_demo_and_daily_otherwise() -> None:
    assert schedule_for(Settings()) == "*/5 * * * *"
    assert schedule_for(Settings(logistics_url="postgresql://u@h/db")) == "0 1 * * *"
    with pytest.raises(ConfigError, match="not a cron expression"):
        schedule_for(Settings.model_validate({"warehouse": {"schedule": "every day"}}))


def test_scheduler_thread_builds_the_warehouse_every_second_and_stops() -> None:
    con = duckdb.connect()
    Carrier([Ods(con)], seed=1).seed(bills=3)
    lock = threading.Lock()

    def job() -> None:
        with lock:
            build(con.cursor(), reference_date=dt.date(2024, 3, 5))

    scheduler = Scheduler(job, "* * * * * *")  # croniter's seconds field: every second
    scheduler.start()
    deadline = time.monotonic() + 20
    while len(scheduler.history) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    scheduler.stop(timeout=20)
    assert [outcome for _, outcome in scheduler.history][:2] == ["ok", "ok"]
    builds = con.execute("SELECT count(*) FROM _kuaike.builds WHERE status = 'ok'").fetchone()
    assert builds is not None and builds[0] >= 2
