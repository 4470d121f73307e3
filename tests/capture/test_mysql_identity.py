"""A MySQL/MariaDB source is resumed only on the server the store copied: another server behind
the same URL, or a log that has no event at the stored position, is one line, never a silent
resume. (A purged binlog is PositionLost too: tests/capture/test_mysql_cli.py.)"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from mysql_helpers import capture_until_caught_up, connect

from kuaike.capture.mysql.positions import BinlogPosition
from kuaike.errors import PositionLost


def _setup(url: str, store: Path) -> None:
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE crm_note (id int PRIMARY KEY, s varchar(20))")
        cur.execute("INSERT INTO crm_note VALUES (1, '一')")
    capture_until_caught_up(url, store)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO crm_note VALUES (2, '二')")
    conn.close()
    capture_until_caught_up(url, store)  # resumes: the same server


def test_the_server_identity_is_recorded_with_the_snapshot_and_a_changed_one_refused(
    mysql_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "store.duckdb"
    _setup(mysql_url, store)
    con = duckdb.connect(str(store))
    identity = con.execute("SELECT identity FROM _kuaike.servers").fetchall()
    con.close()
    assert '"server_id"' in identity[0][0]
    conn = connect(mysql_url)
    with conn.cursor() as cur:
        cur.execute("SELECT @@server_id")
        original = cur.fetchone()[0]
        cur.execute(f"SET GLOBAL server_id = {original + 4242}")
    try:
        with pytest.raises(PositionLost) as lost:
            capture_until_caught_up(mysql_url, store)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"SET GLOBAL server_id = {original}")
        conn.close()
    line = str(lost.value)
    assert "\n" not in line
    assert f"server_id {original} then, {original + 4242} now" in line
    assert "--resnapshot --source crm" in line
    capture_until_caught_up(mysql_url, store)  # back on the original server: resumes


def test_a_position_where_the_server_has_no_event_is_refused(
    mysql_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "store.duckdb"
    _setup(mysql_url, store)
    con = duckdb.connect(str(store))
    (text,) = con.execute("SELECT position FROM _kuaike.positions").fetchone() or ("",)
    inside = BinlogPosition.parse(text)
    inside = BinlogPosition(inside.file, inside.offset - 3)  # inside the last event
    con.execute("UPDATE _kuaike.positions SET position = ?", [inside.text()])
    con.close()
    with pytest.raises(PositionLost, match=f"has no event at offset {inside.offset}"):
        capture_until_caught_up(mysql_url, store)
