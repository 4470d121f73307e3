"""Source kinds by URL dialect: data, so the pipeline and the store never branch on the kind.

kind = KINDS[source.url.dialect]
capture = kind.capture(source, store, settings.capture, stop)   # a `Capture`
kind.figures(source, position)                                  # lag, retained log
duckdb_type("mysql", "decimal(10,2)")                           # 'DECIMAL(10,2)'
"""

from __future__ import annotations

from dataclasses import dataclass

from kuaike.capture import types
from kuaike.capture.base import CaptureFactory, SourceFigures
from kuaike.capture.mysql import capture as mysql
from kuaike.capture.mysql.types import MYSQL_TO_DUCKDB
from kuaike.capture.postgres import capture as postgres
from kuaike.capture.postgres.types import POSTGRES_TO_DUCKDB
from kuaike.databases import Dialect


@dataclass(frozen=True)
class SourceKind:
    """One kind of source: how to capture it, ask it for figures, and map its types."""

    capture: CaptureFactory
    figures: SourceFigures
    type_map: dict[str, str]
    has_slot: bool
    """Whether the source keeps a slot per reader (PostgreSQL) rather than one shared log."""


KINDS: dict[Dialect, SourceKind] = {
    "postgresql": SourceKind(postgres.PostgresCapture, postgres.figures, POSTGRES_TO_DUCKDB, True),
    "mysql": SourceKind(mysql.MySQLCapture, mysql.figures, MYSQL_TO_DUCKDB, False),
}

TYPE_MAPS: dict[str, dict[str, str]] = {dialect: kind.type_map for dialect, kind in KINDS.items()}


def duckdb_type(dialect: str, source_type: str) -> str:
    """The DuckDB type for a column type of a `dialect` source.

    >>> duckdb_type("postgresql", "numeric(12,2)")
    'DECIMAL(12,2)'
    >>> duckdb_type("mysql", "varchar(20)")
    'VARCHAR'
    """
    return types.duckdb_type(TYPE_MAPS[dialect], source_type)
