"""Before consuming: the broker answers and has the topics, each said in one line.

Without this check a mistyped address or topic would surface as librdkafka retrying in the
background for minutes (the retry budget of an outage); at start nothing has been consumed, so
there is nothing to wait for: say what is wrong and exit.
"""

from __future__ import annotations

import logging

from kuaike.capture.formats import FORMATS
from kuaike.capture.kafka.client import KafkaURL, kafka
from kuaike.errors import SourceError, UsageError

REACH_WAIT_S = 10.0
"""How long the first metadata request may take before the broker counts as unreachable."""


class LibrdkafkaLog:
    """librdkafka's own log lines (a client's `logger`), at debug level: with a broker down it
    logs every reconnect; kuaike says it once, through `error_cb` or an error, and
    `--log-level debug` shows librdkafka's detail."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("kuaike.capture.kafka.librdkafka")

    def log(self, _level: int, message: str, *args: object) -> None:  # librdkafka's call
        self.logger.debug(message, *args)


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return fmt


def check_topics(topics: list[str]) -> list[str]:
    if not topics:
        raise UsageError(
            "no topics to consume: give --topics T1,T2 (or set kafka.topics in kuaike.toml)"
        )
    return topics


def check_broker(url: KafkaURL, topics: list[str], wait_s: float = REACH_WAIT_S) -> None:
    """SourceError when the broker does not answer within `wait_s`, UsageError (listing the
    topics it has) when a topic is not there."""
    module = kafka()
    asker = module.Consumer(
        {"bootstrap.servers": url.servers, "group.id": "kuaike-check", "logger": LibrdkafkaLog()}
    )
    try:
        meta = asker.list_topics(timeout=wait_s)
    except module.KafkaException as exc:
        reason = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else str(exc)
        raise SourceError(
            f"Kafka broker {url} did not answer within {wait_s:g} s ({reason}); check the "
            "address and that the broker runs, then start again"
        ) from exc
    finally:
        asker.close()
    there = {name for name, topic in meta.topics.items() if topic.error is None}
    missing = [topic for topic in topics if topic not in there]
    if missing:
        has = ", ".join(sorted(t for t in there if not t.startswith("__"))) or "none"
        raise UsageError(f"topic {', '.join(missing)} not on {url} (it has: {has}); check --topics")
