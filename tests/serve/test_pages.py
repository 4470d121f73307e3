"""The pages in headless Chromium (Debian's, driven by Playwright): each loads without console
errors and without a request leaving 127.0.0.1, its charts and the China map render, the live
figures grow while the simulator runs (no reload), the console shows rows and a refusal, the
language switch relabels and is remembered. Screenshots of every page go to tests/artifacts/pages/.
"""

from __future__ import annotations

import datetime as dt
import html
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pg_replica import cli_env, kuaike, wait_for
from playwright.sync_api import Browser, Page, sync_playwright

from kuaike.business.servers import PrivatePostgres
from kuaike.serve.pages.examples import EXAMPLES
from tests.conftest import new_pg_database
from tests.serve.conftest import Pipeline, carrier_settings, snapshotted

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "pages"
DESKTOP = {"width": 1280, "height": 720}
SIMULATION = [
    "--seed", "11", "--orders-per-day", "600", "--companies", "10", "--warehouses", "16",
    "--dots", "30", "--couriers-per-dot", "2", "--customers", "300", "--workers", "1",
]  # fmt: skip
"""A small carrier in ten cities: the map shows ten provinces or so."""


def simulate(env: dict[str, str], *args: str) -> None:
    result = kuaike(["simulate", *args, *SIMULATION], env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    url: str
    env: dict[str, str]
    running: Pipeline


@pytest.fixture(scope="module")
def site(pg_server: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Two days of a small carrier, captured and built, served with figures 1 s fresh."""
    tmp = tmp_path_factory.mktemp("pages")
    url, crm = new_pg_database(pg_server, "serve_pages"), new_pg_database(pg_server, "serve_pcrm")
    store = tmp / "kuaike.duckdb"
    env = cli_env(url, store, KUAIKE_DATA_DIR=str(tmp / "data"), KUAIKE_CRM_URL=crm)
    end = dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")
    simulate(env, "--history-days", "2", "--end", end)
    running = Pipeline(carrier_settings(url, store, crm, live_refresh_s=1.0)).start()
    try:
        with running.client() as client:
            wait_for(lambda: snapshotted(client), 120, "the snapshot")
            assert client.post("/api/build", json={}).json()["status"] == "ok"
        yield Site(running.url, env, running)
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"], headless=True
        )
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page with everything it logged as an error and every URL it requested."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def assert_clean(self, expected: tuple[str, ...] = ()) -> None:
        unexpected = [e for e in self.errors if not any(x in e for x in expected)]
        assert not unexpected, unexpected
        outside = [u for u in self.requests if urlsplit(u).hostname not in ("127.0.0.1", None)]
        assert not [u for u in outside if not u.startswith("data:")], outside


@pytest.fixture
def watched(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Watched]:
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    page = context.new_page()
    seen = Watched(page)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    page.on("request", lambda r: seen.requests.append(r.url))
    yield seen
    context.close()


def shoot(page: Page, name: str) -> None:
    """A desktop and a phone screenshot of the page as it is."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    page.wait_for_timeout(300)  # the charts resize on the window's resize event
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width} px wide on a phone"
    page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]


def painted_share(page: Page, selector: str) -> float:
    """The share of a chart canvas's pixels that are painted (not transparent)."""
    share: float = page.evaluate(
        """(selector) => {
            const canvas = document.querySelector(selector + ' canvas');
            const context = canvas.getContext('2d');
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
            return painted / (data.length / 4);
        }""",
        selector,
    )
    return share


def figure(page: Page, name: str) -> int:
    return int(page.inner_text(f"#fig-{name}").replace(",", "").replace("–", "0") or 0)


def test_the_live_screen_draws_the_map_and_grows_without_a_reload(
    site: Site, watched: Watched
) -> None:
    page = watched.page
    page.goto(site.url + "/")
    page.wait_for_selector("body[data-map-ready='1']", timeout=15_000)
    page.wait_for_timeout(500)  # the map's first frame
    provinces: dict[str, Any] = page.evaluate(
        """() => {
            const map = echarts.getMap('china');
            const features = (map.geoJSON || map.geoJson).features;
            const names = new Set(features.map(f => f.properties.name));
            const chart = echarts.getInstanceByDom(document.getElementById('chart-map'));
            // ECharts adds the South China Sea islands (南海诸岛) to a map named china, valueless
            const data = chart.getOption().series[0].data.filter(d => typeof d.value === 'number');
            return {shapes: names.size, coloured: data.length,
                    matched: data.filter(d => names.has(d.name)).length,
                    unmatched: data.filter(d => !names.has(d.name)).map(d => d.name)};
        }"""
    )
    assert provinces["shapes"] == 34
    assert provinces["coloured"] > 0 and provinces["matched"] == provinces["coloured"], provinces
    assert painted_share(page, "#chart-map") > 0.1
    charts = (
        "#chart-funnel",
        "#chart-minute",
        "#chart-hubs",
        "#chart-company",
        "#chart-exceptions",
    )
    for chart in charts:
        assert painted_share(page, chart) > 0.01, chart
    page.evaluate("window.__sameDocument = true")
    before = figure(page, "orders")
    live = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kuaike",
            "simulate",
            "--rate",
            "5",
            "--duration",
            "20",
            *SIMULATION,
        ],
        env=site.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 40
        while figure(page, "orders") <= before and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        assert figure(page, "orders") > before, "the live figures did not grow"
    finally:
        live.terminate()
        live.wait(30)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert int(page.inner_text("#age")) < 10
    shoot(page, "live")
    watched.assert_clean()


