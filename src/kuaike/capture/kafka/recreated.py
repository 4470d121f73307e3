"""A partition recreated on the broker: a broker that lost its data, its topics created again.

The partition's offsets start again at 0, below the stored next offset. Kafka answers a fetch
at such an offset as out of range (librdkafka then reads from the start, see `_reset` in
`consume.py`); Tansu answers nothing and a consumer would wait there for ever. So before a
partition is assigned, a stored offset above the broker's high watermark is checked.

A plain "stored offset above the high watermark" is not enough: Tansu reports the watermark as
its last batch's *first* offset + 1, so a stored offset past it is normal after a batch of
several messages. What tells is the message before the stored offset: a message there means
the data is still there; none means the partition lost it.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

PROBE_S = 5.0
"""How long the message before a stored offset may take to arrive before it counts as gone."""

WATERMARK_S = 10.0


def recreated_end(
    module: ModuleType, consumer: Any, tp: tuple[str, int], stored: int
) -> int | None:
    """The partition's end on the broker when it lacks the messages before `stored` (the
    next offset to apply): it was recreated. None when they are there."""
    if stored <= 0:
        return None
    partition = module.TopicPartition(*tp)
    _low, high = consumer.get_watermark_offsets(partition, timeout=WATERMARK_S)
    if stored <= high:
        return None
    if high > 0 and _has(module, consumer, tp, stored - 1):
        return None
    return int(high)


def _has(module: ModuleType, consumer: Any, tp: tuple[str, int], offset: int) -> bool:
    """Whether the broker has the message at `offset` (fetched within `PROBE_S`)."""
    consumer.assign([module.TopicPartition(tp[0], tp[1], offset)])
    try:
        deadline = time.monotonic() + PROBE_S
        while (left := deadline - time.monotonic()) > 0:
            for message in consumer.consume(1, left):
                # a message still queued for the assignment before this one is not the answer
                if message.error() is None and (message.topic(), message.partition()) == tp:
                    return bool(message.offset() == offset)
        return False
    finally:
        consumer.unassign()


def recreated_line(tp: tuple[str, int], stored: int, end: int) -> str:
    """The one line a recreated partition gets, in the log and as the stream's last error."""
    return (
        f"topic {tp[0]} partition {tp[1]} ends at offset {end} on the broker, before the "
        f"stored offset {stored} (recreated on the broker?): applying it from its start"
    )
