"""`kuaike demo` on a fresh data directory: embedded PostgreSQL + MariaDB, a small history,
the carrier live; the page and /api/live show data, capture keeps up with the live simulator
(freshness p95 < 1 s over a live window), Ctrl-C stops everything, and a second run resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kuaike.business.servers import _pid_alive, stop_pid

DEMO = [sys.executable, "-m", "kuaike", "demo", "--history-days", "2", "--orders-per-day", "400"]
DEMO += ["--size", "small", "--port", "0"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUAIKE_")}
    return {**env, "KUAIKE_DATA_DIR": str(data_dir)}


def _url(stdout: IO[str], process: subprocess.Popen[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stdout.readline()
        if "open http://" in line:
            return line.split("open ", 1)[1].split()[0].rstrip("/")
        if not line and process.poll() is not None:
            raise AssertionError(f"kuaike demo exited {process.returncode} before serving")
    raise AssertionError("kuaike demo printed no URL")


def _freshness_buckets(url: str, source: str) -> dict[float, float]:
    text = httpx.get(url + "/metrics", timeout=30).text
    buckets = {}
    for family in text_string_to_metric_families(text):
        if family.name == "kuaike_freshness_seconds":
            for sample in family.samples:
                if sample.name.endswith("_bucket") and sample.labels["source"] == source:
                    buckets[float(sample.labels["le"])] = sample.value
    return buckets


def _orders(url: str) -> int:
    figures: dict[str, Any] = httpx.get(url + "/api/live", timeout=30).json()["figures"]
    return int(figures["orders"] or 0)


def _server_pids(data_dir: Path) -> list[int]:
    pids = []
    for pid_file in (data_dir / "postgres/data/postmaster.pid", data_dir / "mariadb/mariadbd.pid"):
        if pid_file.exists():
            pids.append(int(pid_file.read_text().split()[0]))
    return pids


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The demo's data directory; whatever database a failed or killed demo left running in it
    is stopped at the end, so a failing test never leaves servers behind."""
    directory = tmp_path / "data"
    yield directory
    for pid in _server_pids(directory):
        if _pid_alive(pid):
            stop_pid(pid, signal.SIGTERM, timeout=30)


def test_demo_serves_a_live_carrier_keeps_up_stops_on_ctrl_c_and_resumes(data_dir: Path) -> None:
    command = [*DEMO, "--rate", "5", "--duration", "120"]
    demo = subprocess.Popen(
        command, env=_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert demo.stdout is not None
        url = _url(demo.stdout, demo, timeout=240)
        page = httpx.get(url + "/", timeout=30)
        assert page.status_code == 200 and 'id="fig-orders"' in page.text
        servers = _server_pids(data_dir)
        assert len(servers) == 2  # PostgreSQL and MariaDB (the CRM on the binlog path)
        history_orders = _orders(url)
        assert history_orders > 0  # today's part of the history
        deadline = time.monotonic() + 60  # the live simulator starts, its orders are captured
        while _orders(url) <= history_orders and time.monotonic() < deadline:
            time.sleep(1)
        assert _orders(url) > history_orders, "/api/live shows no live orders"
        before = _freshness_buckets(url, "logistics")
        time.sleep(15)
        after = _freshness_buckets(url, "logistics")
        window = {le: after[le] - before.get(le, 0) for le in after}
        transactions = window[float("inf")]
        assert transactions > 50, window
        assert window[1.0] >= 0.95 * transactions, f"freshness p95 ≥ 1 s: {window}"
        p95 = min(le for le, n in window.items() if n >= 0.95 * transactions)
        print(f"freshness over 15 s live: {transactions:.0f} transactions, p95 ≤ {p95} s")
        demo.send_signal(signal.SIGINT)  # Ctrl-C
        _, stderr = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    assert not [pid for pid in servers if _pid_alive(pid)], "a database kept running"

    again = subprocess.run(
        [*DEMO, "--rate", "5", "--duration", "10", "--json"],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    summary = json.loads(again.stdout[again.stdout.index("{") :])
    assert summary["history"] == "resumed" and summary["crm"] == "mariadb"
    assert summary["snapshot_rows"] == {"logistics": 0, "crm": 0}
    assert summary["live"]["changes"]["logistics"] > 0
    assert not [pid for pid in _server_pids(data_dir) if _pid_alive(pid)]


def test_demo_refuses_a_configured_logistics_database_in_one_line(tmp_path: Path) -> None:
    env = {**_env(tmp_path / "data"), "KUAIKE_LOGISTICS_URL": "postgresql://x@127.0.0.1:1/x"}
    result = subprocess.run(DEMO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: kuaike demo runs its own embedded databases; unset logistics_url "
        "(KUAIKE_LOGISTICS_URL) for the demo, or use `kuaike run` with your own"
    ]
    assert not (tmp_path / "data").exists()  # nothing started, nothing written


def test_demo_keeps_the_crm_in_postgresql_when_asked(data_dir: Path) -> None:
    result = subprocess.run(
        [*DEMO, "--crm", "postgres", "--rate", "5", "--duration", "3", "--json"],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["crm"] == "postgres" and summary["snapshot_rows"]["crm"] > 0
    assert summary["history"]["orders"] > 0 and summary["build"]["status"] == "ok"
    assert not (data_dir / "mariadb").exists()
    assert not [pid for pid in _server_pids(data_dir) if _pid_alive(pid)]
