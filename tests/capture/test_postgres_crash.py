"""Crash safety: `kuaike capture` killed with SIGKILL at random moments (during the snapshot and
while streaming, with writes going on) leaves a replica that, after a restart, equals the source
with no change missing and none applied twice."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from pg_replica import assert_replica_equal, batch_positions_increase, cli_env, kuaike, pg, slot_for
from workload import TABLES, Workload


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kuaike", "capture"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _slot_exists(url: str) -> bool:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (slot_for(url),))
        found = cur.fetchone() is not None
    conn.close()
    return found


def _stored_batches(store: Path) -> int:
    if not store.exists():
        return 0
    con = duckdb.connect(str(store))
    try:
        row = con.execute("SELECT count(*) FROM _kuaike.batches").fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def _writer(work: Workload, stop: threading.Event) -> None:
    while not stop.is_set():
        work.step()
        time.sleep(0.005)


@pytest.mark.slow
def test_sigkill_during_snapshot_and_streaming_loses_and_repeats_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "store.duckdb"
    env = cli_env(pg_url, store, KUAIKE_CAPTURE_BATCH_MAX_LATENCY_MS="50")
    work = Workload(pg_url, seed=7)
    work.create()
    conn = pg(pg_url)
    with conn.cursor() as cur:
        # Big enough that the copy takes a while; the writer below runs throughout.
        cur.execute(
            "INSERT INTO parcels (id, name, amount, note) SELECT g, '包裹' || g, g / 7.0, "
            "repeat('备注', 50) FROM generate_series(1000000, 1040000) g"
        )
        cur.execute("ALTER TABLE nokey REPLICA IDENTITY FULL")  # the writer updates it at once
    stop = threading.Event()
    writer = threading.Thread(target=_writer, args=(work, stop))
    writer.start()
    rng = random.Random(11)
    try:
        process = _start(env)  # round 0: killed as soon as the slot exists, mid-snapshot
        deadline = time.monotonic() + 30
        while not _slot_exists(pg_url) and time.monotonic() < deadline:
            time.sleep(0.01)
        _kill(process)
        assert _stored_batches(store) == 0  # killed inside the snapshot: nothing committed
        for _ in range(5):
            process = _start(env)
            time.sleep(rng.uniform(1.5, 4.0))
            _kill(process)
    finally:
        stop.set()
        writer.join()
    assert _stored_batches(store) > 1  # the killed runs did snapshot and stream
    result = kuaike(["capture", "--until-caught-up"], env)
    assert result.returncode == 0, result.stderr
    assert_replica_equal(pg_url, store, TABLES)
    assert batch_positions_increase(store)
