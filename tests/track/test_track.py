"""Parcel tracking against the simulator: parcels driven to every stage by the simulator's own
event functions, written into PostgreSQL as live operation writes them, captured by the
pipeline process, looked up over HTTP and with the CLI. Every timeline is checked against what
the simulator wrote (its parcels' rows, stops and times)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import random
import re
import sys
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "capture"))

from pg_replica import kuaike, pg, wait_for

from kuaike.business.servers import PrivatePostgres
from kuaike.business.simulate import load
from kuaike.business.simulate.lifecycle import Parcel, World, ticket
from kuaike.business.simulate.model import Carrier, Ids
from kuaike.business.simulate.transactions import LiveWriter
from tests.serve.conftest import Pipeline, carrier_settings, simulated_carrier, snapshotted

pytestmark = pytest.mark.timeout(300)

TOKEN = "track-token-0815"
GOOD = {"Authorization": f"Bearer {TOKEN}"}
HOUR = dt.timedelta(hours=1)
MASKED = re.compile(r"^\d{3}\*{4}\d{4}$")


class Fixed(random.Random):
    """A generator whose random() is fixed: the simulator's sign() then signs (0.5) or
    rejects (0.0) for sure."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@dataclass
class Driven:
    """A parcel moved through chosen steps, with what each step wrote and when."""

    parcel: Parcel
    steps: list[tuple[str, dt.datetime]]

    @property
    def number(self) -> str:
        return str(self.parcel.rows["tbl_collect_package"]["express_bill_number"])


class Driver:
    """Runs the simulator's event functions for hand-picked parcels, one transaction each."""

    def __init__(self, url: str, crm: str) -> None:
        self.carrier: Carrier = load.load_carrier(url, crm)
        self.carrier.warm()
        self.world = World(random.Random(11), Ids(load.next_ids(url, crm)), self.carrier)
        self.writer = LiveWriter(url, 1)
        self.keys = itertools.count(1)

    def parcel(self, ordered: dt.datetime, legs: int = 1) -> Parcel:
        """A new parcel whose path has at least `legs` legs."""
        for _ in range(1000):
            order = ticket(self.world.rng, self.carrier, ordered)
            parcel = Parcel(self.world, order)
            if len(parcel.path) - 1 >= legs:
                parcel.steps = []
                return parcel
        raise AssertionError("no path with enough legs in this carrier")

    def run(self, parcel: Parcel, plan: list[str], start: dt.datetime) -> Driven:
        key, when, done = next(self.keys), start, []
        for name in plan:
            step = self._step(parcel, name)
            self.writer.submit(key, step(when))
            done.append((name, when))
            when += HOUR
        self.writer.flush()
        return Driven(parcel, done)

    def more(self, driven: Driven, name: str, when: dt.datetime) -> None:
        self.writer.submit(next(self.keys), self._step(driven.parcel, name)(when))
        self.writer.flush()
        driven.steps.append((name, when))

    @staticmethod
    def _step(parcel: Parcel, name: str) -> Any:
        kind, _, arg = name.partition(":")
        if kind in ("into", "depart", "lose"):
            method = {"into": parcel.into_warehouse, "depart": parcel.depart, "lose": parcel.lose}
            return method[kind](int(arg))
        if kind in ("sign", "reject"):

            def signing(when: dt.datetime) -> Any:
                kept, parcel.rng = parcel.rng, Fixed(0.5 if kind == "sign" else 0.0)
                try:
                    return parcel.sign(when)
                finally:
                    parcel.rng = kept

            return signing
        return getattr(parcel, kind)


def journey(legs: int) -> list[str]:
    steps = ["order", "collect", "waybill", "into:0"]
    for leg in range(legs):
        steps += [f"depart:{leg}", f"into:{leg + 1}"]
    return steps


STAGES: dict[str, tuple[list[str] | None, str]] = {
    "ordered": (["order"], "ordered"),
    "cancelled": (["order", "cancel"], "cancelled"),
    "collected": (["order", "collect", "waybill"], "collected"),
    "at_hub": (["order", "collect", "waybill", "into:0"], "at_hub"),
    "in_transit": (["order", "collect", "waybill", "into:0", "depart:0"], "in_transit"),
    "next_hub": (None, "at_hub"),  # arrived at the second warehouse
    "lost": (["order", "collect", "waybill", "into:0", "depart:0", "lose:0"], "lost"),
    "out_for_delivery": (None, "out_for_delivery"),
    "signed": (None, "signed"),
    "rejected": (None, "rejected"),
}


