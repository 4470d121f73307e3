"""Publishing to Kafka: PostgreSQL → `kuaike capture --to kafka://` → a consumer's replica that
equals the source; positions never confirmed past what Kafka acknowledged."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from tests.kafka_broker import Tansu
from kafka_helpers import consume_until_caught_up
from pg_replica import assert_replica_equal, cli_env, kuaike, pg, slot_for, wait_for
from workload import TABLES, Workload

from kuaike import pipeline
from kuaike.config import CaptureSettings, KafkaSettings, Settings

_prefixes = itertools.count(1)
KEYLESS = {"nokey": []}  # published with a null key: the consumer is told they have none


def prefix() -> str:
    return f"pub{next(_prefixes)}."


def topics(servers: str, start: str) -> list[str]:
    found = AdminClient({"bootstrap.servers": servers}).list_topics(timeout=10).topics
    return sorted(name for name in found if name.startswith(start))


def publish_settings(url: str, tmp: Path, topic_prefix: str, **capture: Any) -> Settings:
    capture.setdefault("slot_name", slot_for(url))
    return Settings(
        logistics_url=url,
        store=tmp / "replica.duckdb",
        capture=CaptureSettings(**capture),
        kafka=KafkaSettings(topic_prefix=topic_prefix, delivery_timeout_s=5),
    )


def confirmed_flush(url: str, slot: str) -> int:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT confirmed_flush_lsn - '0/0' FROM pg_replication_slots WHERE slot_name = %s",
            (slot,),
        )
        row = cur.fetchone()
    conn.close()
    return int(row[0]) if row and row[0] is not None else 0


@pytest.mark.parametrize("fmt", ["debezium", "canal"])
def test_postgres_through_kafka_replica_equals_source(
    pg_url: str, kafka_broker: Tansu, tmp_path: Path, fmt: str
) -> None:
    work = Workload(pg_url, 7)
    work.create()
    for _ in range(30):
        work.step()
    start = prefix()
    env = cli_env(pg_url, tmp_path / "replica.duckdb", KUAIKE_KAFKA_TOPIC_PREFIX=start)
    replica = tmp_path / "consumer.duckdb"
    for round_ in range(3):
        done = kuaike(
            ["capture", "--to", kafka_broker.url, "--format", fmt, "--until-caught-up", "--json"],
            env,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["logistics"]["position"]
        names = topics(kafka_broker.servers, start)
        assert names == [f"{start}logistics.{t}" for t in sorted(TABLES)]
        consume_until_caught_up(replica, kafka_broker.servers, fmt, names, keys=KEYLESS)
        assert_replica_equal(pg_url, replica, TABLES)
        for _ in range(40):
            work.step()
    assert not (tmp_path / "replica.duckdb").exists()  # no local replica, positions only
    assert (tmp_path / "replica.publish.duckdb").exists()


def test_bad_url_and_unreachable_broker_are_one_line(pg_url: str, tmp_path: Path) -> None:
    env = cli_env(pg_url, tmp_path / "replica.duckdb", KUAIKE_CAPTURE_RETRY_GIVE_UP_S="1")
    bad = kuaike(["capture", "--to", "127.0.0.1:9092"], env)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: '127.0.0.1:9092' is not a Kafka URL; use kafka://HOST:PORT"
    ], bad.stderr
    from kuaike.business.servers import free_port

    away = kuaike(["capture", "--to", f"kafka://127.0.0.1:{free_port()}"], env, timeout=60)
    assert away.returncode == 1
    lines = away.stderr.strip().splitlines()
    assert len(lines) == 1 and "did not answer for 1 s" in lines[0], away.stderr
    assert "Traceback" not in away.stderr
