"""Workloads from clients nobody here wrote: pgbench (keyless pgbench_history included) and
sysbench oltp_read_write, while capture runs and is SIGKILLed a few times. The replica ends
exactly equal to the source, and capture keeps up with pgbench: the catch-up after the run is
short."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from mysql_helpers import connect, ods_rows, source_columns, source_rows
from pg_replica import assert_replica_equal, cli_env, kuaike
from tests.conftest import new_mysql_database, new_pg_database

from kuaike.business.servers import PrivateMariaDB, PrivatePostgres, postgres_bin_dir
from kuaike.databases import SourceURL

PGBENCH_TABLES = ["pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history"]
KILLS = 3
CATCH_UP_LIMIT_S = 10.0


def _start_capture(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kuaike", "capture"], env=env, stdout=out, stderr=out
        )


def _kill_while(workload: subprocess.Popen[bytes], env: dict[str, str], log: Path) -> None:
    """Capture runs beside the workload; SIGKILLed and restarted KILLS times meanwhile."""
    capture = _start_capture(env, log)
    for _ in range(KILLS):
        time.sleep(8)
        capture.send_signal(signal.SIGKILL)
        capture.wait()
        capture = _start_capture(env, log)
    assert workload.wait(timeout=300) == 0, log.read_text(errors="replace")[-2000:]
    capture.send_signal(signal.SIGTERM)
    assert capture.wait(timeout=60) == 0, log.read_text(errors="replace")[-2000:]


def _caught_up_in(env: dict[str, str]) -> float:
    started = time.monotonic()
    result = kuaike(["capture", "--until-caught-up"], env)
    assert result.returncode == 0, result.stderr
    return time.monotonic() - started


def test_pgbench_with_capture_killed_replicates_exactly_and_keeps_up(
    pg_server: PrivatePostgres, tmp_path: Path
) -> None:
    url = new_pg_database(pg_server, "pgbench")
    parsed = SourceURL.parse(url)
    common = ["-h", "127.0.0.1", "-p", str(parsed.port), "-U", "postgres"]
    pgbench = str(postgres_bin_dir() / "pgbench")
    subprocess.run(
        [pgbench, "-i", "-s", "5", "-q", *common, parsed.database], check=True, capture_output=True
    )
    store = tmp_path / "k.duckdb"
    env = cli_env(url, store, KUAIKE_CAPTURE_BATCH_MAX_LATENCY_MS="100")
    assert kuaike(["capture", "--until-caught-up"], env).returncode == 0  # the snapshot
    run = [pgbench, "-c", "4", "-j", "2", "-T", "40", "-n", *common, parsed.database]
    workload = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _kill_while(workload, env, tmp_path / "capture.log")
    assert _caught_up_in(env) < CATCH_UP_LIMIT_S
    assert_replica_equal(url, store, PGBENCH_TABLES)


def test_sysbench_oltp_read_write_with_capture_killed_replicates_exactly(
    mariadb_server: PrivateMariaDB, pg_url: str, tmp_path: Path
) -> None:
    url = new_mysql_database(mariadb_server, "sbtest")
    parsed = SourceURL.parse(url)
    sysbench = [
        "sysbench", "oltp_read_write", "--db-driver=mysql", "--mysql-host=127.0.0.1",
        f"--mysql-port={parsed.port}", "--mysql-user=root", f"--mysql-db={parsed.database}",
        "--tables=3", "--table-size=5000",
    ]  # fmt: skip
    subprocess.run([*sysbench, "prepare"], check=True, capture_output=True)
    store = tmp_path / "k.duckdb"
    env = {**cli_env(pg_url, store), "KUAIKE_CRM_URL": url}
    assert kuaike(["capture", "--until-caught-up", "--source", "crm"], env).returncode == 0
    workload = subprocess.Popen(
        [*sysbench, "--threads=4", "--time=30", "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _kill_while(workload, env, tmp_path / "capture.log")
    _caught_up_in(env)  # MySQL capture reads ~10 k rows/s: exactness is the point here
    conn = connect(url)
    for table in ("sbtest1", "sbtest2", "sbtest3"):
        columns = source_columns(conn, table)
        assert sorted(ods_rows(store, table, columns)) == sorted(source_rows(conn, table, columns))