def plan_for(stage: str, parcel: Parcel) -> list[str]:
    plan, _ = STAGES[stage]
    if plan is not None:
        return plan
    legs = len(parcel.path) - 1
    if stage == "next_hub":
        return journey(1)
    full = [*journey(legs), "out_for_delivery"]
    return {"out_for_delivery": full, "signed": [*full, "sign"], "rejected": [*full, "reject"]}[
        stage
    ]


def expected_events(driven: Driven) -> list[tuple[str, dt.datetime, str, int]]:
    """(event, time, place kind, place id) as the simulator's steps imply them."""
    parcel, out = driven.parcel, []
    origin, destination = parcel.origin.id, parcel.destination.id
    for name, when in driven.steps:
        kind, _, arg = name.partition(":")
        if kind == "order":
            out.append(("ordered", when, "dot", origin))
        elif kind == "cancel":
            out.append(("cancelled", when, "dot", origin))
        elif kind == "collect":
            out.append(("collected", when, "dot", origin))
        elif kind == "waybill":
            out.append(("at_outlet", when, "dot", origin))
        elif kind == "into":
            stop = int(arg)
            if stop:
                out.append(("arrived", when, "warehouse", parcel.path[stop]))
            out.append(("into_warehouse", when, "warehouse", parcel.path[stop]))
        elif kind == "depart":
            out.append(("departed", when, "warehouse", parcel.path[int(arg)]))
        elif kind == "lose":
            out.append(("lost", when, "warehouse", parcel.path[int(arg)]))
        elif kind == "out_for_delivery":
            out.append(("out_of_warehouse", when, "warehouse", parcel.path[-1]))
            out.append(("out_for_delivery", when, "dot", destination))
        elif kind in ("sign", "reject"):
            out.append(("signed" if kind == "sign" else "rejected", when, "dot", destination))
    return out


@dataclass
class Tracked:
    url: str
    store: Path
    env: dict[str, str]
    running: Pipeline
    driver: Driver
    parcels: dict[str, Driven]


@pytest.fixture(scope="module")
def tracked(
    pg_server: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tracked]:
    url, crm, store, env = simulated_carrier(pg_server, tmp_path_factory, "track", days=3)
    now = dt.datetime.now().replace(microsecond=0)
    driver = Driver(url, crm)
    start = now - dt.timedelta(days=2)
    parcels: dict[str, Driven] = {}
    for index, stage in enumerate(STAGES):
        legs = 2 if stage == "next_hub" else 1
        parcel = driver.parcel(start, legs)
        begin = start + dt.timedelta(minutes=7 * index)
        parcels[stage] = driver.run(parcel, plan_for(stage, parcel), begin)
    # on the road for three days: stuck; and one moved on once the pipeline runs
    parcels["stuck"] = driver.run(
        driver.parcel(now - dt.timedelta(days=3)),
        [*journey(0), "depart:0"],
        now - dt.timedelta(days=3),
    )
    parcels["moves"] = driver.run(
        driver.parcel(now - 2 * HOUR, 2), [*journey(0), "depart:0"], now - 6 * HOUR
    )
    running = Pipeline(carrier_settings(url, store, crm, token=TOKEN)).start()
    try:
        with running.client(**GOOD) as client:
            wait_for(lambda: snapshotted(client), 120, "the snapshot")
        yield Tracked(url, store, env, running, driver, parcels)
    finally:
        driver.writer.close()
        running.stop()


def get(world: Tracked, path: str, **headers: str) -> httpx.Response:
    return httpx.get(world.running.url + path, headers=headers, timeout=60)


def source_names(url: str, table: str, column: str, ids: set[int]) -> dict[int, str]:
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute(f"SELECT id, {column} FROM {table} WHERE id = ANY(%s)", (list(ids),))
        found = dict(cur.fetchall())
    conn.close()
    return found


