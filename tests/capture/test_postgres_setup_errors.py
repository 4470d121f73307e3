"""Bad setups each end in one line that names the fix."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pg_replica import CaptureThread, assert_replica_equal, cli_env, kuaike, pg, settings, slot_for

from kuaike import pipeline
from kuaike.business.servers import PrivatePostgres, free_port
from kuaike.errors import PositionLost, SourceSetupError


def _one_line_error(result: object) -> str:
    stderr = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert result.returncode != 0  # type: ignore[attr-defined]
    assert len(stderr) == 1, stderr
    return stderr[0]


def test_wal_level_not_logical_names_the_setting(tmp_path: Path) -> None:
    server = PrivatePostgres(tmp_path / "pg", settings={"wal_level": "replica"}).start()
    try:
        result = kuaike(["capture", "--until-caught-up"], cli_env(server.url, tmp_path / "s.db"))
        line = _one_line_error(result)
        assert "wal_level is replica" in line and "wal_level = logical" in line
    finally:
        server.stop()


def test_unreachable_server_says_so(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    line = _one_line_error(kuaike(["capture"], cli_env(url, tmp_path / "s.db")))
    assert "cannot connect to PostgreSQL" in line and "check the URL" in line


def test_user_without_replication_privilege_is_told_the_grant(pg_url: str, tmp_path: Path) -> None:
    conn = pg(pg_url)
    with conn.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS clerk")
        cur.execute("CREATE ROLE clerk LOGIN")
    conn.close()
    url = pg_url.replace("postgres@", "clerk@")
    with pytest.raises(SourceSetupError, match=r"lacks the REPLICATION privilege; run `ALTER ROLE"):
        pipeline.run_capture(settings(url, tmp_path / "s.db"), threading.Event())


def test_slot_in_use_names_the_other_process(pg_url: str, tmp_path: Path) -> None:
    conn = pg(pg_url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id int PRIMARY KEY)")
    conn.close()
    first = CaptureThread(pg_url, tmp_path / "first.db")
    try:
        first.wait(lambda: _active(pg_url), "the first capture to stream")
        with pytest.raises(SourceSetupError, match=r"is in use by another process \(pid \d+\)"):
            pipeline.run_capture(settings(pg_url, tmp_path / "second.db"), threading.Event())
    finally:
        first.stop()


def _active(url: str) -> bool:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_replication_slots WHERE active_pid IS NOT NULL")
        row = cur.fetchone()
    conn.close()
    return bool(row and row[0])


def test_unknown_source_is_a_usage_error(pg_url: str, tmp_path: Path) -> None:
    line = _one_line_error(kuaike(["capture", "--source", "erp"], cli_env(pg_url, tmp_path / "s")))
    assert "unknown source erp; choose from logistics" in line


def test_lost_slot_asks_for_resnapshot_which_copies_again(pg_url: str, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    conn = pg(pg_url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id int PRIMARY KEY, s text)")
        cur.execute("INSERT INTO t VALUES (1, 'a')")
    pipeline.run_capture(settings(pg_url, store), threading.Event(), until_caught_up=True)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_drop_replication_slot(%s)", (slot_for(pg_url),))
        cur.execute("INSERT INTO t VALUES (2, 'b')")  # lost with the slot
    conn.close()
    with pytest.raises(PositionLost, match=r"run `kuaike capture --resnapshot`"):
        pipeline.run_capture(settings(pg_url, store), threading.Event(), until_caught_up=True)
    progress = pipeline.run_capture(
        settings(pg_url, store), threading.Event(), until_caught_up=True, resnapshot=True
    )
    assert progress["logistics"].snapshot_rows == 2
    assert_replica_equal(pg_url, store, ["t"])
