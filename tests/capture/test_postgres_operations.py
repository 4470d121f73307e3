"""Capture in operation: a source restart mid-stream, an idle slot that keeps advancing, clean
stop on SIGTERM, and `kuaike status`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from pg_replica import (
    CaptureThread,
    assert_replica_equal,
    cli_env,
    kuaike,
    ods_count,
    pg,
    slot_for,
    wait_for,
)
from tests.conftest import new_pg_database

from kuaike.business.servers import PrivatePostgres


def _insert(url: str, first: int, count: int) -> None:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO t SELECT g, '行' || g FROM generate_series(%s, %s) g",
            (first, first + count - 1),
        )
    conn.close()


def _create(url: str) -> None:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id bigint PRIMARY KEY, s text)")
    conn.close()


def test_source_restart_mid_stream_is_survived(tmp_path: Path) -> None:
    server = PrivatePostgres(tmp_path / "pg", settings={"fsync": "off"}).start()
    store = tmp_path / "store.duckdb"
    try:
        url = server.url
        _create(url)
        _insert(url, 1, 100)
        capture = CaptureThread(url, store, feedback_interval_s=0.2)
        try:
            capture.wait(lambda: ods_count(store, "t") == 100, "the first rows")
            server.stop()
            time.sleep(0.5)
            server.start()  # same port
            _insert(url, 101, 100)
            capture.wait(lambda: ods_count(store, "t") == 200, "rows after the restart")
        finally:
            capture.stop()
        assert capture.progress["logistics"].reconnects >= 1
        assert_replica_equal(url, store, ["t"])
    finally:
        server.stop()


def _slot(url: str) -> tuple[int, int, int]:
    """(current WAL LSN, confirmed flush LSN, restart LSN) as integers."""
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_current_wal_lsn() - '0/0', confirmed_flush_lsn - '0/0', "
            "restart_lsn - '0/0' FROM pg_replication_slots WHERE slot_name = %s",
            (slot_for(url),),
        )
        row = cur.fetchone()
    conn.close()
    return int(row[0]), int(row[1]), int(row[2])


def test_idle_slot_confirmed_position_advances(
    pg_server: PrivatePostgres, pg_url: str, tmp_path: Path
) -> None:
    """An idle hour compressed: other databases write WAL, nothing is captured, and the slot's
    confirmed position (and retained WAL) still follows the server."""
    store = tmp_path / "store.duckdb"
    _create(pg_url)
    capture = CaptureThread(pg_url, store, feedback_interval_s=0.1)
    try:
        capture.wait(lambda: _slot_active(pg_url), "the snapshot")
        other = new_pg_database(pg_server, "busy")
        conn = pg(other)
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE noise AS SELECT g, repeat('x', 200) s "
                "FROM generate_series(1, 60000) g"
            )
            cur.execute("CHECKPOINT")  # logs running transactions, so restart_lsn may move too
        conn.close()
        written, _, _ = _slot(pg_url)
        capture.wait(lambda: _slot(pg_url)[1] >= written, "confirmed_flush_lsn", timeout=20)
        current, confirmed, restart = _slot(pg_url)
        assert current - confirmed < 1_000_000
        assert current - restart < 5_000_000  # ~15 MB of noise were written
    finally:
        capture.stop()


def test_sigterm_stops_cleanly_and_status_reports(pg_url: str, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    env = cli_env(pg_url, store, KUAIKE_CAPTURE_FEEDBACK_INTERVAL_S="0.2")
    _create(pg_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "kuaike", "capture"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: _slot_active(pg_url), what="capture to stream")
        _insert(pg_url, 1, 500)
        busy = kuaike(["status"], env)
        assert busy.returncode == 1
        lines = busy.stderr.strip().splitlines()
        assert len(lines) == 1 and "open in another process" in lines[0], busy.stderr
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert_replica_equal(pg_url, store, ["t"])
    report = kuaike(["status", "--json"], env)
    assert report.returncode == 0, report.stderr
    (entry,) = json.loads(report.stdout)
    assert entry["source"] == "logistics" and entry["phase"] == "stopped"
    assert entry["position"] and entry["changes_per_s"] > 0
    assert entry["retained_wal_bytes"] >= 0 and entry["reader_pid"] is None


def _slot_active(url: str) -> bool:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", (slot_for(url),)
        )
        row = cur.fetchone()
    conn.close()
    return bool(row and row[0])