@pytest.mark.parametrize("stage", list(STAGES))
def test_timeline_at_every_stage_is_what_the_simulator_wrote(tracked: Tracked, stage: str) -> None:
    driven = tracked.parcels[stage]
    data = get(tracked, f"/api/track/{driven.number}").json()
    expected = expected_events(driven)
    got = [
        (e["event"], dt.datetime.fromisoformat(e["time"]), e["place"]["kind"], e["place"]["id"])
        for e in data["events"]
    ]
    assert got == expected
    assert data["status"] == STAGES[stage][1]
    assert data["express_number"] == driven.number
    times = [e["time"] for e in data["events"]]
    assert times == sorted(times)
    # places carry the source's names, a city and coordinates
    warehouses = {e["place"]["id"] for e in data["events"] if e["place"]["kind"] == "warehouse"}
    dots = {e["place"]["id"] for e in data["events"] if e["place"]["kind"] == "dot"}
    names = source_names(tracked.url, "tbl_warehouse", "name", warehouses)
    names_dots = source_names(tracked.url, "tbl_dot", "dot_name", dots)
    for event in data["events"]:
        place = event["place"]
        known = names if place["kind"] == "warehouse" else names_dots
        assert place["name"] == known[place["id"]]
        assert place["city"] and place["lng"] and place["lat"]
    waybill = driven.parcel.rows.get("tbl_waybill")
    assert data["waybill_number"] == (waybill["waybill_number"] if waybill else None)


def test_departures_name_the_vehicle_route_and_next_stop(tracked: Tracked) -> None:
    driven = tracked.parcels["in_transit"]
    data = get(tracked, f"/api/track/{driven.number}").json()
    departed = data["events"][-1]
    leg = driven.parcel.rows["leg0"]
    assert departed["event"] == "departed"
    assert departed["vehicle"]["id"] == leg["transport_tool_id"]
    assert departed["vehicle"]["plate"]
    assert departed["route"]["id"] == leg["route_id"]
    assert departed["to"]["id"] == driven.parcel.path[1]
    assert departed["actor"]["role"] == "driver"
    eta = data["eta"]
    assert eta is not None and eta["p50"] <= eta["p90"]
    assert dt.datetime.fromisoformat(eta["p50"]) > dt.datetime.fromisoformat(departed["time"])


def test_a_waybill_number_finds_the_same_timeline(tracked: Tracked) -> None:
    driven = tracked.parcels["signed"]
    by_bill = get(tracked, f"/api/track/{driven.number}").json()
    by_waybill = get(tracked, f"/api/track/{by_bill['waybill_number']}").json()
    assert by_waybill["events"] == by_bill["events"]
    assert by_waybill["number"] == by_bill["waybill_number"]
    assert by_bill["eta"] is None  # signed: nothing ahead


def test_concurrent_lookups_wait_their_turn_and_answer_as_alone(tracked: Tracked) -> None:
    # more requests at once than the routes run at once (track.concurrency): the rest wait
    numbers = [driven.number for driven in tracked.parcels.values()] + ["9999999999"]
    paths = [f"/api/track/{n}" for n in numbers] + ["/api/search?q=1234"]
    answers = {path: get(tracked, path, **GOOD) for path in paths}
    alone = {path: (r.status_code, r.json()) for path, r in answers.items()}
    with ThreadPoolExecutor(max_workers=24) as pool:
        together = list(pool.map(lambda path: (path, get(tracked, path, **GOOD)), paths * 3))
    assert len(together) == 3 * len(paths)
    for path, response in together:
        assert (response.status_code, response.json()) == alone[path], path
    assert alone["/api/track/9999999999"][0] == 404


def test_phones_are_masked_without_the_token_and_clear_with_it(tracked: Tracked) -> None:
    driven = tracked.parcels["signed"]
    waybill = driven.parcel.rows["tbl_waybill"]
    public = get(tracked, f"/api/track/{driven.number}").json()
    assert MASKED.match(public["receiver"]["phone"]), public["receiver"]
    assert public["receiver"]["phone"][-4:] == waybill["receive_mobile"][-4:]
    assert waybill["receive_mobile"] not in json.dumps(public)
    staff = get(tracked, f"/api/track/{driven.number}", **GOOD).json()
    assert staff["receiver"]["phone"] == waybill["receive_mobile"]
    assert get(tracked, "/api/search?q=1234").status_code == 401
    assert get(tracked, "/api/track/stuck").status_code == 401


