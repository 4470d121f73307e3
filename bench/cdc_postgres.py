"""PostgreSQL CDC → DuckDB ODS benchmark. Starts its own private PostgreSQL and prints:

1. raw slot read rate (psycopg2 read_message, no decoding): the baseline, read as kuaike's
   reader does (small fixed receive buffer, pause once drained) and as a plain loop does,
   with the CPU the walsender and the reading thread spend per message (the walsender is one
   process, so 1 s / its time per message is the ceiling of reading),
2. decode rate (kuaike's pgoutput decoder into batches, nothing applied), with the same costs,
3. end-to-end apply rate (`kuaike capture --until-caught-up` work, in process) for >= 2 M changes:
   first change read → last batch committed with its position, and the whole run,
4. freshness p50/p95 (source commit → committed in ODS) at a steady 5,000 changes/s,
5. the same workload into a table without a primary key, end to end, beside the keyed rate.

Usage: python bench/cdc_postgres.py [--changes 2000000] [--rate 5000] [--seconds 20]
The table is the carrier's tbl_express_bill (15 columns). Targets: >= 100,000 changes/s applied,
freshness p95 < 1 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras

from kuaike import pipeline
from kuaike.business import schema
from kuaike.business.servers import PrivatePostgres
from kuaike.capture.base import CaptureSource, table_filter
from kuaike.capture.events import BatchBuilder, ChangeBatch
from kuaike.capture.postgres.pgoutput import Decoder
from kuaike.capture.postgres.stream import PAUSE_S, limit_receive_buffer
from kuaike.config import CaptureSettings, Settings
from kuaike.databases import SourceURL
from kuaike.store.writer import Store

TABLE = "tbl_express_bill"
KEYLESS = "tbl_express_bill_log"
OPTIONS = {"proto_version": "1", "publication_names": "kuaike"}
SLOTS = ("bench_raw", "bench_plain", "bench_decode")


def connect(url: str) -> Any:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def current_lsn(url: str) -> int:
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_current_wal_lsn() - '0/0'")
        lsn = int(cur.fetchone()[0])
    conn.close()
    return lsn


def workload(url: str, changes: int, table: str = TABLE) -> int:
    """Write ~`changes` row changes (60% inserts, 30% updates, 10% deletes) in 50k-row
    transactions, server-side; returns the number written."""
    conn = connect(url)
    inserts, updates, deletes = int(changes * 0.6), int(changes * 0.3), int(changes * 0.1)
    step = 50_000
    with conn.cursor() as cur:
        for first in range(1, inserts + 1, step):
            last = min(first + step - 1, inserts)
            cur.execute(
                f"INSERT INTO {table} (id, express_number, cid, eid, order_channel_id, order_dt, "
                "order_terminal_type, order_terminal_os_type, reserve_dt, "
                "is_collect_package_timeout, timeout_dt, type, cdt, udt, remark) "
                "SELECT g, 'KD' || lpad(g::text, 12, '0'), mod(g, 100000), mod(g, 5000), "
                "mod(g, 7), timestamp '2024-01-01' + g * interval '1 second', mod(g, 3), "
                "mod(g, 4), NULL, 0, NULL, 1, now(), now(), '备注' || g "
                "FROM generate_series(%s, %s) g",
                (first, last),
            )
        for first in range(1, updates + 1, step):
            cur.execute(
                f"UPDATE {table} SET udt = now(), type = 2, remark = '已签收' "
                "WHERE id BETWEEN %s AND %s",
                (first, min(first + step - 1, updates)),
            )
        for first in range(inserts - deletes + 1, inserts + 1, step):
            cur.execute(
                f"DELETE FROM {table} WHERE id BETWEEN %s AND %s",
                (first, min(first + step - 1, inserts)),
            )
    conn.close()
    return inserts + updates + deletes


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process of this machine has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Read:
    messages: int
    seconds: float
    walsender_cpu_s: float
    reader_cpu_s: float

    def costs(self) -> str:
        """CPU per message of the walsender (the ceiling: one core at most) and of the reader."""
        walsender = self.walsender_cpu_s / self.messages * 1e6
        reader = self.reader_cpu_s / self.messages * 1e6
        return f"walsender {walsender:.2f} µs/message, reader thread {reader:.2f} µs/message"


def read_slot(url: str, slot: str, target: int, consume: Any, tuned: bool = True) -> Read:
    """Read `slot` until `target` LSN, handing each payload to `consume`.
    `tuned`: read as kuaike's Streamer does (receive buffer and pause), else a plain loop."""
    conn = psycopg2.connect(url, connection_factory=psycopg2.extras.LogicalReplicationConnection)
    walsender = conn.get_backend_pid()
    walsender_started, reader_started = process_cpu_s(walsender), time.thread_time()
    cur = conn.cursor()
    cur.start_replication(slot_name=slot, decode=False, options=OPTIONS)
    if tuned:
        limit_receive_buffer(conn, CaptureSettings().receive_buffer_kb * 1024)
    count, started = 0, time.perf_counter()
    asked = 0.0
    while True:
        message = cur.read_message()
        if message is None and tuned:
            time.sleep(PAUSE_S)
            message = cur.read_message()
        if message is None:
            if (cur.wal_end or 0) >= target:
                break
            if time.perf_counter() - asked > 0.1:  # a keepalive request costs the walsender
                cur.send_feedback(reply=True)
                asked = time.perf_counter()
            select.select([conn], [], [], 0.05)
            continue
        consume(message.payload)
        count += 1
    elapsed = time.perf_counter() - started
    read = Read(
        count,
        elapsed,
        process_cpu_s(walsender) - walsender_started,
        time.thread_time() - reader_started,
    )
    conn.close()
    return read


