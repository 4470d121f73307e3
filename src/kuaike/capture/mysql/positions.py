"""Binlog coordinates: the position type, whether the server still has it, and errors.

A position is a binlog file and a byte offset; as text (`binlog.000002:00000000000000000328`,
the form `events.Position.mysql` writes) positions of one server sort in log order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kuaike.errors import PositionLost, SourceError, SourceUnreachable, Transient
from kuaike.databases import SourceURL, translate_errors

ER_MASTER_FATAL_READING_BINLOG = 1236
# Lost connection, server gone, connection killed, server shutting down: worth a retry.
DROPPED_CONNECTION = frozenset({2006, 2013, 1927, 1053})
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


def binlog_files(conn: Any) -> list[str]:
    """The binlog files the server still has, oldest first (SHOW BINARY LOGS)."""
    with conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        return [str(row[0]) for row in cur.fetchall()]


def ensure_available(conn: Any, position: BinlogPosition, source: str, resnapshot: str) -> None:
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
    )


class BinlogReconnected(Transient, SourceError):
    """The library re-opened the binlog connection; restart from the last applied position."""


@contextmanager
def translate_binlog_errors(url: SourceURL, start: BinlogPosition) -> Iterator[None]:
    """Like `translate_errors`, but a binlog the server cannot send becomes PositionLost."""
    import pymysql

    with translate_errors(url):
        try:
            yield
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] == ER_MASTER_FATAL_READING_BINLOG:
                raise PositionLost(
                    f"MySQL at {url} cannot send the binlog from {start.text()} ({exc.args[1]}); "
                    f"take a new snapshot with `{RESNAPSHOT_HINT}`",
                    source=url.database,
                ) from exc
            if exc.args and exc.args[0] in DROPPED_CONNECTION:
                raise SourceUnreachable(
                    f"the binlog connection to {url} was closed ({exc.args[-1]}); retrying"
                ) from exc
            raise