def test_unknown_number_is_404_not_found_in_one_line(tracked: Tracked) -> None:
    response = get(tracked, "/api/track/9999999999")
    assert response.status_code == 404
    assert response.json()["error"].startswith("not found")
    result = kuaike(["track", "9999999999"], {**tracked.env, "KUAIKE_SERVE_TOKEN": TOKEN})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "not found" in result.stderr and "Traceback" not in result.stderr


def test_a_parcel_moved_on_at_the_source_shows_after_the_next_batch(tracked: Tracked) -> None:
    driven = tracked.parcels["moves"]
    before = get(tracked, f"/api/track/{driven.number}").json()
    assert before["status"] == "in_transit"
    arrived = dt.datetime.now().replace(microsecond=0)
    tracked.driver.more(driven, "into:1", arrived)
    started = time.monotonic()

    def moved() -> bool:
        return get(tracked, f"/api/track/{driven.number}").json()["status"] == "at_hub"

    wait_for(moved, 15, "the arrival in the timeline")
    seen_after = time.monotonic() - started
    after = get(tracked, f"/api/track/{driven.number}").json()
    assert [e["event"] for e in after["events"][-2:]] == ["arrived", "into_warehouse"]
    assert after["place"]["id"] == driven.parcel.path[1]
    assert seen_after < 10


def test_a_warehouse_renamed_at_the_source_shows_its_new_name_after_the_next_batch(
    tracked: Tracked,
) -> None:
    """The service keeps the named rows in memory: a change to their table must refresh them."""
    number = tracked.parcels["stuck"].number

    def warehouse_names() -> dict[int, str]:
        events = get(tracked, f"/api/track/{number}").json()["events"]
        return {
            e["place"]["id"]: e["place"]["name"]
            for e in events
            if e["place"]["kind"] == "warehouse"
        }

    warehouse, old = next(iter(warehouse_names().items()))
    conn = pg(tracked.url)
    conn.autocommit = True
    try:
        for name in (old + "（新）", old):
            with conn.cursor() as cur:
                cur.execute("UPDATE tbl_warehouse SET name = %s WHERE id = %s", (name, warehouse))
            wait_for(lambda n=name: warehouse_names()[warehouse] == n, 15, "the new name")
    finally:
        with conn.cursor() as cur:
            cur.execute("UPDATE tbl_warehouse SET name = %s WHERE id = %s", (old, warehouse))
        conn.close()


def _hits(tracked: Tracked, query: str) -> dict[str, Any]:
    response = get(tracked, "/api/search?" + urllib.parse.urlencode({"q": query}), **GOOD)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_search_by_phone_last_four_with_name_and_address(tracked: Tracked) -> None:
    driven = tracked.parcels["signed"]
    waybill = driven.parcel.rows["tbl_waybill"]
    numbers = lambda page: [h["express_number"] for h in page["hits"]]  # noqa: E731
    by_phone = _hits(tracked, waybill["receive_mobile"])
    assert driven.number in numbers(by_phone)
    hit = next(h for h in by_phone["hits"] if h["express_number"] == driven.number)
    assert hit["status"] == "signed" and hit["receiver"]["phone"] == waybill["receive_mobile"]
    surname = waybill["receive_customer_name"][0]
    assert driven.number in numbers(_hits(tracked, f"{surname} {waybill['receive_mobile'][-4:]}"))
    street = waybill["receive_addr"][-6:]
    by_address = _hits(tracked, street)
    assert driven.number in numbers(by_address) or by_address["more"]
    for found in by_address["hits"]:
        assert street in found["receiver"]["address"] + found["sender"]["address"]
    for found in by_phone["hits"]:
        assert phone_of(found) == waybill["receive_mobile"]


def phone_of(hit: dict[str, Any]) -> str:
    return str(hit["receiver"]["phone"] if hit["score"] >= 5 else hit["sender"]["phone"])


