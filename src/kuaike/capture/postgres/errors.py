"""PostgreSQL errors that only capture meets, by SQLSTATE: slots, logical decoding, privileges.

`capture_errors` is the one translator of the PostgreSQL adapter: every call to psycopg2 that
capture makes (setup, snapshot, the whole replication stream) runs inside it, and what it does
not know itself goes to `kuaike.databases.postgres_error`. Codes, never message text: a server
with `lc_messages` in another language gives the same kuaike errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2

from kuaike.databases import SourceURL, connect_postgres, postgres_error
from kuaike.errors import SourceError, SourceSetupError, SourceUnreachable

OBJECT_IN_USE = "55006"
"""A slot another process reads (START_REPLICATION, pg_drop_replication_slot)."""
DUPLICATE_OBJECT = "42710"
"""CREATE_REPLICATION_SLOT with a name the server has (slot names are per server)."""
INSUFFICIENT_PRIVILEGE = "42501"
PREREQUISITE_STATE = "55000"
"""Logical decoding refused: wal_level below logical, an invalidated slot, ..."""


@contextmanager
def capture_errors(url: SourceURL, slot: str, source: str | None = None) -> Iterator[None]:
    """psycopg2 (and already translated) errors inside the block, as kuaike errors naming
    `source`."""
    try:
        yield
    except psycopg2.Error as exc:
        error = capture_error(url, slot, exc)
        error.source = error.source or source
        raise error from exc
    except SourceError as exc:
        exc.source = exc.source or source
        raise
    except OSError as exc:
        raise SourceUnreachable(f"lost the connection to PostgreSQL at {url}; retrying") from exc


def capture_error(url: SourceURL, slot: str, exc: psycopg2.Error) -> SourceError:
    """The kuaike error for a psycopg2 error met while capturing through `slot`."""
    code = exc.pgcode
    if code == OBJECT_IN_USE:
        return slot_in_use(url, slot, active_pid(url, slot))
    if code == DUPLICATE_OBJECT:
        return SourceSetupError(
            f"replication slot {slot!r} already exists on the server of {url} for another "
            "database; set capture.slot_name to a name of its own for this database"
        )
    if code == INSUFFICIENT_PRIVILEGE:
        return SourceSetupError(
            f"user {url.user!r} lacks a privilege capture needs on {url} (SQLSTATE {code}); "
            f'grant SELECT on the captured tables and run `ALTER ROLE "{url.user}" WITH '
            "REPLICATION` as a superuser"
        )
    if code == PREREQUISITE_STATE:
        return SourceSetupError(
            f"PostgreSQL at {url} refused logical decoding (SQLSTATE {code}); check that "
            "wal_level = logical and that the slot was not invalidated (then run `kuaike "
            "capture --resnapshot`)"
        )
    return postgres_error(url, exc)


def active_pid(url: SourceURL, slot: str) -> int:
    """The pid reading `slot` now (0 when none, or when the server cannot say)."""
    with contextlib.suppress(SourceError, psycopg2.Error):
        conn = connect_postgres(url)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", (slot,)
                )
                row = cur.fetchone()
        finally:
            conn.close()
        return int(row[0]) if row and row[0] else 0
    return 0


def slot_in_use(url: SourceURL, slot: str, pid: int) -> SourceSetupError:
    """The error for a slot another process reads."""
    return SourceSetupError(
        f"replication slot {slot!r} on {url} is in use by another process (pid {pid}); stop "
        "that capture, or set capture.slot_name to another name"
    )


def slot_owned_elsewhere(url: SourceURL, slot: str) -> SourceSetupError:
    """The error for a slot this store did not create (another store's, or abandoned)."""
    return SourceSetupError(
        f"replication slot {slot!r} on {url} belongs to another store (this store did not "
        "create it); set capture.slot_name to a name of its own for this store, or, if no "
        f"other capture uses it, drop it: SELECT pg_drop_replication_slot('{slot}')"
    )


def no_replication(url: SourceURL) -> SourceSetupError:
    """The error for a user without the REPLICATION attribute."""
    return SourceSetupError(
        f"user {url.user!r} on {url} lacks the REPLICATION privilege; run "
        f'`ALTER ROLE "{url.user}" WITH REPLICATION` as a superuser'
    )


def wal_level(url: SourceURL, level: str) -> SourceSetupError:
    """The error for a server whose wal_level is not logical."""
    return SourceSetupError(
        f"wal_level is {level} on {url}; set wal_level = logical in postgresql.conf "
        "(ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL"
    )
