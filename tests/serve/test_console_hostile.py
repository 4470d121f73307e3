"""The SQL console refuses every hostile statement with a 4xx and one line, while capture keeps
applying the simulator's live changes; afterwards the replica still equals the source."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pg_replica import assert_replica_equal, cli_env, wait_for

from kuaike import pipeline
from kuaike.business.servers import PrivatePostgres
from tests.conftest import new_pg_database
from tests.serve.conftest import SIMULATION, Pipeline, carrier_settings, simulate, snapshotted

pytestmark = pytest.mark.timeout(900)

OUTSIDE = "/etc/passwd"

HOSTILE = [
    # writes and DDL
    "DELETE FROM ods.tbl_express_bill",
    "UPDATE ods.tbl_express_bill SET remark = 'x'",
    "INSERT INTO ods.tbl_express_bill (id) VALUES (-1)",
    "DROP TABLE ods.tbl_express_bill",
    "CREATE TABLE ods.evil AS SELECT 1",
    "CREATE TEMP TABLE evil AS SELECT * FROM range(10)",
    "CREATE MACRO evil(x) AS x",
    "CREATE SEQUENCE evil_seq",
    "ALTER TABLE ods.tbl_express_bill ADD COLUMN evil INT",
    "TRUNCATE ods.tbl_express_bill",
    "MERGE INTO ods.tbl_express_bill t USING (SELECT 1 AS id) s ON t.id = s.id "
    "WHEN MATCHED THEN DELETE",
    "BEGIN TRANSACTION",
    "PIVOT ods.tbl_express_bill ON type",
    # several statements
    "SELECT 1; DELETE FROM ods.tbl_express_bill",
    "SELECT 1; SELECT 2",
    # settings, pragmas, calls, checkpoints
    "PRAGMA threads=16",
    "PRAGMA enable_profiling",
    "SET enable_external_access = true",
    "SET threads = 1",
    "RESET threads",
    "SET VARIABLE x = 1",
    "CALL enable_logging()",
    "CALL checkpoint()",
    "CHECKPOINT",
    "FORCE CHECKPOINT",
    "VACUUM",
    "SELECT * FROM checkpoint()",
    "SELECT * FROM force_checkpoint()",
    # attach, copy, export, extensions
    "ATTACH ':memory:' AS m",
    "ATTACH '/tmp/evil.duckdb' AS evil",
    "DETACH DATABASE kuaike",
    "USE system",
    "COPY ods.tbl_express_bill TO '/tmp/evil.csv'",
    "COPY ods.tbl_express_bill FROM '/tmp/evil.csv'",
    "EXPORT DATABASE '/tmp/evil'",
    "IMPORT DATABASE '/tmp/evil'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "LOAD json",
    # files, URLs, globs
    f"SELECT * FROM read_csv('{OUTSIDE}')",
    f"SELECT * FROM read_csv_auto('{OUTSIDE}')",
    f"SELECT * FROM read_text('{OUTSIDE}')",
    f"SELECT * FROM read_blob('{OUTSIDE}')",
    f"SELECT * FROM read_json_auto('{OUTSIDE}')",
    "SELECT * FROM read_parquet('/tmp/*.parquet')",
    "SELECT * FROM parquet_metadata('/tmp/x.parquet')",
    f"SELECT * FROM sniff_csv('{OUTSIDE}')",
    "SELECT * FROM glob('/*')",
    f"FROM '{OUTSIDE}'",
    "SELECT * FROM 'https://example.com/x.csv'",
    "SELECT * FROM read_csv('file:///etc/passwd')",
    f"SELECT * FROM read_duckdb('{OUTSIDE}')",
    "SELECT * FROM query('DELETE FROM ods.tbl_express_bill')",
    "SELECT * FROM query_table('ods.tbl_express_bill')",
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
    # logging and profiling
    "SELECT * FROM enable_logging(storage='file', storage_path='/tmp/evil-logs')",
    "SELECT * FROM disable_logging()",
    "SELECT * FROM truncate_duckdb_logs()",
    "SELECT * FROM duckdb_logs()",
    "SELECT write_log('x')",
    "SELECT * FROM enable_profiling()",
    # sequences and state
    "SELECT nextval('_kuaike.batch_seq')",
    "SELECT currval('_kuaike.batch_seq')",
    "SELECT setseed(0.5)",
    # what reveals paths, settings, the catalog
    "SELECT current_setting('allowed_directories')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_databases()",
    "SELECT * FROM pragma_database_size()",
    "SELECT * FROM duckdb_temporary_files()",
    "SELECT * FROM duckdb_extensions()",
    "SELECT getvariable('reference_date')",
    "SELECT * FROM _kuaike.positions",
    "SHOW DATABASES",
    "SELECT getenv('HOME')",
    # comments and case to hide a keyword
    "/* SELECT */ DELETE FROM ods.tbl_express_bill",
    "-- SELECT\nDROP TABLE ods.tbl_express_bill",
    "SeLeCt * FrOm ReAd_CsV('/etc/passwd')",
    "SELECT * FROM \"read_csv\"('/etc/passwd')",
    "SELECT * FROM system.main.read_text('/etc/passwd')",
    "SELECT system.main.nextval('_kuaike.batch_seq')",
    "EXPLAIN ANALYZE DELETE FROM ods.tbl_express_bill",
    "/**/EXPLAIN ANALYZE SELECT 1",
    "EXPLAIN DELETE FROM ods.tbl_express_bill",
    "WITH x AS (SELECT 1) SELECT * FROM read_text('/etc/passwd')",
    "SELECT (SELECT count(*) FROM glob('/*'))",
    "SELECT 1 WHERE EXISTS (SELECT * FROM enable_logging())",
    # resources: a runaway cross join (timeout) and a huge result (limits)
    "SELECT count(*) FROM range(100000000) a, range(100000000) b",
    "SELECT * FROM range(100000000)",
    "SELECT repeat('x', 1000000) FROM range(100)",
    # does not parse
    "SELEC 1",
]


@pytest.fixture(scope="module")
def live_carrier(
    pg_server: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Pipeline, str, Path, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("hostile")
    url, crm = new_pg_database(pg_server, "hostile"), new_pg_database(pg_server, "hostile_crm")
    store = tmp / "kuaike.duckdb"
    env = cli_env(url, store, KUAIKE_DATA_DIR=str(tmp / "data"), KUAIKE_CRM_URL=crm)
    simulate(env, "--history-days", "1", "--end", "2026-11-20 20:00:00")
    settings = carrier_settings(url, store, crm, sql_timeout_s=1.0, sql_max_rows=1000)
    running = Pipeline(settings).start()
    with running.client() as client:
        wait_for(lambda: snapshotted(client), 120, "the snapshot")
    yield running, url, store, env
    if running.thread.is_alive():
        running.stop()


def _batches(client: httpx.Client) -> int:
    text = client.get("/metrics").text
    lines = [line for line in text.splitlines() if line.startswith("kuaike_batches_total")]
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in lines)


def test_hostile_statements_are_refused_while_capture_applies(
    live_carrier: tuple[Pipeline, str, Path, dict[str, str]],
) -> None:
    running, url, store, env = live_carrier
    assert len(HOSTILE) >= 60
    args = ["--rate", "30", "--duration", "120", *SIMULATION]
    writer = subprocess.Popen(
        [sys.executable, "-m", "kuaike", "simulate", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    refused: list[str] = []
    try:
        with running.client() as client:
            before = _batches(client)
            for statement in HOSTILE:
                response = client.post("/api/sql", json={"sql": statement})
                assert 400 <= response.status_code < 500, (statement, response.text)
                error = response.json()["error"]
                assert "\n" not in error and "Traceback" not in error, statement
                refused.append(error)
            assert client.post("/api/sql", json={"sql": "SELECT 1 AS one"}).status_code == 200
            wait_for(lambda: _batches(client) > before + 5, 60, "capture to go on applying")
    finally:
        writer.terminate()
        writer.wait(30)
    assert len(refused) == len(HOSTILE)
    assert any("longer than 1 s" in e for e in refused) and any("1000 rows" in e for e in refused)
    running.stop()
    # what the simulator committed after the stop arrives now; nothing applied twice or lost
    pipeline.run_capture(running.settings, threading.Event(), until_caught_up=True)
    assert not Path("/tmp/evil-logs").exists()
    tables = ["tbl_express_bill", "tbl_waybill", "tbl_transport_record", "tbl_express_package"]
    assert_replica_equal(url, store, tables)
