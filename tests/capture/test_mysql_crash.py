"""SIGKILL the capture process at random instants: the replica ends equal, nothing lost, nothing
applied twice (every row change of the workload is counted exactly once in `_kuaike.batches`)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mysql_helpers import (
    capture_until_caught_up,
    connect,
    ods_rows,
    source_columns,
    source_rows,
    store_query,
)

from kuaike.business.schema import create_crm
from kuaike.capture.base import CaptureSource
from kuaike.databases import SourceURL

ROUNDS = 4


class CountingWriter:
    """Writes single-row changes until stopped, counting the rows each statement changed."""

    def __init__(self, url: str, seed: int) -> None:
        self.conn = connect(url)
        self.rng = random.Random(seed)
        self.changed = 0
        self.next_id = 10_000
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with self.conn.cursor() as cur:
                self.changed += self._one(cur)
            time.sleep(0.0005)

    def _one(self, cur: object) -> int:
        pick = self.rng.random()
        if pick < 0.5:
            self.next_id += 1
            return int(
                cur.execute(  # type: ignore[attr-defined]
                    "INSERT INTO crm_customer (id, name, state, cdt) VALUES (%s, %s, 0, now())",
                    (self.next_id, f"客户{self.next_id}"),
                )
            )
        target = self.rng.randint(1, self.next_id)
        if pick < 0.85:  # state + 1 always changes the row, so rowcount = rows logged
            return int(
                cur.execute(  # type: ignore[attr-defined]
                    "UPDATE crm_customer SET state = state + 1, name = %s WHERE id = %s",
                    (f"改{target}", target),
                )
            )
        return int(cur.execute("DELETE FROM crm_customer WHERE id = %s", (target,)))  # type: ignore[attr-defined]


def _capture_process(url: str, store: Path, workdir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KUAIKE_CRM_URL": url,
        "KUAIKE_LOGISTICS_URL": "postgresql://nobody@127.0.0.1:1/none",
        "KUAIKE_STORE": str(store),
        "KUAIKE_CAPTURE_BATCH_MAX_ROWS": "25",
        "KUAIKE_CAPTURE_BATCH_MAX_LATENCY_MS": "30",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "kuaike", "capture", "--source", "crm"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _binlog_readers(url: str) -> int:
    """How many `Binlog Dump` threads the server runs (one per connected binlog reader)."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM information_schema.processlist "
                "WHERE command LIKE 'Binlog Dump%'"
            )
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def _wait_for_binlog_reader(url: str, process: subprocess.Popen[bytes] | _Alive) -> None:
    """Until the capture process reads the binlog."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if _binlog_readers(url):
            return
        time.sleep(0.05)
    raise AssertionError("the capture process never started reading the binlog")


def _wait_until_no_binlog_reader(url: str) -> None:
    """A killed reader's dump thread ends once the server notices the closed connection."""
    deadline = time.monotonic() + 30
    while _binlog_readers(url) and time.monotonic() < deadline:
        time.sleep(0.05)


def _batch_count(store: Path) -> int:
    return int(store_query(store, "SELECT count(*) FROM _kuaike.batches")[0][0])


@pytest.mark.slow
def test_sigkill_at_random_instants_loses_nothing_and_applies_nothing_twice(
    mysql_url: str, workdir: Path
) -> None:
    create_crm(mysql_url)
    store = workdir / "replica.duckdb"
    capture_until_caught_up(mysql_url, store)  # the snapshot; from here on only the stream
    writer = CountingWriter(mysql_url, seed=7)
    thread = threading.Thread(target=writer.run)
    thread.start()
    rng = random.Random(11)
    applied_per_round = []
    try:
        for _ in range(ROUNDS):
            process = _capture_process(mysql_url, store, workdir)
            _wait_for_binlog_reader(mysql_url, process)
            time.sleep(rng.uniform(0.2, 1.2))  # the kill lands mid-stream, at a random instant
            process.send_signal(signal.SIGKILL)
            process.wait()
            _wait_until_no_binlog_reader(mysql_url)
            applied_per_round.append(_batch_count(store))
    finally:
        writer.stop.set()
        thread.join()
    capture_until_caught_up(mysql_url, store)
    progressed = [b - a for a, b in zip([1, *applied_per_round], applied_per_round, strict=False)]
    assert sum(1 for step in progressed if step > 0) >= 2, progressed  # killed while streaming

    conn = connect(mysql_url)
    columns = source_columns(conn, "crm_customer")
    assert ods_rows(store, "tbl_customer", columns) == source_rows(conn, "crm_customer", columns)
    batches = store_query(
        store, "SELECT position, changes FROM _kuaike.batches WHERE source = 'crm' ORDER BY batch"
    )
    streamed = batches[1:]  # the first batch is the snapshot
    positions = [position for position, _ in streamed]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert sum(changes for _, changes in streamed) == writer.changed
    assert writer.changed > 200


def test_killed_binlog_connections_are_retried_without_losing_a_transaction(
    mysql_url: str, workdir: Path
) -> None:
    from kuaike.capture.mysql.capture import MySQLCapture
    from kuaike.config import CaptureSettings
    from kuaike.store import Store

    create_crm(mysql_url)
    store_path = workdir / "replica.duckdb"
    capture_until_caught_up(mysql_url, store_path)
    writer = CountingWriter(mysql_url, seed=5)
    writing = threading.Thread(target=writer.run)
    stop = threading.Event()
    with Store.open(store_path) as store:
        settings = CaptureSettings(batch_max_rows=20, batch_max_latency_ms=20)
        source = CaptureSource("crm", SourceURL.parse(mysql_url))
        capture = MySQLCapture(source, store, settings, stop)
        reading = threading.Thread(target=capture.run)
        reading.start()
        writing.start()
        root = connect(mysql_url)
        for _ in range(3):  # the server drops the reader's connection mid-stream
            _wait_for_binlog_reader(mysql_url, _Alive())
            time.sleep(0.4)
            with root.cursor() as cur:
                cur.execute(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE command LIKE 'Binlog Dump%'"
                )
                for (thread_id,) in cur.fetchall():
                    cur.execute(f"KILL {int(thread_id)}")
        writer.stop.set()
        writing.join()
        time.sleep(1.0)
        stop.set()
        reading.join(timeout=30)
        assert not reading.is_alive()
        assert capture.progress.reconnects >= 1
    capture_until_caught_up(mysql_url, store_path)
    conn = connect(mysql_url)
    columns = source_columns(conn, "crm_customer")
    assert ods_rows(store_path, "tbl_customer", columns) == source_rows(
        conn, "crm_customer", columns
    )
    streamed = store_query(
        store_path, "SELECT changes FROM _kuaike.batches WHERE source = 'crm' ORDER BY batch"
    )[1:]
    assert sum(changes for (changes,) in streamed) == writer.changed


class _Alive:
    """Stands in for a process that is running (the reader runs in a thread here)."""

    def poll(self) -> None:
        return None