@pytest.mark.parametrize("theme", ["tbl_transit_route_summary", "tbl_customer_tag"])
def test_a_kpi_report_draws_its_trend_and_breakdown_and_offers_csv(
    site: Site, watched: Watched, theme: str
) -> None:
    page = watched.page
    page.goto(f"{site.url}/kpi/{theme}")
    page.wait_for_timeout(500)
    assert page.locator("#kpi-rows tbody tr").count() > 0
    assert painted_share(page, "#chart-trend") > 0.01
    assert painted_share(page, "#chart-breakdown") > 0.01
    csv = httpx.get(site.url + page.get_attribute("#csv", "href"))  # type: ignore[operator]
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.splitlines()) == page.locator("#kpi-rows tbody tr").count() + 1
    if theme == "tbl_transit_route_summary":  # a rate is averaged per day, never summed
        page.select_option("#metric", "on_time_rate")
        trend: list[float] = page.evaluate(
            "echarts.getInstanceByDom(document.getElementById('chart-trend'))"
            ".getOption().series[0].data"
        )
        assert trend and all(0 <= rate <= 1 for rate in trend), trend
        page.select_option("#metric", "departures")
    shoot(page, f"kpi-{theme}")
    watched.assert_clean()


def test_a_kpi_report_of_a_date_range_shows_only_those_days(site: Site, watched: Watched) -> None:
    page = watched.page
    today = dt.date.today().isoformat()
    page.goto(f"{site.url}/kpi/tbl_express_bill_summary")
    page.fill("input[name=from]", today)
    page.fill("input[name=to]", today)
    page.click("form.range button[type=submit]")
    page.wait_for_load_state()
    days = page.locator("#kpi-rows tbody tr td:first-child").all_inner_texts()
    assert days == [today]
    watched.assert_clean()


def test_an_unknown_kpi_report_is_a_404_page_naming_the_reports(site: Site) -> None:
    answer = httpx.get(site.url + "/kpi/nope")
    assert answer.status_code == 404 and "text/html" in answer.headers["content-type"]
    assert "tbl_waybill_summary" in answer.text and "Traceback" not in answer.text
    bad_day = httpx.get(site.url + "/kpi/tbl_waybill_summary?from=yesterday")
    assert bad_day.status_code == 400 and "write it as YYYY-MM-DD" in bad_day.text
    api = httpx.get(site.url + "/api/nope")  # the API keeps answering JSON
    assert api.status_code == 404 and api.json()["error"].startswith("no route /api/nope")


def test_the_server_renders_the_language_of_the_cookie(site: Site) -> None:
    english = html.unescape(httpx.get(site.url + "/", cookies={"kuaike_lang": "en"}).text)
    chinese = httpx.get(site.url + "/").text
    assert '<h1 data-i18n="live_title">Today\'s operations, live</h1>' in english
    assert '<h1 data-i18n="live_title">今日运营实时大屏</h1>' in chinese


def test_the_console_shows_rows_and_a_refusal(site: Site, watched: Watched) -> None:
    page = watched.page
    page.goto(site.url + "/sql")
    page.click("a.example >> nth=0")
    page.wait_for_selector("#sql-rows tbody tr")
    assert page.locator("#sql-rows thead th").all_inner_texts() == ["hour", "orders"]
    shoot(page, "sql")
    page.fill("#sql", "DELETE FROM ods.tbl_express_bill")
    page.click("#run")
    page.wait_for_selector("#refusal:not([hidden])")
    assert "DELETE statements are refused" in page.inner_text("#refusal-line")
    assert page.locator("#sql-rows tr").count() == 0
    shoot(page, "sql-refused")
    page.fill("#sql", "SELECT count(*) AS bills FROM ods.tbl_express_bill")
    page.click("#run")
    page.wait_for_selector("#sql-rows tbody tr")
    assert int(page.inner_text("#sql-rows tbody td")) > 0
    # the browser logs the refused statement's answer (403) as a failed resource; nothing else
    watched.assert_clean(expected=("the server responded with a status of 403",))


