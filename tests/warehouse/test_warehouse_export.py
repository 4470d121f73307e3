"""`kuaike export`: the replica as a Parquet lake, incremental by day, safe against SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from warehouse_ods import Ods

from kuaike.errors import UsageError
from kuaike.warehouse import lake
from kuaike.warehouse.export import export

SYSTEM = ("_kuaike_op", "_kuaike_pos", "_kuaike_commit_ts")


def bill(number: int, cdt: str) -> dict[str, object]:
    return {"id": number, "express_number": f"KK{number:08d}", "cdt": cdt, "udt": cdt}


def replica(path: Path) -> tuple[duckdb.DuckDBPyConnection, Ods]:
    con = duckdb.connect(str(path))
    ods = Ods(con)
    batch = ods.batch()
    days = ["2024-03-01 09:00:00", "2024-03-02 10:00:00", "2024-03-03 11:00:00"]
    ods.insert("tbl_express_bill", [bill(n, days[n % 3]) for n in range(1, 31)], batch)
    ods.insert("tbl_dot", [{"id": 1, "dot_name": "朝阳"}], batch)
    con.execute(
        "INSERT INTO _kuaike.positions (source, position, phase) VALUES ('pg', '0/1A', 's')"
    )
    return con, ods


def lake_rows(root: Path, table: str) -> list[tuple[object, ...]]:
    manifest = lake.read(root)
    assert manifest is not None
    files = [str(root / f) for f in lake.table_files(manifest, table)]
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT * EXCLUDE ({lake.DAY_COLUMN}) FROM read_parquet(?, hive_partitioning = true)"
        if manifest["tables"][table]["day"]
        else "SELECT * FROM read_parquet(?)",
        [files],
    ).fetchall()
    return sorted(rows, key=repr)


def store_rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    return sorted(con.execute(f"SELECT * FROM ods.{table}").fetchall(), key=repr)


def files_by_day(root: Path, table: str) -> dict[str, list[str]]:
    manifest = lake.read(root)
    assert manifest is not None
    partitions: dict[str, list[str]] = manifest["tables"][table]["partitions"]
    return partitions


def test_export_writes_every_table_with_fact_tables_by_day_and_the_positions(
    tmp_path: Path,
) -> None:
    con, _ = replica(tmp_path / "store.duckdb")
    summary = export(con, tmp_path / "lake")
    manifest = lake.read(tmp_path / "lake")
    assert manifest is not None
    assert manifest["positions"] == {"pg": "0/1A"} == summary.positions
    assert manifest["batch"] == summary.batch == 2  # the codes' batch, then the fixture's
    assert set(files_by_day(tmp_path / "lake", "tbl_express_bill")) == {
        "2024-03-01",
        "2024-03-02",
        "2024-03-03",
    }
    assert manifest["tables"]["tbl_dot"]["partitions"] is None
    for table in ("tbl_express_bill", "tbl_dot", "tbl_codes", "tbl_waybill"):
        assert lake_rows(tmp_path / "lake", table) == store_rows(con, table), table


def test_incremental_export_rewrites_only_the_days_the_changes_touched(tmp_path: Path) -> None:
    con, ods = replica(tmp_path / "store.duckdb")
    root = tmp_path / "lake"
    export(con, root)
    before = files_by_day(root, "tbl_express_bill")
    dot_files = lake.read(root)["tables"]["tbl_dot"]["files"]  # type: ignore[index]
    batch = ods.batch()
    ods.update("tbl_express_bill", 3, {"cdt": "2024-03-02 08:00:00"}, batch)  # 03-01 -> 03-02
    ods.insert("tbl_express_bill", [bill(99, "2024-03-05 12:00:00")], batch)
    summary = export(con, root)
    after = files_by_day(root, "tbl_express_bill")
    done = {t.table: t for t in summary.tables}
    assert done["tbl_express_bill"].action == "days"
    assert done["tbl_express_bill"].days == 3  # where bill 3 was, where it is, the new day
    assert done["tbl_dot"].action == "kept"
    assert after["2024-03-03"] == before["2024-03-03"]  # untouched: the same files
    assert after["2024-03-01"] != before["2024-03-01"]
    assert after["2024-03-02"] != before["2024-03-02"]
    assert set(after) == {"2024-03-01", "2024-03-02", "2024-03-03", "2024-03-05"}
    assert lake.read(root)["tables"]["tbl_dot"]["files"] == dot_files  # type: ignore[index]
    assert lake_rows(root, "tbl_express_bill") == store_rows(con, "tbl_express_bill")
    for old in before["2024-03-01"]:
        assert not (root / old).exists()  # replaced files are removed after the swap

    batch = ods.batch()
    for number in (1, 4, 7, 10, 13, 16, 19, 22, 25, 28):  # every bill left on 03-02
        ods.delete("tbl_express_bill", number, batch)
    ods.delete("tbl_express_bill", 3, batch)
    summary = export(con, root)
    assert "2024-03-02" not in files_by_day(root, "tbl_express_bill")
    assert lake_rows(root, "tbl_express_bill") == store_rows(con, "tbl_express_bill")


def test_export_after_a_truncate_rewrites_the_whole_table(tmp_path: Path) -> None:
    con, ods = replica(tmp_path / "store.duckdb")
    root = tmp_path / "lake"
    export(con, root)
    batch = ods.batch()
    ods.truncate("tbl_express_bill", batch)
    ods.insert("tbl_express_bill", [bill(5, "2024-04-01 00:00:00")], batch)
    summary = export(con, root)
    assert {t.table: t.action for t in summary.tables}["tbl_express_bill"] == "full"
    assert set(files_by_day(root, "tbl_express_bill")) == {"2024-04-01"}
    assert lake_rows(root, "tbl_express_bill") == store_rows(con, "tbl_express_bill")


KILLED_EXPORT = """
import sys, time, duckdb
from pathlib import Path
from kuaike.warehouse import export as module

