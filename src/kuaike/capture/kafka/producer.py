"""One idempotent Kafka producer whose `flush()` says whether Kafka acknowledged everything.

    producer = Publisher(url, partitions=1, timeout_s=30)
    producer.send("kuaike.logistics.parcels", key, value)   # topic created when first seen
    producer.flush()        # returns once every message is acknowledged (acks=all), or raises

`enable.idempotence` (acks=all, bounded in-flight requests) keeps the messages of one key in
the order they were sent, without duplicates from librdkafka's own retries. A message Kafka did
not acknowledge within `timeout_s` fails the flush: the caller then confirms nothing, and the
producer is replaced, its undelivered messages purged, before anything is sent again.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from kuaike.capture.kafka.client import KafkaURL, error_for, kafka, kafka_errors
from kuaike.errors import SourceError, SourceUnreachable

log = logging.getLogger("kuaike.capture.kafka")

QUEUE_MAX_MESSAGES = 200_000
"""Messages librdkafka may hold unacknowledged; a full queue makes `send` wait (a snapshot of
a large table is sent faster than the broker acknowledges)."""


CHECK_TIMEOUT_S = 2.0
"""How long one try to reach the broker waits; the retry policy spaces the tries out."""


class Publisher:
    """Sends to the broker at `url`; see the module docstring."""

    def __init__(self, url: KafkaURL, partitions: int, timeout_s: float) -> None:
        self.url = url
        self.partitions = partitions
        self.timeout_s = timeout_s
        self._producer: Any = None
        self._topics: set[str] = set()
        self._failed: Any = None
        self.sent = 0

    def _open(self) -> Any:
        if self._producer is None:
            self._producer = kafka().Producer(
                {
                    "bootstrap.servers": self.url.servers,
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "message.timeout.ms": int(self.timeout_s * 1000),
                    "queue.buffering.max.messages": QUEUE_MAX_MESSAGES,
                    "error_cb": self._on_error,
                    "log_level": 0,  # its errors reach error_cb; stderr keeps one line
                }
            )
            self._failed = None
        return self._producer

    def _on_error(self, error: Any) -> None:
        """librdkafka's background errors (a broker down): delivery failures report them."""
        log.debug("%s", error_for(self.url, error))  # repeats per connect try: the retry warns
        if getattr(error, "fatal", lambda: False)():
            self._failed = error  # an idempotence failure: this producer is done

    def check(self) -> None:
        """SourceUnreachable unless the broker answers within `timeout_s` (its metadata)."""
        with kafka_errors(self.url):
            self._open().list_topics(timeout=min(CHECK_TIMEOUT_S, self.timeout_s))

    def ensure_topic(self, topic: str) -> None:
        """Create `topic` (`partitions` partitions) unless the broker has it."""
        if topic in self._topics:
            return
        module = kafka()
        producer = self._open()
        with kafka_errors(self.url):
            known = producer.list_topics(timeout=self.timeout_s).topics
            if topic not in known:
                admin = importlib.import_module("confluent_kafka.admin")
                client = admin.AdminClient({"bootstrap.servers": self.url.servers, "log_level": 0})
                new = admin.NewTopic(topic, self.partitions, 1)
                for future in client.create_topics([new]).values():
                    try:
                        future.result(self.timeout_s)
                    except module.KafkaException as exc:
                        if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                            raise
        self._topics.add(topic)

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Queue one message (waiting while librdkafka's queue is full)."""
        producer = self._open()
        self.ensure_topic(topic)
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=self._delivered)
                break
            except BufferError:
                producer.poll(0.1)
        self.sent += 1
        if self.sent % 1000 == 0:
            producer.poll(0)

    def _delivered(self, error: Any, _message: Any) -> None:
        if error is not None and self._failed is None:
            self._failed = error

    def flush(self) -> None:
        """Return once Kafka acknowledged every message sent; otherwise raise (SourceUnreachable
        while the broker is away) and drop the producer with what it still held."""
        producer = self._open()
        left = producer.flush(self.timeout_s)
        failed = self._failed
        if left == 0 and failed is None:
            return
        self.reset()
        if failed is not None:
            raise error_for(self.url, failed)
        raise SourceUnreachable(
            f"Kafka broker {self.url} did not acknowledge {left} messages within "
            f"{self.timeout_s:g} s; retrying"
        )

    def reset(self) -> None:
        """Forget the producer: its queued messages are purged, the next send opens another."""
        if self._producer is not None:
            try:
                self._producer.purge()
                self._producer.flush(0)
            except (SourceError, RuntimeError):
                pass
        self._producer = None
        self._topics.clear()  # a restarted broker may have lost them
