"""Every route of the data service, against a real uvicorn server in the pipeline process while
capture holds the store (see conftest.carrier)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.serve.conftest import Carrier

pytestmark = pytest.mark.timeout(900)


def one_line_error(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert "\n" not in error and "Traceback" not in error
    for word in words:
        assert word in error, error
    return str(error)


def test_healthz_names_the_process_and_the_store(carrier: Carrier) -> None:
    health = httpx.get(carrier.running.url + "/healthz").json()
    assert health["ok"] is True
    assert health["store"] == str(carrier.store)


def test_pipeline_reports_each_source_and_the_build(carrier: Carrier) -> None:
    report = httpx.get(carrier.running.url + "/api/pipeline").json()
    assert [s["source"] for s in report["sources"]] == ["logistics", "crm"]
    source = report["sources"][0]
    assert source["phase"] == "streaming"
    assert "/" in source["position"]  # a whole LSN, not cut
    assert {"lag_bytes", "lag_s", "retained_wal_bytes", "changes_per_s"} <= set(source)
    assert carrier.built["status"] == "ok"
    assert report["builds"][0]["build"] == carrier.built["build"]
    assert report["builds"][0]["status"] == "ok"


def test_kpi_lists_the_dws_tables(carrier: Carrier) -> None:
    tables = httpx.get(carrier.running.url + "/api/kpi").json()["tables"]
    assert "tbl_express_bill_summary" in tables
    assert all(not name.startswith("dws.") for name in tables)


def test_kpi_rows_between_two_days_as_json_and_csv(carrier: Carrier) -> None:
    url = carrier.running.url + "/api/kpi/tbl_express_bill_summary"
    everything = httpx.get(url).json()
    days = sorted({row[everything["columns"].index("day")] for row in everything["rows"]})
    assert len(days) >= 2
    one = httpx.get(url, params={"from": days[1], "to": days[1]}).json()
    assert [row[one["columns"].index("day")] for row in one["rows"]] == [days[1]]
    text = httpx.get(url, params={"from": days[0], "to": days[1], "format": "csv"})
    assert text.headers["content-type"].startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(text.text)))
    assert parsed[0] == everything["columns"]
    assert [row[0] for row in parsed[1:]] == days[:2]


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/api/kpi/tbl_nope", {}, 404, ["tbl_nope", "tbl_express_bill_summary"]),
        ("/api/kpi/tbl_waybill_summary", {"from": "2026-13-01"}, 400, ["from", "YYYY-MM-DD"]),
        (
            "/api/kpi/tbl_waybill_summary",
            {"from": "2026-11-02", "to": "2026-11-01"},
            400,
            ["swap"],
        ),
        ("/api/kpi/tbl_waybill_summary", {"format": "xml"}, 400, ["format"]),
        ("/api/kpi/tbl_customer_tag", {"from": "2026-11-01"}, 400, ["no day column"]),
        ("/api/nothing", {}, 404, ["/api/nothing"]),
    ],
)
def test_bad_requests_get_one_line(
    carrier: Carrier, path: str, params: dict[str, str], status: int, words: list[str]
) -> None:
    one_line_error(httpx.get(carrier.running.url + path, params=params), status, *words)


def test_live_figures_are_computed_once_for_every_viewer(carrier: Carrier) -> None:
    def fetch(_: int) -> Any:
        return httpx.get(carrier.running.url + "/api/live", timeout=60).json()

    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(fetch, range(60)))
    assert len({answer["as_of"] for answer in answers}) <= 2  # one refresh may fall inside
    figures = answers[0]["figures"]
    assert figures["orders"] > 0
    for breakdown in ("orders_by_channel", "orders_by_company", "orders_by_province"):
        assert sum(n for _, n in figures[breakdown]) == figures["orders"], breakdown
    assert "unknown" not in dict(figures["orders_by_company"])
    assert figures["orders_per_minute"]
    assert all(0 <= answer["age_s"] <= answer["refresh_s"] + 5 for answer in answers)


def test_live_exceptions_agree_with_todays_exception_summary(carrier: Carrier) -> None:
    """The big screen and tonight's KPI count the same exceptions: the same states and days."""
    live = httpx.get(carrier.running.url + "/api/live", timeout=60).json()["figures"]
    kinds = dict(live["exceptions_by_kind"])
    assert live["exceptions"] == sum(kinds.values())
    today = dt.date.today().isoformat()
    summary = httpx.get(
        carrier.running.url + "/api/kpi/tbl_exception_summary", params={"from": today}
    ).json()
    assert len(summary["rows"]) == 1, summary
    row = dict(zip(summary["columns"], summary["rows"][0], strict=True))
    assert kinds == {kind: row[kind] for kind in ("cancelled", "delayed", "lost", "rejected")}
    assert live["exceptions"] > 0  # the simulator's day has some of each kind


def test_sql_returns_rows_with_their_types(carrier: Carrier) -> None:
    response = httpx.post(
        carrier.running.url + "/api/sql",
        json={"sql": "SELECT count(*) AS n, max(cdt) AS newest FROM ods.tbl_express_bill"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert [c["name"] for c in result["columns"]] == ["n", "newest"]
    assert result["columns"][0]["type"] == "BIGINT"
    assert result["rows"][0][0] > 0


def test_sql_without_a_statement_is_a_bad_request(carrier: Carrier) -> None:
    one_line_error(httpx.post(carrier.running.url + "/api/sql", json={}), 400, "sql")


def test_metrics_are_prometheus_text(carrier: Carrier) -> None:
    httpx.get(carrier.running.url + "/api/kpi")
    text = httpx.get(carrier.running.url + "/metrics").text
    for name in (
        'kuaike_source_lag_bytes{source="logistics"}',
        'kuaike_source_changes_per_second{source="logistics"}',
        'kuaike_batches_total{source="logistics"}',
        'kuaike_builds_total{status="ok"}',
        "kuaike_build_seconds_total",
        'kuaike_http_request_seconds_count{method="GET",route="/api/kpi",status="200"}',
    ):
        assert name in text, name


def test_build_over_http_refuses_bad_days(carrier: Carrier) -> None:
    url = carrier.running.url + "/api/build"
    one_line_error(httpx.post(url, json={"from": "2026-11-01"}), 400, "together")
    one_line_error(httpx.post(url, json={"full": True, "from": "x", "to": "y"}), 400)
