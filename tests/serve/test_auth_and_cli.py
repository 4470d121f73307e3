"""The token gate, the loopback rule, SIGTERM, and the CLI as the running pipeline's client."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pg_replica import cli_env, kuaike, pg, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "warehouse"))  # engines_agree
from engines_agree import disagreements, duckdb_from_lake

from kuaike.business.servers import PrivatePostgres
from kuaike.serve import locator
from kuaike.warehouse import lake
from kuaike.warehouse.catalog import load_models
from kuaike.warehouse.lake_build import build_on_spark
from kuaike.warehouse.runner import build
from tests.conftest import new_pg_database
from tests.serve.conftest import Carrier, Pipeline, carrier_settings

pytestmark = pytest.mark.timeout(900)

TOKEN = "s3cret-token-4711"


@pytest.fixture
def small_source(pg_server: PrivatePostgres, tmp_path: Path) -> tuple[str, Path]:
    url = new_pg_database(pg_server, "small")
    conn = pg(url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE tbl_express_bill (id bigint PRIMARY KEY, cdt timestamp)")
        cur.execute("INSERT INTO tbl_express_bill VALUES (1, now())")
    conn.close()
    return url, tmp_path / "kuaike.duckdb"


def test_the_token_guards_every_route_but_healthz_and_is_never_echoed(
    small_source: tuple[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    url, store = small_source
    caplog.set_level(logging.DEBUG)
    running = Pipeline(carrier_settings(url, store, token=TOKEN)).start()
    try:
        assert httpx.get(running.url + "/healthz").status_code == 200
        seen = []
        for path in ("/api/pipeline", "/api/live", "/api/kpi", "/metrics", "/docs"):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                response = httpx.get(running.url + path, headers=headers)
                assert response.status_code == 401, (path, headers)
                seen.append(response.text)
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(running.url + "/api/pipeline", headers=good).status_code == 200
        sql = {"sql": "SELECT count(*) FROM ods.tbl_express_bill"}
        assert httpx.post(running.url + "/api/sql", json=sql, headers=good).json()["rows"] == [[1]]
        assert httpx.post(running.url + "/api/sql", json=sql).status_code == 401
    finally:
        running.stop()
    assert not any(TOKEN in text for text in seen)
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(running.settings)


def test_a_non_loopback_address_without_a_token_is_refused_in_one_line(
    small_source: tuple[str, Path],
) -> None:
    url, store = small_source
    result = kuaike(["run", "--host", "0.0.0.0", "--port", "0"], cli_env(url, store), timeout=60)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "0.0.0.0 needs an access token" in errors[0], result.stderr
    assert "Traceback" not in result.stderr


def test_run_serves_and_stops_on_sigterm_within_10_s(small_source: tuple[str, Path]) -> None:
    url, store = small_source
    env = cli_env(url, store, KUAIKE_SERVE_TOKEN=TOKEN)
    process = subprocess.Popen(
        [sys.executable, "-m", "kuaike", "run", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: locator.read(store) is not None, 60, "the server file")
        info = locator.read(store)
        assert info is not None and info.pid == process.pid
        assert info.url.startswith("http://127.0.0.1:")
        assert TOKEN not in locator.server_file(store).read_text()
        assert httpx.get(info.url + "/healthz").json()["pid"] == process.pid
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr[-2000:]
    assert TOKEN not in stderr
    assert not locator.server_file(store).exists()


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr[-2000:]
    assert "lock" not in result.stderr.lower()
    return result.stdout


def test_status_build_and_sql_go_over_http_while_run_holds_the_store(carrier: Carrier) -> None:
    env = carrier.env
    status = _ok(kuaike(["status"], env))
    assert status.splitlines()[0].startswith("logistics: streaming, position ")
    assert all(len(line) <= 80 for line in status.splitlines()), status
    assert "None" not in status and "…" not in status
    rows = json.loads(_ok(kuaike(["status", "--json"], env)))
    assert [r["source"] for r in rows] == ["logistics", "crm"]
    query = "SELECT count(*) AS bills FROM ods.tbl_express_bill"
    result = json.loads(_ok(kuaike(["sql", query, "--json"], env)))
    assert result["columns"][0] == {"name": "bills", "type": "BIGINT"} and result["rows"][0][0]
    assert _ok(kuaike(["sql", query, "--csv"], env)).splitlines()[0] == "bills"
    assert "bills" in _ok(kuaike(["sql", query], env))
    refused = kuaike(["sql", "DELETE FROM ods.tbl_express_bill"], env)
    assert refused.returncode == 1 and refused.stderr.startswith("error: DELETE statements")
    built = json.loads(_ok(kuaike(["build", "--json"], env, timeout=600)))
    assert built["status"] == "ok" and built["build"] > carrier.built["build"]


def test_status_and_sql_open_the_store_when_nothing_serves_it(
    small_source: tuple[str, Path],
) -> None:
    url, store = small_source
    env = cli_env(url, store)
    _ok(kuaike(["capture", "--until-caught-up"], env))
    locator.write(store, locator.ServerInfo("http://127.0.0.1:9", _dead_pid(), str(store)))
    status = _ok(kuaike(["status"], env))
    assert status.startswith("logistics: stopped, position ")
    assert not locator.server_file(store).exists()  # the stale file was noticed and removed
    query = "SELECT count(*) AS n FROM ods.tbl_express_bill"
    assert json.loads(_ok(kuaike(["sql", query, "--json"], env)))["rows"] == [[1]]
    refused = kuaike(["sql", "SELECT * FROM read_text('/etc/passwd')"], env)
    assert refused.returncode == 1 and "read_text is not allowed" in refused.stderr
    built = json.loads(_ok(kuaike(["build", "--json"], env, timeout=600)))
    assert built["mode"]


def _dead_pid() -> int:
    """The pid of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not locator.alive(child.pid) or os.getpid() == child.pid
    return child.pid


