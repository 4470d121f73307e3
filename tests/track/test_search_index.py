"""The search index beside the store: it answers what a scan of the replica answers, the
source's truth included, keeps up with capture within seconds, survives a restart, and is
rebuilt when the store moved on without it.

The first tests need no server: waybills with Faker's Chinese names, addresses and phones (and
the awkward ones: NULL names, spaces, brackets, one-character names) in a store, indexed, and
every query asked both ways. The others run the pipeline against a simulated carrier."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import random
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "capture"))

from pg_replica import kuaike, pg, wait_for

from kuaike.business.servers import PrivatePostgres
from kuaike.capture.events import ChangeBatch, Column, Op, Position, TableChanges, TableSchema
from kuaike.store.writer import Store
from kuaike.track.textindex import SearchIndex, directory_for
from tests.conftest import drop_slots
from tests.serve.conftest import Pipeline, carrier_settings, simulated_carrier, snapshotted

search_module = importlib.import_module("kuaike.track.search")  # `track.search` is the function

pytestmark = pytest.mark.timeout(300)

COLUMNS = (
    ("id", "bigint"),
    ("waybill_number", "text"),
    ("express_bill_number", "text"),
    ("order_dt", "timestamp without time zone"),
    ("delivery_customer_name", "text"),
    ("delivery_mobile", "text"),
    ("delivery_addr", "text"),
    ("receive_customer_name", "text"),
    ("receive_mobile", "text"),
    ("receive_addr", "text"),
)
SCHEMA = TableSchema("logistics", "tbl_waybill", tuple(Column(n, t) for n, t in COLUMNS), ("id",))
JOURNEY = (  # empty: every parcel here is at its outlet
    "CREATE TABLE ods.tbl_deliver_package (waybill_number VARCHAR, state INT, "
    "rece_dt TIMESTAMP, cdt TIMESTAMP)",
    "CREATE TABLE ods.tbl_transport_record (pw_waybill_number VARCHAR, state INT, "
    "actual_arrivals_dt TIMESTAMP, start_vehicle_dt TIMESTAMP)",
    "CREATE TABLE ods.tbl_push_warehouse (pw_waybill_number VARCHAR, pw_start_dt TIMESTAMP)",
)
LSN = iter(range(0x1000, 10**9, 0x10))


def apply(store: Store, changes: list[tuple[Op, tuple[Any, ...]]], truncate: bool = False) -> None:
    """Changes to the waybills committed as capture commits them (the store tells its
    listeners)."""
    table = TableChanges(SCHEMA, truncated=truncate, truncated_txn=0 if truncate else -1)
    for op, row in changes:
        table.append(op, 0, dict(zip([n for n, _ in COLUMNS], row, strict=False)))
    position = Position.postgres(next(LSN))
    store.apply(ChangeBatch("logistics", [position], [None], {"tbl_waybill": table}))


ODD = [  # names and addresses as people type them
    (None, "上海市 浦东新区 世纪大道100号"),
    ("王", "北京市海淀区学院路（东门）3号"),
    ("欧阳娜娜", "广州市天河区天河路385号太古汇2座1201"),
    ("李 娜", None),
]


def _rows(count: int) -> list[tuple[Any, ...]]:
    fake = Faker("zh_CN")
    fake.seed_instance(7)
    rows = []
    start = dt.datetime(2026, 11, 1)
    for i in range(1, count + 1):
        name, addr = ODD[i % len(ODD)] if i % 50 == 0 else (fake.name(), fake.address())
        rows.append(
            (
                i,
                f"{3000000000 + i}",
                f"{7000000000 + i}",
                start + dt.timedelta(minutes=i),
                fake.name(),
                fake.phone_number(),
                fake.address().split(" ")[0],
                name,
                fake.phone_number(),
                addr,
            )
        )
    return rows


@pytest.fixture(scope="module")
def indexed_store() -> Iterator[tuple[Store, SearchIndex, list[tuple[Any, ...]]]]:
    store = Store.open(":memory:")
    rows = _rows(3000)
    apply(store, [("insert", row) for row in rows])
    cur = store.con.cursor()
    for table in JOURNEY:
        cur.execute(table)
    index = SearchIndex(None, refresh_s=0.05)
    store.listeners.append(index.note)
    stop = threading.Event()
    thread = threading.Thread(target=index.run, args=(store, stop))
    thread.start()
    wait_for(lambda: index.ready, 60, "the index")
    yield store, index, rows
    stop.set()
    thread.join(30)
    store.close()


def _queries(rows: list[tuple[Any, ...]], count: int) -> list[str]:
    """Words as an agent types them: parts of names and addresses, phone tails, and mixes."""
    rng = random.Random(3)
    out = []
    for _ in range(count):
        row = rng.choice(rows)
        text = rng.choice([t for t in (row[4], row[6], row[7], row[9]) if t])
        text = text.replace(" ", "")
        start = rng.randrange(len(text))
        part = text[start : start + rng.choice([1, 2, 3, 4, 6, 9])]
        tail = str(rng.choice([row[5], row[8]]))[-4:]
        out.append(rng.choice([part, f"{part} {tail}", tail, f"{(row[7] or '王')[0]} {part}"]))
    return [q for q in out if q.strip()]


def test_the_index_finds_what_a_scan_finds(
    indexed_store: tuple[Store, SearchIndex, list[tuple[Any, ...]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, index, rows = indexed_store
    monkeypatch.setattr(search_module, "COMMON", 1.0)  # the index for every query here
    cur = store.con.cursor()
    compared = 0
    for query in _queries(rows, 300):
        try:
            scanned = search_module.search(cur, query, limit=100)
        except Exception as exc:  # a word check_query refuses (Faker's punctuation)
            assert "leave it out" in str(exc), exc
            continue
        found = search_module.search(cur, query, limit=100, index=index)
        assert found.by == "index" and scanned.by == "scan", query
        if scanned.more:  # more than a page: each way picks its own newest first
            continue
        assert [(h.waybill_number, h.score) for h in found.hits] == [
            (h.waybill_number, h.score) for h in scanned.hits
        ], query
        compared += 1
    assert compared > 200


def test_a_common_word_alone_is_scanned(
    indexed_store: tuple[Store, SearchIndex, list[tuple[Any, ...]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, index, _ = indexed_store
    monkeypatch.setattr(search_module, "COMMON_FLOOR", 0)  # as if there were millions
    page = search_module.search(store.con.cursor(), "市", index=index)
    assert page.by == "scan" and page.hits  # in nearly every address: a scan finds 20 at once


def test_changed_and_deleted_waybills_leave_the_index(
    indexed_store: tuple[Store, SearchIndex, list[tuple[Any, ...]]],
) -> None:
    """The store tells the index which waybills a batch touched; the index reads them again."""
    store, index, rows = indexed_store
    cur = store.con.cursor()
    moved = (*rows[9][:9], "测试市里程碑路7号")
    old = rows[10]
    word = (old[9] or old[6]).replace(" ", "")[:5]
    listed = search_module.search(cur, word, limit=100, index=index)
    assert old[1] in [h.waybill_number for h in listed.hits] or listed.more
    apply(store, [("update", moved), ("delete", old)])
    wait_for(
        lambda: (
            [h.waybill_number for h in search_module.search(cur, "里程碑路7", index=index).hits]
            == [moved[1]]
        ),
        10,
        "the changed address in the index",
    )
    assert search_module.search(cur, "里程碑路7", index=index).by == "index"
    after = search_module.search(cur, word, limit=100, index=index)
    assert old[1] not in [h.waybill_number for h in after.hits]


def test_a_truncate_means_a_rebuild(
    indexed_store: tuple[Store, SearchIndex, list[tuple[Any, ...]]],
) -> None:
    store, index, rows = indexed_store
    built = index.status()["last_build_s"]
    fresh = (90_000, "3000090000", "7000090000", None, "赵六", "13800001111", "重建镇新路1号")
    apply(store, [("insert", (*fresh, None, None, None))], truncate=True)
    cur = store.con.cursor()
    wait_for(lambda: index.ready and index.status()["waybills"] == 1, 30, "the rebuilt index")
    assert built is not None and index.status()["last_build_s"] is not None
    found = search_module.search(cur, "重建镇新", index=index)
    assert [h.waybill_number for h in found.hits] == ["3000090000"] and found.by == "index"
    apply(store, [("insert", row) for row in rows])  # back as the other tests found it
    wait_for(lambda: index.status()["waybills"] == len(rows) + 1, 30, "the waybills again")


# -- through the pipeline ---------------------------------------------------------------------


@dataclass
class Served:
    url: str
    store: Path
    env: dict[str, str]
    settings: Any
    running: Pipeline


def index_status(running: Pipeline) -> dict[str, Any]:
    status: dict[str, Any] = httpx.get(running.url + "/api/pipeline", timeout=30).json()[
        "search_index"
    ]
    return status


def start(settings: Any, first: bool = False) -> Pipeline:
    """The pipeline, once its index is ready (and, the first time, its snapshot taken: a
    restarted source shows `stopped` until its next change)."""
    running = Pipeline(settings).start()
    if first:
        with running.client() as client:
            wait_for(lambda: snapshotted(client), 120, "the snapshot")
    wait_for(lambda: index_status(running)["state"] == "ready", 120, "the search index")
    return running


@pytest.fixture(scope="module")
def served(
    pg_server: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    url, crm, store, env = simulated_carrier(pg_server, tmp_path_factory, "search", days=2)
    settings = carrier_settings(url, store, crm)
    world = Served(url, store, env, settings, start(settings, first=True))
    try:
        yield world
    finally:
        world.running.stop()
        for database in (url, crm):
            drop_slots(pg_server, database.rsplit("/", 1)[1])


def search(world: Served, query: str, limit: int = 100) -> dict[str, Any]:
    params = urllib.parse.urlencode({"q": query, "limit": limit})
    response = httpx.get(f"{world.running.url}/api/search?{params}", timeout=30)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def source_matches(url: str, words: list[str]) -> set[str]:
    """The waybill numbers at the source matching every word (the truth, in PostgreSQL)."""
    where, params = [], []
    for word in words:
        if word.isdigit() and len(word) == 4:
            where.append("(right(receive_mobile, 4) = %s OR right(delivery_mobile, 4) = %s)")
            params += [word, word]
        else:
            texts = ("receive_customer_name", "delivery_customer_name")
            columns = (*texts, "receive_addr", "delivery_addr")
            where.append("(" + " OR ".join(f"strpos({c}, %s) > 0" for c in columns) + ")")
            params += [word] * 4
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute(f"SELECT waybill_number FROM tbl_waybill WHERE {' AND '.join(where)}", params)
        found = {row[0] for row in cur.fetchall()}
    conn.close()
    return found


def test_searches_go_through_the_index_and_find_what_the_source_holds(served: Served) -> None:
    conn = pg(served.url)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT receive_customer_name, receive_mobile, receive_addr, delivery_addr "
            "FROM tbl_waybill ORDER BY id LIMIT 12"
        )
        waybills = cur.fetchall()
    conn.close()
    asked = 0
    for name, phone, receive_addr, delivery_addr in waybills:
        for words in ([receive_addr[-7:]], [name[0], phone[-4:]], [delivery_addr[2:6], name]):
            expected = source_matches(served.url, words)
            if len(expected) >= 100:
                continue
            page = search(served, " ".join(words))
            if page["by"] != "index":  # every word common in this small carrier: scanned
                assert page["by"] == "scan"
                continue
            assert {h["waybill_number"] for h in page["hits"]} == expected, words
            asked += 1
    assert asked >= 12


def test_a_waybill_changed_at_the_source_is_found_within_seconds(served: Served) -> None:
    conn = pg(served.url)
    marker = f"测试里程碑{random.randrange(10_000, 99_999)}号"
    with conn.cursor() as cur:
        cur.execute("SELECT id, waybill_number, receive_addr FROM tbl_waybill ORDER BY id LIMIT 1")
        waybill_id, number, addr = cur.fetchone()
        cur.execute("UPDATE tbl_waybill SET receive_addr = %s WHERE id = %s", (marker, waybill_id))
        changed = time.monotonic()
        found = lambda: [h["waybill_number"] for h in search(served, marker)["hits"]]  # noqa: E731
        wait_for(lambda: found() == [number], 15, "the changed address in searches")
        seen_after = time.monotonic() - changed
        cur.execute("UPDATE tbl_waybill SET receive_addr = %s WHERE id = %s", (addr, waybill_id))
        wait_for(lambda: found() == [], 15, "the old address back")
    conn.close()
    assert search(served, marker)["by"] == "index"
    assert seen_after < 10


def test_a_restart_reuses_the_index_and_a_store_moved_on_rebuilds_it(served: Served) -> None:
    served.running.stop()
    reopened = start(served.settings)
    try:
        status = index_status(reopened)
        assert status["last_build_s"] is None  # opened as it was, not rebuilt
        assert status["waybills"] > 0
    finally:
        reopened.stop()
    marker = f"重启后{random.randrange(10_000, 99_999)}路"
    conn = pg(served.url)
    with conn.cursor() as cur:
        cur.execute("SELECT id, waybill_number FROM tbl_waybill ORDER BY id DESC LIMIT 1")
        waybill_id, number = cur.fetchone()
        cur.execute("UPDATE tbl_waybill SET delivery_addr = %s WHERE id = %s", (marker, waybill_id))
    conn.close()
    captured = kuaike(["capture", "--until-caught-up"], served.env)  # without the service
    assert captured.returncode == 0, captured.stderr[-2000:]
    stale = kuaike(["search", marker, "--json"], served.env)  # the index is behind: a scan
    assert stale.returncode == 0, stale.stderr
    assert json.loads(stale.stdout)["by"] == "scan"
    assert [h["waybill_number"] for h in json.loads(stale.stdout)["hits"]] == [number]
    served.running = start(served.settings)
    assert index_status(served.running)["last_build_s"] is not None  # rebuilt
    page = search(served, marker)
    assert page["by"] == "index" and [h["waybill_number"] for h in page["hits"]] == [number]
    served.running.stop()
    local = kuaike(["search", marker, "--json"], served.env)  # current again: the index
    assert local.returncode == 0, local.stderr
    assert json.loads(local.stdout)["by"] == "index"
    served.running = start(served.settings)
    assert directory_for(served.store) is not None
