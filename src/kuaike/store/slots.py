"""The store's record of the replication slots it owns (PostgreSQL sources).

A slot is this store's when `_kuaike.slots` names it: the name and consistent point are written,
and committed, before the snapshot copy starts, so an unfinished snapshot's slot can be told from
another store's slot of the same name. `confirmable_lsn` is the furthest position capture let
the server confirm; a slot confirmed past it (and past the stored position) was read by someone
else, and the changes in between are not in this store.
"""

from __future__ import annotations

from dataclasses import dataclass

from kuaike.types import DuckConnection


@dataclass(frozen=True)
class SlotClaim:
    """A slot this store created: its name, consistent point, furthest confirmable LSN."""

    slot: str
    consistent_lsn: int
    confirmable_lsn: int


def claim(con: DuckConnection, source: str, slot: str, consistent_lsn: int) -> None:
    """Record (replacing any earlier claim) that `slot` is `source`'s, created at the LSN."""
    con.execute(
        "INSERT OR REPLACE INTO _kuaike.slots VALUES (?, ?, ?, ?)",
        [source, slot, consistent_lsn, consistent_lsn],
    )


def claimed(con: DuckConnection, source: str) -> SlotClaim | None:
    """The slot `source` claims, None when it claims none."""
    rows = con.execute(
        "SELECT slot, consistent_lsn, confirmable_lsn FROM _kuaike.slots WHERE source = ?",
        [source],
    ).fetchall()
    return SlotClaim(rows[0][0], int(rows[0][1]), int(rows[0][2])) if rows else None


def note_confirmable(con: DuckConnection, source: str, lsn: int) -> None:
    """Raise `source`'s confirmable LSN to `lsn` (before the server is told it)."""
    con.execute(
        "UPDATE _kuaike.slots SET confirmable_lsn = greatest(confirmable_lsn, ?) WHERE source = ?",
        [lsn, source],
    )


def release(con: DuckConnection, source: str) -> None:
    """Forget `source`'s claim (its slot was dropped)."""
    con.execute("DELETE FROM _kuaike.slots WHERE source = ?", [source])
