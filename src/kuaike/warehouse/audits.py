"""Audits run on a model's rebuilt days before the build commits; any failure fails the build.

Every model: its key columns are not null (`not_null` header, default the key) and unique.
DWD by_day: one row per fact (rows per day = fact rows per day: no join fans out, none is lost).
DWS by_day keyed by day alone: one row per day that has facts upstream.
Cross-theme: totals that must agree between models (CROSS_CHECKS).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlglot import exp

from kuaike.warehouse import incremental
from kuaike.warehouse.catalog import Model
from kuaike.warehouse.engines.duckdb import scalar, setting, table_exists
from kuaike.warehouse.lookups import stored_name

# Keys whose value ranges fit in this many bits are counted in a perfect hash table (an array
# indexed by value) instead of a hash table: ids up to 16 M, or (day, courier) pairs. Checking
# that the 10 M ids of a detail table are unique takes a third of the time; beyond 24 bits DuckDB
# falls back to hashing, and the array (2^24 counters per thread) stays a few hundred MB.
PERFECT_HASH_BITS = 24

# model -> (what must hold, SQL counting the days where it does not); {days} = a day filter.
CROSS_CHECKS: dict[str, list[tuple[str, str]]] = {
    "dws.tbl_express_bill_summary": [
        (
            "total equals the express bills in dwd.tbl_express_bill_detail",
            "SELECT count(*) FROM dws.tbl_express_bill_summary AS s FULL JOIN (SELECT day, "
            "count(*) AS n FROM dwd.tbl_express_bill_detail_facts WHERE {days} GROUP BY day) AS d "
            "ON d.day = s.day WHERE (s.day IS NULL OR {s_days}) "
            "AND s.total IS DISTINCT FROM d.n",
        )
    ],
    "dws.tbl_courier_summary": [
        (
            "orders taken by couriers add up to dws.tbl_express_bill_summary.total",
            "SELECT count(*) FROM (SELECT day, sum(bills) AS n FROM dws.tbl_courier_summary "
            "WHERE {days} GROUP BY day HAVING sum(bills) > 0) AS c FULL JOIN "
            "(SELECT day, total FROM dws.tbl_express_bill_summary WHERE {days}) AS e "
            "ON e.day = c.day WHERE c.n IS DISTINCT FROM e.total",
        )
    ],
    "dws.tbl_transit_route_summary": [
        (
            "departures per route add up to dws.tbl_warehouse_summary.total",
            "SELECT count(*) FROM (SELECT day, sum(departures) AS n FROM "
            "dws.tbl_transit_route_summary WHERE {days} GROUP BY day) AS r FULL JOIN "
            "(SELECT day, total FROM dws.tbl_warehouse_summary WHERE {days}) AS w "
            "ON w.day = r.day WHERE r.n IS DISTINCT FROM w.total",
        )
    ],
}


def _day_filter(days: Iterable[dt.date] | None, column: str = "day") -> str:
    if days is None:
        return "TRUE"
    listed = ", ".join(f"DATE '{day.isoformat()}'" for day in sorted(days))
    return f"{column} IN ({listed})" if listed else "FALSE"


def _key_checks(con: Any, model: Model, where: str) -> list[str]:
    failures = []
    nulls = " OR ".join(f"{column} IS NULL" for column in model.not_null)
    table = stored_name(model)
    count = scalar(con, f"SELECT count(*) FROM {table} WHERE ({where}) AND ({nulls})")
    if count:
        failures.append(f"{count} rows with a null in {', '.join(model.not_null)}")
    key = ", ".join(model.key)
    with setting(con, "perfect_ht_threshold", PERFECT_HASH_BITS):
        dupes = scalar(
            con,
            f"SELECT count(*) FROM (SELECT {key} FROM {table} WHERE {where} "
            f"GROUP BY ALL HAVING count(*) > 1)",
        )
    if dupes:
        failures.append(f"{dupes} duplicate keys ({key})")
    return failures


def _fact_rows(con: Any, model: Model, days: Iterable[dt.date] | None) -> int:
    tree = model.tree
    alias = incremental.fact_alias(tree)
    fact = incremental.aliases(tree)[alias]
    day = incremental.day_expression(tree).sql("duckdb")
    where = _day_filter(days, day) if days is not None else f"{day} IS NOT NULL"
    query = exp.select("count(*)").from_(exp.to_table(fact).as_(alias)).where(where)
    return int(scalar(con, query.sql("duckdb")))


def _row_checks(
    con: Any, model: Model, days: Iterable[dt.date] | None, reads: dict[str, str]
) -> list[str]:
    where = _day_filter(days)
    rows = int(scalar(con, f"SELECT count(*) FROM {stored_name(model)} WHERE {where}"))
    if model.layer == "dwd":
        facts = _fact_rows(con, model, days)
        if rows != facts:
            return [f"{rows} rows for {facts} facts: a join lost or repeated facts"]
    elif model.key == ("day",) and len(model.depends_on) == 1:
        (source,) = model.depends_on
        table = reads.get(source, source)
        expected = int(scalar(con, f"SELECT count(DISTINCT day) FROM {table} WHERE {where}"))
        if rows != expected:
            return [f"{rows} rows for {expected} days with facts in {source}"]
    return []


def audit(
    con: Any,
    model: Model,
    days: Iterable[dt.date] | None,
    scope: str | None = None,
    reads: dict[str, str] | None = None,
) -> list[str]:
    """What is wrong with the rebuilt rows of `model`: its `days` (all when None), or the rows
    matching `scope`; [] when fine. `reads` maps a model to the table its rows are read from
    (a narrow detail table's stored rows, see lookups)."""
    day_list = None if days is None else sorted(days)
    by_day = model.kind == "by_day"
    where = scope or (_day_filter(day_list) if by_day else "TRUE")
    failures = _key_checks(con, model, where)
    if by_day:
        failures += _row_checks(con, model, day_list, reads or {})
    return failures


def cross_audit(con: Any, days: Iterable[dt.date] | None) -> dict[str, list[str]]:
    """Cross-theme checks on `days` (all when None), by model; run once every model is built."""
    day_list = None if days is None else sorted(days)
    failures: dict[str, list[str]] = {}
    for model, checks in CROSS_CHECKS.items():
        for label, sql in checks:
            tables = {
                word.strip("(),") for word in sql.split() if word.startswith(("dws.", "dwd."))
            }
            if not all(table_exists(con, table) for table in tables):
                continue
            filled = sql.format(days=_day_filter(day_list), s_days=_day_filter(day_list, "s.day"))
            if scalar(con, filled):
                failures.setdefault(model, []).append(f"{label}: not on every day")
    return failures
