"""Change formats on Kafka: one module per format, each `decode(value, key, naming)` → changes
and `encode(change)` → bytes. `FORMATS` maps the names the CLI takes to them."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from kuaike.capture.formats import canal, debezium, maxwell, ogg

FORMATS: dict[str, ModuleType] = {
    "debezium": debezium,
    "canal": canal,
    "ogg": ogg,
    "maxwell": maxwell,
}

Decoder = Callable[..., list[object]]