def bench_raw(url: str, target: int) -> None:
    reads = (("bench_raw", True, "as kuaike reads"), ("bench_plain", False, "plain loop"))
    for slot, tuned, how in reads:
        read = read_slot(url, slot, target, lambda payload: None, tuned)
        print(
            f"1. raw slot read:   {read.messages:>10,} messages in {read.seconds:6.1f} s = "
            f"{read.messages / read.seconds:>9,.0f} messages/s (baseline, no decoding; {how})"
            f"\n   {read.costs()}",
            flush=True,
        )


def bench_server(url: str, slot: str) -> None:
    """What the server's pgoutput produces by itself, no network and no client (a ceiling)."""
    conn = connect(url)
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_logical_slot_peek_binary_changes(%s, NULL, NULL, "
            "'proto_version', '1', 'publication_names', 'kuaike')",
            (slot,),
        )
        count = int(cur.fetchone()[0])
    elapsed = time.perf_counter() - started
    conn.close()
    print(
        f"0. server pgoutput: {count:>10,} messages in {elapsed:6.1f} s = "
        f"{count / elapsed:>9,.0f} messages/s (inside PostgreSQL: the ceiling)",
        flush=True,
    )


def bench_decode(url: str, target: int) -> None:
    builder = BatchBuilder("logistics")
    decoder = Decoder(builder, table_filter(["*"], []))
    rows = 0

    def consume(payload: bytes) -> None:
        nonlocal rows
        if decoder.feed(payload) and builder.rows >= 100_000:
            rows += decoder.take().changes

    read = read_slot(url, "bench_decode", target, consume)
    rows += decoder.take().changes
    print(
        f"2. decode:          {rows:>10,} changes  in {read.seconds:6.1f} s = "
        f"{rows / read.seconds:>9,.0f} changes/s ({read.messages:,} messages)\n   {read.costs()}",
        flush=True,
    )


def bench_apply(settings: Settings, written: int) -> float:
    started = time.perf_counter()
    progress = pipeline.run_capture(settings, threading.Event(), until_caught_up=True)
    elapsed = time.perf_counter() - started
    run = progress["logistics"]
    streamed = run.last_applied - run.first_read
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"3. end-to-end:      {run.changes:>10,} changes  in {streamed:6.1f} s = "
        f"{run.changes / streamed:>9,.0f} changes/s applied into DuckDB, first change read → "
        f"last batch committed ({run.batches} batches, {written:,} written, max RSS {rss:,.0f} MB)"
        f"\n   whole `kuaike capture --until-caught-up` run (connect … store closed): "
        f"{elapsed:.1f} s = {run.changes / elapsed:,.0f} changes/s",
        flush=True,
    )
    return written / streamed


def bench_keyless(settings: Settings, url: str, changes: int, keyed_rate: float) -> None:
    """The same workload into a table without a primary key (REPLICA IDENTITY FULL), applied
    end to end; source row changes per second beside phase 3's (keyed) rate."""
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {KEYLESS} (LIKE {TABLE})")  # no primary key
    conn.close()
    keyless = settings.model_copy(
        update={"capture": settings.capture.model_copy(update={"include": [TABLE, KEYLESS]})}
    )
    pipeline.run_capture(keyless, threading.Event(), until_caught_up=True)  # sets identity FULL
    written = workload(url, changes, KEYLESS)
    progress = pipeline.run_capture(keyless, threading.Event(), until_caught_up=True)
    run = progress["logistics"]
    streamed = run.last_applied - run.first_read
    rate = written / streamed
    print(
        f"5. keyless:         {written:>10,} changes  in {streamed:6.1f} s = {rate:>9,.0f} "
        f"changes/s applied into a table without a key ({run.changes:,} row operations: an "
        f"update is delete + write); {rate / keyed_rate:.0%} of the keyed rate of 3. "
        "(target >= 50 %)",
        flush=True,
    )


