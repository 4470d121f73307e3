"""Consumer offsets as a store position: the next offset of every partition, in one text.

The store keeps one position per source, committed with the data; for a Kafka stream it is
this text, so offsets and data commit in one DuckDB transaction and a restart seeks to them.

>>> text = offsets_text({("crm", 0): 12, ("crm", 1): 3})
>>> text
'crm/0:00000000000000000012 crm/1:00000000000000000003'
>>> parse_offsets(text)
{('crm', 0): 12, ('crm', 1): 3}
"""

from __future__ import annotations

Offsets = dict[tuple[str, int], int]
"""(topic, partition) → the offset of the next message to apply."""


def offsets_text(offsets: Offsets) -> str:
    return " ".join(f"{t}/{p}:{o:020d}" for (t, p), o in sorted(offsets.items()))


def parse_offsets(text: str | None) -> Offsets:
    offsets: Offsets = {}
    for part in (text or "").split():
        where, _, offset = part.rpartition(":")
        topic, _, partition = where.rpartition("/")
        offsets[(topic, int(partition))] = int(offset)
    return offsets
