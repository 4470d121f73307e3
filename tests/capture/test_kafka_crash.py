"""SIGKILL the consuming CLI mid-stream, again and again: the replica ends equal to what was
produced, and every change was applied exactly once (counted in `_kuaike.batches`)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from kafka_helpers import new_topic, produce
from test_kafka_cli import cli_env, kuaike

from kuaike.capture.events import Change, Column
from kuaike.capture.formats import debezium
from kuaike.capture.kafka.offsets import parse_offsets
from kuaike.store.writer import Store

COLUMNS = (Column("id", "bigint"), Column("name", "varchar"), Column("version", "integer"))
ROUNDS = 4


class Workload:
    """Random inserts, updates (version + 1) and deletes over a few hundred keys, as Debezium
    messages keyed by id (deletes followed by their tombstone); `rows` is what they leave."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rows: dict[int, tuple[int, str, int]] = {}
        self.changes = 0

    def messages(self, n: int) -> list[tuple[bytes | None, bytes | None]]:
        out: list[tuple[bytes | None, bytes | None]] = []
        for _ in range(n):
            out += self._one(self.rng.randint(1, 400))
        return out

    def _one(self, i: int) -> list[tuple[bytes | None, bytes | None]]:
        old = self.rows.get(i)
        self.changes += 1
        if old is None:
            new = (i, f"客户{i}", 0)
            change = Change("customers", "insert", ("id",), None, self._row(new), COLUMNS)
        elif self.rng.random() < 0.2:
            del self.rows[i]
            change = Change("customers", "delete", ("id",), self._row(old), None, COLUMNS)
            key = debezium.encode_key(change)
            return [(key, debezium.encode(change)), (key, None)]
        else:
            new = (i, f"改{i}-{old[2] + 1}", old[2] + 1)
            change = Change("customers", "update", ("id",), self._row(old), self._row(new), COLUMNS)
        self.rows[i] = new
        return [(debezium.encode_key(change), debezium.encode(change))]

    @staticmethod
    def _row(values: tuple[int, str, int]) -> dict[str, object]:
        return dict(zip(("id", "name", "version"), values, strict=True))


def consumer(workdir: Path, url: str, topic: str) -> subprocess.Popen[bytes]:
    env = cli_env(
        workdir, KUAIKE_KAFKA_BATCH_MAX_MESSAGES="40", KUAIKE_CAPTURE_BATCH_MAX_LATENCY_MS="20"
    )
    return subprocess.Popen(
        [sys.executable, "-m", "kuaike", "capture", "--from", url, "--topics", topic],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_a_consumer_killed_mid_stream_applies_nothing_twice_and_misses_nothing(
    kafka_broker, tmp_path
) -> None:
    topic = new_topic(kafka_broker.servers, "crash", partitions=2)
    workload = Workload(seed=18)
    produce(kafka_broker.servers, topic, workload.messages(1500))
    rng = random.Random(7)
    mid_stream = 0
    for _ in range(ROUNDS):
        before = applied_changes(tmp_path)
        process = consumer(tmp_path, kafka_broker.url, topic)
        more = workload.messages(3000)
        producing = threading.Thread(target=produce, args=(kafka_broker.servers, topic, more))
        producing.start()  # messages arrive while the consumer applies
        wait_for_a_commit(tmp_path, process)
        time.sleep(rng.uniform(0.0, 1.5))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        producing.join()
        after = applied_changes(tmp_path)
        mid_stream += before < after < workload.changes  # killed while it had more to apply
    assert mid_stream >= 2, "the consumer was never killed in the middle of the stream"
    done = kuaike(tmp_path, "capture", "--from", kafka_broker.url, "--topics", topic,
                  "--until-caught-up")  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Store.open(tmp_path / "store.duckdb") as store:
        rows = store.con.execute("SELECT id, name, version FROM ods.customers ORDER BY id")
        replica = [tuple(r) for r in rows.fetchall()]
        batches = store.con.execute(
            "SELECT position, changes FROM _kuaike.batches WHERE source = 'kafka' ORDER BY batch"
        ).fetchall()
    assert replica == [workload.rows[i] for i in sorted(workload.rows)]
    assert sum(changes for _, changes in batches) == workload.changes  # none twice, none missed
    assert_offsets_only_move_forward([position for position, _ in batches])


def wait_for_a_commit(workdir: Path, process: subprocess.Popen[bytes]) -> None:
    """Until the consumer has committed a batch: the store's WAL grew (DuckDB locks the file
    itself, so the WAL is what another process can watch)."""
    wal = workdir / "store.duckdb.wal"
    start = wal.stat().st_size if wal.exists() else 0
    deadline = time.monotonic() + 60
    while not (wal.exists() and wal.stat().st_size > start):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the consumer committed nothing within 60 s"
        time.sleep(0.02)


def applied_changes(workdir: Path) -> int:
    if not (workdir / "store.duckdb").exists():
        return 0
    with Store.open(workdir / "store.duckdb") as store:
        row = store.con.execute("SELECT coalesce(sum(changes), 0) FROM _kuaike.batches").fetchone()
    return int(row[0]) if row else 0


def assert_offsets_only_move_forward(positions: list[str]) -> None:
    last: dict[tuple[str, int], int] = {}
    for position in positions:
        for tp, offset in parse_offsets(position).items():
            if offset >= 0:  # a negative offset: no message of the partition yet
                assert offset >= last.get(tp, 0), (tp, offset, last)
                last[tp] = offset
