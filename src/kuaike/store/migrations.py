"""Versioned migrations of kuaike's internal schema `_kuaike` inside the DuckDB store.

Each component (the store itself, the warehouse, ...) owns an ordered list of steps; a step is
applied once, inside a transaction, and recorded in `_kuaike.migrations`. Steps are never edited
once released: a change is a new step at the end.

The contract between the store and its readers (warehouse, tracking) lives in STORE_STEPS:
- `ods.<table>`: the source's columns, plus `_kuaike_op` ('snapshot' | 'insert' | 'update'),
  `_kuaike_pos` (source position, sortable text), `_kuaike_commit_ts` (source commit time) and
  `_kuaike_batch` (the store batch that last wrote the row). Deleted rows are removed.
- `_kuaike.batches`: one row per applied batch; `batch` grows by one per batch, across sources.
- `_kuaike.positions`: per source its position and phase; `_kuaike.source_status`: per source
  `last_commit_ts` (source commit time of the last applied transaction) and `last_error`.
- `_kuaike.slots`: per PostgreSQL source the slot this store created (name, consistent point)
  and the furthest LSN its capture let the server confirm.
- `_kuaike.quarantine`: per table set aside, why (`line`, naming source, table, column, key
  and value) and the position it happened at (`state` 'quarantined'); after a re-copy of the
  table (`kuaike capture --resnapshot --table`), `state` 'recopied' and `resume_after`: the
  copy's position, up to which the stream's changes of the table are in the copy (the row is
  gone once the stream has passed it).
- `_kuaike.servers`: per MySQL source the identity of the server the snapshot was taken from
  (`server_uuid`, `server_id`), checked before every resume.
- `_kuaike.value_notes`: values converted to NULL on purpose (numeric NaN into DECIMAL, a
  multi-dimensional array), with their source text, so none is lost.
- `_kuaike.deleted_keys`: the key of every deleted row (JSON object), with its batch, so
  incremental consumers learn about deletes; `_kuaike.truncates` likewise for TRUNCATE.
- `_kuaike.dead_letters`: change messages that could not be applied (raw key and value,
  topic, partition, offset, the error), with the batch that passed them.
"""

from __future__ import annotations

from kuaike.types import DuckConnection

STORE_STEPS: list[str] = [
    """
    CREATE SCHEMA IF NOT EXISTS ods;
    CREATE TABLE _kuaike.positions (
        source VARCHAR PRIMARY KEY,
        position VARCHAR NOT NULL,
        phase VARCHAR NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE SEQUENCE _kuaike.batch_seq START 1;
    CREATE TABLE _kuaike.batches (
        batch BIGINT PRIMARY KEY,
        source VARCHAR NOT NULL,
        position VARCHAR NOT NULL,
        changes BIGINT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE _kuaike.deleted_keys (
        batch BIGINT NOT NULL,
        table_name VARCHAR NOT NULL,
        key JSON NOT NULL
    );
    CREATE TABLE _kuaike.truncates (
        batch BIGINT NOT NULL,
        table_name VARCHAR NOT NULL
    );
    CREATE TABLE _kuaike.schema_changes (
        source VARCHAR NOT NULL,
        table_name VARCHAR NOT NULL,
        change VARCHAR NOT NULL,
        detail VARCHAR,
        position VARCHAR,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    """,
    # 2: what `kuaike status` shows besides the position. A table of its own, not ALTER TABLE
    # positions: DuckDB 1.5 cannot replay (after a crash) an ALTER of a table that has a
    # DEFAULT now() column ("GetDefaultDatabase with no default database set").
    """
    CREATE TABLE _kuaike.source_status (
        source VARCHAR PRIMARY KEY,
        last_commit_ts TIMESTAMPTZ,
        last_error VARCHAR
    );
    """,
    # 3: which replication slot is this store's (PostgreSQL), recorded before the snapshot copy
    # starts: its name, its consistent point, and the furthest position capture let the
    # server confirm (idle confirmations move the slot past the last applied change).
    """
    CREATE TABLE _kuaike.slots (
        source VARCHAR PRIMARY KEY,
        slot VARCHAR NOT NULL,
        consistent_lsn BIGINT NOT NULL,
        confirmable_lsn BIGINT NOT NULL
    );
    """,
    # 4: tables set aside for a value that cannot be converted, and values noted on the way.
    """
    CREATE TABLE _kuaike.quarantine (
        source VARCHAR NOT NULL,
        table_name VARCHAR NOT NULL,
        state VARCHAR NOT NULL,
        line VARCHAR NOT NULL,
        position VARCHAR,
        resume_after VARCHAR,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (source, table_name)
    );
    CREATE TABLE _kuaike.value_notes (
        source VARCHAR NOT NULL,
        table_name VARCHAR NOT NULL,
        column_name VARCHAR NOT NULL,
        key JSON,
        value VARCHAR NOT NULL,
        note VARCHAR NOT NULL,
        position VARCHAR,
        batch BIGINT NOT NULL
    );
    CREATE TABLE _kuaike.servers (
        source VARCHAR PRIMARY KEY,
        identity JSON NOT NULL
    );
    """,
    # 5: change messages (Kafka) that could not be applied, kept whole with where they came
    # from and why, written in the transaction of the batch whose offsets pass them.
    """
    CREATE TABLE _kuaike.dead_letters (
        source VARCHAR NOT NULL,
        batch BIGINT NOT NULL,
        topic VARCHAR NOT NULL,
        "partition" INTEGER NOT NULL,
        "offset" BIGINT NOT NULL,
        key BLOB,
        value BLOB,
        error VARCHAR NOT NULL
    );
    """,
]


def migrate(con: DuckConnection, component: str, steps: list[str]) -> int:
    """Apply the steps of `component` not yet applied; return how many were applied."""
    con.execute("CREATE SCHEMA IF NOT EXISTS _kuaike")
    con.execute(
        "CREATE TABLE IF NOT EXISTS _kuaike.migrations (component VARCHAR, version INTEGER, "
        "applied_at TIMESTAMPTZ DEFAULT now(), PRIMARY KEY (component, version))"
    )
    row = con.execute(
        "SELECT coalesce(max(version), 0) FROM _kuaike.migrations WHERE component = ?",
        [component],
    ).fetchone()
    done = int(row[0]) if row else 0
    for version, step in enumerate(steps[done:], start=done + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(step)
            con.execute(
                "INSERT INTO _kuaike.migrations (component, version) VALUES (?, ?)",
                [component, version],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    if len(steps) > done:
        # Keep DDL out of the WAL: DuckDB 1.5 fails to replay some ALTERs after a crash.
        con.execute("CHECKPOINT")
    return len(steps) - done
