"""Plausibility audits: KPIs that left their sane range fail the build, loudly.

The other audits prove the tables are built right from the replica; these catch a replica (or a
model) that is right by construction and wrong for a carrier: an on-time rate of 48 %, a day
whose bills have no waybills, a dot that is "unknown" for most of a closed day's bills. Each check
applies to a rebuilt day with enough volume (`plausibility_min_volume` facts) and, where a day
fills up after the fact (bills wait for their pick-up, legs for their arrival), to days before
the reference date only. Thresholds: `[warehouse]` settings, see docs/configuration.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kuaike.config import WarehouseSettings
from kuaike.warehouse.engines.duckdb import table_exists


@dataclass(frozen=True)
class Check:
    """A model, what must hold, and SQL selecting (day, detail) of the days where it does not.

    The SQL's placeholders: {days} (a filter on `day`), {ref} (the reference date), {volume},
    {floor} and {max_rate} (the thresholds)."""

    model: str
    label: str
    sql: str


def _unknown_group(detail: str, column: str, what: str) -> Check:
    """On a closed day, the facts whose `column` is unknown outnumber the known ones. Closed:
    before the reference date and before the facts' last day (a history or a replica that
    ends at 20:00 leaves that evening's bills waiting for their pick-up, with no dot yet).
    Not against the largest known group: with 300 dots, the 1 % of a day's bills ordered in
    its last quarter hour would outnumber every dot."""
    facts = f"dwd.tbl_{detail}_detail_facts"
    return Check(
        f"dws.tbl_{detail}_summary",
        f"{what} known for most of a closed day's facts",
        f"SELECT day, count(*) FILTER (WHERE {column} IS NULL) || ' of ' || count(*)"
        f" || ' unknown' FROM {facts} WHERE {{days}} AND day < {{ref}}"
        f" AND day < (SELECT max(day) FROM {facts}) GROUP BY day"
        f" HAVING count(*) >= {{volume}} AND count(*) FILTER (WHERE {column} IS NULL)"
        f" > count({column})",
    )


def _rate_in_range(model: str, column: str) -> Check:
    return Check(
        model,
        f"{column} between 0 and 1",
        f"SELECT day, {column} FROM {model} WHERE {{days}} AND NOT {column} BETWEEN 0 AND 1",
    )


def _exception_rate(events: str, out_of: str) -> Check:
    return Check(
        "dws.tbl_exception_summary",
        f"{events} at most plausibility_max_exception_rate of {out_of}",
        f"SELECT day, {events} || ' of ' || {out_of} FROM dws.tbl_exception_summary"
        f" WHERE {{days}} AND day < {{ref}} AND {out_of} >= {{volume}}"
        f" AND {events} > {out_of} * {{max_rate}}",
    )


CHECKS: list[Check] = [
    _rate_in_range("dws.tbl_transit_route_summary", "on_time_rate"),
    _rate_in_range("dws.tbl_transit_area_summary", "on_time_rate"),
    _rate_in_range("dws.tbl_customer_summary", "preserve_rate"),
    Check(
        "dws.tbl_transit_area_summary",
        "the day's on-time rate at least plausibility_on_time_floor",
        "SELECT day, round(sum(on_time) / sum(arrived), 4) FROM dws.tbl_transit_area_summary"
        " WHERE {days} AND day < {ref} GROUP BY day"
        " HAVING sum(arrived) >= {volume} AND sum(on_time) < sum(arrived) * {floor}",
    ),
    Check(
        "dws.tbl_transit_route_summary",
        "no negative transit time",
        "SELECT day, route_id || ': ' || avg_transit_minutes || ' min'"
        " FROM dws.tbl_transit_route_summary WHERE {days} AND avg_transit_minutes < 0",
    ),
    Check(
        "dws.tbl_waybill_summary",
        "a closed day with bills has waybills",
        "SELECT e.day, e.total || ' bills' FROM dws.tbl_express_bill_summary AS e"
        " LEFT JOIN dws.tbl_waybill_summary AS w ON w.day = e.day"
        " WHERE {e_days} AND e.day < {ref} AND e.total >= {volume} AND w.total IS NULL",
    ),
    _unknown_group("express_bill", "dot_id", "the dot"),
    _unknown_group("waybill", "dot_id", "the courier's dot"),
    _unknown_group("warehouse", "company_id", "the start warehouse's company"),
    _exception_rate("cancelled", "orders"),
    _exception_rate("delayed", "arrived"),
    _exception_rate("lost", "legs"),
    _exception_rate("rejected", "deliveries"),
]


def _day_filter(days: Iterable[dt.date] | None, column: str) -> str:
    if days is None:
        return "TRUE"
    listed = ", ".join(f"DATE '{day.isoformat()}'" for day in sorted(days))
    return f"{column} IN ({listed})" if listed else "FALSE"


def _tables(sql: str) -> set[str]:
    return {word.strip("(),") for word in sql.split() if word.startswith(("dws.", "dwd."))}


def check(
    con: Any, days: Iterable[dt.date] | None, reference: dt.date, settings: WarehouseSettings
) -> dict[str, list[str]]:
    """What is implausible on `days` (all when None), by model; {} when every KPI is sane."""
    day_list = None if days is None else sorted(days)
    values = {
        "days": _day_filter(day_list, "day"),
        "e_days": _day_filter(day_list, "e.day"),
        "ref": f"DATE '{reference.isoformat()}'",
        "volume": settings.plausibility_min_volume,
        "floor": settings.plausibility_on_time_floor,
        "max_rate": settings.plausibility_max_exception_rate,
    }
    failures: dict[str, list[str]] = {}
    for item in CHECKS:
        if not all(table_exists(con, table) for table in _tables(item.sql)):
            continue
        rows = con.execute(item.sql.format(**values) + " ORDER BY 1 LIMIT 3").fetchall()
        if rows:
            shown = ", ".join(f"{day}: {detail}" for day, detail in rows)
            failures.setdefault(item.model, []).append(f"implausible, {item.label}: {shown}")
    return failures
