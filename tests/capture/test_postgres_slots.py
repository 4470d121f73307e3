"""A slot belongs to one store. Two stores capturing one database, in every order, leave each
store either exact or refusing with one line (slot owned elsewhere, PositionLost): never short.
And a capture that stopped or caught up leaves the slot confirmed at the stored position."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest
from pg_replica import assert_replica_equal, capture_until_caught_up, pg, settings, slot_for

from kuaike import pipeline
from kuaike.capture.events import Position
from kuaike.capture.postgres import snapshot
from kuaike.errors import PositionLost, SourceSetupError


def _table(url: str, rows: range) -> None:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, s text)")
        for n in rows:
            cur.execute("INSERT INTO t VALUES (%s, %s)", (n, f"行{n}"))
    conn.close()


def _slot_confirmed(url: str) -> int:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
            (slot_for(url),),
        )
        row = cur.fetchone()
    conn.close()
    assert row is not None
    high, _, low = str(row[0]).partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def _stored(store: Path) -> int:
    con = duckdb.connect(str(store))
    row = con.execute("SELECT position FROM _kuaike.positions WHERE source = 'logistics'")
    position = Position(row.fetchall()[0][0])
    con.close()
    return position.lsn


def test_a_caught_up_capture_leaves_the_slot_confirmed_at_the_stored_position(
    pg_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "a.duckdb"
    _table(pg_url, range(1, 3))
    capture_until_caught_up(pg_url, store)
    _table(pg_url, range(3, 200))  # streamed: the last batch must be confirmed too
    capture_until_caught_up(pg_url, store)
    assert _slot_confirmed(pg_url) >= _stored(store)


def test_a_second_store_refuses_the_first_stores_slot_and_the_first_stays_exact(
    pg_url: str, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    _table(pg_url, range(1, 10))
    capture_until_caught_up(pg_url, first)
    with pytest.raises(SourceSetupError, match=r"belongs to another store.*capture\.slot_name"):
        capture_until_caught_up(pg_url, second)
    with pytest.raises(SourceSetupError, match=r"belongs to another store"):
        pipeline.run_capture(
            settings(pg_url, second), threading.Event(), until_caught_up=True, resnapshot=True
        )
    _table(pg_url, range(10, 50))
    capture_until_caught_up(pg_url, first)
    assert_replica_equal(pg_url, first, ["t"])


def test_a_second_store_during_the_first_stores_snapshot_is_refused(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    _table(pg_url, range(1, 10))
    copying, release = threading.Event(), threading.Event()
    copy_tables = snapshot.copy_tables

    def slow_copy(*args: object, **kwargs: object) -> None:
        copying.set()
        release.wait(30)  # the first store's copy is under way meanwhile
        copy_tables(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(snapshot, "copy_tables", slow_copy)
    errors: list[BaseException] = []

    def first_capture() -> None:
        try:
            capture_until_caught_up(pg_url, first)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=first_capture)
    thread.start()
    try:
        assert copying.wait(30)
        with pytest.raises(SourceSetupError, match=r"in use by another process|another store"):
            capture_until_caught_up(pg_url, second)
    finally:
        release.set()
        thread.join(60)
    assert not errors, errors
    _table(pg_url, range(10, 30))
    capture_until_caught_up(pg_url, first)
    assert_replica_equal(pg_url, first, ["t"])


def test_a_store_whose_slot_another_store_recreated_and_read_is_told_position_lost(
    pg_url: str, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    _table(pg_url, range(1, 10))
    capture_until_caught_up(pg_url, first)
    conn = pg(pg_url)
    with conn.cursor() as cur:  # someone drops the slot; another store creates its own
        cur.execute("SELECT pg_drop_replication_slot(%s)", (slot_for(pg_url),))
    conn.close()
    _table(pg_url, range(10, 20))  # lost for the first store: no slot kept them
    capture_until_caught_up(pg_url, second)
    _table(pg_url, range(20, 30))
    capture_until_caught_up(pg_url, second)  # the second store reads them from the slot
    with pytest.raises(PositionLost, match=r"read past this store's position.*--resnapshot"):
        capture_until_caught_up(pg_url, first)
    assert_replica_equal(pg_url, second, ["t"])
    pipeline.run_capture(
        settings(pg_url, first, slot_name="first_own"),
        threading.Event(),
        until_caught_up=True,
        resnapshot=True,
    )
    assert_replica_equal(pg_url, first, ["t"])


def test_an_unfinished_snapshot_of_this_store_is_dropped_and_taken_again(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "a.duckdb"
    _table(pg_url, range(1, 10))

    def crash(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # the process dies in the middle of the copy

    with monkeypatch.context() as patch:
        patch.setattr(snapshot, "copy_tables", crash)
        with pytest.raises(KeyboardInterrupt):
            capture_until_caught_up(pg_url, store)
    capture_until_caught_up(pg_url, store)
    assert_replica_equal(pg_url, store, ["t"])