@pytest.mark.parametrize("title, sql", [(en, sql) for _, en, sql in EXAMPLES])
def test_every_example_query_runs(site: Site, title: str, sql: str) -> None:
    answer = httpx.post(site.url + "/api/sql", json={"sql": sql}, timeout=30)
    assert answer.status_code == 200, answer.text


def test_the_pipeline_page_shows_sources_and_builds(site: Site, watched: Watched) -> None:
    page = watched.page
    page.goto(site.url + "/pipeline")
    assert page.locator("#sources tbody tr").count() == 2
    assert "streaming" in page.inner_text("#sources")
    assert "ok" in page.inner_text("#builds")
    page.wait_for_timeout(5_500)  # one refresh from /api/pipeline
    assert painted_share(page, "#chart-changes") > 0.01
    shoot(page, "pipeline")
    watched.assert_clean()


def test_the_language_switch_relabels_and_is_remembered(site: Site, watched: Watched) -> None:
    page = watched.page
    page.goto(site.url + "/pipeline")
    chinese = page.inner_text("h1")
    page.click("#lang-switch")
    assert page.inner_text("h1") == "Pipeline status" != chinese
    page.goto(site.url + "/")
    assert page.inner_text("h1") == "Today's operations, live"
    assert page.inner_text("#lang-switch") == "中文"
    page.wait_for_selector("body[data-map-ready='1']")
    shoot(page, "live-en")
    page.click("#lang-switch")
    assert page.inner_text("h1") == "今日运营实时大屏"
    watched.assert_clean()


def _sql(site: Site, sql: str) -> list[list[Any]]:
    answer = httpx.post(site.url + "/api/sql", json={"sql": sql}, timeout=30)
    assert answer.status_code == 200, answer.text
    rows: list[list[Any]] = answer.json()["rows"]
    return rows


def test_typing_a_real_number_shows_its_journey_on_the_timeline_and_the_map(
    site: Site, watched: Watched
) -> None:
    number, legs = _sql(
        site,
        # a parcel on the road after a leg or more: its journey has a route and an ETA
        "SELECT w.express_bill_number, count(*) FROM ods.tbl_waybill w "
        "JOIN ods.tbl_transport_record t ON t.pw_waybill_number = w.waybill_number "
        "GROUP BY 1 HAVING count(*) >= 2 "
        "ORDER BY bool_or(t.actual_arrivals_dt IS NULL) DESC, 2 DESC, 1 LIMIT 1",
    )[0]
    page = watched.page
    page.goto(site.url + "/track")
    page.wait_for_selector("body[data-map-ready='1']")
    page.wait_for_selector("#stuck-rows thead th")  # the stuck parcels' list has loaded
    page.fill("#track-q", str(number))
    page.press("#track-q", "Enter")
    page.wait_for_selector("#journey:not([hidden]) ol.timeline li")
    assert str(number) in page.inner_text("#journey-head")
    assert page.locator("#journey-head .status-in_transit").count() == 1
    assert page.locator("#journey-head .eta").count() == 1
    labels = page.locator("ol.timeline li b").all_inner_texts()
    assert labels[0] == "已下单" and labels.count("已发车") >= legs, labels
    page.wait_for_timeout(500)
    route: dict[str, int] = page.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.getElementById('chart-route'));
            const series = chart.getOption().series;
            return {lines: series[0].data.length, stops: series[1].data.length};
        }"""
    )
    assert route["lines"] >= legs and route["stops"] == route["lines"] + 1, route
    assert painted_share(page, "#chart-route") > 0.05
    assert page.evaluate("location.search") == f"?q={number}"  # a link to this parcel
    shoot(page, "track")
    watched.assert_clean()


def test_a_phones_last_digits_find_the_parcels_and_open_one(site: Site, watched: Watched) -> None:
    (mobile,) = _sql(
        site,
        "SELECT c.mobile FROM ods.tbl_customer c JOIN ods.tbl_express_bill b ON b.cid = c.id "
        "WHERE c.mobile IS NOT NULL ORDER BY b.id LIMIT 1",
    )[0]
    page = watched.page
    page.goto(f"{site.url}/track?q={mobile[-4:]}")  # rendered on the server, like the API
    page.wait_for_selector("#hits:not([hidden]) #hit-rows tbody tr")
    assert page.locator("#journey").is_hidden()
    page.click("#hit-rows a.parcel >> nth=0")
    page.wait_for_selector("#journey:not([hidden]) ol.timeline li")
    assert "****" in page.inner_text("#journey-head")  # phones masked without the token
    watched.assert_clean()
