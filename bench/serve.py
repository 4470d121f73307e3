"""The data service under load. Starts its own private PostgreSQL, simulates a small carrier,
runs the pipeline process (capture + the HTTP server) in this process, and prints, per route,
latency p50/p99 of `/api/live`, `/api/kpi/{table}` and a simple `POST /api/sql`:

- baseline: one client at a time, no changes being captured;
- baseline: 50 clients, no changes being captured;
- loaded: 50 concurrent clients (in a child process, so they do not share the server's GIL)
  while a writer commits 5,000 changes/s that capture applies, each client sending its next
  request as soon as the last is answered (saturation), then paced (dashboards polling:
  200 requests/s in all);

and capture's freshness (source commit → committed in ODS) p50/p95 with no HTTP load (baseline)
and during the loaded runs.

Usage: python bench/serve.py [--clients 50] [--rate 5000] [--seconds 10] [--paced 200]
Targets (DESIGN §6): p99 < 100 ms at 50 clients, freshness p95 < 1 s while serving.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx

from cdc_postgres import steady_writer
from kuaike import pipeline
from kuaike.business.servers import PrivatePostgres
from kuaike.capture.events import ChangeBatch
from kuaike.config import CaptureSettings, Settings
from kuaike.serve.metrics import TimedStore

SIMULATION = [
    "--seed", "3", "--orders-per-day", "5000", "--companies", "5", "--warehouses", "30",
    "--dots", "80", "--couriers-per-dot", "3", "--customers", "2000", "--workers", "1",
]  # fmt: skip
ROUTES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "/api/live": ("GET", "/api/live", None),
    "/api/kpi": ("GET", "/api/kpi/tbl_express_bill_summary", None),
    "/api/sql": (
        "POST",
        "/api/sql",
        {"sql": "SELECT id, express_number, cdt FROM ods.tbl_express_bill WHERE id = 4242"},
    ),
}


class FreshStore(TimedStore):
    """The pipeline's store, noting each applied transaction's commit → ODS delay."""

    delays: ClassVar[list[float]] = []

    def apply(self, batch: ChangeBatch) -> int:
        batch_id = super().apply(batch)
        now = datetime.now(UTC)
        FreshStore.delays.extend((now - ts).total_seconds() for ts in batch.commit_ts if ts)
        return batch_id


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def _request_bytes(url: str, route: str) -> bytes:
    method, path, body = ROUTES[route]
    host = url.split("//", 1)[1]
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(data)}\r\n"
    if body is not None:
        head += "Content-Type: application/json\r\n"
    return head.encode() + b"\r\n" + data


async def _one_client(
    url: str, request: bytes, seconds: float, out: list[float], every_s: float
) -> None:
    """One keep-alive connection sending `request` again and again (a minimal HTTP/1.1
    client: httpx's own pool cost more CPU than the server at 50 connections)."""
    host, port = url.split("//", 1)[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    deadline = time.perf_counter() + seconds
    await asyncio.sleep(every_s * (hash(writer) % 1000) / 1000)  # paced clients spread out
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        out.append(time.perf_counter() - started)
        await asyncio.sleep(max(0.0, every_s - (time.perf_counter() - started)))
    writer.close()


async def _clients(
    url: str, route: str, clients: int, seconds: float, every_s: float
) -> list[float]:
    latencies: list[float] = []
    request = _request_bytes(url, route)
    await asyncio.gather(
        *(_one_client(url, request, seconds, latencies, every_s) for _ in range(clients))
    )
    return latencies


def load(url: str, route: str, clients: int, seconds: float, every_s: float) -> list[float]:
    """Request latencies of `clients` concurrent clients on `route` (run in a child process),
    each sending its next request as soon as the last is answered (every_s 0: saturation) or
    every `every_s` seconds (a dashboard polling)."""
    return asyncio.run(_clients(url, route, clients, seconds, every_s))


def measure(
    pool: Any, url: str, route: str, clients: int, seconds: float, every_s: float = 0.0
) -> str:
    latencies: list[float] = pool.apply(load, (url, route, clients, seconds, every_s))
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    rate = len(latencies) / seconds
    return f"p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  ({rate:,.0f} req/s)"


def freshness(label: str, delays: list[float]) -> str:
    p50, p95 = statistics.median(delays), percentile(delays, 0.95)
    return f"{label}: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms ({len(delays):,} txns)"


def setup(tmp: Path) -> tuple[PrivatePostgres, Settings]:
    server = PrivatePostgres(tmp / "pg", settings={"max_wal_size": "4GB"}).start()
    url, crm = server.url_for("logistics"), server.url_for("crm")
    store = tmp / "bench.duckdb"
    env = {"KUAIKE_LOGISTICS_URL": url, "KUAIKE_CRM_URL": crm, "KUAIKE_STORE": str(store)}
    end = datetime.now().replace(microsecond=0).isoformat(sep=" ")
    print("simulating 3 days of a small carrier ...", flush=True)
    command = [sys.executable, "-m", "kuaike", "simulate", "--history-days", "3", "--end", end]
    subprocess.run(
        [*command, *SIMULATION],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("KUAIKE_")}, **env},
        check=True,
        capture_output=True,
    )
    settings = Settings(logistics_url=url, crm_url=crm, store=store, capture=CaptureSettings())
    return server, settings


