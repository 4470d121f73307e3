"""What every source kind shares: the `Capture` protocol, the source it captures, table filters.

A source kind (PostgreSQL, MySQL, later Kafka) is a folder of the same shape under `capture/`
whose `capture.py` holds a class following `Capture`; `capture.registry` maps URL dialects to
them, so the pipeline never branches on the kind.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from kuaike.capture.events import ChangeSink, Position
from kuaike.capture.progress import CaptureProgress
from kuaike.config import CaptureSettings
from kuaike.databases import SourceURL
from kuaike.errors import SourceError


@dataclass(frozen=True)
class CaptureSource:
    """A source database kuaike captures: its name in the store, URL and (PostgreSQL) slot."""

    name: str
    url: SourceURL
    slot: str = ""


class Capture(Protocol):
    """One source captured into a store: snapshot if needed, then stream."""

    source: str
    progress: CaptureProgress

    def run(
        self,
        until_caught_up: bool = False,
        resnapshot: bool = False,
        tables: tuple[str, ...] = (),
    ) -> CaptureProgress:
        """Snapshot if needed (with `resnapshot`: again; with `tables` too: those tables
        only), then stream until stopped (or caught up)."""
        ...


class CaptureFactory(Protocol):
    """How the registry makes a source kind's `Capture`."""

    def __call__(
        self,
        source: CaptureSource,
        store: ChangeSink,
        settings: CaptureSettings,
        stop: Any = None,
    ) -> Capture: ...


SourceFigures = Callable[[CaptureSource, Position | None], dict[str, Any]]
"""What `kuaike status` asks a source itself: lag bytes, retained log, or `source_error`."""


@contextmanager
def attributed(source: str) -> Iterator[None]:
    """SourceErrors leaving the block name `source` (unless they already name one)."""
    try:
        yield
    except SourceError as exc:
        exc.source = exc.source or source
        raise


def replica_name(namespace: str, table: str) -> str:
    """A source table's name in the replica: bare for PostgreSQL's `public` schema, prefixed
    by its schema otherwise, so two schemas' tables of one name cannot collide.

    >>> replica_name("public", "orders"), replica_name("sales", "orders")
    ('orders', 'sales__orders')
    """
    return table if namespace == "public" else f"{namespace}__{table}"


def table_filter(include: list[str], exclude: list[str]) -> Callable[[str], bool]:
    """Whether a table name is captured: matches an include pattern and no exclude pattern.

    >>> table_filter(["tbl_*"], ["tbl_tmp*"])("tbl_tmp1")
    False
    """

    def wanted(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in include) and not any(
            fnmatch.fnmatchcase(name, p) for p in exclude
        )

    return wanted
