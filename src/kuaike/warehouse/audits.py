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
from kuaike.warehouse.engines.duckdb import scalar, table_exists
from kuaike.warehouse.lookups import stored_name

# Repeated keys are found with a bitmap: each key packed into one number (every column's offset
# from its smallest value, a null as one more value), one bit per number it can take (DuckDB's
# bitstring_agg), the distinct keys counted as the bits set. The 10 M ids of a detail table take
# 0.2 s with the scan for the ranges, 1.5 s grouped (in a perfect hash table). Keys that can take
# more numbers than this (32 MB per thread), or with a column that is not an integer or a date,
# are grouped; so are keys the bitmap found repeated, to count them.
BITMAP_BITS = 2**28
BIGINT_MAX = 2**63 - 1  # a packed key must not overflow
# Column types cast to BIGINT for the bitmap (a date counts its days since 1970 instead).
ORDINAL_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")

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


# A key column in the rows audited: its ordinal (see _ordinal), the smallest and the largest
# value of that ordinal (None when every value is null), and how many values are not null.
Bound = tuple[str, int | None, int | None, int]


def _ordinal(column: str, type_name: str) -> str | None:
    """A BIGINT expression taking a distinct value for each value of `column`, or None."""
    if type_name == "DATE":
        return f"({column} - DATE '1970-01-01')"
    return f"CAST({column} AS BIGINT)" if type_name in ORDINAL_TYPES else None


def _ordinals(con: Any, model: Model) -> list[str] | None:
    """The key columns of `model` as BIGINT expressions (see _ordinal); None if one has none."""
    table = stored_name(model)
    columns = con.execute(f"SELECT {', '.join(model.key)} FROM {table} LIMIT 0").description
    ordinals = [_ordinal(name, str(type_code)) for name, type_code, *_ in columns]
    return None if None in ordinals else [ordinal for ordinal in ordinals if ordinal]


def _packed_key(bounds: list[Bound], rows: int) -> tuple[str, int, int]:
    """(SQL packing the key of each of `rows` rows into one number, the smallest and the largest
    number it can give): distinct keys, nulls included, give distinct numbers."""
    terms, numbers, start = [], 1, 0
    for i, (ordinal, low, high, values) in enumerate(bounds):
        low, high = (0, -1) if low is None or high is None else (low, high)
        term, span = f"({ordinal} - ({low}))", high - low + 1
        if values < rows:  # a null is one more value (coalesce takes twice the time: only here)
            term, span = f"coalesce({term}, {span})", span + 1
        elif i == 0:  # the numbers start at its smallest value: a subtraction less per row
            term, start = ordinal, low
        terms.append(term if numbers == 1 else f"{term} * {numbers}")
        numbers *= span
    return " + ".join(terms), start, start + numbers - 1


def _distinct_keys(
    con: Any, model: Model, where: str, bounds: list[Bound], rows: int
) -> int | None:
    """How many distinct keys the `rows` rows matching `where` have, counted in a bitmap (see
    BITMAP_BITS); None when the keys can take too many numbers for one."""
    packed, low, high = _packed_key(bounds, rows)
    if high - low >= BITMAP_BITS or high > BIGINT_MAX:
        return None
    query = f"SELECT bit_count(bitstring_agg({packed}, {low}, {high})) FROM {stored_name(model)}"
    return int(scalar(con, f"{query} WHERE {where}"))


def _key_checks(con: Any, model: Model, where: str) -> tuple[int, list[str]]:
    """(how many rows match `where`, what is wrong with their keys): one scan counts the rows,
    the rows with a null key and the key columns' ranges, for the bitmap."""
    failures = []
    nulls = " OR ".join(f"{column} IS NULL" for column in model.not_null)
    table = stored_name(model)
    ordinals = _ordinals(con, model)
    ranges = "".join(f", min({o}), max({o}), count({o})" for o in ordinals or [])
    rows, null_rows, *ends = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {nulls}){ranges} FROM {table} WHERE {where}"
    ).fetchone()
    if null_rows:
        failures.append(f"{null_rows} rows with a null in {', '.join(model.not_null)}")
    if not rows:
        return rows, failures
    if ordinals is not None:
        bounds = [(o, *ends[3 * i : 3 * i + 3]) for i, o in enumerate(ordinals)]
        if _distinct_keys(con, model, where, bounds, rows) == rows:
            return rows, failures
    key = ", ".join(model.key)
    dupes = scalar(
        con,
        f"SELECT count(*) FROM (SELECT {key} FROM {table} WHERE {where} "
        f"GROUP BY ALL HAVING count(*) > 1)",
    )
    if dupes:
        failures.append(f"{dupes} duplicate keys ({key})")
    return rows, failures


def _fact_rows(con: Any, model: Model, days: Iterable[dt.date] | None) -> int:
    tree = model.tree
    alias = incremental.fact_alias(tree)
    fact = incremental.aliases(tree)[alias]
    expression = incremental.day_expression(tree)
    day = expression.sql("duckdb")
    where = _day_filter(days, day) if days is not None else f"{day} IS NOT NULL"
    if days and isinstance(expression, exp.Cast) and isinstance(expression.this, exp.Column):
        # the same facts, but DuckDB can skip the row groups whose times are all out of range
        # (a cast of each of 10 M times to a date took 50 ms per detail table)
        time = expression.this.sql("duckdb")
        first, last = min(days), max(days) + dt.timedelta(days=1)
        where += f" AND {time} >= DATE '{first.isoformat()}' AND {time} < DATE '{last.isoformat()}'"
    query = exp.select("count(*)").from_(exp.to_table(fact).as_(alias)).where(where)
    return int(scalar(con, query.sql("duckdb")))


def _row_checks(
    con: Any, model: Model, days: Iterable[dt.date] | None, rows: int, reads: dict[str, str]
) -> list[str]:
    """What is wrong with the number of `rows` of `model` on `days`."""
    where = _day_filter(days)
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
    rows, failures = _key_checks(con, model, where)
    table = stored_name(model)
    if by_day:
        if scope is not None:  # the row checks are on whole days
            rows = int(scalar(con, f"SELECT count(*) FROM {table} WHERE {_day_filter(day_list)}"))
        failures += _row_checks(con, model, day_list, rows, reads or {})
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