def start_pipeline(settings: Settings, stop: threading.Event) -> tuple[threading.Thread, str]:
    urls: list[str] = []
    pipeline.TimedStore = FreshStore  # type: ignore[attr-defined]  # the bench's own store
    thread = threading.Thread(
        target=pipeline.run_capture,
        args=(settings, stop),
        kwargs={"serve_at": ("127.0.0.1", 0), "on_serving": urls.append},
    )
    thread.start()
    while not urls:
        time.sleep(0.1)
    with httpx.Client(base_url=urls[0], timeout=600) as client:
        while not all(
            s["phase"] == "streaming" for s in client.get("/api/pipeline").json()["sources"]
        ):
            time.sleep(0.5)
        built = client.post("/api/build", json={}).json()
        seconds = built.get("duration_ms", 0) / 1000
        print(f"snapshot applied; build {built.get('status')} in {seconds:.1f} s")
    return thread, urls[0]


def run(args: argparse.Namespace, settings: Settings, url: str) -> None:
    stop = threading.Event()
    pool = multiprocessing.get_context("spawn").Pool(1)
    for clients in (1, args.clients):
        print(f"\nbaseline: {clients} clients, no changes being captured ({args.seconds:g} s each)")
        for route in ROUTES:
            print(f"  {route:10} {measure(pool, url, route, clients, args.seconds)}", flush=True)
    FreshStore.delays.clear()
    writer_id = [50_000_000]

    def write(seconds: float) -> None:
        writer_id[0] += steady_writer(
            settings.logistics_url or "", args.rate, seconds, stop, writer_id[0]
        )

    write(3.0)  # warm-up
    FreshStore.delays.clear()
    write(args.seconds)
    idle = list(FreshStore.delays)
    print(f"  {freshness(f'freshness at {args.rate:,} changes/s, no HTTP load', idle)}")
    print(f"\nloaded: {args.clients} clients while capture applies {args.rate:,} changes/s")
    FreshStore.delays.clear()
    writer = threading.Thread(target=write, args=(args.seconds * len(ROUTES) * 2 + 2,))
    writer.start()
    for route in ROUTES:
        print(f"  {route:10} {measure(pool, url, route, args.clients, args.seconds)}", flush=True)
    every = args.clients / args.paced
    print(f"loaded, paced: {args.clients} clients sending {args.paced:g} requests/s in all")
    for route in ROUTES:
        figures = measure(pool, url, route, args.clients, args.seconds, every)
        print(f"  {route:10} {figures}", flush=True)
    writer.join()
    print(f"  {freshness('freshness during the loaded runs', list(FreshStore.delays))}")
    pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=int, default=5_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--paced", type=float, default=200, help="requests/s of the paced runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kuaike-bench-serve-") as tmp:
        server, settings = setup(Path(tmp))
        stop = threading.Event()
        try:
            thread, url = start_pipeline(settings, stop)
            try:
                run(args, settings, url)
            finally:
                stop.set()
                thread.join(60)
        finally:
            server.stop()
    print("note: 2-core machine shared with other work; clients and server share its cores")


if __name__ == "__main__":
    main()
