"""What `kuaike capture --from kafka://...` checks before consuming, and how the status knows
a consumed stream among the store's sources.

Options override the `[kafka]` section: `--format` over `kafka.format`, `--topics` over
`kafka.topics`. Every check says in one line what is wrong: the URL, the format, no topics, a
broker that does not answer, a topic it does not have.
"""

from __future__ import annotations

import re

from kuaike.capture.kafka.client import KafkaURL
from kuaike.capture.kafka.reach import check_broker, check_format, check_topics
from kuaike.config import KafkaSettings

_OFFSETS = re.compile(r"^(\S+/\d+:\d{20})( \S+/\d+:\d{20})*$")


def checked(
    settings: KafkaSettings, url: str, fmt: str | None, topics: list[str] | None
) -> tuple[KafkaURL, str, list[str]]:
    """The broker's URL, the format and the topics, each checked (the broker asked last)."""
    broker = KafkaURL.parse(url)
    chosen = check_format(fmt or settings.format)
    names = check_topics([t for t in (topics or settings.topics) if t])
    check_broker(broker, names)
    return broker, chosen, names


def split_topics(value: str | None) -> list[str] | None:
    """`--topics a,b` as a list (None when not given).

    >>> split_topics(" crm_address, ITCAST.tbl_company ,")
    ['crm_address', 'ITCAST.tbl_company']
    """
    if value is None:
        return None
    return [name.strip() for name in value.split(",") if name.strip()]


def is_stream(position: str) -> bool:
    """Whether a stored position is a consumer's offsets (`topic/partition:offset ...`).

    >>> is_stream("crm/0:00000000000000000012 crm/1:00000000000000000003"), is_stream("0/16B3748")
    (True, False)
    """
    return bool(_OFFSETS.match(position))
