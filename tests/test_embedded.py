"""The embedded demo database: started on demand, keeps its data, stopped by `kuaike db stop`."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg2

from kuaike.databases import SourceURL
from tests.test_cli import kuaike


def _count_tables(url: str) -> int:
    conn = psycopg2.connect(**SourceURL.parse(url).psycopg2_dsn())
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        count = int(cur.fetchone()[0])
    conn.close()
    return count


def test_demo_database_starts_on_demand_and_keeps_data_between_runs(tmp_path: Path) -> None:
    env = {"KUAIKE_DATA_DIR": str(tmp_path / "data")}
    try:
        created = kuaike("schema", "create", "--json", env=env, cwd=tmp_path)
        assert created.returncode == 0, created.stderr
        status = json.loads(kuaike("db", "status", "--json", env=env, cwd=tmp_path).stdout)
        assert status["running"] and status["logistics_url"].startswith("postgresql://")
        assert "127.0.0.1" in status["logistics_url"]
        assert _count_tables(status["logistics_url"]) == 48
        assert _count_tables(status["crm_url"]) == 3

        assert "stopped" in kuaike("db", "stop", env=env, cwd=tmp_path).stdout
        stopped = json.loads(kuaike("db", "status", "--json", env=env, cwd=tmp_path).stdout)
        assert not stopped["running"]

        assert kuaike("db", "start", env=env, cwd=tmp_path).returncode == 0
        again = json.loads(kuaike("db", "status", "--json", env=env, cwd=tmp_path).stdout)
        assert _count_tables(again["logistics_url"]) == 48
        conn = psycopg2.connect(**SourceURL.parse(again["logistics_url"]).psycopg2_dsn())
        with conn.cursor() as cur:
            cur.execute("SHOW wal_level")
            assert cur.fetchone() == ("logical",)
        conn.close()
    finally:
        kuaike("db", "stop", env=env, cwd=tmp_path)
