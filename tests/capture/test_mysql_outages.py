"""Forty short outages spread over a run (the MariaDB server restarted each time): capture keeps
going, because each outage gets a fresh retry budget once the source streamed healthily for
`capture.retry_healthy_s`; the replica ends equal to the source.

With the budget never reset (the policy before), the pauses of successive outages added up and
capture gave up after a few dozen of them, however far apart they were.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mysql_helpers import connect, ods_rows, source_columns, source_rows

from kuaike.business.schema import create_crm
from kuaike.business.servers import PrivateMariaDB
from kuaike.capture.base import CaptureSource
from kuaike.capture.mysql.capture import MySQLCapture
from kuaike.config import CaptureSettings
from kuaike.databases import SourceURL
from kuaike.store import Store

OUTAGES = 40
HEALTHY_S = 0.5
GIVE_UP_S = 4.0
"""Small enough that a dozen outages without a reset would exhaust it (each costs about 1 s)."""


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[PrivateMariaDB]:
    """A MariaDB of this test's own: it is restarted forty times."""
    server = PrivateMariaDB(tmp_path / "mariadb", settings={"sync-binlog": "0"}).start()
    yield server
    server.stop()


def _insert(url: str, first_id: int, count: int) -> None:
    conn = connect(url)
    with conn.cursor() as cur:
        for customer in range(first_id, first_id + count):
            cur.execute(
                "INSERT INTO crm_customer (id, name, mobile, cdt, udt) "
                "VALUES (%s, %s, %s, now(), now())",
                (customer, f"客户{customer}", f"138{customer:08d}"),
            )
    conn.close()


def _wait(condition: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_forty_short_outages_spread_over_a_run_never_make_capture_give_up(
    restartable: PrivateMariaDB, tmp_path: Path
) -> None:
    url = restartable.url_for("crm")
    create_crm(url)
    settings = CaptureSettings(
        batch_max_latency_ms=50, retry_healthy_s=HEALTHY_S, retry_give_up_s=GIVE_UP_S
    )
    stop = threading.Event()
    errors: list[BaseException] = []
    with Store.open(tmp_path / "replica.duckdb") as store:
        capture = MySQLCapture(CaptureSource("crm", SourceURL.parse(url)), store, settings, stop)

        def run() -> None:
            try:
                capture.run()
            except BaseException as exc:  # the test asserts there is none
                errors.append(exc)

        reading = threading.Thread(target=run)
        reading.start()
        replica = store.con.cursor()  # a cursor of its own beside the capture thread's

        def replicated(count: int) -> bool:
            row = replica.execute("SELECT count(*) FROM ods.tbl_customer").fetchall()[0]
            return row[0] == count or bool(errors)

        _wait(lambda: capture.progress.position is not None or errors, "the snapshot")
        try:
            for outage in range(OUTAGES):
                _insert(url, outage * 10 + 1, 10)
                _wait(lambda n=(outage + 1) * 10: replicated(n), "the new rows")
                assert not errors, errors
                time.sleep(HEALTHY_S * 1.5)  # healthy for a while: the next outage is a new one
                restartable.stop()
                restartable.start()
        finally:
            _insert(url, OUTAGES * 10 + 1, 10)
            _wait(lambda: replicated((OUTAGES + 1) * 10), "the last rows")
            stop.set()
            reading.join(timeout=30)
        assert not errors, errors
        assert capture.progress.reconnects >= OUTAGES
    conn = connect(url)
    columns = source_columns(conn, "crm_customer")
    assert ods_rows(tmp_path / "replica.duckdb", "tbl_customer", columns) == source_rows(
        conn, "crm_customer", columns
    )
