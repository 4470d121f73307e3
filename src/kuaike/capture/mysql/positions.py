"""Binlog coordinates: the position type, whether the server still has it, and errors.

A position is a binlog file and a byte offset; as text (`binlog.000002:00000000000000000328`,
the form `events.Position.mysql` writes) positions of one server sort in log order.
"""

from __future__ import annotations

from dataclasses import dataclass

from kuaike.errors import PositionLost, SourceError
from kuaike.types import MySQLConnection

_OFFSET_DIGITS = 20  # as events.Position.mysql writes it
RESNAPSHOT_HINT = "kuaike capture --resnapshot"


@dataclass(frozen=True, order=True)
class BinlogPosition:
    """A point in the binlog: file name and byte offset."""

    file: str
    offset: int

    def text(self) -> str:
        """Sortable text form, as stored in `_kuaike_pos` and `_kuaike.positions`."""
        return f"{self.file}:{self.offset:0{_OFFSET_DIGITS}d}"

    @classmethod
    def parse(cls, text: str) -> BinlogPosition:
        """Read the text form back.

        >>> BinlogPosition.parse("binlog.000002:00000000000000000328")
        BinlogPosition(file='binlog.000002', offset=328)
        """
        name, sep, offset = text.rpartition(":")
        if not sep or not offset.isdigit():
            raise SourceError(f"bad MySQL binlog position {text!r}; expected file:offset")
        return cls(name, int(offset))


def binlog_files(conn: MySQLConnection) -> list[str]:
    """The binlog files the server still has, oldest first (SHOW BINARY LOGS)."""
    with conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        return [str(row[0]) for row in cur.fetchall()]


def ensure_available(
    conn: MySQLConnection, position: BinlogPosition, source: str, resnapshot: str
) -> None:
    """Raise PositionLost when the server purged the binlog file holding `position`."""
    files = binlog_files(conn)
    if position.file in files:
        return
    oldest = files[0] if files else "none"
    raise PositionLost(
        f"the binlog of source {source!r} no longer holds position {position.text()} "
        f"(oldest binlog on the server: {oldest}); changes were lost from the log, "
        f"take a new snapshot with `{resnapshot}`",
        source=source,
        position=position.text(),
    )
