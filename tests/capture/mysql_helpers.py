"""Shared by the MySQL capture tests: run a capture until caught up, compare source and replica."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pymysql

from kuaike.capture.base import CaptureSource
from kuaike.capture.mysql.capture import MySQLCapture
from kuaike.capture.progress import CaptureProgress
from kuaike.config import CaptureSettings
from kuaike.databases import SourceURL
from kuaike.store import Store


def connect(url: str) -> Any:
    """A root PyMySQL connection to the test database, autocommit, UTC session."""
    parsed = SourceURL.parse(url)
    conn = pymysql.connect(**parsed.pymysql_kwargs(), autocommit=True)
    with conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+00:00'")
    return conn


def capture_until_caught_up(url: str, store_path: Path, **settings: Any) -> CaptureProgress:
    """One `kuaike capture --until-caught-up` of the CRM source, in process."""
    with Store.open(store_path) as store:
        capture = MySQLCapture(
            CaptureSource("crm", SourceURL.parse(url)), store, CaptureSettings(**settings)
        )
        return capture.run(until_caught_up=True)


def normal(value: Any) -> Any:
    """Compare values across drivers: UTC-naive datetimes, bytes for any binary."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def source_rows(conn: Any, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    """The source table's rows (given columns), sorted by the first column; BIT as numbers."""
    with conn.cursor() as cur:
        cur.execute(f"SHOW COLUMNS FROM `{table}`")
        bits = {str(row[0]) for row in cur.fetchall() if str(row[1]).startswith("bit")}
    names = ", ".join(f"`{c}` + 0" if c in bits else f"`{c}`" for c in columns)
    with conn.cursor() as cur:
        cur.execute(f"SELECT {names} FROM `{table}` ORDER BY 1")
        return [tuple(normal(v) for v in row) for row in cur.fetchall()]


def ods_rows(store_path: Path, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    """The replica table's rows (given columns), sorted by the first column."""
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        names = ", ".join(f'"{c}"' for c in columns)
        rows = con.execute(f"SELECT {names} FROM ods.{table} ORDER BY 1").fetchall()
    finally:
        con.close()
    return [tuple(normal(v) for v in row) for row in rows]


def source_columns(conn: Any, table: str) -> list[str]:
    """Column names of a source table, in order."""
    with conn.cursor() as cur:
        cur.execute(f"SHOW COLUMNS FROM `{table}`")
        return [str(row[0]) for row in cur.fetchall()]


def store_query(store_path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query on the store file (opened read-only, closed again)."""
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
