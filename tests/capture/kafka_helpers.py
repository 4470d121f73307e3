"""Helpers for the Kafka tests: topics of their own, produce raw messages, consume to the end."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kuaike.capture.kafka.client import KafkaURL
from kuaike.capture.kafka.consume import KafkaConsume
from kuaike.config import CaptureSettings, KafkaSettings
from kuaike.store.writer import Store

_numbers = itertools.count(1)


def new_topic(servers: str, prefix: str = "t", partitions: int = 1) -> str:
    name = f"{prefix}{next(_numbers)}"
    admin = AdminClient({"bootstrap.servers": servers})
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(15)
    return name


def produce(servers: str, topic: str, messages: list[tuple[bytes | None, bytes | None]]) -> None:
    producer = Producer({"bootstrap.servers": servers, "enable.idempotence": True})
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value=value, key=key)
                break
            except BufferError:  # more than librdkafka queues (100,000): wait for acks
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(30) == 0


def consume_until_caught_up(
    store_path: Path, servers: str, fmt: str, topics: list[str], **kafka: object
) -> KafkaConsume:
    with Store.open(store_path) as store:
        consume = KafkaConsume(
            KafkaURL(servers),
            fmt,
            topics,
            store,
            KafkaSettings(**kafka),  # type: ignore[arg-type]
            CaptureSettings(),
            threading.Event(),
        )
        consume.run(until_caught_up=True)
    return consume
