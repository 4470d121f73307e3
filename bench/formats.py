"""Decode+apply messages/s per change format, from Kafka (a private Tansu) into the replica.

Beside each figure, measured in the same run on the same messages: the raw consume rate (read
from the broker, no decoding) and the decode-only rate (in memory). Target: Debezium JSON
≥ 50,000 messages/s decode+apply.

    .venv/bin/python bench/formats.py [messages per format, default 50000]
"""

from __future__ import annotations

import math
import sys
import tempfile
import threading
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tests")]

from confluent_kafka import Consumer, TopicPartition  # noqa: E402

from kafka_broker import Tansu  # noqa: E402
from kuaike.capture.events import Change, Column  # noqa: E402
from kuaike.capture.formats import FORMATS, debezium  # noqa: E402
from kuaike.capture.kafka.client import KafkaURL  # noqa: E402
from kuaike.capture.kafka.consume import FETCH, KafkaConsume, naming_of  # noqa: E402
from kuaike.config import CaptureSettings, KafkaSettings  # noqa: E402
from kuaike.store.writer import Store  # noqa: E402

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tests" / "capture")]
from kafka_helpers import new_topic, produce  # noqa: E402

COLUMNS = (Column("id", "bigint"), Column("name", "varchar(50)"), Column("amount", "numeric(12,2)"))
COLUMNS += (Column("created", "datetime"),)
TYPES = {"orders": {c.name: c.type for c in COLUMNS}}


def messages(fmt: str, n: int) -> list[tuple[bytes | None, bytes | None]]:
    encode = FORMATS[fmt].encode
    out: list[tuple[bytes | None, bytes | None]] = []
    for i in range(n):
        row = {
            "id": i,
            "name": f"客户{i}",
            "amount": Decimal(i) / 4,
            "created": datetime(2021, 2, 3),
        }
        change = Change("orders", "insert", ("id",), None, row, COLUMNS, "mysql", "crm")
        out.append((debezium.encode_key(change), encode(change)))
    return out


def raw_consume(servers: str, topic: str, n: int) -> tuple[float, float, float]:
    """Messages/s read from the broker as KafkaConsume reads them (assigned, no group join,
    its fetch settings): from the assignment, and after the first messages came (nan when all
    came at once); and the seconds until they came (connection, coordinator and offset lookup:
    a cost per start, not per message)."""
    consumer = Consumer({"bootstrap.servers": servers, "group.id": f"raw-{topic}"} | FETCH)
    start = time.perf_counter()
    # at the partition's first offset as asked of the broker, as KafkaConsume starts a new
    # stream (the logical OFFSET_BEGINNING costs librdkafka's 0.5 s offset query timer)
    low, _high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.assign([TopicPartition(topic, 0, low)])
    got, first, rest = 0, 0.0, 0
    while got < n:
        # short waits: consume() returns at its count or its timeout, whichever comes first
        batch = [m for m in consumer.consume(50_000, 0.02) if m.error() is None]
        if batch and not got:
            first, rest = time.perf_counter() - start, n - len(batch)
        got += len(batch)
    elapsed = time.perf_counter() - start
    consumer.close()
    # the messages after the first call's over the time after it (none left: all came at once)
    return n / elapsed, rest / (elapsed - first) if rest else math.nan, first


def decode_only(fmt: str, batch: list[tuple[bytes | None, bytes | None]]) -> float:
    decode, naming = FORMATS[fmt].decode, naming_of(KafkaSettings(types=TYPES))
    start = time.perf_counter()
    for key, value in batch:
        decode(value, key, naming)
    return len(batch) / (time.perf_counter() - start)


def decode_apply(servers: str, fmt: str, topic: str, n: int, path: Path) -> float:
    with Store.open(path) as store:
        consume = KafkaConsume(
            KafkaURL(servers),
            fmt,
            [topic],
            store,
            KafkaSettings(types=TYPES),
            CaptureSettings(),
            threading.Event(),
        )
        start = time.perf_counter()
        consume.run(until_caught_up=True)
        elapsed = time.perf_counter() - start
    assert consume.progress.changes == n, consume.progress
    return n / elapsed


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        broker = Tansu(Path(tmp) / "tansu.log").start()
        try:
            print(f"{n} inserts per format; messages/s (same run)")
            print(
                f"{'format':10} {'raw consume':>12} {'raw after 1st':>14} {'1st (s)':>8} "
                f"{'decode only':>12} {'decode+apply':>13}"
            )
            for fmt in FORMATS:
                batch = messages(fmt, n)
                topic = new_topic(broker.servers, fmt)
                produce(broker.servers, topic, batch)
                raw, steady, first = raw_consume(broker.servers, topic, n)
                dec = decode_only(fmt, batch)
                full = decode_apply(broker.servers, fmt, topic, n, Path(tmp) / f"{fmt}.duckdb")
                print(
                    f"{fmt:10} {raw:12,.0f} {steady:14,.0f} {first:8.2f} {dec:12,.0f} {full:13,.0f}"
                )
        finally:
            broker.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