HOSTILE_NUMBERS = [
    "1'%20OR%20'1'='1",
    "1%3B%20DROP%20TABLE%20ods.tbl_waybill",
    "x" * 10_000,
    "12%0034",
    "%FF%FE",
    "%E6%9D",
]
HOSTILE_QUERIES = [
    "",
    "%20%20",
    "'%20OR%201=1%20--",
    "%25%25%25",
    "a" * 10_000,
    "%0A%0D",
    "%FF",
    "%E6%9D",
]


@pytest.mark.parametrize("raw", HOSTILE_NUMBERS)
def test_hostile_numbers_get_one_clean_line(tracked: Tracked, raw: str) -> None:
    response = get(tracked, "/api/track/" + raw)
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert "\n" not in error and "Traceback" not in error and len(error) < 300


@pytest.mark.parametrize("raw", HOSTILE_QUERIES)
def test_hostile_queries_get_one_clean_line(tracked: Tracked, raw: str) -> None:
    response = get(tracked, "/api/search?q=" + raw, **GOOD)
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert "\n" not in error and "Traceback" not in error and len(error) < 300


def test_nothing_is_logged_with_a_phone_in_clear(
    tracked: Tracked, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    waybill = tracked.parcels["signed"].parcel.rows["tbl_waybill"]
    phone = waybill["receive_mobile"]
    _hits(tracked, phone)
    get(tracked, "/api/search?q=" + phone + "%27", **GOOD)
    get(tracked, f"/api/track/{tracked.parcels['signed'].number}", **GOOD)
    # the server's side: kuaike, uvicorn, FastAPI (the test's own httpx logs its URLs)
    served = "\n".join(
        record.getMessage() + (str(record.exc_info) if record.exc_info else "")
        for record in caplog.records
        if record.name.split(".")[0] in ("kuaike", "uvicorn", "fastapi", "starlette")
    )
    assert phone not in served
    assert not re.search(r"1[3-9]\d{9}", served), served[-2000:]


def test_stuck_lists_the_parcel_left_on_the_road(tracked: Tracked) -> None:
    page = get(tracked, "/api/track/stuck?limit=200", **GOOD).json()
    numbers = {p["express_number"]: p for p in page["parcels"]}
    stuck = tracked.parcels["stuck"]
    assert stuck.number in numbers
    entry = numbers[stuck.number]
    assert entry["status"] == "in_transit"
    assert entry["place"]["id"] == stuck.parcel.path[0]
    assert entry["since"] < entry["expected_by"] < page["as_of"]
    assert tracked.parcels["signed"].number not in numbers
    assert tracked.parcels["lost"].number not in numbers
    sinces = [p["since"] for p in page["parcels"]]
    assert sinces == sorted(sinces, reverse=True)
    assert page["total"] >= len(page["parcels"])
    lenient = get(tracked, "/api/track/stuck?factor=50&limit=200", **GOOD).json()
    assert lenient["total"] < page["total"]


def test_cli_over_http_gives_the_same_timeline_search_and_stuck(tracked: Tracked) -> None:
    env = {**tracked.env, "KUAIKE_SERVE_TOKEN": TOKEN}
    driven = tracked.parcels["out_for_delivery"]
    result = kuaike(["track", driven.number, "--json"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == get(tracked, f"/api/track/{driven.number}", **GOOD).json()
    text = kuaike(["track", driven.number], env)
    assert text.returncode == 0 and "派送中" in text.stdout
    phone = driven.parcel.rows["tbl_waybill"]["receive_mobile"]
    found = kuaike(["search", phone, "--json"], env)
    assert found.returncode == 0, found.stderr
    assert driven.number in [h["express_number"] for h in json.loads(found.stdout)["hits"]]
    stuck = kuaike(["track", "--stuck", "--json"], env)
    assert stuck.returncode == 0 and "parcels" in json.loads(stuck.stdout)
    both = kuaike(["track", driven.number, "--stuck"], env)
    assert both.returncode == 2 and "not both" in both.stderr


def test_cli_without_a_server_reads_the_store_file(tracked: Tracked) -> None:
    tracked.running.stop()
    driven = tracked.parcels["rejected"]
    result = kuaike(["track", driven.number, "--json"], tracked.env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "rejected"
    assert MASKED.match(data["receiver"]["phone"])  # no token configured: masked
    empty = kuaike(["search", " "], tracked.env)
    assert empty.returncode == 2 and "empty query" in empty.stderr
