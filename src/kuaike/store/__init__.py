"""The DuckDB replica: `ods.*` tables mirroring the sources, `_kuaike.*` internal state."""