class TimedStore(Store):
    """A Store that records, per applied transaction, commit → ODS-commit delay."""

    delays: list[float]
    applies: list[tuple[int, float]]

    def apply(self, batch: ChangeBatch) -> int:
        started = time.perf_counter()
        batch_id = super().apply(batch)
        self.applies.append((batch.changes, time.perf_counter() - started))  # for debugging
        now = datetime.now(UTC)
        self.delays.extend((now - ts).total_seconds() for ts in batch.commit_ts if ts)
        return batch_id


def steady_writer(url: str, rate: int, seconds: float, stop: threading.Event, first_id: int) -> int:
    """Write `rate` changes/s (ticks of 10 ms: inserts and updates) for `seconds`."""
    conn = connect(url)
    per_tick = max(rate // 100, 2)
    next_id, written = first_id, 0
    started = time.perf_counter()
    with conn.cursor() as cur:
        while time.perf_counter() - started < seconds and not stop.is_set():
            half = per_tick // 2
            cur.execute(
                f"BEGIN; INSERT INTO {TABLE} (id, express_number, type, cdt) SELECT g, "
                "'KD' || g, 1, now() FROM generate_series(%s, %s) g; "
                f"UPDATE {TABLE} SET type = 3 WHERE id BETWEEN %s AND %s; COMMIT",
                (next_id, next_id + half - 1, next_id - half, next_id - 1),
            )
            next_id += half
            written += per_tick
            tick = started + written / rate
            time.sleep(max(0.0, tick - time.perf_counter()))
    conn.close()
    return written


def bench_freshness(settings: Settings, url: str, rate: int, seconds: float) -> None:
    store = TimedStore.open(settings.store_path)
    store.delays = []
    store.applies = []
    from kuaike.capture.postgres.capture import PostgresCapture

    stop = threading.Event()
    capture = PostgresCapture(
        CaptureSource("logistics", SourceURL.parse(url), settings.capture.slot_name),
        store,
        settings.capture,
        stop,
    )
    thread = threading.Thread(target=capture.run)
    thread.start()
    # Warm up: the walsender first re-reads the WAL since the slot's restart point, and the
    # first batches carry that backlog; steady state is what is measured.
    # Writing goes on until a transaction is applied promptly: waiting without writes could
    # only end at the deadline if the last warm-up batch was late (a checkpoint, say).
    first_id = 10_000_000
    first_id += steady_writer(url, rate, 3.0, stop, first_id)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not store.delays or store.delays[-1] > 0.5):
        first_id += steady_writer(url, rate, 0.5, stop, first_id)
        time.sleep(0.5)
    store.delays.clear()
    written = steady_writer(url, rate, seconds, stop, 20_000_000)
    time.sleep(1.0)
    stop.set()
    thread.join()
    store.close()
    delays = sorted(store.delays)
    p50 = statistics.median(delays)
    p95 = delays[int(len(delays) * 0.95)]
    print(
        f"4. freshness at {rate:,}/s for {seconds:.0f} s ({written:,} changes, "
        f"{len(delays):,} transactions): p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {delays[-1] * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=2_000_000)
    parser.add_argument("--rate", type=int, default=5_000)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kuaike-bench-") as tmp:
        server = PrivatePostgres(Path(tmp) / "pg", settings={"max_wal_size": "4GB"}).start()
        try:
            url = server.url_for("logistics")
            schema.create_logistics(url)
            settings = Settings(
                logistics_url=url,
                store=Path(tmp) / "bench.duckdb",
                capture=CaptureSettings(include=[TABLE]),
            )
            pipeline.run_capture(settings, threading.Event(), until_caught_up=True)  # snapshot
            conn = connect(url)
            with conn.cursor() as cur:
                for slot in SLOTS:
                    cur.execute(
                        "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,)
                    )
            conn.close()
            print(f"writing {args.changes:,} changes to {TABLE} ...", flush=True)
            written = workload(url, args.changes)
            target = current_lsn(url)
            bench_server(url, "bench_decode")
            bench_raw(url, target)
            bench_decode(url, target)
            keyed_rate = bench_apply(settings, written)
            conn = connect(url)
            with conn.cursor() as cur:
                for slot in SLOTS:
                    cur.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
            conn.close()
            bench_freshness(settings, url, args.rate, args.seconds)
            bench_keyless(settings, url, args.changes, keyed_rate)
        finally:
            server.stop()
    print("note: 2-core machine shared with other work; figures vary with its load")


if __name__ == "__main__":
    main()
