"""The DuckDB replica: `ods.*` tables mirroring the sources, `_kuaike.*` internal state.

Readers use `Store` (see `kuaike.store.writer`) with batches from `kuaike.capture.events`.
"""

from kuaike.store.writer import SourceState, Store

__all__ = ["SourceState", "Store"]