real = module.Exporter._write_days

def write_then_hang(self, table, select):
    written = real(self, table, select)
    print("written", flush=True)
    time.sleep(60)  # SIGKILLed here, new day files beside the old ones
    return written

module.Exporter._write_days = write_then_hang
con = duckdb.connect(sys.argv[1])
module.export(con, Path(sys.argv[2]))
"""


def test_export_killed_while_writing_leaves_the_previous_lake_readable(tmp_path: Path) -> None:
    con, ods = replica(tmp_path / "store.duckdb")
    root = tmp_path / "lake"
    export(con, root)
    previous = (root / lake.MANIFEST).read_text()
    expected = lake_rows(root, "tbl_express_bill")
    batch = ods.batch()
    ods.update("tbl_express_bill", 3, {"express_number": "changed"}, batch)
    con.close()
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_EXPORT))
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "store.duckdb"), str(root)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "written"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert (root / lake.MANIFEST).read_text() == previous
    assert lake_rows(root, "tbl_express_bill") == expected  # the files it names are all there
    on_disk = {p.relative_to(root).as_posix() for p in (root / "ods").rglob("*.parquet")}
    named = {
        f for t in json.loads(previous)["tables"] for f in lake.table_files(json.loads(previous), t)
    }
    assert on_disk > named  # the killed export's files lie beside them

    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    export(con, root)
    on_disk = {p.relative_to(root).as_posix() for p in (root / "ods").rglob("*.parquet")}
    manifest = lake.read(root)
    assert manifest is not None
    assert on_disk == {f for t in manifest["tables"] for f in lake.table_files(manifest, t)}
    assert lake_rows(root, "tbl_express_bill") == store_rows(con, "tbl_express_bill")


def test_an_s3_url_says_to_mount_the_bucket() -> None:
    with pytest.raises(UsageError, match="mount the bucket"):
        lake.lake_path("s3://bucket/lake")


def test_a_store_behind_the_lake_is_exported_in_full(tmp_path: Path) -> None:
    con, _ = replica(tmp_path / "store.duckdb")
    root = tmp_path / "lake"
    export(con, root)
    other, _ = replica(tmp_path / "other.duckdb")  # a recreated store: batches start again
    other.execute("DELETE FROM _kuaike.batches WHERE batch > 1")
    summary = export(other, root)
    assert {t.action for t in summary.tables} == {"full"}
    assert lake_rows(root, "tbl_express_bill") == store_rows(other, "tbl_express_bill")
