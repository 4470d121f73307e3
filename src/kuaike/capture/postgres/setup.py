"""PostgreSQL setup for capture: checks, publication, replica identity, the slot.

Every bad setup ends in one SourceSetupError line that names the fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import psycopg2.errors
import psycopg2.extras

from kuaike.capture.base import replica_name
from kuaike.capture.events import Column, TableSchema
from kuaike.capture.postgres.errors import capture_errors, no_replication, wal_level
from kuaike.capture.postgres.types import TypeNames
from kuaike.databases import SourceURL, connect_postgres, scalar
from kuaike.errors import SourceError
from kuaike.types import PgConnection, PgCursor, PgReplicationConnection

log = logging.getLogger("kuaike.capture.postgres")

SESSION_OPTIONS = (
    "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3 -c IntervalStyle=postgres "
    "-c bytea_output=hex"
)
"""Text formats the store's casts expect, for the snapshot and the replication session alike."""


@dataclass(frozen=True)
class SlotInfo:
    """A replication slot as pg_replication_slots shows it."""

    active_pid: int | None
    confirmed_flush: int
    restart: int


def lsn_int(text: str | None) -> int:
    """'16/B374D848' → int."""
    if not text:
        return 0
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def connect(url: SourceURL, slot: str) -> PgConnection:
    """A regular connection (autocommit) with the session formats capture expects."""
    with capture_errors(url, slot):
        conn = connect_postgres(url, options=SESSION_OPTIONS)
        conn.autocommit = True
        return conn


def connect_replication(url: SourceURL, slot: str) -> PgReplicationConnection:
    """A logical replication connection."""
    with capture_errors(url, slot):
        conn = connect_postgres(
            url,
            connection_factory=psycopg2.extras.LogicalReplicationConnection,
            options=SESSION_OPTIONS,
        )
    assert isinstance(conn, psycopg2.extras.LogicalReplicationConnection)
    return conn


def check_setup(conn: PgConnection, url: SourceURL, slot: str) -> None:
    """wal_level and the replication privilege, each refused with its fix."""
    with capture_errors(url, slot), conn.cursor() as cur:
        cur.execute("SHOW wal_level")
        level = scalar(cur)
        if level != "logical":
            raise wal_level(url, level)
        cur.execute("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cur.fetchone()
        if not row or not row[0]:
            raise no_replication(url)


def ensure_publication(conn: PgConnection, url: SourceURL, slot: str, publication: str) -> None:
    """Create the publication FOR ALL TABLES unless it exists (tables created later are in it),
    publishing partitions' changes as their partitioned table's (partitions attached later
    included), so a partitioned table is one replica table under its root's name."""
    with capture_errors(url, slot), conn.cursor() as cur:
        cur.execute("SELECT pubviaroot FROM pg_publication WHERE pubname = %s", (publication,))
        row = cur.fetchone()
        if row is None:
            try:
                cur.execute(
                    f'CREATE PUBLICATION "{publication}" FOR ALL TABLES '
                    "WITH (publish_via_partition_root = true)"
                )
            except psycopg2.errors.DuplicateObject:
                return  # another capture (the same database's second source) created it
            log.info("created publication %s on %s", publication, url)
        elif not row[0]:
            cur.execute(
                f'ALTER PUBLICATION "{publication}" SET (publish_via_partition_root = true)'
            )


def full_identity_for_keyless(
    conn: PgConnection, url: SourceURL, slot: str, schemas: list[str]
) -> list[str]:
    """Tables without a primary key get REPLICA IDENTITY FULL (else their UPDATEs fail once
    published), partitions included; returns their names."""
    with capture_errors(url, slot), conn.cursor() as cur:
        cur.execute(
            "SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND c.relreplident = 'd' "
            "AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)",
            (schemas,),
        )
        names = [row[0] for row in cur.fetchall()]
        for name in names:
            cur.execute(f"ALTER TABLE {name} REPLICA IDENTITY FULL")
            log.warning("table %s has no primary key: set REPLICA IDENTITY FULL", name)
        return names


def slot_info(conn: PgConnection, url: SourceURL, slot: str) -> SlotInfo | None:
    """The slot's state, None when it does not exist."""
    with capture_errors(url, slot), conn.cursor() as cur:
        cur.execute(
            "SELECT active_pid, confirmed_flush_lsn::text, restart_lsn::text "
            "FROM pg_replication_slots WHERE slot_name = %s AND database = current_database()",
            (slot,),
        )
        row = cur.fetchone()
        if row is None:
            return None
        return SlotInfo(row[0], lsn_int(row[1]), lsn_int(row[2]))


def drop_slot(conn: PgConnection, url: SourceURL, slot: str) -> None:
    """Drop the slot (an unfinished snapshot's leftover, or on --resnapshot)."""
    with capture_errors(url, slot), conn.cursor() as cur:
        cur.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE slot_name = %s",
            (slot,),
        )


def create_slot(
    repl: PgConnection, url: SourceURL, slot: str, temporary: bool = False
) -> tuple[int, str]:
    """Create the slot with an exported snapshot; return (consistent point LSN, snapshot name).
    A `temporary` slot is dropped when `repl` closes."""
    kind = "TEMPORARY LOGICAL" if temporary else "LOGICAL"
    with capture_errors(url, slot), repl.cursor() as cur:
        cur.execute(f'CREATE_REPLICATION_SLOT "{slot}" {kind} pgoutput EXPORT_SNAPSHOT')
        row = cur.fetchone()
        if row is None:
            raise SourceError(f"CREATE_REPLICATION_SLOT on {url} returned nothing")
        return lsn_int(row[1]), str(row[2])


def published_tables(
    conn: PgConnection,
    url: SourceURL,
    slot: str,
    publication: str,
    wanted: Callable[[str], bool],
    source: str,
    schemas: list[str],
) -> list[TableSchema]:
    """The captured tables with their columns and identity, as Relation messages describe them
    (a partitioned table once, under its root's name)."""
    with capture_errors(url, slot), conn.cursor() as cur:
        cur.execute(
            "SELECT c.oid, p.schemaname, c.relname, c.relreplident FROM pg_publication_tables p "
            "JOIN pg_namespace n ON n.nspname = p.schemaname "
            "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename "
            "WHERE p.pubname = %s AND p.schemaname = ANY(%s) ORDER BY p.schemaname, c.relname",
            (publication, schemas),
        )
        rows = [r for r in cur.fetchall() if wanted(replica_name(r[1], r[2]))]
        names = TypeNames(lambda: conn)
        return [
            _describe(cur, oid, (ns, name), ident, source, names) for oid, ns, name, ident in rows
        ]


def _describe(
    cur: PgCursor,
    oid: int,
    table: tuple[str, str],
    identity: str,
    source: str,
    type_name: TypeNames,
) -> TableSchema:
    cur.execute(
        "SELECT a.attname, a.atttypid, a.atttypmod, coalesce(i.indisprimary AND %s = 'd' "
        "OR i.indisreplident AND %s = 'i', false) FROM pg_attribute a "
        "LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND a.attnum = ANY(i.indkey) "
        "AND (i.indisprimary OR i.indisreplident) "
        "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (identity, identity, oid),
    )
    columns: list[Column] = []
    key: list[str] = []
    for attname, typid, typmod, is_key in cur.fetchall():
        if attname in (c.name for c in columns):
            key += [attname] if is_key and attname not in key else []
            continue
        columns.append(Column(attname, type_name(typid, typmod)))
        if is_key:
            key.append(attname)
    replica = replica_name(*table)
    where = None if replica == table[1] else table
    return TableSchema(source, replica, tuple(columns), tuple(key), "postgresql", where)
