"""The Spark engine over the lake gives the rows DuckDB gives: every golden fixture, every model."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from engines_agree import disagreements
from sqlglot import exp
from test_warehouse_golden import FIXTURES, GOLDEN, actual_rows, normal
from warehouse_ods import Ods

from kuaike.cli import main
from kuaike.errors import WarehouseError
from kuaike.warehouse import lake
from kuaike.warehouse.catalog import Model, load_models
from kuaike.warehouse.engines.spark import running, session, transpile
from kuaike.warehouse.export import export
from kuaike.warehouse.lake_build import build_on_spark
from kuaike.warehouse.runner import build


def upstream(tables: Iterable[str]) -> dict[str, Model]:
    """The models `tables` are built from, themselves included."""
    models, wanted = load_models(), set(tables)
    while True:
        more = wanted | {d for name in wanted for d in models[name].depends_on if d in models}
        if more == wanted:
            return {name: models[name] for name in wanted}
        wanted = more


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_every_golden_fixture_gives_the_same_rows_on_duckdb_and_spark(
    path: Path, spark: Any, tmp_path: Path
) -> None:
    fixture = json.loads(path.read_text(encoding="utf-8"))
    reference = dt.date.fromisoformat(fixture["reference_date"])
    con = duckdb.connect()
    ods = Ods(con)
    batch = ods.batch()
    for table, rows in fixture["input"].items():
        ods.insert(table, rows, batch)
    build(con, full=True, reference_date=reference)
    root = tmp_path / "lake"
    export(con, root)
    needed = upstream(fixture["expected"])  # the fixture's tables and the models they read
    build_on_spark(spark, root, reference, needed)
    assert disagreements(con, root, sorted(needed)) == []
    built = lake.read(root, lake.WAREHOUSE)
    assert built is not None
    reader = duckdb.connect()
    for table, expected in fixture["expected"].items():  # and both give the hand-made rows
        reader.execute(
            f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}; CREATE VIEW {table} AS "
            f"SELECT * FROM read_parquet('{root / built['tables'][table]}/*.parquet')"
        )
        columns = list(expected[0])
        wanted = sorted(({c: normal(r[c]) for c in columns} for r in expected), key=repr)
        assert actual_rows(reader, table, columns) == wanted, f"{path.name}: {table}"


def test_date_diff_counts_unit_boundaries_on_spark_as_on_duckdb(spark: Any) -> None:
    sql = (
        "SELECT date_diff('minute', TIMESTAMP '2024-03-01 10:00:59', TIMESTAMP '2024-03-01"
        " 10:01:00') AS crossed, date_diff('hour', TIMESTAMP '2024-03-01 10:59:00',"
        " TIMESTAMP '2024-03-01 12:00:00') AS hours"
    )
    duck = duckdb.sql(sql).fetchone()
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert isinstance(tree, exp.Query)
    row = spark.sql(transpile(tree, {})).collect()[0]
    assert duck == (1, 2) == (row["crossed"], row["hours"])


def test_spark_without_pyspark_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # the fault: PySpark not installed
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(WarehouseError, match=re.escape("pip install 'kuaike[spark]'")):
        session("local[2]", 1, "1g")


def test_the_cli_exports_builds_on_spark_and_loads_the_kpis_into_the_store(
    tmp_path: Path, spark: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kuaike export`, `kuaike build --engine spark`, `kuaike load-warehouse`, through the CLI's
    entry point (in this process, so the build uses the session already running and leaves it
    running; each command opens the store itself)."""
    fixture = json.loads((GOLDEN / "transit.json").read_text(encoding="utf-8"))
    store, root = tmp_path / "kuaike.duckdb", tmp_path / "lake"
    con = duckdb.connect(str(store))
    ods = Ods(con)
    batch = ods.batch()
    for table, rows in fixture["input"].items():
        ods.insert(table, rows, batch)
    con.close()
    for name in [k for k in os.environ if k.startswith("KUAIKE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KUAIKE_STORE", str(store))
    monkeypatch.setenv("KUAIKE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)

    def kuaike(*args: str) -> Any:
        main(list(args))
        return json.loads(capsys.readouterr().out)

    assert kuaike("export", "--to", str(root), "--json")["export"] == 1
    day = fixture["reference_date"]
    built = kuaike("build", "--engine", "spark", "--lake", str(root), "--reference-date", day,
                   "--json")  # fmt: skip
    assert len(built["runs"]) == len(load_models())
    assert running()  # the test session's Spark is left running
    loaded = kuaike("load-warehouse", "--from", str(root), "--json")
    assert loaded["build"] == built["build"] == 1
    con = duckdb.connect(str(store))
    for table, expected in fixture["expected"].items():
        columns = list(expected[0])
        wanted = sorted(({c: normal(r[c]) for c in columns} for r in expected), key=repr)
        assert actual_rows(con, table, columns) == wanted, table


def test_build_on_spark_without_a_lake_says_to_export_first(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUAIKE_")}
    env.update(KUAIKE_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "kuaike", "build", "--engine", "spark", "--lake", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: {tmp_path} holds no export yet; run `kuaike export --to {tmp_path}` first"
    )
    assert "Traceback" not in done.stderr
