"""Parcel tracking under load. Starts its own private PostgreSQL with a small simulated carrier,
captures it, adds `--bills` synthetic parcels with their journeys straight into the replica
(express bill, collect task, waybill with Chinese names, phones and addresses, two warehouse
entries, a leg, a dispatch, a delivery), builds tracking's indexes, then runs the pipeline
process (capture + the HTTP server) in this process and prints p50/p99 of

- lookup by number (`/api/track/{number}`), search by a whole phone, search by an address part
  (`/api/search?q=`), each in-process (a cursor of the pipeline's store, one caller) and over
  HTTP with `--clients` concurrent keep-alive clients (in a child process: they do not share
  the server's GIL), saturating (each sends as soon as its last answer came) and paced
  (`--paced` requests/s in all);
- baseline: the same with no changes being captured; loaded: while a writer commits `--rate`
  changes/s to two indexed tracking tables at the source, which capture applies;
- freshness: source commit → committed in ODS (p50/p95), and source commit → the new event in
  the timeline over HTTP (a warehouse entry inserted at the source, polled).

Usage: python bench/track.py [--bills 1000000] [--clients 200] [--rate 5000] [--seconds 10]
                             [--kinds number,phone,address] [--keep DIR]
Targets (DESIGN §6): number lookup p99 < 20 ms over HTTP at 200 clients, search p99 < 200 ms
(10 M bills), freshness p95 < 1 s while serving.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import httpx
import psycopg2

from kuaike import pipeline, track
from kuaike.business.servers import PrivatePostgres
from kuaike.capture.events import ChangeBatch
from kuaike.config import CaptureSettings, Settings
from kuaike.serve.metrics import TimedStore
from kuaike.store.writer import open_duckdb
from kuaike.track.places import TABLES, Dimensions

SIMULATION = [
    "--seed", "5", "--orders-per-day", "3000", "--companies", "5", "--warehouses", "30",
    "--dots", "80", "--couriers-per-dot", "3", "--customers", "2000", "--workers", "1",
]  # fmt: skip
ID_BASE = 100_000_000  # synthetic rows' ids, far above the simulator's
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国文辉力鹏宇浩然欣怡子涵梓轩"
)
DISTRICTS = [
    "杭州市西湖区",
    "杭州市拱墅区",
    "上海市浦东新区",
    "上海市徐汇区",
    "北京市海淀区",
    "北京市朝阳区",
    "广州市天河区",
    "深圳市南山区",
    "成都市武侯区",
    "武汉市洪山区",
    "南京市鼓楼区",
    "西安市雁塔区",
    "郑州市金水区",
    "长沙市岳麓区",
    "重庆市渝北区",
    "天津市南开区",
    "苏州市姑苏区",
    "青岛市市南区",
]
ROADS = [
    "文三路",
    "文二路",
    "天目山路",
    "延安路",
    "中山路",
    "人民路",
    "解放路",
    "建设路",
    "和平路",
    "长江路",
    "黄河路",
    "科技园路",
    "学院路",
    "新华路",
    "东风路",
    "胜利路",
    "青年路",
    "光明路",
    "湖滨路",
    "滨江路",
    "江南大道",
    "世纪大道",
    "南京路",
    "淮海路",
    "北京路",
    "幸福路",
    "朝阳路",
    "红旗路",
    "迎宾路",
    "花园路",
]


class FreshStore(TimedStore):
    """The pipeline's store, noting each applied transaction's commit → ODS delay, and itself
    (for the in-process lookups)."""

    delays: ClassVar[list[float]] = []
    opened: ClassVar[list[FreshStore]] = []

    def __init__(self, con: Any, path: Any) -> None:
        super().__init__(con, path)
        FreshStore.opened.append(self)

    def apply(self, batch: ChangeBatch) -> int:
        batch_id = super().apply(batch)
        now = datetime.now(UTC)
        FreshStore.delays.extend((now - ts).total_seconds() for ts in batch.commit_ts if ts)
        return batch_id


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def figures(latencies: list[float], seconds: float | None = None) -> str:
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    rate = f"  ({len(latencies) / seconds:,.0f} req/s)" if seconds else ""
    return f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms{rate}"


# -- the replica ----------------------------------------------------------------------------


def _list(con: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    return [row[0] if len(row) == 1 else row for row in con.execute(sql).fetchall()]


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v + "'" for v in values) + "]"


def add_parcels(store: Path, bills: int) -> dict[str, float]:
    """`bills` synthetic parcels over the last year, straight into ods.*; seconds per step."""
    con = open_duckdb(store)
    routes = _list(
        con,
        "SELECT id FROM ods.tbl_route ORDER BY id",
    )
    couriers = _list(con, "SELECT id FROM ods.tbl_courier ORDER BY id")
    dots = _list(con, "SELECT id FROM ods.tbl_dot ORDER BY id")
    con.execute(
        "CREATE TEMP TABLE r AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, "
        "start_warehouse_id AS sw, end_warehouse_id AS ew, time_consumer_minute AS m "
        "FROM ods.tbl_route"
    )
    n_routes, n_couriers, n_dots = len(routes), len(couriers), len(dots)
    meta = "'snapshot' AS _kuaike_op, '0' AS _kuaike_pos, now() AS _kuaike_commit_ts"
    meta += ", 0 AS _kuaike_batch"
    span = 365 * 86400
    base = (
        f"SELECT i, {ID_BASE} + i AS id, "
        f"TIMESTAMP '{(datetime.now() - timedelta(days=365)).replace(microsecond=0)}' "
        f"+ to_seconds(i * {span} // {bills}) AS t, "
        f"CAST(8000000000 + (i * 7919 + 12345) % 1000000000 AS VARCHAR) AS express, "
        f"CAST(3000000000 + (i * 104729 + 777) % 1000000000 AS VARCHAR) AS waybill, "
        f"{_sql_list(list(map(str, couriers)))}[1 + i % {n_couriers}]::BIGINT AS courier, "
        f"{_sql_list(list(map(str, dots)))}[1 + (i * 31) % {n_dots}]::BIGINT AS dot, "
        f"i % {n_routes} AS route_k FROM range({bills}) t(i)"
    )
    person = (
        "{s}[1 + {h} % {ns}] || {g}[1 + ({h} // 7) % {ng}] || "
        "CASE WHEN {h} % 3 = 0 THEN {g}[1 + ({h} // 11) % {ng}] ELSE '' END"
    )
    surnames = _sql_list(list(SURNAMES))
    given = _sql_list(list(GIVEN))
    districts, roads = _sql_list(DISTRICTS), _sql_list(ROADS)

    def name(h: str) -> str:
        h = f"({h})"
        return person.format(s=surnames, g=given, h=h, ns=len(SURNAMES), ng=len(GIVEN))

    def address(h: str) -> str:
        h = f"({h})"
        return (
            f"{districts}[1 + {h} % {len(DISTRICTS)}] || {roads}[1 + ({h} // 5) % {len(ROADS)}] "
            f"|| (1 + ({h} // 3) % 300) || '号' || (1 + ({h} // 13) % 30) || '栋' "
            f"|| (101 + ({h} // 17) % 2500) || '室'"
        )

    def phone(h: str) -> str:
        h = f"({h})"
        digits = f"CAST(({h} * 2654435761) % 1000000000 AS VARCHAR)"
        return f"'1' || (3 + {h} % 7) || lpad({digits}, 9, '0')"

    steps = {
        "tbl_express_bill": "SELECT id, express AS express_number, courier AS eid, t AS order_dt, "
        "t AS cdt, t AS udt FROM b",
        "tbl_collect_package": "SELECT id, id AS express_bill_id, express AS express_bill_number, "
        "courier AS eid, 3 AS state, id AS pkg_id, t + INTERVAL 1 HOUR AS collect_package_dt, "
        "t AS cdt, t + INTERVAL 1 HOUR AS udt FROM b",
        "tbl_waybill": f"SELECT id, express AS express_bill_number, waybill AS waybill_number, "
        f"courier AS eid, t AS order_dt, id AS pkg_id, "
        f"{name('i * 3 + 1')} AS delivery_customer_name, "
        f"{address('i * 5 + 2')} AS delivery_addr, {phone('i * 7 + 3')} AS delivery_mobile, "
        f"{name('i * 11 + 4')} AS receive_customer_name, {address('i * 13 + 5')} AS receive_addr, "
        f"{phone('i * 17 + 6')} AS receive_mobile, t + INTERVAL 2 HOUR AS cdt, "
        "t + INTERVAL 2 HOUR AS udt FROM b",
        "tbl_push_warehouse": "SELECT 2 * b.id + s.n AS id, b.id AS pw_waybill_id, "
        "waybill AS pw_waybill_number, dot AS pw_dot_id, CASE s.n WHEN 0 THEN r.sw ELSE r.ew END "
        "AS warehouse_id, t + INTERVAL 4 HOUR + s.n * to_minutes(r.m + 240) AS pw_start_dt, "
        "t + INTERVAL 4 HOUR + s.n * to_minutes(r.m + 240) AS cdt, "
        "t + INTERVAL 4 HOUR + s.n * to_minutes(r.m + 240) AS udt "
        "FROM b JOIN r ON r.k = b.route_k, range(2) s(n)",
        "tbl_transport_record": "SELECT b.id, 2 * b.id AS pw_id, b.id AS pw_waybill_id, "
        "waybill AS pw_waybill_number, r.sw AS sw_id, r.ew AS ew_id, r.id AS route_id, "
        "r.m AS duration, 2 AS state, t + INTERVAL 8 HOUR AS start_vehicle_dt, "
        "t + INTERVAL 8 HOUR + to_minutes(r.m) AS predict_arrivals_dt, "
        "t + INTERVAL 8 HOUR + to_minutes(CAST(r.m * 0.9 AS BIGINT)) AS actual_arrivals_dt, "
        "t + INTERVAL 8 HOUR AS cdt, t + INTERVAL 8 HOUR AS udt FROM b JOIN r ON r.k = b.route_k",
        "tbl_out_warehouse": "SELECT b.id, b.id AS pw_waybill_id, waybill AS pw_waybill_number, "
        "r.ew AS warehouse_id, dot AS ow_dot_id, t + INTERVAL 14 HOUR + to_minutes(r.m) "
        "AS ow_end_dt, t + INTERVAL 14 HOUR AS cdt, t + INTERVAL 14 HOUR AS udt "
        "FROM b JOIN r ON r.k = b.route_k",
        "tbl_deliver_package": "SELECT b.id, courier AS emp_id, b.id AS waybill_id, waybill AS "
        "waybill_number, b.id AS express_bill_id, express AS express_bill_number, "
        "t + INTERVAL 14 HOUR + to_minutes(r.m) AS collect_package_dt, "
        "t + INTERVAL 14 HOUR + to_minutes(r.m) AS cdt, 3 AS state, 1 AS rece_type, "
        "t + INTERVAL 17 HOUR + to_minutes(r.m) AS rece_dt, "
        "t + INTERVAL 17 HOUR + to_minutes(r.m) AS udt FROM b JOIN r ON r.k = b.route_k",
    }
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    con.execute(f"CREATE TEMP TABLE b AS {base}")
    for table, select in steps.items():
        con.execute(f"INSERT INTO ods.{table} BY NAME SELECT *, {meta} FROM ({select})")
    con.execute("CHECKPOINT")
    seconds["rows"] = time.perf_counter() - started
    started = time.perf_counter()
    track.ensure_indexes(con.cursor())
    con.execute("CHECKPOINT")
    seconds["indexes"] = time.perf_counter() - started
    con.close()
    return seconds


def samples(store: Path, count: int) -> dict[str, list[str]]:
    """Numbers, whole phones and address parts to look up (synthetic parcels)."""
    con = duckdb.connect(str(store), read_only=True)
    rows = con.execute(
        f"SELECT express_bill_number, receive_mobile, receive_addr FROM ods.tbl_waybill "
        f"WHERE id >= {ID_BASE} USING SAMPLE {count} ROWS"
    ).fetchall()
    con.close()
    rng = random.Random(4)
    parts = []
    for _number, _phone, addr in rows:
        road = next((r for r in ROADS if r in addr), ROADS[0])
        parts.append(road + addr.split(road, 1)[1].split("号")[0] + "号")  # 文三路12号
    rng.shuffle(parts)
    return {
        "number": [r[0] for r in rows],
        "phone": [r[1] for r in rows],
        "address": parts,
    }


# -- load -------------------------------------------------------------------------------------


def path_of(kind: str, value: str) -> str:
    if kind == "number":
        return "/api/track/" + value
    return "/api/search?" + urllib.parse.urlencode({"q": value})


async def _one_client(
    host: str, port: int, paths: list[str], seconds: float, out: list[float], every_s: float
) -> None:
    """One keep-alive connection (a minimal HTTP/1.1 client: httpx's pool costs more CPU than
    the server at these rates)."""
    reader, writer = await asyncio.open_connection(host, port)
    deadline = time.perf_counter() + seconds
    await asyncio.sleep(every_s * random.random())
    index = random.randrange(len(paths))
    while time.perf_counter() < deadline:
        index = (index + 1) % len(paths)
        started = time.perf_counter()
        writer.write(f"GET {paths[index]} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        out.append(time.perf_counter() - started)
        await asyncio.sleep(max(0.0, every_s - (time.perf_counter() - started)))
    writer.close()


def load(url: str, paths: list[str], clients: int, seconds: float, every_s: float) -> list[float]:
    host, port = url.split("//", 1)[1].split(":")
    out: list[float] = []

    async def run() -> None:
        await asyncio.gather(
            *(_one_client(host, int(port), paths, seconds, out, every_s) for _ in range(clients))
        )

    asyncio.run(run())
    return out


def in_process(work: Callable[[str], Any], values: list[str], seconds: float) -> list[float]:
    latencies, deadline, index = [], time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        work(values[index % len(values)])
        latencies.append(time.perf_counter() - started)
        index += 1
    return latencies


# -- the writer at the source -------------------------------------------------------------------


def steady_writer(
    url: str, rate: int, seconds: float, stop: threading.Event, first: int, waybills: list[str]
) -> int:
    """`rate` changes/s in 10 ms ticks: warehouse entries inserted, transport records updated
    (both tables carry tracking's indexes)."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    per_tick = max(rate // 100, 2)
    written, next_id, started = 0, first, time.perf_counter()
    with conn.cursor() as cur:
        while time.perf_counter() - started < seconds and not stop.is_set():
            half = per_tick // 2
            numbers = [waybills[(next_id + k) % len(waybills)] for k in range(half)]
            cur.execute(
                "BEGIN; INSERT INTO tbl_push_warehouse (id, pw_waybill_number, warehouse_id, "
                "pw_start_dt, cdt, udt) SELECT g, n, 1, now(), now(), now() FROM "
                "unnest(%s::bigint[], %s::text[]) AS u(g, n); "
                "UPDATE tbl_push_warehouse SET pw_position = 'B区1排', udt = now() "
                "WHERE id BETWEEN %s AND %s; COMMIT",
                (list(range(next_id, next_id + half)), numbers, next_id - half, next_id - 1),
            )
            next_id += half
            written += per_tick
            time.sleep(max(0.0, started + written / rate - time.perf_counter()))
    conn.close()
    return written


def free_id(source: str, low: int, high: int) -> int:
    """The first warehouse-entry id in [low, high) after those written there already."""
    conn = psycopg2.connect(source)
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT max(id) FROM tbl_push_warehouse WHERE id >= %s AND id < %s", (low, high)
        )
        found = cur.fetchone()
    conn.close()
    return low if found is None or found[0] is None else int(found[0]) + 1


