"""The `kuaike` command as users run it: help, version, init, and one clear line for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pymysql
import pytest

from kuaike import __version__
from kuaike.business.servers import PrivateMariaDB, PrivatePostgres, free_port


def kuaike(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KUAIKE_")}
    return subprocess.run(
        [sys.executable, "-m", "kuaike", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]


def test_version_and_help() -> None:
    assert kuaike("--version").stdout.strip() == f"kuaike, version {__version__}"
    result = kuaike("--help")
    assert result.returncode == 0 and "schema" in result.stdout and "init" in result.stdout


def test_init_writes_a_template_and_refuses_to_overwrite(tmp_path: Path) -> None:
    assert kuaike("init", cwd=tmp_path).returncode == 0
    assert "KUAIKE_LOGISTICS_URL" in (tmp_path / "kuaike.toml").read_text()
    assert_one_clear_line(kuaike("init", cwd=tmp_path), "already exists", "--force")


def test_bad_config_value_is_one_line(tmp_path: Path) -> None:
    result = kuaike("schema", "create", env={"KUAIKE_CRM_URL": "http://crm"}, cwd=tmp_path)
    assert_one_clear_line(result, "crm_url", "KUAIKE_CRM_URL")
    assert result.returncode == 2


def test_unreachable_host_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/logistics"
    result = kuaike("schema", "create", env={"KUAIKE_LOGISTICS_URL": url}, cwd=tmp_path)
    assert_one_clear_line(result, "cannot connect", "check the URL")


def test_wrong_mysql_password_is_one_line(
    mariadb_server: PrivateMariaDB, pg_server: PrivatePostgres, tmp_path: Path
) -> None:
    conn = pymysql.connect(host="127.0.0.1", port=mariadb_server.port, user="root")
    with conn.cursor() as cur:
        cur.execute("CREATE USER IF NOT EXISTS 'clerk'@'%' IDENTIFIED BY 'right'")
    conn.close()
    env = {
        "KUAIKE_LOGISTICS_URL": pg_server.url_for("cli_wrong_mysql"),
        "KUAIKE_CRM_URL": f"mysql://clerk:wrong@127.0.0.1:{mariadb_server.port}/crm",
    }
    result = kuaike("schema", "create", env=env, cwd=tmp_path)
    assert_one_clear_line(result, "refused user 'clerk'", "check the user and password")


@pytest.fixture(scope="module")
def password_postgres(tmp_path_factory: pytest.TempPathFactory):
    """A private PostgreSQL that checks passwords on TCP (the shared fixture trusts everyone)."""
    directory = tmp_path_factory.mktemp("pg_password")
    hba = directory / "pg_hba.conf"
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
    server = PrivatePostgres(directory / "cluster", settings={"hba_file": str(hba)})
    server.initdb()
    os.chmod(hba, 0o644)
    server.start()
    conn = psycopg2.connect(host=str(server.directory), port=server.port, user="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("ALTER USER postgres PASSWORD 'right'")
    conn.close()
    yield server
    server.stop()


def test_wrong_postgres_password_is_one_line(password_postgres: PrivatePostgres, tmp_path: Path):
    url = f"postgresql://postgres:wrong@127.0.0.1:{password_postgres.port}/logistics"
    result = kuaike("schema", "create", env={"KUAIKE_LOGISTICS_URL": url}, cwd=tmp_path)
    assert_one_clear_line(result, "refused user 'postgres'", "password")


def test_schema_create_json_reports_both_sources(pg_server: PrivatePostgres, tmp_path: Path):
    env = {
        "KUAIKE_LOGISTICS_URL": pg_server.url_for("cli_logistics"),
        "KUAIKE_CRM_URL": pg_server.url_for("cli_crm"),
    }
    first = kuaike("schema", "create", "--json", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    report = {entry["source"]: entry for entry in json.loads(first.stdout)}
    assert report["logistics"]["tables_after"] == 48 and report["crm"]["tables_after"] == 3
    again = json.loads(kuaike("schema", "create", "--json", env=env, cwd=tmp_path).stdout)
    assert [entry["codes_added"] for entry in again] == [0, 0]


def test_log_json_writes_json_lines(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/logistics"
    result = kuaike(
        "--log-json",
        "--log-level",
        "debug",
        "schema",
        "create",
        env={"KUAIKE_LOGISTICS_URL": url},
        cwd=tmp_path,
    )
    json_lines = [line for line in result.stderr.splitlines() if line.startswith("{")]
    assert json_lines and json.loads(json_lines[0])["level"] == "debug"