def test_export_and_load_go_over_http_and_spark_gives_duckdbs_kpis_on_simulated_days(
    carrier: Carrier, spark: Any, tmp_path: Path
) -> None:
    """Two simulated days (and today) captured by a running `kuaike run`: the export goes
    through its API, Spark builds the lake, and every model agrees with DuckDB's build of the
    same export; `kuaike load-warehouse` puts Spark's DWS rows into the served store."""
    env, root = carrier.env, tmp_path / "lake"
    exported = json.loads(_ok(kuaike(["export", "--to", str(root), "--json"], env)))
    with carrier.running.client() as client:
        sources = client.get("/api/pipeline").json()["sources"]
    assert exported["positions"] == {s["source"]: s["position"] for s in sources}
    assert {t["action"] for t in exported["tables"]} == {"full"}
    assert lake.read(root)["positions"] == exported["positions"]  # type: ignore[index]
    again = json.loads(_ok(kuaike(["export", "--to", str(root), "--json"], env)))
    assert again["export"] == 2 and again["batch"] >= exported["batch"]

    reference = dt.date.today()
    duck = duckdb_from_lake(root)
    build(duck, full=True, reference_date=reference, settings=carrier.settings.warehouse)
    build_on_spark(spark, root, reference)
    models = sorted(load_models())
    assert disagreements(duck, root, models) == []
    bills = duck.execute("SELECT count(*) FROM dwd.tbl_express_bill_detail").fetchone()
    assert bills is not None and bills[0] > 500  # two days of 400 orders, and today's

    loaded = json.loads(_ok(kuaike(["load-warehouse", "--from", str(root), "--json"], env)))
    dws = [m for m in models if m.startswith("dws.")]
    assert sorted(loaded["tables"]) == dws
    query = "SELECT count(*) AS n, sum(total) AS bills FROM dws.tbl_express_bill_summary"
    served = json.loads(_ok(kuaike(["sql", query, "--json"], env)))["rows"][0]
    expected = duck.execute(query).fetchone()
    assert expected is not None and served == list(expected)