def timeline_freshness(
    url: str, source: str, waybill: str, number: str, rounds: int
) -> list[float]:
    """Source commit → the new warehouse entry in the timeline over HTTP, `rounds` times."""
    first = free_id(source, ID_BASE * 9, ID_BASE * 10)
    conn = psycopg2.connect(source)
    conn.autocommit = True
    delays = []
    with conn.cursor() as cur, httpx.Client(base_url=url, timeout=30) as client:
        for n in range(rounds):
            before = len(client.get(f"/api/track/{number}").json()["events"])
            cur.execute(
                "INSERT INTO tbl_push_warehouse (id, pw_waybill_number, warehouse_id, "
                "pw_start_dt, cdt, udt) VALUES (%s, %s, 1, now(), now(), now())",
                (first + n, waybill),
            )
            committed = time.perf_counter()
            while len(client.get(f"/api/track/{number}").json()["events"]) == before:
                time.sleep(0.005)
            delays.append(time.perf_counter() - committed)
            time.sleep(0.2)
    conn.close()
    return delays


# -- the run ----------------------------------------------------------------------------------


def setup(tmp: Path, bills: int) -> tuple[PrivatePostgres, Settings]:
    server = PrivatePostgres(tmp / "pg", settings={"max_wal_size": "4GB"}).start()
    url, crm = server.url_for("logistics"), server.url_for("crm")
    store = tmp / "bench.duckdb"
    if store.exists():  # --keep: made by an earlier run (10 M bills take ~10 min to make)
        print(f"reusing {store}", flush=True)
        return server, Settings(logistics_url=url, crm_url=crm, store=store)
    env = {"KUAIKE_LOGISTICS_URL": url, "KUAIKE_CRM_URL": crm, "KUAIKE_STORE": str(store)}
    end = datetime.now().replace(microsecond=0).isoformat(sep=" ")
    print("simulating 2 days of a small carrier, capturing it ...", flush=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KUAIKE_")}
    command = [sys.executable, "-m", "kuaike", "simulate", "--history-days", "2", "--end", end]
    subprocess.run([*command, *SIMULATION], env={**clean, **env}, check=True, capture_output=True)
    capture = [sys.executable, "-m", "kuaike", "capture", "--until-caught-up"]
    subprocess.run(capture, env={**clean, **env}, check=True, capture_output=True)
    print(f"adding {bills:,} parcels with their journeys to the replica ...", flush=True)
    took = add_parcels(store, bills)
    count = len(track.indexes.INDEXES)
    print(f"  rows in {took['rows']:.1f} s, tracking's {count} indexes in {took['indexes']:.1f} s")
    settings = Settings(logistics_url=url, crm_url=crm, store=store, capture=CaptureSettings())
    return server, settings


def start_pipeline(settings: Settings, stop: threading.Event) -> tuple[threading.Thread, str]:
    urls: list[str] = []
    pipeline.TimedStore = FreshStore  # type: ignore[attr-defined]  # the bench's own store
    thread = threading.Thread(
        target=pipeline.run_capture,
        args=(settings, stop),
        kwargs={"serve_at": ("127.0.0.1", 0), "on_serving": urls.append},
    )
    thread.start()
    while not urls:
        time.sleep(0.1)
    return thread, urls[0]


def measure_all(
    label: str, pool: Any, url: str, keys: dict[str, list[str]], args: argparse.Namespace
) -> None:
    store = FreshStore.opened[-1]
    cur = store.con.cursor()
    transit = track.TransitTimes()
    dims = Dimensions(lambda: store.version_of(TABLES))  # as the service keeps them
    works: dict[str, Callable[[str], Any]] = {
        "number": lambda n: track.lookup(cur, n, transit=transit, dims=dims),
        "phone": lambda q: track.search(cur, q),
        "address": lambda q: track.search(cur, q),
    }
    every = args.clients / args.paced
    print(f"\n{label} (load average {os.getloadavg()[0]:.1f})")
    for kind, values in keys.items():
        if kind not in args.kinds:
            continue
        paths = [path_of(kind, v) for v in values]
        local = in_process(works[kind], values, args.seconds / 2)
        print(f"  {kind:8} in-process, 1 caller        {figures(local)}", flush=True)
        busy = pool.apply(load, (url, paths, args.clients, args.seconds, 0.0))
        print(f"  {kind:8} HTTP {args.clients} clients, saturating {figures(busy, args.seconds)}")
        paced = pool.apply(load, (url, paths, args.clients, args.seconds, every))
        print(
            f"  {kind:8} HTTP {args.clients} clients, {args.paced:g}/s   "
            f"{figures(paced, args.seconds)}",
            flush=True,
        )
    cur.close()


def freshness(label: str, delays: list[float]) -> str:
    p50, p95 = statistics.median(delays), percentile(delays, 0.95)
    load = os.getloadavg()[0]
    return (
        f"{label}: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms ({len(delays):,} txns, "
        f"load average {load:.1f})"
    )


def run(args: argparse.Namespace, settings: Settings, url: str, keys: dict[str, list[str]]) -> None:
    stop = threading.Event()
    pool = multiprocessing.get_context("spawn").Pool(1)
    with httpx.Client(base_url=url, timeout=600) as client:
        started = time.perf_counter()
        client.get(f"/api/track/{keys['number'][0]}").raise_for_status()  # indexes, transit
        print(f"first lookup (index check, transit history) {time.perf_counter() - started:.1f} s")
        while (status := client.get("/api/pipeline").json()["search_index"] or {}).get(
            "state", "ready"
        ) != "ready":
            if status["state"] == "failed":
                raise SystemExit("the search index failed; see the log above")
            time.sleep(1)
        if not status:
            print("search index: off (every search by name, address or phone tail scans)")
        else:
            built = status["last_build_s"]
            how = f"built in {built:.0f} s" if built is not None else "reused from --keep"
            print(f"search index: {status['waybills']:,} waybills, {how}", flush=True)
    measure_all("baseline: no changes being captured", pool, url, keys, args)
    source = settings.logistics_url or ""
    con_ids = [free_id(source, ID_BASE * 5, ID_BASE * 9)]  # past an earlier run's (--keep)
    waybills = [path.split("/")[-1] for path in keys["number"]]  # express numbers work too

    def write(seconds: float) -> None:
        con_ids[0] += steady_writer(source, args.rate, seconds, stop, con_ids[0], waybills)

    write(3.0)
    FreshStore.delays.clear()
    write(args.seconds)
    print(
        f"  {freshness(f'freshness at {args.rate:,} changes/s, no HTTP load', FreshStore.delays)}"
    )
    FreshStore.delays.clear()
    total = args.seconds * 2.5 * len(args.kinds) + 10
    writer = threading.Thread(target=write, args=(total,))
    writer.start()
    measure_all(f"loaded: capture applies {args.rate:,} changes/s", pool, url, keys, args)
    number = keys["number"][1]
    waybill = httpx.get(f"{url}/api/track/{number}").json()["waybill_number"]
    seen = timeline_freshness(url, source, waybill, number, 20)
    writer.join()
    print(f"  {freshness('freshness during the loaded runs (commit → ODS)', FreshStore.delays)}")
    print(f"  {freshness('commit → event in the timeline over HTTP, while loaded', seen)}")
    pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=1_000_000, help="synthetic parcels")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=int, default=5_000, help="changes/s captured when loaded")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--paced", type=float, default=200, help="requests/s of the paced runs")
    parser.add_argument(
        "--kinds",
        type=lambda text: text.split(","),
        default=["number", "phone", "address"],
        help="what to look up, comma-separated (number,phone,address)",
    )
    parser.add_argument(
        "--no-search-index",
        action="store_true",
        help="serve without the search index (track.search_index = false): the scan, to compare",
    )
    parser.add_argument(
        "--keep", type=Path, help="a folder to keep the replica and source in, reused when there"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        tmp = args.keep or stack.enter_context(tempfile.TemporaryDirectory(prefix="kuaike-bench-"))
        server, settings = setup(Path(tmp), args.bills)
        if args.no_search_index:
            track_settings = settings.track.model_copy(update={"search_index": False})
            settings = settings.model_copy(update={"track": track_settings})
        keys = samples(settings.store_path, 500)
        stop = threading.Event()
        try:
            thread, url = start_pipeline(settings, stop)
            try:
                run(args, settings, url, keys)
            finally:
                stop.set()
                thread.join(60)
        finally:
            server.stop()
    print(f"note: {args.bills:,} bills; 2-core machine shared with other work, clients and server")
    print("share its cores")


if __name__ == "__main__":
    main()
