"""The model catalog: dependencies read from the SQL, dependency order, header errors."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from warehouse_data import Carrier
from warehouse_ods import Ods

from kuaike.errors import WarehouseError
from kuaike.warehouse.catalog import build_order, load_models, parse_model
from kuaike.warehouse.incremental import sqlglot_parse, touched_days_query
from kuaike.warehouse.runner import build


def test_dependencies_come_from_the_sql_and_exclude_ctes() -> None:
    model = parse_model(
        "dws.x",
        "-- kind: by_day\n-- key: day\nWITH a AS (SELECT day FROM dwd.tbl_a) "
        "SELECT a.day FROM a JOIN dwd.tbl_b AS b ON b.day = a.day",
    )
    assert model.depends_on == {"dwd.tbl_a", "dwd.tbl_b"}


def test_every_summary_is_built_after_the_details_it_reads() -> None:
    models = load_models()
    order = build_order(models)
    assert len(order) == len(models) == 22
    for name, model in models.items():
        for dep in model.depends_on:
            if dep in models:
                assert order.index(dep) < order.index(name)
    themes = [
        "express_bill",
        "waybill",
        "warehouse",
        "dot_transport_tool",
        "warehouse_transport_tool",
        "customer",
    ]
    for theme in themes:
        assert f"dwd.tbl_{theme}_detail" in models and f"dws.tbl_{theme}_summary" in models


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 1 AS day", "needs a header line `-- kind"),
        ("-- kind: sometimes\n-- key: day\nSELECT 1 AS day", "needs a header line `-- kind"),
        ("-- kind: full\nSELECT 1 AS day", "needs a header line `-- key"),
    ],
)
def test_a_model_without_its_header_is_refused(sql: str, message: str) -> None:
    with pytest.raises(WarehouseError, match=message):
        parse_model("dws.bad", sql)


def test_a_changed_model_is_rebuilt_in_full() -> None:
    con = duckdb.connect()
    Carrier([Ods(con)], seed=5).seed(bills=5)
    models = load_models()
    build(con, models=models, reference_date=dt.date(2024, 3, 5))
    name = "dws.tbl_revenue_summary"
    old = models[name]
    models[name] = parse_model(name, old.sql.replace("AS parcels", "AS parcel_count"))
    summary = build(con, models=models, reference_date=dt.date(2024, 3, 5))
    actions = {run.model: run.action for run in summary.runs}
    assert actions[name] == "full" and actions["dwd.tbl_express_package_detail"] == "skipped"
    columns = [row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()]
    assert "parcel_count" in columns


TOUCH_SQL = (
    "SELECT f.id, CAST(f.cdt AS DATE) AS day FROM ods.f AS f "
    "LEFT JOIN ods.a AS a ON a.id = f.a_id "
    "LEFT JOIN ods.b AS b ON {b_on}"
)


@pytest.mark.parametrize(
    ("b_on", "inner"),
    [("b.id = a.b_id AND b.kind = 1", True), ("b.id = coalesce(a.b_id, f.b_id)", False)],
)
def test_touched_days_join_the_path_inner_only_when_each_condition_rejects_nulls(
    b_on: str, inner: bool
) -> None:
    tree = sqlglot_parse(TOUCH_SQL.format(b_on=b_on))
    query = touched_days_query(tree, "b", 0).sql("duckdb")
    assert ("LEFT JOIN" not in query) is inner
    con = duckdb.connect()
    con.execute("CREATE SCHEMA ods")
    con.execute(
        "CREATE TABLE ods.f AS SELECT * FROM (VALUES (1, DATE '2024-01-01', NULL, 7),"
        " (2, DATE '2024-01-02', 1, NULL)) t(id, cdt, a_id, b_id)"
    )
    con.execute("CREATE TABLE ods.a AS SELECT 1 AS id, 7 AS b_id, 1 AS _kuaike_batch")
    con.execute("CREATE TABLE ods.b AS SELECT 7 AS id, 1 AS kind, 1 AS _kuaike_batch")
    left = touched_days_query(tree, "b", 0).sql("duckdb").replace(" JOIN", " LEFT JOIN")
    left = left.replace("LEFT LEFT", "LEFT")
    assert sorted(con.execute(query).fetchall()) == sorted(con.execute(left).fetchall())
