"""`kuaike build` on a store file: JSON summary, backfill, one-line errors, a locked store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from warehouse_data import Carrier
from warehouse_ods import Ods

from kuaike.cli import main


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store.duckdb"
    con = duckdb.connect(str(path))
    Carrier([Ods(con)], seed=2).seed(bills=8)
    con.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KUAIKE_STORE", str(path))
    return path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    capsys.readouterr()
    main(["build", "--json", "--reference-date", "2024-03-05", *args])
    return json.loads(capsys.readouterr().out)


def test_a_first_build_is_full_then_builds_are_incremental(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_json(capsys)
    assert first["status"] == "ok" and first["mode"] == "full"
    assert first["reason"] == "first build"
    assert {run["action"] for run in first["runs"]} == {"full", "snapshot"}
    second = run_json(capsys)
    actions = {run["model"]: run["action"] for run in second["runs"]}
    assert actions["dwd.tbl_express_bill_detail"] == "skipped"
    assert second["mode"] == "incremental" and second["reason"] is None
    backfill = run_json(capsys, "--from", "2024-03-02", "--to", "2024-03-03")
    runs = {run["model"]: run for run in backfill["runs"]}
    assert backfill["mode"] == "backfill"
    assert runs["dws.tbl_express_bill_summary"]["action"] == "days"
    assert runs["dws.tbl_express_bill_summary"]["days"] == 2
    full = run_json(capsys, "--full")
    full_runs = {run["model"]: run for run in full["runs"]}
    assert full["mode"] == "full" and full_runs["dwd.tbl_express_bill_detail"]["action"] == "full"
    assert full["reason"] == "--full"
    assert full_runs["dwd.tbl_express_bill_detail"]["rows"] == 8


def test_build_prints_a_table_without_json(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["build", "--reference-date", "2024-03-05"])
    out = capsys.readouterr().out
    assert "dws.tbl_express_bill_summary" in out
    words = " ".join(out.split())  # the console wraps long lines
    assert "full build ok" in words and "rebuilt in full: first build" in words


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2024-13-01", "--to", "2024-12-02"], "--from '2024-13-01' is not a date"),
        (["--from", "2024-03-01"], "--from and --to go together"),
        (["--from", "2024-03-02", "--to", "2024-03-01"], "is before --from"),
        (["--full", "--from", "2024-03-01", "--to", "2024-03-01"], "--full rebuilds every day"),
    ],
)
def test_bad_options_are_one_line_errors(
    store: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["build", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_empty_replica_says_to_capture_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KUAIKE_STORE", str(tmp_path / "empty.duckdb"))
    with pytest.raises(SystemExit):
        main(["build"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "capture the business databases first" in err[0]


def test_store_locked_by_another_process_is_one_line(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(store)!r});"
            " print('ready', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(SystemExit):
            main(["build"])
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "open in another process" in err[0]
    finally:
        holder.kill()
        holder.wait()


def test_models_reading_a_table_not_captured_yet_wait(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    con = duckdb.connect(str(store))
    con.execute("DROP TABLE ods.tbl_deliver_package")
    con.close()
    summary = run_json(capsys)
    status = {run["model"]: run["status"] for run in summary["runs"]}
    assert summary["status"] == "ok"
    assert status["dwd.tbl_delivery_detail"] == "waiting"
    assert status["dws.tbl_courier_summary"] == "waiting"  # reads the delivery detail
    assert status["dws.tbl_express_bill_summary"] == "ok"
