"""The warehouse's own tables in `_kuaike` (component "warehouse"): builds, runs, model state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kuaike.store.migrations import migrate

WAREHOUSE_STEPS: list[str] = [
    """
    CREATE SCHEMA IF NOT EXISTS dwd;
    CREATE SCHEMA IF NOT EXISTS dws;
    CREATE SEQUENCE _kuaike.build_seq START 1;
    CREATE TABLE _kuaike.builds (
        build BIGINT PRIMARY KEY,
        mode VARCHAR NOT NULL,
        reference_date DATE NOT NULL,
        to_batch BIGINT NOT NULL,
        status VARCHAR NOT NULL,
        error VARCHAR,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE _kuaike.runs (
        build BIGINT NOT NULL,
        model VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        days INTEGER NOT NULL,
        rows BIGINT NOT NULL,
        duration_ms DOUBLE NOT NULL,
        status VARCHAR NOT NULL,
        error VARCHAR,
        started_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE _kuaike.model_state (
        model VARCHAR PRIMARY KEY,
        fingerprint VARCHAR NOT NULL,
        built_batch BIGINT NOT NULL,
        reference_date DATE NOT NULL,
        built_at TIMESTAMPTZ NOT NULL
    );
    """,
    # 2: why a build or a model was rebuilt in full ("first build", "its SQL changed", ...)
    """
    ALTER TABLE _kuaike.builds ADD COLUMN reason VARCHAR;
    ALTER TABLE _kuaike.runs ADD COLUMN reason VARCHAR;
    """,
]


@dataclass(frozen=True)
class ModelState:
    """What the last successful build left for one model."""

    fingerprint: str
    built_batch: int
    reference_date: dt.date


def ensure(con: Any) -> None:
    """Create or upgrade the warehouse's internal tables."""
    migrate(con, "warehouse", WAREHOUSE_STEPS)


def model_states(con: Any) -> dict[str, ModelState]:
    """Per model, the state of its last successful build."""
    rows = con.execute(
        "SELECT model, fingerprint, built_batch, reference_date FROM _kuaike.model_state"
    ).fetchall()
    return {row[0]: ModelState(row[1], int(row[2]), row[3]) for row in rows}


def save_model_state(
    con: Any, model: str, fingerprint: str, batch: int, reference_date: dt.date
) -> None:
    """Remember that `model` now reflects every batch up to `batch`."""
    con.execute(
        "INSERT OR REPLACE INTO _kuaike.model_state VALUES (?, ?, ?, ?, now())",
        [model, fingerprint, batch, reference_date],
    )


def last_batch(con: Any) -> int:
    """The newest batch applied to the replica (0 when none)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = '_kuaike' AND table_name = 'batches'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(batch), 0) FROM _kuaike.batches").fetchone()
    return int(row[0]) if row else 0


def next_build_id(con: Any) -> int:
    """A new build number."""
    row = con.execute("SELECT nextval('_kuaike.build_seq')").fetchone()
    return int(row[0]) if row else 0
