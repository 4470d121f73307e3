"""Detail tables are stored without their dimension text and read wide through a view."""

from __future__ import annotations

import datetime as dt

import duckdb
from warehouse_data import Carrier
from warehouse_ods import Ods

from kuaike.warehouse import lookups
from kuaike.warehouse.catalog import load_models, parse_model
from kuaike.warehouse.runner import build

REFERENCE = dt.date(2024, 3, 5)
WAYBILLS = "dwd.tbl_waybill_detail"


def built(seed: int = 3) -> tuple[Carrier, duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    carrier = Carrier([Ods(con)], seed)
    carrier.seed(bills=12)
    build(con, reference_date=REFERENCE)
    return carrier, con


def columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {name}").fetchall()]


def test_the_detail_view_has_the_models_columns_and_the_stored_table_no_dimension_text() -> None:
    _, con = built()
    model = load_models()[WAYBILLS]
    wide = [projection.alias_or_name for projection in model.tree.selects]
    assert columns(con, WAYBILLS) == wide
    stored = columns(con, WAYBILLS + "_facts")
    for name in ("dot_name", "area_name", "cname", "sw_company_name", "route_name"):
        assert name not in stored
    for name in ("id", "waybill_number", "dot_id", "area_id", "sw_company_id", "route_id", "day"):
        assert name in stored
    kinds = con.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'dwd'"
        " AND table_name LIKE 'tbl_waybill_detail%' ORDER BY 1"
    ).fetchall()
    assert kinds == [("tbl_waybill_detail", "VIEW"), ("tbl_waybill_detail_facts", "BASE TABLE")]


def test_the_view_gives_each_row_the_text_of_its_dimensions() -> None:
    _, con = built()
    wrong = con.execute(
        f"SELECT count(*) FROM {WAYBILLS} AS w JOIN ods.tbl_dot AS d ON d.id = w.dot_id"
        " WHERE w.dot_name IS DISTINCT FROM d.dot_name"
    ).fetchone()
    named = con.execute(f"SELECT count(dot_name), count(route_name) FROM {WAYBILLS}").fetchone()
    assert wrong == (0,) and named is not None and min(named) > 0


def test_a_renamed_dot_shows_its_new_name_before_the_next_build() -> None:
    carrier, con = built()
    dot = con.execute(f"SELECT dot_id FROM {WAYBILLS} WHERE dot_id IS NOT NULL").fetchone()
    assert dot is not None
    carrier.begin()
    carrier.update("tbl_dot", dot[0], dot_name="新网点")
    names = con.execute(f"SELECT DISTINCT dot_name FROM {WAYBILLS} WHERE dot_id = ?", dot)
    assert names.fetchall() == [("新网点",)]


def test_a_summary_reading_dimension_text_reads_the_view() -> None:
    _, con = built()
    models = load_models()
    name = "dws.tbl_dot_names"
    models[name] = parse_model(
        name,
        "-- kind: by_day\n-- key: day, dot_name\n-- not_null: day\n"
        f"SELECT day, dot_name, count(*) AS waybills FROM {WAYBILLS} GROUP BY day, dot_name",
    )
    build(con, models=models, reference_date=REFERENCE)
    got = con.execute(f"SELECT sum(waybills), count(dot_name) FROM {name}").fetchone()
    rows = con.execute(f"SELECT count(*) FROM {WAYBILLS}").fetchone()
    assert got is not None and rows is not None and got[0] == rows[0] and got[1] > 0


def test_a_store_with_wide_detail_tables_gets_views() -> None:
    _, con = built()
    # a store built before detail tables were stored narrow: a table of the model's name,
    # and a model state whose fingerprint no longer matches
    con.execute(f"DROP VIEW {WAYBILLS}")
    con.execute(f"CREATE TABLE {WAYBILLS} AS SELECT 1 AS id")
    con.execute("UPDATE _kuaike.model_state SET fingerprint = 'old' WHERE model = ?", [WAYBILLS])
    summary = build(con, reference_date=REFERENCE)
    assert {run.model: run.action for run in summary.runs}[WAYBILLS] == "full"
    assert columns(con, WAYBILLS)[-1] == "day"


def test_the_summaries_read_the_stored_rows() -> None:
    _, con = built()
    models = load_models()
    facts = {"ods.tbl_waybill", "ods.tbl_transport_record"}
    splits = {WAYBILLS: lookups.split(con, models[WAYBILLS], set(), facts)}
    summary = models["dws.tbl_waybill_summary"].tree
    sql = lookups.read_stored(summary.copy(), splits, summary).sql("duckdb")
    assert "dwd.tbl_waybill_detail_facts AS tbl_waybill_detail" in sql
