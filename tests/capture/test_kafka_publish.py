"""Publishing to Kafka: PostgreSQL → `kuaike capture --to kafka://` → a consumer's replica that
equals the source; positions never confirmed past what Kafka acknowledged."""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from kafka_helpers import consume_until_caught_up
from pg_replica import assert_replica_equal, cli_env, kuaike, pg, slot_for, wait_for
from tests.kafka_broker import Tansu
from workload import TABLES, Workload

from kuaike import pipeline
from kuaike.config import CaptureSettings, KafkaSettings, Settings

_prefixes = itertools.count(1)
KEYLESS: dict[str, list[str]] = {"nokey": []}  # null key: the consumer is told it has none


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
    for _round in range(3):
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
    errors = [line for line in away.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "did not answer for 1 s" in errors[0], away.stderr
    assert away.stderr.strip().splitlines()[-1] == errors[0]  # retries warn before it
    assert "Traceback" not in away.stderr


def test_broker_killed_mid_stream_confirms_nothing_unacknowledged_and_resumes(
    pg_url: str, tmp_path: Path
) -> None:
    """Tansu keeps nothing across a restart, so what it acknowledged before the kill is gone;
    what is testable: the slot is never confirmed past the last acknowledged batch, the
    publisher retries, and after the restart it publishes again from its confirmed position."""
    broker = Tansu(tmp_path / "tansu.log").start()
    work = Workload(pg_url, 3)
    work.create()
    start = prefix()
    settings = publish_settings(pg_url, tmp_path, start, feedback_interval_s=0.2)
    slot = slot_for(pg_url) + "_kafka"
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            pipeline.run_publish(settings, stop, broker.url, "debezium")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        wait_for(lambda: confirmed_flush(pg_url, slot) > 0, 60, "the snapshot to be published")
        before = confirmed_flush(pg_url, slot)
        broker.stop()  # SIGKILL
        for _ in range(20):
            work.step()
        time.sleep(8)  # past delivery_timeout_s: the batch failed, nothing was confirmed
        assert confirmed_flush(pg_url, slot) == before
        assert not errors
        broker.start()  # empty: topics are created again by the publisher
        replica = tmp_path / "consumer.duckdb"

        def caught_up() -> bool:
            names = topics(broker.servers, start)
            if len(names) < len(TABLES):
                return False
            consume_until_caught_up(replica, broker.servers, "debezium", names, keys=KEYLESS)
            return confirmed_flush(pg_url, slot) > before and _has_rows(replica, "parcels")

        wait_for(caught_up, 90, "publishing to resume after the restart")
    finally:
        stop.set()
        thread.join(60)
        broker.stop()
    assert not errors, errors
    states = pipeline.publish_status(settings)
    assert [row["source"] for row in states] == ["logistics -> kafka"]
    assert states[0]["position"]


def _has_rows(path: Path, table: str) -> bool:
    from pg_replica import ods_count

    return ods_count(path, table) > 0


def test_unreachable_broker_is_one_line_in_status(pg_url: str, tmp_path: Path) -> None:
    broker = Tansu(tmp_path / "tansu.log").start()
    work = Workload(pg_url, 5)
    work.create()
    work.step()
    start = prefix()
    env = cli_env(
        pg_url,
        tmp_path / "replica.duckdb",
        KUAIKE_KAFKA_TOPIC_PREFIX=start,
        KUAIKE_CAPTURE_RETRY_GIVE_UP_S="2",
    )
    first = kuaike(["capture", "--to", broker.url, "--until-caught-up"], env)
    assert first.returncode == 0, first.stderr
    broker.stop()
    again = kuaike(["capture", "--to", broker.url, "--until-caught-up"], env)
    assert again.returncode == 1, again.stderr
    assert again.stderr.strip().splitlines()[-1].startswith("error: Kafka broker"), again.stderr
    status = kuaike(["status"], env)
    assert status.returncode == 0, status.stderr
    lines = [line for line in status.stdout.splitlines() if "last error" in line]
    assert len(lines) == 1 and f"Kafka broker {broker.url}" in lines[0], status.stdout


@pytest.mark.parametrize("fmt", ["debezium", "canal"])
def test_mysql_through_kafka_replica_equals_source(
    fmt: str, mysql_url: str, pg_url: str, kafka_broker: Tansu, tmp_path: Path
) -> None:
    from mysql_helpers import connect, ods_rows, source_columns, source_rows
    from test_mysql_capture import TYPED_DDL
    from test_mysql_capture import Workload as CrmWorkload

    from kuaike.business.schema import create_crm

    create_crm(mysql_url)
    with connect(mysql_url).cursor() as cur:
        cur.execute(TYPED_DDL)  # every MySQL type: BLOB, TIME spans, BIT, SET, JSON, unsigned
    work = CrmWorkload(mysql_url, seed=4)
    work.run(150)
    start = prefix()
    settings = publish_settings(pg_url, tmp_path, start).model_copy(update={"crm_url": mysql_url})
    replica = tmp_path / "consumer.duckdb"
    tables = ["crm_customer", "crm_address", "crm_consumer_address_map", "crm_typed"]
    for _round in range(2):
        progress = pipeline.run_publish(
            settings,
            threading.Event(),
            kafka_broker.url,
            fmt,
            until_caught_up=True,
            names=["crm"],
        )
        assert progress["crm"].position is not None
        names = topics(kafka_broker.servers, start)
        consume_until_caught_up(replica, kafka_broker.servers, fmt, names)
        conn = connect(mysql_url)
        for table in tables:
            columns = source_columns(conn, table)
            assert ods_rows(replica, table, columns) == source_rows(conn, table, columns), table
        conn.close()
        work.run(200)
