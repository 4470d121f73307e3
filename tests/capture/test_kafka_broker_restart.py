"""A broker that goes away and comes back empty (Tansu SIGKILLed and started again on its port,
the topic recreated), through the real CLI: the outage and the recreation are each one line in
`kuaike status`, and the recreated topic's new changes are applied, none missed, none twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka_helpers import produce
from test_kafka_cli import cli_env, kuaike
from test_kafka_crash import Workload, wait_for_a_commit
from tests.kafka_broker import Tansu

from kuaike.store.writer import Store


def test_a_broker_restarted_empty_is_said_and_its_new_changes_are_applied(tmp_path) -> None:
    broker = Tansu(tmp_path / "tansu.log").start()
    try:
        workload = Workload(seed=5)
        create_topic(broker.servers, "restarted")
        produce(broker.servers, "restarted", workload.messages(300))
        first = caught_up(tmp_path, broker.url)
        assert first["resets"] == 0
        again = caught_up(tmp_path, broker.url)  # stored offset past Tansu's watermark: normal
        assert again["changes"] == 0 and again["resets"] == 0
        assert high_watermark(broker.servers) < offset_of(first["position"])  # the quirk, checked

        streaming = consumer(tmp_path, broker.url)
        produce(broker.servers, "restarted", workload.messages(10))
        wait_for_a_commit(tmp_path, streaming)  # it streams
        broker.stop()  # SIGKILL: the broker and every topic gone
        row = stopped_status(tmp_path, streaming)
        error, stored = str(row["last_error"]), str(row["position"])
        assert "unreachable" in error and broker.url in error, error

        broker.start()  # the same port, empty
        create_topic(broker.servers, "restarted")
        produce(broker.servers, "restarted", workload.messages(40))
        done = caught_up(tmp_path, broker.url)
        assert done["resets"] == 1 and done["changes"] > 0
        error = str(status_row(tmp_path)["last_error"])
        assert error.startswith("topic restarted partition 0 ends at offset "), error
        assert f"before the stored offset {offset_of(stored)} " in error, error
        assert replica(tmp_path) == [workload.rows[i] for i in sorted(workload.rows)]
        assert applied_changes(tmp_path) == workload.changes  # none missed, none twice

        streaming = consumer(tmp_path, broker.url)
        produce(broker.servers, "restarted", workload.messages(10))
        wait_for_a_commit(tmp_path, streaming)
        broker.restart()  # while it streams: it checks its partitions again once it is back
        create_topic(broker.servers, "restarted")
        produce(broker.servers, "restarted", workload.messages(20))
        wait_for_a_commit(tmp_path, streaming)
        streaming.send_signal(signal.SIGTERM)
        _out, err = streaming.communicate(timeout=60)
        assert streaming.returncode == 0 and "ends at offset" in err.decode(), err.decode()
        assert caught_up(tmp_path, broker.url)["resets"] == 0
        assert replica(tmp_path) == [workload.rows[i] for i in sorted(workload.rows)]
        assert applied_changes(tmp_path) == workload.changes
    finally:
        broker.stop()


def create_topic(servers: str, name: str) -> None:
    admin = AdminClient({"bootstrap.servers": servers})
    for future in admin.create_topics([NewTopic(name, 1, 1)]).values():
        future.result(15)


def high_watermark(servers: str) -> int:
    asker = Consumer({"bootstrap.servers": servers, "group.id": "watermark"})
    try:
        return int(asker.get_watermark_offsets(TopicPartition("restarted", 0), timeout=10)[1])
    finally:
        asker.close()


def offset_of(position: str) -> int:
    return int(position.rpartition(":")[2])


def caught_up(workdir: Path, url: str) -> dict[str, Any]:
    """`kuaike capture --from URL --until-caught-up --json`, which must exit 0: its summary."""
    done = kuaike(workdir, "capture", "--from", url, "--topics", "restarted",
                  "--until-caught-up", "--json", timeout=90)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)["kafka"]
    return summary


def consumer(workdir: Path, url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kuaike", "capture", "--from", url, "--topics", "restarted"],
        cwd=workdir,
        env=cli_env(workdir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stopped_status(workdir: Path, process: subprocess.Popen[bytes]) -> dict[str, object]:
    """The stream's status row once the consumer, stopped by SIGTERM, let go of the store
    (it is the consumer's while it runs)."""
    time.sleep(8)  # librdkafka reports a broker down after its reconnect attempts
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    return status_row(workdir)


def status_row(workdir: Path) -> dict[str, object]:
    done = kuaike(workdir, "status", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    row: dict[str, object] = next(r for r in rows if r["source"] == "kafka")
    return row


def replica(workdir: Path) -> list[tuple[object, ...]]:
    with Store.open(workdir / "store.duckdb") as store:
        rows = store.con.execute("SELECT id, name, version FROM ods.customers ORDER BY id")
        return [tuple(r) for r in rows.fetchall()]


def applied_changes(workdir: Path) -> int:
    with Store.open(workdir / "store.duckdb") as store:
        row = store.con.execute("SELECT coalesce(sum(changes), 0) FROM _kuaike.batches").fetchone()
    return int(row[0]) if row else 0
