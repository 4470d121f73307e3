"""The confluent-kafka boundary: the import (an optional extra), the URL, and its errors.

confluent-kafka errors become kuaike errors here and nowhere else: a broker that cannot be
reached is `SourceUnreachable` (retried), everything else a `SourceError` naming the broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from urllib.parse import urlsplit

from kuaike.errors import ConfigError, SourceError, SourceUnreachable, UsageError

SESSION_TIMEOUT_MS = 6_000
"""Consumer session timeout: a killed consumer's partitions are free again after 6 s (the
default 45 s made every restart in the tests wait that long)."""


def kafka() -> ModuleType:
    """The confluent_kafka module; ConfigError saying what to install when it is missing."""
    try:
        import confluent_kafka
    except ImportError as exc:
        raise ConfigError(
            "Kafka needs the confluent-kafka client: pip install 'kuaike[kafka]'"
        ) from exc
    return confluent_kafka


@dataclass(frozen=True)
class KafkaURL:
    """`kafka://host:port[,host:port]` as librdkafka's bootstrap.servers.

    >>> KafkaURL.parse("kafka://127.0.0.1:9092").servers
    '127.0.0.1:9092'
    """

    servers: str

    @classmethod
    def parse(cls, url: str) -> KafkaURL:
        parts = urlsplit(url)
        if parts.scheme != "kafka" or not parts.netloc:
            raise UsageError(f"{url!r} is not a Kafka URL; use kafka://HOST:PORT")
        return cls(parts.netloc)

    def __str__(self) -> str:
        return f"kafka://{self.servers}"


TRANSIENT_CODES = frozenset(
    {
        "_TRANSPORT",
        "_ALL_BROKERS_DOWN",
        "_TIMED_OUT",
        "_MSG_TIMED_OUT",
        "_RESOLVE",
        "LEADER_NOT_AVAILABLE",
        "NOT_LEADER_FOR_PARTITION",
        "REQUEST_TIMED_OUT",
        "UNKNOWN_TOPIC_OR_PART",
        "_UNKNOWN_PARTITION",
        "NOT_COORDINATOR",
        "COORDINATOR_NOT_AVAILABLE",
    }
)
"""librdkafka error names worth retrying: the broker is away or still electing leaders."""


def error_for(url: KafkaURL, error: object) -> SourceError:
    """A kuaike error for a librdkafka KafkaError (by its code's name, never its text)."""
    name = str(getattr(error, "name", lambda: "")())
    text = str(getattr(error, "str", lambda: error)())
    if name in TRANSIENT_CODES:
        return SourceUnreachable(f"Kafka broker {url} unreachable ({text}); retrying")
    return SourceError(f"Kafka broker {url}: {text}")


@contextmanager
def kafka_errors(url: KafkaURL) -> Iterator[None]:
    """confluent_kafka.KafkaException leaving the block as a kuaike error."""
    module = kafka()
    try:
        yield
    except module.KafkaException as exc:
        raise error_for(url, exc.args[0] if exc.args else exc) from exc
