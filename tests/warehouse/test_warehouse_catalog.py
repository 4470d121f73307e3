"""The model catalog: dependencies read from the SQL, dependency order, header errors."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from warehouse_data import Carrier
from warehouse_ods import Ods

from kuaike.errors import WarehouseError
from kuaike.warehouse.catalog import build_order, load_models, parse_model
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
    assert len(order) == len(models) == 21
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
