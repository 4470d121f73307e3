"""Helpers for capture tests: run capture, compare the replica with the source row for row."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg2

from kuaike import pipeline
from kuaike.config import CaptureSettings, Settings
from kuaike.databases import SourceURL


def slot_for(url: str) -> str:
    """A slot name of the test database's own (slot names are per server)."""
    return "k_" + SourceURL.parse(url).database


def settings(url: str, store: Path, **capture: Any) -> Settings:
    """Settings for capturing `url` into `store` (only the logistics source)."""
    capture.setdefault("slot_name", slot_for(url))
    return Settings(logistics_url=url, store=store, capture=CaptureSettings(**capture))


def capture_until_caught_up(url: str, store: Path, **capture: Any) -> dict[str, Any]:
    """Run capture in this process until it caught up with the source."""
    progress = pipeline.run_capture(
        settings(url, store, **capture), threading.Event(), until_caught_up=True
    )
    return {name: p for name, p in progress.items()}


def cli_env(url: str, store: Path, **extra: str) -> dict[str, str]:
    """Environment for `python -m kuaike` against `url` and `store`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUAIKE_")}
    env.update(KUAIKE_LOGISTICS_URL=url, KUAIKE_STORE=str(store))
    env.update(KUAIKE_CAPTURE_SLOT_NAME=slot_for(url), **extra)
    return env


def kuaike(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `python -m kuaike ARGS` and return the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "kuaike", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def pg(url: str) -> Any:
    """An autocommit psycopg2 connection."""
    conn = psycopg2.connect(**SourceURL.parse(url).psycopg2_dsn())
    conn.autocommit = True
    return conn


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.normalize() if value == value else "NaN"
    return value


def source_rows(url: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cols = ", ".join(f'"{c}"' for c in columns)
        cur.execute(f'SELECT {cols} FROM "{table}"')
        rows = cur.fetchall()
    conn.close()
    return sorted((tuple(_norm(v) for v in row) for row in rows), key=repr)


def replica_rows(store: Path, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(store))
    try:
        cols = ", ".join(f'"{c}"' for c in columns)
        rows = con.execute(f'SELECT {cols} FROM ods."{table}"').fetchall()
    finally:
        con.close()
    return sorted((tuple(_norm(v) for v in row) for row in rows), key=repr)


def source_columns(url: str, table: str) -> list[str]:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        )
        names = [row[0] for row in cur.fetchall()]
    conn.close()
    return names


def assert_replica_equal(url: str, store: Path, tables: list[str]) -> None:
    """Every table's rows in ods equal the source's, as multisets."""
    for table in tables:
        columns = source_columns(url, table)
        expected = source_rows(url, table, columns)
        got = replica_rows(store, table, columns)
        assert len(got) == len(expected), (
            f"{table}: {len(got)} rows in ods, {len(expected)} in source"
        )
        for want, have in zip(expected, got, strict=True):
            assert want == have, f"{table}: {have!r:.300} != {want!r:.300}"


def batch_positions_increase(store: Path, source: str = "logistics") -> bool:
    """No transaction applied twice: batch positions strictly increase."""
    con = duckdb.connect(str(store))
    try:
        positions = [
            row[0]
            for row in con.execute(
                "SELECT position FROM _kuaike.batches WHERE source = ? ORDER BY batch", [source]
            ).fetchall()
        ]
    finally:
        con.close()
    return all(a < b for a, b in itertools.pairwise(positions))


def ods_count(store: Path, table: str) -> int:
    """Rows in ods.<table> (0 while it does not exist)."""
    con = duckdb.connect(str(store))
    try:
        row = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ods' "
            "AND table_name = ?",
            [table],
        ).fetchone()
        if not row or not row[0]:
            return 0
        counted = con.execute(f'SELECT count(*) FROM ods."{table}"').fetchone()
        return int(counted[0]) if counted else 0
    finally:
        con.close()


def wait_for(condition: Any, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll until `condition()` is true, or fail the test."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class CaptureThread:
    """`pipeline.run_capture` in a thread of this process, stopped by `stop()`."""

    def __init__(self, url: str, store: Path, **capture: Any) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.progress: dict[str, Any] = {}
        self._settings = settings(url, store, **capture)
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.progress = pipeline.run_capture(self._settings, self.stop_event)
        except BaseException as exc:
            self.error = exc

    def wait(self, condition: Any, what: str, timeout: float = 30.0) -> None:
        """wait_for, failing at once when capture failed."""

        def check() -> bool:
            if self.error is not None:
                raise self.error
            return bool(condition())

        wait_for(check, timeout, what)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(60)
        if self.error is not None:
            raise self.error
