"""`kuaike capture` / `kuaike status` with a MySQL CRM: both sources in one process, one-line
refusals, and a purged binlog reported with the command that fixes it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from mysql_helpers import connect, ods_rows, source_columns, source_rows

from kuaike.business.schema import create_crm, create_logistics
from kuaike.business.servers import PrivateMariaDB
from kuaike.cli import main

NO_LOGISTICS = "postgresql://nobody@127.0.0.1:1/none"  # set, so no embedded server starts


def kuaike(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in process: (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _configure(monkeypatch: pytest.MonkeyPatch, crm: str, logistics: str, store: Path) -> None:
    monkeypatch.setenv("KUAIKE_CRM_URL", crm)
    monkeypatch.setenv("KUAIKE_LOGISTICS_URL", logistics)
    monkeypatch.setenv("KUAIKE_STORE", str(store))


def _insert_customers(url: str, names: list[str]) -> None:
    conn = connect(url)
    with conn.cursor() as cur:
        for name in names:
            cur.execute("INSERT INTO crm_customer (name, cdt) VALUES (%s, now())", (name,))
    conn.close()


def _crm_equal(url: str, store: Path) -> bool:
    conn = connect(url)
    columns = source_columns(conn, "crm_customer")
    equal = ods_rows(store, "tbl_customer", columns) == source_rows(conn, "crm_customer", columns)
    conn.close()
    return equal


def _purge_all_but_the_newest_binlog(url: str) -> None:
    """MariaDB keeps binlogs InnoDB still needs for recovery a moment longer: retry."""
    root = connect(url)
    with root.cursor() as cur:
        cur.execute("FLUSH BINARY LOGS")
        for _ in range(100):
            cur.execute("SHOW BINARY LOGS")
            files = [row[0] for row in cur.fetchall()]
            if len(files) == 1:
                break
            cur.execute(f"PURGE BINARY LOGS TO '{files[-1]}'")
            time.sleep(0.1)
        else:
            raise AssertionError(f"the server kept binlogs {files}")
    root.close()


def test_capture_runs_postgres_and_mysql_sources_in_one_process(
    workdir: Path,
    pg_url: str,
    mysql_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create_logistics(pg_url)
    create_crm(mysql_url)
    _insert_customers(mysql_url, ["张三", "李四"])
    store = workdir / "replica.duckdb"
    _configure(monkeypatch, mysql_url, pg_url, store)

    code, out, err = kuaike(capsys, "capture", "--until-caught-up", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert set(summary) == {"logistics", "crm"}
    assert summary["crm"]["snapshot_rows"] == 2

    _insert_customers(mysql_url, ["王五"])
    code, out, err = kuaike(capsys, "capture", "--until-caught-up", "--json")
    assert code == 0, err
    assert json.loads(out)["crm"]["changes"] == 1
    assert _crm_equal(mysql_url, store)

    code, out, err = kuaike(capsys, "status", "--json")
    assert code == 0, err
    rows = {row["source"]: row for row in json.loads(out)}
    assert rows["crm"]["phase"] == "stopped"  # a clean stop, as for PostgreSQL
    assert rows["crm"]["position"].startswith("binlog.")
    assert rows["crm"]["lag_bytes"] == 0
    assert rows["logistics"]["phase"] == "stopped"


def test_capture_refuses_a_server_without_full_row_images_in_one_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = PrivateMariaDB(workdir / "minimal", settings={"binlog-row-image": "MINIMAL"}).start()
    try:
        create_crm(server.url_for("crm"))
        _configure(monkeypatch, server.url_for("crm"), NO_LOGISTICS, workdir / "s")
        code, _, err = kuaike(capsys, "capture", "--source", "crm", "--until-caught-up")
    finally:
        server.stop()
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "binlog_row_image is MINIMAL" in lines[0]
    assert "set binlog_row_image=FULL" in lines[0]


def test_purged_binlog_is_detected_and_names_the_resnapshot_command(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = PrivateMariaDB(workdir / "purged").start()
    try:
        url = server.url_for("crm")
        create_crm(url)
        store = workdir / "replica.duckdb"
        _configure(monkeypatch, url, NO_LOGISTICS, store)
        assert kuaike(capsys, "capture", "--source", "crm", "--until-caught-up")[0] == 0

        _insert_customers(url, ["赵六"])  # a change that will only exist in a purged binlog
        _purge_all_but_the_newest_binlog(url)
        _insert_customers(url, ["孙七"])

        code, _, err = kuaike(capsys, "capture", "--source", "crm", "--until-caught-up")
        assert code != 0
        assert len(err.strip().splitlines()) == 1, err
        assert "no longer holds position" in err
        assert "kuaike capture --resnapshot --source crm" in err
        code, out, _ = kuaike(capsys, "status", "--json")
        crm = next(row for row in json.loads(out) if row["source"] == "crm")
        assert crm["phase"] == "failed"
        assert "purged" in crm["source_error"]

        code, _, err = kuaike(
            capsys, "capture", "--source", "crm", "--until-caught-up", "--resnapshot"
        )
        assert code == 0, err
        assert _crm_equal(url, store)
    finally:
        server.stop()
