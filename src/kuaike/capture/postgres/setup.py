"""PostgreSQL side of capture: setup checks, publication, slot and the snapshot copy.

Every bad setup ends in one SourceSetupError line that names the fix.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extras

from kuaike.capture.events import Column, TableSchema
from kuaike.capture.postgres.pgoutput import pg_type
from kuaike.errors import SourceError, SourceSetupError, SourceUnreachable
from kuaike.databases import SourceURL, connect_postgres, translate_errors

log = logging.getLogger("kuaike.capture.postgres.capture")

SESSION_OPTIONS = (
    "-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3 -c IntervalStyle=postgres"
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


@contextmanager
def pg_errors(url: SourceURL, slot: str) -> Iterator[None]:
    """Driver errors → kuaike errors, with the setup mistakes capture can name."""
    try:
        with translate_errors(url):
            yield
    except SourceError as exc:
        cause = exc.__cause__
        text = str(cause).strip().splitlines()[0] if cause is not None and str(cause) else ""
        raise setup_error(url, slot, text) or exc from cause


def setup_error(url: SourceURL, slot: str, text: str) -> SourceError | None:
    active = re.search(r"replication slot \"[^\"]+\" is active for PID (\d+)", text)
    if active:
        return slot_in_use(url, slot, int(active.group(1)))
    if "already exists" in text and "replication slot" in text:
        return SourceSetupError(
            f"replication slot {slot!r} already exists on the server of {url} for another "
            "database; set capture.slot_name to a name of its own for this database"
        )
    if "must be superuser or replication role" in text or "permission denied to start WAL" in text:
        return _no_replication(url)
    if "logical decoding requires" in text and "wal_level" in text:
        return _wal_level(url, "not logical")
    if "server closed the connection" in text or "terminating connection" in text:
        return SourceUnreachable(f"lost the connection to PostgreSQL at {url} ({text}); retrying")
    return None


def slot_in_use(url: SourceURL, slot: str, pid: int) -> SourceSetupError:
    """The error for a slot another process reads."""
    return SourceSetupError(
        f"replication slot {slot!r} on {url} is in use by another process (pid {pid}); stop "
        "that capture, or set capture.slot_name to another name"
    )


def _no_replication(url: SourceURL) -> SourceSetupError:
    return SourceSetupError(
        f"user {url.user!r} on {url} lacks the REPLICATION privilege; run "
        f'`ALTER ROLE "{url.user}" WITH REPLICATION` as a superuser'
    )


def _wal_level(url: SourceURL, level: str) -> SourceSetupError:
    return SourceSetupError(
        f"wal_level is {level} on {url}; set wal_level = logical in postgresql.conf "
        "(ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL"
    )


def connect(url: SourceURL, slot: str) -> Any:
    """A regular connection (autocommit) with the session formats capture expects."""
    with pg_errors(url, slot):
        conn = connect_postgres(url, options=SESSION_OPTIONS)
        conn.autocommit = True
        return conn


def connect_replication(url: SourceURL, slot: str) -> Any:
    """A logical replication connection."""
    with pg_errors(url, slot):
        return connect_postgres(
            url,
            connection_factory=psycopg2.extras.LogicalReplicationConnection,
            options=SESSION_OPTIONS,
        )


def check_setup(conn: Any, url: SourceURL, slot: str) -> None:
    """wal_level and the replication privilege, each refused with its fix."""
    with pg_errors(url, slot), conn.cursor() as cur:
        cur.execute("SHOW wal_level")
        level = cur.fetchone()[0]
        if level != "logical":
            raise _wal_level(url, level)
        cur.execute("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cur.fetchone()
        if not row or not row[0]:
            raise _no_replication(url)


def ensure_publication(conn: Any, url: SourceURL, slot: str, publication: str) -> None:
    """Create the publication FOR ALL TABLES unless it exists (tables created later are in it)."""
    with pg_errors(url, slot), conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (publication,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE PUBLICATION "{publication}" FOR ALL TABLES')
            log.info("created publication %s on %s", publication, url)


def full_identity_for_keyless(conn: Any, url: SourceURL, slot: str) -> list[str]:
    """Tables without a primary key get REPLICA IDENTITY FULL (else their UPDATEs fail once
    published); returns their names."""
    with pg_errors(url, slot), conn.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relreplident = 'd' "
            "AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)"
        )
        names = [row[0] for row in cur.fetchall()]
        for name in names:
            cur.execute(f'ALTER TABLE public."{name}" REPLICA IDENTITY FULL')
            log.warning("table %s has no primary key: set REPLICA IDENTITY FULL", name)
        return names


def slot_info(conn: Any, url: SourceURL, slot: str) -> SlotInfo | None:
    """The slot's state, None when it does not exist."""
    with pg_errors(url, slot), conn.cursor() as cur:
        cur.execute(
            "SELECT active_pid, confirmed_flush_lsn::text, restart_lsn::text "
            "FROM pg_replication_slots WHERE slot_name = %s AND database = current_database()",
            (slot,),
        )
        row = cur.fetchone()
        if row is None:
            return None
        return SlotInfo(row[0], lsn_int(row[1]), lsn_int(row[2]))


def drop_slot(conn: Any, url: SourceURL, slot: str) -> None:
    """Drop the slot (an unfinished snapshot's leftover, or on --resnapshot)."""
    with pg_errors(url, slot), conn.cursor() as cur:
        cur.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE slot_name = %s",
            (slot,),
        )


def create_slot(repl: Any, url: SourceURL, slot: str) -> tuple[int, str]:
    """Create the slot with an exported snapshot; return (consistent point LSN, snapshot name)."""
    with pg_errors(url, slot), repl.cursor() as cur:
        cur.execute(f'CREATE_REPLICATION_SLOT "{slot}" LOGICAL pgoutput EXPORT_SNAPSHOT')
        row = cur.fetchone()
        return lsn_int(row[1]), str(row[2])


def published_tables(
    conn: Any,
    url: SourceURL,
    slot: str,
    publication: str,
    wanted: Callable[[str], bool],
    source: str,
) -> list[TableSchema]:
    """The captured tables with their columns and identity, as Relation messages describe them."""
    with pg_errors(url, slot), conn.cursor() as cur:
        cur.execute(
            "SELECT c.oid, c.relname, c.relreplident FROM pg_publication_tables p "
            "JOIN pg_namespace n ON n.nspname = p.schemaname "
            "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename "
            "WHERE p.pubname = %s AND p.schemaname = 'public' ORDER BY c.relname",
            (publication,),
        )
        tables = [row for row in cur.fetchall() if wanted(row[1])]
        return [_describe(cur, oid, name, ident, source) for oid, name, ident in tables]


def _describe(cur: Any, oid: int, name: str, identity: str, source: str) -> TableSchema:
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
        columns.append(Column(attname, pg_type(typid, typmod)))
        if is_key:
            key.append(attname)
    return TableSchema(source, name, tuple(columns), tuple(key))
